"""Every GBZ and ASN.1 payload typed both ways (issue 17; reference/gbcs.md §1.6-1.7)."""

from __future__ import annotations

import contextlib
import random

import pytest
from gbcs_testdata import VECTORS
from hypothesis import given
from hypothesis import strategies as st

from rig.gbcs.asn1 import Asn1Payload, Der, read_der
from rig.gbcs.errors import DecodeError, GbcsError
from rig.gbcs.frame import Cra, decode
from rig.gbcs.gbz import AttributeRecord, ZclArray, ZclStructure, encode_zcl_value, read_zcl_value
from rig.gbcs.gbz_message import (
    Ciphered,
    GbzAlert,
    GbzPayload,
    Opaque,
    ZclComponent,
    decode_body,
    decode_plaintext,
)
from rig.gbcs.mutate import mutate
from rig.gbcs.usecases import RawPayload, decode_payload, encode_payload
from rig.gbcs.wire import Reader
from rig.gbcs.zcl_clusters import ReadAttributesResponse
from rig.gbcs.zcl_clusters.management import PublishEventLog


def _gbz_or_asn1(payload: bytes) -> bool:
    return payload[:2] == b"\x01\x09" or payload[:1] in (b"\x30", b"\x02", b"\x04", b"\x05")


@pytest.mark.shared
def test_every_gbz_and_asn1_vector_is_typed_and_reencodes() -> None:
    """No RawPayload and no Opaque component; the typed object gives the bytes back."""
    typed = 0
    for path in VECTORS:
        s = decode(bytes.fromhex(path.read_text().strip())).signing
        if not _gbz_or_asn1(s.payload):
            continue
        obj = decode_payload(s.message_code, s.payload, s.cra)
        assert not isinstance(obj, RawPayload), path.name
        assert encode_payload(obj, s.counter) == s.payload, path.name
        for component in getattr(obj, "components", ()):
            assert not isinstance(component.body, Opaque), path.name
        typed += 1
    assert typed == 335  # 221 GBZ + 114 ASN.1 of the 737 shared vectors


def test_components_carry_cluster_and_command_names() -> None:
    payload = bytes.fromhex("010901010709001101000013000000f9351c00956e38000000")
    gbz = GbzPayload.decode(payload)
    (component,) = gbz.components
    assert (component.cluster_name, component.command_name) == ("Events", "GetEventLog")
    assert component.body.end_time == 0x386E9500
    assert gbz.encode() == payload


def test_a_profile_wide_read_response_types_its_records() -> None:
    body = decode_body(
        0x0702, 0x08, 0x01, bytes.fromhex("0000002501000000000014000030 02".replace(" ", ""))
    )
    assert isinstance(body, ReadAttributesResponse)
    assert body.records[1] == AttributeRecord(0x0014, 0, 0x30, 2)


def test_decrypted_plaintext_is_typed_through_the_hook() -> None:
    plaintext = bytes.fromhex("2000000100031f8f00f9351c00")
    component = ZclComponent(0x0709, 0x01, Ciphered(b"\x31" + bytes(20)), 0x19)
    clear = decode_plaintext(component, plaintext)
    assert isinstance(clear.body, PublishEventLog)
    assert clear.body.events[0].event_id == 0x8F1F


def test_future_dated_gbz_alert_names_the_executed_instruction() -> None:
    payload = bytes.fromhex("0109018f66388188900e006b00000000000003ed07000906")
    alert = decode_payload(0x00CD, payload, Cra.ALERT)
    assert isinstance(alert, GbzAlert)
    assert alert.executed.message_code == 0x006B  # type: ignore[union-attr]
    assert alert.executed.cluster == 0x0700  # type: ignore[union-attr]
    assert alert.encode() == payload


def test_asn1_fields_by_name() -> None:
    payload = bytes.fromhex("30370420" + "aa" * 32 + "020203ea180f39393939313233313233353935395a")
    obj = decode_payload(0x0012, payload, Cra.COMMAND)
    assert isinstance(obj, Asn1Payload)
    assert obj.field("originator_counter") == Der(0x02, 0x3EA)
    assert obj.field("execution_date_time").value == b"99991231235959Z"  # type: ignore[union-attr]
    assert obj.encode() == payload


def test_a_malformed_asn1_payload_is_a_decode_error() -> None:
    for bad in ("3003020100ff", "3081050500", "0200", "1f0100"):
        with pytest.raises(DecodeError):
            decode_payload(0x0012, bytes.fromhex(bad), Cra.COMMAND)


_SCALAR = st.sampled_from(
    [0x08, 0x10, 0x18, 0x1B, 0x20, 0x23, 0x25, 0x28, 0x2B, 0x30, 0x31, 0xE2, 0xF0]
)


@st.composite
def _zcl_values(draw: st.DrawFn) -> tuple[int, object]:
    kind = draw(st.sampled_from(["scalar", "string", "array", "structure"]))
    if kind == "string":
        return 0x41, draw(st.binary(max_size=40))
    data_type = draw(_SCALAR)
    size = {0x10: 1, 0x30: 1, 0x31: 2, 0xE2: 4, 0xF0: 8}.get(data_type, (data_type & 7) + 1)
    signed = 0x28 <= data_type < 0x30
    bound = 1 << (8 * size - (1 if signed else 0))
    ints = st.integers(-bound if signed else 0, bound - 1)
    if kind == "scalar":
        return data_type, draw(ints)
    items = tuple(draw(st.lists(ints, max_size=5)))
    if kind == "array":
        return 0x48, ZclArray(0x48, data_type, items)
    return 0x4C, ZclStructure(tuple((data_type, v) for v in items))


@given(_zcl_values())
def test_zcl_values_round_trip(typed: tuple[int, object]) -> None:
    data_type, value = typed
    raw = encode_zcl_value(data_type, value)  # type: ignore[arg-type]
    reader = Reader(raw)
    assert read_zcl_value(reader, data_type) == value
    assert not reader.remaining


@given(
    st.integers(0, 0xFFFF),
    st.sampled_from([0x00, 0x01, 0x08, 0x09, 0x18, 0x19]),
    st.integers(0, 0x0F),
    st.binary(max_size=60),
)
def test_any_zcl_payload_reencodes_exactly(
    cluster: int, fc: int, command: int, payload: bytes
) -> None:
    """Typed or opaque, a body always gives its bytes back."""
    assert decode_body(cluster, fc, command, payload).encode() == payload


@given(st.binary(max_size=80))
def test_gbz_and_der_decoders_are_strict_or_exact(payload: bytes) -> None:
    """Arbitrary bytes: a DecodeError, or a typed object that gives the same bytes back."""
    for candidate in (b"\x01\x09" + payload, payload):
        with contextlib.suppress(DecodeError):
            assert GbzPayload.decode(candidate).encode() == candidate
        with contextlib.suppress(DecodeError):
            reader = Reader(candidate)
            element = read_der(reader)
            assert element.encode() == candidate[: reader.pos]


@pytest.mark.shared
def test_mutated_gbz_and_asn1_payloads_raise_only_codec_errors() -> None:
    """rig.gbcs.mutate over every GBZ / ASN.1 payload: a GbcsError or an exact round trip."""
    items = []
    for path in VECTORS:
        s = decode(bytes.fromhex(path.read_text().strip())).signing
        if _gbz_or_asn1(s.payload):
            items.append((s.message_code, s.cra, s.payload))
    pool = [p for _, _, p in items]
    rnd = random.Random(17)
    for _ in range(5000):
        code, cra, payload = rnd.choice(items)
        mutated = mutate(rnd, payload, pool)
        with contextlib.suppress(GbcsError):
            assert encode_payload(decode_payload(code, mutated, cra), 0) == mutated
