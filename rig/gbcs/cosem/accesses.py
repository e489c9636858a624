"""The COSEM members each DLMS use case accesses, as the RTDS 4.5.0 commands carry them
(reference/gbcs.md §1.6-1.7, §1.9): one declarative description per use case, which names the
entries of its responses (an ACCESS-Response carries no specifications, only data and results in
the request's order) and builds its commands from values (:func:`rig.gbcs.cosem.payload.build`).

Each block of :data:`_TABLE` is ``code use-case`` then one ``KIND class OBIS index`` line per
specification; ``GET/S`` is a GET with selective access (its selector and parameters are the
command's own). A use case listed twice has two forms (e.g. ECS26 reads of one or more objects).
"""

from __future__ import annotations

from rig.gbcs.cosem.schema import Obis
from rig.gbcs.dlms import AccessKind

_KINDS = {
    "GET": AccessKind.GET,
    "SET": AccessKind.SET,
    "ACTION": AccessKind.ACTION,
    "GET/S": AccessKind.GET_WITH_SELECTION,
    "SET/S": AccessKind.SET_WITH_SELECTION,
}
#: A COSEM member reference without selective access: kind, class id, logical name, index.
Member = tuple[AccessKind, int, bytes, int]

_TABLE = """
0001 CCS01
    ACTION 104 0-0:30.3.0.255 1
    SET 104 0-0:30.3.0.255 3
    SET 104 0-0:30.3.0.255 2
0002 CCS02
    ACTION 104 0-0:30.3.0.255 2
0007 CS01a
    ACTION 115 0-0:19.40.0.255 1
0019 ECS01a
    SET 20 0-0:13.0.0.255 7
    SET 20 0-0:13.0.0.255 8
    SET 20 0-0:13.0.0.255 9
    SET 11 0-1:11.0.0.255 2
    SET 21 0-0:16.1.11.255 2
    SET 21 0-0:16.1.12.255 2
    SET 21 0-0:16.1.13.255 2
    SET 21 0-0:16.1.14.255 2
    SET 21 0-0:16.1.15.255 2
    SET 21 0-0:16.1.16.255 2
    SET 21 0-0:16.1.17.255 2
    SET 21 0-0:16.1.18.255 2
    SET 9000 0-0:94.44.2.0 4
    SET 113 0-0:19.20.4.255 6
    SET 113 0-0:19.20.0.255 6
    SET 20 0-0:13.0.0.255 10
    SET 9000 0-0:94.44.128.29 6
    SET 9000 0-0:94.44.2.0 6
    SET 113 0-0:19.20.4.255 7
    SET 113 0-0:19.20.0.255 7
    SET 9000 0-0:63.1.1.255 6
001A ECS02
    SET 111 0-1:19.0.0.255 2
    SET 111 0-1:19.0.0.255 11
    SET 111 0-1:19.0.0.255 13
001C ECS04a
    ACTION 112 0-0:19.10.0.255 1
001D ECS05
    ACTION 9 0-0:10.0.100.255 1
001F ECS08
    SET 11 0-1:11.0.2.255 2
    SET 9000 0-0:94.44.2.20 2
    SET 9000 0-0:94.44.2.10 4
    SET 10 0-1:12.0.1.255 2
    SET 9000 0-0:94.44.128.12 4
    SET 9000 0-0:94.44.128.13 4
    SET 9000 0-0:94.44.128.9 4
    SET 9000 0-0:94.44.128.2 4
    SET 9000 0-0:94.44.128.31 6
    SET 9000 0-0:94.44.128.3 4
    SET 9000 0-0:94.44.2.20 6
    SET 9000 0-0:94.44.2.10 6
    SET 9000 0-0:94.44.128.12 6
    SET 9000 0-0:94.44.128.13 6
    SET 9000 0-0:94.44.128.9 6
    SET 9000 0-0:94.44.128.2 6
    SET 9000 0-0:94.44.128.3 6
    SET 9000 0-0:94.44.128.28 6
0023 ECS14
    SET 1 0-0:94.44.3.1 2
0024 ECS15a
    ACTION 7 0-0:99.98.0.255 1
0025 ECS16
    SET 9000 0-0:96.13.0.255 2
    SET 9000 0-0:96.13.1.255 2
0027 ECS17b
    ACTION 30 0-0:43.2.8.255 1
0029 ECS17d
    ACTION 30 0-0:43.2.9.255 1
002A ECS17e
    ACTION 30 0-0:43.2.10.255 1
002C ECS18b
    GET 1 0-0:94.44.5.0 2
    GET 1 0-0:94.44.5.1 2
    GET 4 1-0:1.6.0.255 2
    GET 4 1-0:1.6.0.255 3
    GET 4 1-0:1.6.0.255 5
    GET 4 1-0:1.6.1.255 2
    GET 4 1-0:1.6.1.255 3
    GET 4 1-0:1.6.1.255 5
    GET 10 0-0:12.0.0.255 2
002D ECS19
    ACTION 30 0-0:43.2.1.255 1
002E ECS20a
    GET/S 7 0-0:98.1.4.255 2
002F ECS20b
    ACTION 30 0-0:43.2.3.255 1
0030 ECS20c
    ACTION 30 0-0:43.2.2.255 1
0033 ECS21a
    ACTION 30 0-0:43.2.5.255 1
0034 ECS21b
    ACTION 30 0-0:43.2.6.255 1
0035 ECS21c
    GET/S 7 0-0:98.1.10.255 2
0036 ECS22a
    GET/S 7 0-0:99.1.1.255 2
0039 ECS23
    GET 3 1-0:32.32.0.4 2
    GET 3 1-0:32.32.0.4 3
    GET 3 1-0:32.36.0.4 2
    GET 3 1-0:32.36.0.4 3
    GET/S 7 1-0:32.24.0.255 2
    GET 7 1-0:32.24.0.255 4
003B ECS26a
    GET 113 0-0:19.20.1.255 5
    GET 11 0-0:11.0.2.255 2
    GET 113 0-0:19.20.1.255 8
    GET 113 0-0:19.20.1.255 5
    GET 113 0-0:19.20.2.255 5
    GET 113 0-0:19.20.2.255 8
    GET 113 0-0:19.20.2.255 5
    GET 113 0-0:19.20.3.255 13
    GET 9000 0-0:94.44.2.10 2
    GET 21 0-0:16.0.1.255 2
    GET 9000 0-0:94.44.2.20 2
    GET 111 0-0:19.0.0.255 16
    GET 111 0-0:19.0.0.255 18
    GET 111 0-0:19.0.0.255 19
    GET 112 0-0:19.10.1.255 9
    GET 112 0-0:19.10.1.255 10
    GET 10 0-0:12.0.1.255 2
    GET 111 0-0:19.0.0.255 11
003C ECS26b
    GET 71 0-0:17.0.1.255 4
    GET 71 0-0:17.0.1.255 6
    GET 71 0-0:17.0.2.255 4
    GET 71 0-0:17.0.2.255 6
    GET 71 0-0:17.0.3.255 4
    GET 71 0-0:17.0.3.255 6
    GET 71 0-0:17.0.4.255 4
    GET 71 0-0:17.0.4.255 6
    GET 1 1-0:32.35.0.4 2
    GET 1 1-0:32.31.0.4 2
003D ECS26c
    GET 1 0-0:94.44.0.0 2
    GET 1 0-0:94.44.0.2 2
    GET 1 0-0:94.44.0.1 2
0042 ECS27
    GET 9000 0-0:94.44.0.3 2
    GET 3 0-0:94.44.42.255 2
    GET 3 0-0:94.44.42.255 3
    GET 71 0-0:17.0.0.255 4
    GET 71 0-0:17.0.0.255 6
    GET 71 0-0:17.0.0.255 7
0043 ECS28a
    SET 9000 0-0:94.44.0.3 4
    SET 9000 0-0:94.44.128.7 4
    SET 9000 0-0:94.44.128.6 4
    SET 9000 0-0:94.44.128.8 4
    SET 9000 0-0:94.44.0.3 6
    SET 9000 0-0:94.44.128.7 6
    SET 9000 0-0:94.44.128.6 6
    SET 9000 0-0:94.44.128.8 6
0045 ECS29a
    SET 7 1-0:32.24.0.255 4
    SET 71 0-0:17.0.1.255 4
    SET 71 0-0:17.0.1.255 6
    SET 71 0-0:17.0.2.255 4
    SET 71 0-0:17.0.2.255 6
    SET 71 0-0:17.0.3.255 4
    SET 71 0-0:17.0.3.255 6
    SET 71 0-0:17.0.4.255 4
    SET 71 0-0:17.0.4.255 6
    SET 1 1-0:32.35.0.4 2
    SET 1 1-0:32.31.0.4 2
    ACTION 3 1-0:32.32.0.4 1
    ACTION 3 1-0:32.36.0.4 1
0048 ECS35a
    GET/S 7 0-0:99.98.0.255 2
004E ECS40
    GET 1 0-0:94.44.34.11 2
    GET 1 1-0:0.0.2.255 2
004F ECS42
    ACTION 9 0-0:10.0.106.255 1
0050 ECS43
    ACTION 9 0-0:10.0.106.255 1
0051 ECS44
    ACTION 9 0-0:10.0.106.255 1
0052 ECS45
    GET 70 0-0:96.3.10.255 3
0054 ECS46c
    SET 1 0-0:94.44.0.21 2
    SET 1 0-0:94.44.0.22 2
    SET 1 0-0:94.44.0.23 2
    SET 1 0-0:94.44.0.24 2
    SET 1 0-0:94.44.0.25 2
    SET 11 0-1:11.0.3.255 2
    SET 10 0-1:12.0.2.255 2
    SET 9000 0-0:94.44.128.26 6
    SET 9000 0-0:94.44.128.35 6
0054 ECS46c
    SET 1 0-0:94.44.0.21 2
    SET 1 0-0:94.44.0.22 2
    SET 11 0-1:11.0.3.255 2
    SET 10 0-1:12.0.2.255 2
    SET 9000 0-0:94.44.128.26 6
    SET 9000 0-0:94.44.128.35 6
0055 ECS47
    SET 1 0-0:94.44.117.1 2
    ACTION 9 0-0:10.0.103.255 1
0059 ECS52
    GET 1 0-0:0.2.1.255 2
005A ECS57
    ACTION 4 1-0:1.6.0.255 1
    ACTION 4 1-0:1.6.1.255 1
    ACTION 4 1-0:2.6.0.255 1
005A ECS57
    ACTION 4 1-0:1.6.1.255 1
005E ECS61c
    GET 1 0-0:94.44.7.255 2
    GET/S 7 0-0:99.98.20.255 2
    GET 1 0-0:94.44.6.1 2
    GET 1 0-0:94.44.6.2 2
    GET 1 0-0:94.44.6.3 2
    GET 1 0-0:94.44.6.4 2
    GET 1 0-0:94.44.6.5 2
005F ECS62
    SET 1 0-0:94.44.6.1 2
    SET 1 0-0:94.44.6.2 2
    SET 1 0-0:94.44.6.3 2
    SET 1 0-0:94.44.6.4 2
    SET 1 0-0:94.44.6.5 2
0060 ECS66
    ACTION 30 0-0:43.2.4.255 1
0069 ECS82
    GET 112 0-0:19.10.0.255 2
0092 ECS26i
    GET 1 0-0:96.1.1.255 2
    GET 1 0-0:96.1.4.255 2
    GET 1 0-0:96.1.6.255 2
0093 ECS35c
    GET/S 7 0-0:99.98.0.255 2
00AC ECS25a
    SET 1 0-30:97.98.11.255 2
00B0 ECS25b
    SET 1 0-33:97.98.11.255 2
00B7 ECS01c
    SET 113 0-0:19.20.5.255 6
    SET 20 0-0:13.0.1.255 7
    SET 20 0-0:13.0.1.255 8
    SET 20 0-0:13.0.1.255 9
    SET 11 0-1:11.0.1.255 2
    SET 20 0-0:13.0.1.255 10
    SET 113 0-0:19.20.5.255 7
    SET 9000 0-0:94.44.128.30 6
00B9 ECS35e
    GET/S 7 0-0:99.98.4.255 2
00BB ECS61a
    GET 1 0-0:94.44.0.11 2
    GET 1 0-0:94.44.0.12 2
    GET 1 0-0:94.44.0.13 2
    GET 1 0-0:94.44.0.14 2
    GET 1 0-0:94.44.0.15 2
    GET 1 0-0:94.44.0.21 2
    GET 1 0-0:94.44.0.22 2
    GET 1 0-0:94.44.0.23 2
    GET 1 0-0:94.44.0.24 2
    GET 1 0-0:94.44.0.25 2
    GET 11 0-0:11.0.3.255 2
    GET 10 0-0:12.0.2.255 2
    GET 70 0-1:96.3.10.255 2
    GET 70 0-2:96.3.10.255 2
    GET 70 0-3:96.3.10.255 2
    GET 70 0-4:96.3.10.255 2
    GET 70 0-5:96.3.10.255 2
00C9 ECS20d
    GET/S 7 0-0:98.1.5.255 2
00D1 ECS29c
    SET 1 1-0:32.31.0.4 2
    SET 1 1-0:32.35.0.4 2
    SET 7 1-0:32.24.0.255 4
    SET 71 0-0:17.0.1.255 4
    SET 71 0-0:17.0.1.255 6
    SET 71 0-0:17.0.2.255 4
    SET 71 0-0:17.0.2.255 6
    SET 71 0-0:17.0.3.255 4
    SET 71 0-0:17.0.3.255 6
    SET 71 0-0:17.0.4.255 4
    SET 71 0-0:17.0.4.255 6
00D4 ECS29f
    ACTION 3 1-0:32.32.0.4 1
    ACTION 3 1-0:32.36.0.4 1
    ACTION 3 1-0:52.32.0.4 1
    ACTION 3 1-0:52.36.0.4 1
    ACTION 3 1-0:72.32.0.4 1
    ACTION 3 1-0:72.36.0.4 1
00D7 ECS30a
    SET 22 0-0:15.0.0.255 4
00D9 ECS26l
    GET 22 0-0:15.0.0.255 4
00DB ECS48
    SET 22 0-0:15.1.0.255 4
00EB ECS25a2
    SET 1 0-30:97.98.13.255 2
00EF ECS25r2
    GET 1 0-33:97.98.15.255 2
    GET 1 0-33:97.98.18.255 2
00FA ECS26n
    GET 1 0-0:96.1.4.255 2
    GET 1 0-0:96.1.6.255 2
00FD ECS35g
    GET/S 7 0-17:99.98.2.255 2
010A DBCH01
    GET 1 0-0:94.44.10.2 2
010E DBCH05
    SET 1 0-0:94.44.10.1 2
010F CCS06
    GET 104 0-0:30.3.0.255 4
011D ECS61e
    GET 1 0-0:94.44.0.21 2
    GET 1 0-0:94.44.0.22 2
    GET 1 0-0:94.44.0.23 2
    GET 1 0-0:94.44.0.24 2
    GET 1 0-0:94.44.0.25 2
    GET 1 0-0:94.44.0.31 2
    GET 1 0-0:94.44.0.32 2
    GET 1 0-0:94.44.0.33 2
    GET 1 0-0:94.44.0.34 2
    GET 1 0-0:94.44.0.35 2
011E ECS47a
    SET 1 0-0:94.44.121.1 2
    SET 1 0-0:94.44.121.2 2
    ACTION 9 0-0:10.0.103.255 1
011E ECS47a
    SET 1 0-0:94.44.117.1 2
    SET 1 0-0:94.44.117.2 2
    ACTION 9 0-0:10.0.103.255 1
011E ECS47a
    SET 1 0-0:94.44.119.1 2
    SET 1 0-0:94.44.119.2 2
    ACTION 9 0-0:10.0.103.255 1
"""


def _parse(table: str) -> dict[int, tuple[tuple[Member, ...], ...]]:
    forms: dict[int, list[tuple[Member, ...]]] = {}
    for block in table.strip().split("\n0"):
        head, *lines = block.splitlines()
        members = []
        for line in lines:
            kind, class_id, obis, index = line.split()
            members.append((_KINDS[kind], int(class_id), Obis.parse(obis).raw, int(index)))
        forms.setdefault(int(head.split()[0], 16), []).append(tuple(members))
    return {code: tuple(f) for code, f in forms.items()}


#: Message code -> the forms of its request, each a tuple of members in request order.
USE_CASE_MEMBERS: dict[int, tuple[tuple[Member, ...], ...]] = _parse(_TABLE)
#: The protected object list of each use case that reads through ``get_protected_attributes``
#: (Data protection, class 30, method 1; §1.4), as the RTDS 4.5.0 commands carry it: the
#: decrypted response holds one value per object, in this order, and names none of them.
#: ECS68's alert carries its billing data log without a command, so it is not listed.
_PROTECTED = """
0027 ECS17b
    GET 1 0-0:94.44.34.10 2
0029 ECS17d
    GET 1 0-0:94.44.34.1 2
002A ECS17e
    GET 1 0-0:94.44.34.2 2
002D ECS19
    GET 1 0-0:94.44.34.30 2
002F ECS20b
    GET 7 0-0:98.1.2.255 2
0030 ECS20c
    GET 7 0-0:98.1.0.255 2
    GET 7 0-0:98.1.1.255 2
0033 ECS21a
    GET 7 0-0:98.1.9.255 2
0034 ECS21b
    GET 7 0-0:98.1.8.255 2
0060 ECS66
    GET 7 0-0:99.1.3.255 2
"""
#: Message code -> the objects (as GET members) whose values a protected read returns, in order.
PROTECTED_MEMBERS: dict[int, tuple[Member, ...]] = {
    code: forms[0] for code, forms in _parse(_PROTECTED).items()
}
#: Message codes of DLMS alerts (Data-Notifications) in the RTDS without a class of their own;
#: the generic alerts 0x1000 / 0x1001, ECS68, ECS80 and the future-dated 0x00CC have theirs in
#: :mod:`rig.gbcs.usecases` (§1.6).
DLMS_ALERT_CODES: frozenset[int] = frozenset(
    {0x0018, 0x00CE, 0x00F0, 0x0111, 0x0114, 0x0120, 0x0122}
)
