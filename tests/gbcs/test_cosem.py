"""Typed DLMS/COSEM payloads of every use case (issue 17; reference/gbcs.md §1.6-1.7).

Every shared RTDS DLMS payload decodes typed (no RawPayload) and re-encodes byte for byte (the
frames with their crypto: test_regeneration.py); the A-XDR additions (compact-array, selective
access) and the declarative schemas round-trip under hypothesis; mutated payloads of every DLMS
use case give a typed object or a DecodeError, nothing else.
"""

from __future__ import annotations

import contextlib
import random
from pathlib import Path

import pytest
from gbcs_strategies import data_values
from gbcs_testdata import VECTORS
from hypothesis import given
from hypothesis import strategies as st

from rig.gbcs.cosem.accesses import USE_CASE_MEMBERS
from rig.gbcs.cosem.classes import CLASSES, SEASON, describe
from rig.gbcs.cosem.payload import (
    DLMS_TAGS,
    CosemAccess,
    DlmsNotification,
    DlmsRequest,
    DlmsResponse,
    decode_dlms,
)
from rig.gbcs.cosem.schema import Obis, typed, untyped
from rig.gbcs.dlms import (
    AccessKind,
    AccessRequest,
    AccessSpec,
    CompactArray,
    Data,
    Selection,
    Tag,
    TypeDescription,
    decode_apdu,
    decode_data,
    invoke_id,
)
from rig.gbcs.errors import DecodeError
from rig.gbcs.esme_tariff import CosemDateTime
from rig.gbcs.frame import Cra, decode
from rig.gbcs.usecases import TYPED_USE_CASES, RawPayload, decode_payload, encode_payload
from rig.gbcs.wire import Reader

DLMS = [
    s
    for s in (decode(bytes.fromhex(p.read_text().strip())).signing for p in VECTORS)
    if s.payload[0] in DLMS_TAGS
]


def test_every_dlms_vector_is_typed_and_reencodes(rtds: Path) -> None:
    """No DLMS payload of the shared RTDS is raw; each re-encodes from its object exactly."""
    assert len(DLMS) == 402
    for s in DLMS:
        typed_obj = decode_payload(s.message_code, s.payload, s.cra)
        assert not isinstance(typed_obj, RawPayload), s.message_code
        assert encode_payload(typed_obj, s.counter) == s.payload
    assert {(s.message_code, s.cra) for s in DLMS} <= TYPED_USE_CASES


def test_a_held_out_code_is_typed_too() -> None:
    """A DLMS payload of a code no table lists still decodes typed (the RTDS's held-out codes)."""
    payload = AccessRequest(
        invoke_id(7),
        (AccessSpec(AccessKind.GET, 8, bytes([0, 0, 1, 0, 0, 255]), 2),),
        (Data.null(),),
    ).encode()
    obj = decode_payload(0x0110, payload, Cra.COMMAND)
    assert isinstance(obj, DlmsRequest)
    assert obj.accesses[0].name == "Clock 0-0:1.0.0.255.time" and obj.field("time") is None
    assert encode_payload(obj, 7) == payload


def test_names_and_typed_values_of_a_tariff_and_a_profile_read(rtds: Path) -> None:
    by_code = {(s.message_code, s.cra): s for s in DLMS}
    ecs23 = by_code[0x0039, Cra.COMMAND]
    request = decode_dlms(0x0039, ecs23.payload)
    assert isinstance(request, DlmsRequest) and request.use_case.startswith("ECS23")
    (profile,) = [a for a in request.accesses if a.spec.selection is not None]
    assert profile.spec.kind is AccessKind.GET_WITH_SELECTION
    assert profile.name == "Profile generic 1-0:32.24.0.255.buffer"
    response = decode_dlms(0x0039, by_code[0x0039, Cra.RESPONSE].payload)
    assert isinstance(response, DlmsResponse) and response.ok
    buffer = response.field("buffer")
    assert isinstance(buffer, Data) and isinstance(buffer.value, CompactArray)
    assert len(buffer.value.rows) == 49
    assert [r.result_name for r in response.results] == ["success"] * 6
    # ECS01c (0x00B7) sets a passive calendar through the generic layer: named structures.
    seasons = next(
        decode_dlms(s.message_code, s.payload).field("season_profile_passive")
        for s in DLMS
        if s.cra is Cra.COMMAND
        and any(
            m[1:] == (20, bytes.fromhex("00000D0001FF"), 7)
            for f in USE_CASE_MEMBERS.get(s.message_code, ())
            for m in f
        )
    )
    assert isinstance(seasons[0], SEASON.type)
    assert isinstance(seasons[0].season_start, CosemDateTime)


def test_alerts_of_any_code_are_typed(rtds: Path) -> None:
    alerts = [s for s in DLMS if s.cra is Cra.ALERT]
    for s in alerts:
        obj = decode_dlms(s.message_code, s.payload)
        assert isinstance(obj, DlmsNotification) and obj.alert_code is not None
        assert isinstance(obj.alert_time, CosemDateTime)


def test_obis_names_only_where_the_groups_fix_them() -> None:
    assert describe(bytes.fromhex("000060030AFF")) == "disconnect control (0-0:96.3.10.255)"
    assert describe(bytes.fromhex("00005E2C0200")) == "0-0:94.44.2.0"
    assert str(Obis.parse("1-0:1.8.0.255")) == "1-0:1.8.0.255"


_simple = st.sampled_from(
    [Tag.UNSIGNED, Tag.LONG_UNSIGNED, Tag.DOUBLE_LONG, Tag.OCTET_STRING, Tag.BOOLEAN, Tag.ENUM]
)
_descriptions = st.recursive(
    _simple.map(TypeDescription),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(
            lambda items: TypeDescription(Tag.STRUCTURE, tuple(items))
        ),
        st.builds(lambda item, n: TypeDescription(Tag.ARRAY, (item,), n), inner, st.integers(1, 3)),
    ),
    max_leaves=6,
)


def _element(description: TypeDescription) -> st.SearchStrategy[Data]:
    """Values of one compact-array element type."""
    if description.tag is Tag.STRUCTURE:
        return st.tuples(*map(_element, description.items)).map(lambda v: Data(Tag.STRUCTURE, v))
    if description.tag is Tag.ARRAY:
        items = (_element(description.items[0]),) * description.count
        return st.tuples(*items).map(lambda v: Data(Tag.ARRAY, v))
    return data_values.filter(lambda d: d.tag is description.tag)


@st.composite
def _compact_arrays(draw: st.DrawFn) -> Data:
    description = draw(_descriptions)
    rows = draw(st.lists(_element(description), max_size=4))
    return Data(Tag.COMPACT_ARRAY, CompactArray(description, tuple(rows)))


@given(_compact_arrays())
def test_compact_array_round_trips(value: Data) -> None:
    reader = Reader(value.encode())
    assert decode_data(reader) == value and reader.remaining == 0


@given(data_values, st.integers(0, 255), st.sampled_from(list(AccessKind)[3:]))
def test_selective_access_round_trips(parameters: Data, selector: int, kind: AccessKind) -> None:
    spec = AccessSpec(kind, 7, bytes(6), 2, Selection(selector, parameters))
    apdu = AccessRequest(invoke_id(1), (spec,), (Data.null(),))
    assert decode_apdu(apdu.encode()) == apdu


_MEMBERS = [
    (c, i, method)
    for c, cls in CLASSES.items()
    for method, table in ((False, cls.attributes), (True, cls.methods))
    for i in table
]


@given(st.sampled_from(_MEMBERS), data_values)
def test_every_schema_is_exact_or_keeps_the_data(m: tuple[int, int, bool], data: Data) -> None:
    """Through any member's schema, data of its shape comes back exactly, any other as is."""
    class_id, index, method = m
    cls = CLASSES[class_id]
    schema = (cls.methods if method else cls.attributes)[index][1]
    assert untyped(schema, typed(schema, data)) == data


@given(st.sampled_from(sorted(USE_CASE_MEMBERS)), st.integers(0, (1 << 24) - 1))
def test_use_case_commands_build_from_values(code: int, counter: int) -> None:
    """A command built from the use case's members and values decodes to the same object."""
    members = USE_CASE_MEMBERS[code][0]
    if any(m[0] in (AccessKind.GET_WITH_SELECTION, AccessKind.SET_WITH_SELECTION) for m in members):
        with pytest.raises(ValueError):
            DlmsRequest.build(code, *(None,) * len(members))
        return
    values = [None if m[0] is AccessKind.GET else Data.null() for m in members]
    built = DlmsRequest.build(code, *values)
    assert [a.spec for a in built.accesses] == [AccessSpec(*m) for m in members]
    assert decode_dlms(code, built.encode(counter)) == built
    with pytest.raises(ValueError):
        DlmsRequest.build(code, *values, None)


def test_access_values_encode_through_their_schema() -> None:
    spec = AccessSpec(AccessKind.SET, 20, bytes.fromhex("00000D0000FF"), 7)
    season = SEASON(b"S1", CosemDateTime.parse(bytes.fromhex("07E00101FF000000008000FF")), b"\x01")
    access = CosemAccess(spec, (season,))
    assert CosemAccess.of(spec, access.to_data()) == access
    assert access.member == "season_profile_passive"


def test_mutated_dlms_payloads_give_typed_objects_or_decode_errors(rtds: Path) -> None:
    """Every DLMS payload of the RTDS, 12 mutations each (byte flips, truncations, insertions):
    decode_payload gives a typed object or a DecodeError, never another exception."""
    rnd = random.Random(17)
    for s in DLMS:
        payload = s.payload
        for _ in range(12):
            at = rnd.randrange(len(payload))
            choice = rnd.random()
            if choice < 0.5:
                mutated = payload[:at] + bytes([rnd.randrange(256)]) + payload[at + 1 :]
            elif choice < 0.75:
                mutated = payload[:at]
            else:
                mutated = payload[:at] + bytes([rnd.randrange(256)]) + payload[at:]
            with contextlib.suppress(DecodeError):
                obj = decode_payload(s.message_code, mutated, s.cra)
                if mutated[0] in DLMS_TAGS:  # exact, with the mutated invoke-id
                    assert encode_payload(obj, int.from_bytes(mutated[1:5], "big")) == mutated
