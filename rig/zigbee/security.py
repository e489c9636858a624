"""Secured ZigBee NWK and APS frames (ZigBee specification 05-3474 r22 §4.3-4.5): pure functions,
bytes in, bytes out.

A secured frame is its header (with the security bit set: NWK frame control bit 9, APS frame
control bit 5), the **auxiliary security header** (§4.5.1), the payload secured by CCM*
(rig/zigbee/ccm.py) and its MIC. The auxiliary header is the security control byte (bits 0-2
security level, bits 3-4 key identifier: data key 0, network key 1, key-transport key 2,
key-load key 3, bit 5 extended nonce), the frame counter (4 bytes, little-endian), the sender's
IEEE address (8 bytes, when the extended nonce bit is set) and the key sequence number (1 byte,
for the network key only).

**The level on the air is 0.** The sender secures the frame at the network's level
(nwkSecurityLevel, 5 = ENC-MIC-32 on every ZigBee PRO network) and then overwrites the level
bits with 0 (§4.3.1.1 step 8, §4.4.1.1); the receiver puts nwkSecurityLevel back into the
security control byte before it builds the nonce and the associated data (§4.3.1.2 step 1,
§4.4.1.2). The associated data is the frame's header and the auxiliary header (level restored);
the nonce is the sender's IEEE address, the counter and that byte (§4.5.2.2). This rig also
drops a frame whose level on the air is not 0 (the spec lets a receiver ignore it): a device
that sends one does not follow 4.3.1.1, and a flipped level bit is then refused too.

**APS keys** (§4.5.3, §4.4.1.1): a frame under the data key (identifier 0) uses the link key
shared with the other device as it is; the key-transport key (2) and key-load key (3) are the
keyed hash (HMAC-MMO, rig/zigbee/mmo.py) of that link key with the byte 0x00 and 0x02.

NWK frames always carry the sender's address (extended nonce, §4.3.1.1); APS frames may leave it
out, and the receiver then takes it from the NWK layer (``source`` of :func:`open_aps`).
Receiving checks, in this order, and drops the frame with the first reason that applies (see
:class:`rig.zigbee.counters.Drop`): the header parses, security is on, the level on the air is
0, a key is held, the counter is fresh, the MIC verifies; only then is the counter raised.

scapy's ZigbeeSecurityHeader cannot split the MIC while the level on the air is 0
(reference/hil.md §13), so the headers are parsed here; scapy builds and dissects the frames
around them (tests, captures).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import IntEnum

from rig.zigbee.ccm import NWK_SECURITY_LEVEL, CcmError, nonce, seal, unseal
from rig.zigbee.counters import Drop, FrameCounters
from rig.zigbee.mmo import hmac_mmo

NWK_SECURITY_BIT = 0x0200  # NWK frame control, bit 9 (§3.3.1.1)
APS_SECURITY_BIT = 0x20  # APS frame control, bit 5 (§2.2.5.1.1)
_EXTENDED_NONCE = 0x20


class KeyId(IntEnum):
    """The key identifier of the security control byte (§4.5.1.1.2)."""

    DATA = 0
    NETWORK = 1
    KEY_TRANSPORT = 2
    KEY_LOAD = 3


#: By value, without the enum's call per frame.
_KEY_IDS = tuple(KeyId)


class FrameError(ValueError):
    """A frame that cannot be secured (malformed, or already secured)."""


class FrameRefused(ValueError):
    """A received frame dropped, with the :class:`Drop` reason and the counters with the drop
    counted."""

    def __init__(self, reason: Drop, detail: str, counters: FrameCounters) -> None:
        super().__init__(f"frame dropped ({reason}): {detail}")
        self.reason = reason
        self.counters = counters


#: The auxiliary header's fixed fields (control, counter) and with the extended source.
_AUX_SHORT = struct.Struct("<BI")
_AUX_EXTENDED = struct.Struct("<BIQ")


@dataclass(slots=True)  # not frozen: per frame, frozen costs 5x to build
class AuxHeader:
    """The auxiliary security header (§4.5.1). ``source`` present means extended nonce."""

    key_id: KeyId
    counter: int
    source: int | None
    key_seq: int | None
    level: int

    # mypyc compiles an explicit __init__; the one @dataclass writes runs interpreted
    # (docs/han.md "Speed of the secured HAN")
    def __init__(
        self,
        key_id: KeyId,
        counter: int,
        source: int | None = None,
        key_seq: int | None = None,
        level: int = 0,
    ) -> None:
        self.key_id = key_id
        self.counter = counter
        self.source = source
        self.key_seq = key_seq
        self.level = level

    def control(self, level: int | None = None) -> int:
        """The security control byte, with ``level`` in place of the frame's if given."""
        extended = _EXTENDED_NONCE if self.source is not None else 0
        return (self.level if level is None else level) | self.key_id << 3 | extended

    def encode(self, level: int | None = None) -> bytes:
        control = self.control(level)
        if self.source is None:
            out = _AUX_SHORT.pack(control, self.counter)
        else:
            out = _AUX_EXTENDED.pack(control, self.counter, self.source)
        if self.key_id == KeyId.NETWORK:
            out += bytes([self.key_seq or 0])
        return out

    @classmethod
    def decode(cls, data: bytes) -> tuple[AuxHeader, int]:
        """The header at the start of ``data`` and its length; FrameError if it is cut short
        or sets the reserved bits."""
        if len(data) < 5:
            raise FrameError(f"an auxiliary security header needs 5 bytes, not {len(data)}")
        control = data[0]
        if control & 0xC0:
            raise FrameError(f"security control {control:#04x} sets reserved bits")
        key_id = _KEY_IDS[control >> 3 & 3]
        length = 5 + (8 if control & _EXTENDED_NONCE else 0) + (key_id == KeyId.NETWORK)
        if len(data) < length:
            raise FrameError(f"the auxiliary security header needs {length} bytes")
        if control & _EXTENDED_NONCE:
            _, counter, source = _AUX_EXTENDED.unpack_from(data)
        else:
            (_, counter), source = _AUX_SHORT.unpack_from(data), None
        key_seq = data[length - 1] if key_id == KeyId.NETWORK else None
        return cls(key_id, counter, source, key_seq, control & 7), length


def nwk_header_length(frame: bytes) -> int:
    """The length of the NWK header at the start of ``frame`` (§3.3.1); FrameError if cut."""
    if len(frame) < 8:
        raise FrameError(f"a NWK header needs 8 bytes, not {len(frame)}")
    control = int.from_bytes(frame[:2], "little")
    if control & 3 == 3:
        raise FrameError("an Inter-PAN frame has no NWK security")
    length = 8 + 8 * bool(control & 0x0800) + 8 * bool(control & 0x1000) + bool(control & 0x0100)
    if control & 0x0400:  # source route subframe: relay count, relay index, relay list
        if len(frame) <= length:
            raise FrameError("the NWK source route is cut short")
        length += 2 + 2 * frame[length]
    if len(frame) < length:
        raise FrameError(f"the NWK header needs {length} bytes, not {len(frame)}")
    return length


def aps_header_length(frame: bytes) -> int:
    """The length of the APS header at the start of ``frame`` (§2.2.5.1); FrameError if cut."""
    if not frame:
        raise FrameError("an empty APS frame")
    control = frame[0]
    frame_type, delivery = control & 3, control >> 2 & 3
    if frame_type == 3:
        raise FrameError("an Inter-PAN APS frame has no APS security")
    length = 1
    if frame_type == 0:  # data: endpoint or group, cluster, profile, source endpoint
        length += {0: 1, 1: 0, 2: 1, 3: 2}[delivery] + 5
    elif frame_type == 2 and not control & 0x10:  # ack that names the endpoints
        length += 6
    length += 1  # APS counter
    if control & 0x80:  # extended header: control, block number, ack bitfield
        if len(frame) <= length:
            raise FrameError("the APS extended header is cut short")
        fragmented = frame[length] & 3
        length += 1 + bool(fragmented) + bool(fragmented and frame_type == 2)
    if len(frame) < length:
        raise FrameError(f"the APS header needs {length} bytes, not {len(frame)}")
    return length


def aps_key(link_key: bytes, key_id: KeyId) -> bytes:
    """The key CCM* uses for an APS frame under ``key_id`` (§4.5.3)."""
    if key_id == KeyId.KEY_TRANSPORT:
        return hmac_mmo(link_key, b"\x00")
    if key_id == KeyId.KEY_LOAD:
        return hmac_mmo(link_key, b"\x02")
    return link_key


@dataclass(slots=True)  # not frozen: per frame, frozen costs 5x to build
class Opened:
    """A received frame, opened: ``frame`` as before it was secured (security bit clear, no
    auxiliary header, no MIC), its auxiliary header, the counters after it."""

    frame: bytes
    aux: AuxHeader
    counters: FrameCounters

    # mypyc compiles an explicit __init__; the one @dataclass writes runs interpreted
    # (docs/han.md "Speed of the secured HAN")
    def __init__(self, frame: bytes, aux: AuxHeader, counters: FrameCounters) -> None:
        self.frame = frame
        self.aux = aux
        self.counters = counters


def _set_bit(header: bytes, mask: int, on: bool) -> bytes:
    width = 2 if mask > 0xFF else 1
    control = int.from_bytes(header[:width], "little")
    control = control | mask if on else control & ~mask
    return control.to_bytes(width, "little") + header[width:]


def _secure(
    frame: bytes, header_length: int, mask: int, key: bytes, aux: AuxHeader, sender: int, level: int
) -> bytes:
    width = 2 if mask > 0xFF else 1
    if int.from_bytes(frame[:width], "little") & mask:
        raise FrameError("the frame is already secured")
    header = _set_bit(frame[:header_length], mask, True)
    aad = header + aux.encode(level)
    sealed = seal(
        key, nonce(sender, aux.counter, aux.control(level)), level, aad, frame[header_length:]
    )
    return header + aux.encode(0) + sealed


def secure_nwk(
    frame: bytes,
    key: bytes,
    counter: int,
    source: int,
    key_seq: int = 0,
    level: int = NWK_SECURITY_LEVEL,
) -> bytes:
    """The NWK ``frame`` (header and payload, unsecured) secured under network key ``key``
    number ``key_seq``, with frame ``counter``, from the node whose IEEE address is ``source``
    (§4.3.1.1). FrameError if the frame is malformed or already secured."""
    aux = AuxHeader(KeyId.NETWORK, counter, source, key_seq)
    return _secure(frame, nwk_header_length(frame), NWK_SECURITY_BIT, key, aux, source, level)


def secure_aps(
    frame: bytes,
    link_key: bytes,
    counter: int,
    source: int,
    key_id: KeyId = KeyId.DATA,
    extended_nonce: bool = True,
    level: int = NWK_SECURITY_LEVEL,
) -> bytes:
    """The APS ``frame`` secured under the key ``key_id`` derives from ``link_key`` (§4.4.1.1),
    from the node whose IEEE address is ``source`` (carried in the frame if
    ``extended_nonce``)."""
    if key_id == KeyId.NETWORK:
        raise FrameError("APS frames under the network key are not made here")
    aux = AuxHeader(key_id, counter, source if extended_nonce else None)
    key = aps_key(link_key, key_id)
    return _secure(frame, aps_header_length(frame), APS_SECURITY_BIT, key, aux, source, level)


def _open(
    data: bytes,
    header_length: int,
    mask: int,
    aux_and_key: tuple[AuxHeader, int, int, bytes],
    counters: FrameCounters,
    level: int,
) -> Opened:
    aux, aux_length, sender, key = aux_and_key
    fresh = counters.verdict(sender, aux.counter)
    if fresh is not None:
        raise FrameRefused(
            fresh, f"counter {aux.counter} from {sender:016X}", counters.drop(sender, fresh)
        )
    header = data[:header_length]
    aad = header + aux.encode(level)
    try:
        payload = unseal(
            key,
            nonce(sender, aux.counter, aux.control(level)),
            level,
            aad,
            data[header_length + aux_length :],
        )
    except CcmError as exc:
        raise FrameRefused(Drop.MIC, str(exc), counters.drop(sender, Drop.MIC)) from None
    frame = _set_bit(header, mask, False) + payload
    return Opened(frame, aux, counters.accept(sender, aux.counter))


def _parse(
    data: bytes, header_length: int, mask: int, counters: FrameCounters
) -> tuple[AuxHeader, int]:
    """The auxiliary header after a header of ``header_length``, with the checks every secured
    frame passes: security on, a header that parses, level 0 on the air."""
    width = 2 if mask > 0xFF else 1
    if not int.from_bytes(data[:width], "little") & mask:
        raise FrameRefused(
            Drop.UNSECURED, "the security bit is clear", counters.drop(None, Drop.UNSECURED)
        )
    try:
        aux, length = AuxHeader.decode(data[header_length:])
    except FrameError as exc:
        raise FrameRefused(Drop.MALFORMED, str(exc), counters.drop(None, Drop.MALFORMED)) from None
    if aux.level != 0:
        raise FrameRefused(
            Drop.LEVEL,
            f"security level {aux.level} on the air (0 expected)",
            counters.drop(aux.source, Drop.LEVEL),
        )
    return aux, length


def _header(measure: Callable[[bytes], int], data: bytes, counters: FrameCounters) -> int:
    try:
        return measure(data)
    except FrameError as exc:
        raise FrameRefused(Drop.MALFORMED, str(exc), counters.drop(None, Drop.MALFORMED)) from None


def open_nwk(
    data: bytes,
    keys: Mapping[int, bytes],
    counters: FrameCounters,
    level: int = NWK_SECURITY_LEVEL,
) -> Opened:
    """A secured NWK frame opened with the network key of its key sequence number in ``keys``
    (§4.3.1.2); FrameRefused with the reason otherwise (the drop counted in its counters)."""
    header_length = _header(nwk_header_length, data, counters)
    aux, aux_length = _parse(data, header_length, NWK_SECURITY_BIT, counters)
    if aux.source is None or aux.key_id != KeyId.NETWORK:
        raise FrameRefused(
            Drop.MALFORMED if aux.source is None else Drop.KEY,
            "a NWK frame is secured by the network key, with the sender's address",
            counters.drop(aux.source, Drop.MALFORMED if aux.source is None else Drop.KEY),
        )
    key = keys.get(aux.key_seq or 0)
    if key is None:
        raise FrameRefused(
            Drop.KEY, f"no network key number {aux.key_seq}", counters.drop(aux.source, Drop.KEY)
        )
    return _open(
        data, header_length, NWK_SECURITY_BIT, (aux, aux_length, aux.source, key), counters, level
    )


def open_aps(
    data: bytes,
    link_keys: Mapping[int, bytes],
    counters: FrameCounters,
    source: int | None = None,
    level: int = NWK_SECURITY_LEVEL,
) -> Opened:
    """A secured APS frame opened with the link key ``link_keys`` holds for its sender
    (§4.4.1.2): the address in its auxiliary header, else ``source`` (the NWK sender's IEEE
    address). FrameRefused with the reason otherwise."""
    header_length = _header(aps_header_length, data, counters)
    aux, aux_length = _parse(data, header_length, APS_SECURITY_BIT, counters)
    sender = aux.source if aux.source is not None else source
    link_key = link_keys.get(sender) if sender is not None else None
    if aux.key_id == KeyId.NETWORK or sender is None or link_key is None:
        detail = (
            "APS frames under the network key are not opened here"
            if aux.key_id == KeyId.NETWORK
            else "the sender's address is neither in the frame nor given"
            if sender is None
            else f"no link key for {sender:016X}"
        )
        raise FrameRefused(Drop.KEY, detail, counters.drop(sender, Drop.KEY))
    key = aps_key(link_key, aux.key_id)
    return _open(
        data, header_length, APS_SECURITY_BIT, (aux, aux_length, sender, key), counters, level
    )
