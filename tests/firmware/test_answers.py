"""Every RTDS use case addressed to the ESME, the GSME, the Comms Hub Function or the Gas Proxy
Function gets a well-formed, secured answer from the emulated device (issue 17;
firmware_stubs/answers.py).

Each SUCCESS command vector of the shared RTDS is re-addressed to the bench's meter and rebuilt
with the bench's keys (fresh counter, ACB MAC, the originator's signature where the vector has
one); the meter's response must verify, decrypt and re-encrypt byte for byte, decode typed,
re-encode byte for byte and have the typed shape of the RTDS SUCCESS response of that command.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from firmware_parties import CHF, ESME, GPF, GSME, SUPPLIER, Supplier
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shared_dir import SHARED_DIR, require_shared

from firmware_stubs.comms_hub import Chf, Gpf, HanLogEntry, HubSettings, install_code_for
from firmware_stubs.device import SmartDevice
from firmware_stubs.esme import Esme
from firmware_stubs.exemplars import Exemplar, placeholder, table
from firmware_stubs.gsme import Gsme
from firmware_stubs.object_model import cosem_key
from rig.gbcs import protect, usecases
from rig.gbcs.asn1 import Der
from rig.gbcs.cosem.payload import CosemAccess, DlmsRequest, DlmsResponse
from rig.gbcs.cosem.schema import Obis
from rig.gbcs.crypto import sign
from rig.gbcs.dlms import AccessKind, AccessSpec, Data, Tag
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import Cra, GeneralSigning, decode
from rig.gbcs.gbz import PROFILE, Gbz, GbzComponent, ZclFrame
from rig.gbcs.gbz_message import GbzPayload, decode_plaintext
from rig.gbcs.usecases import RawPayload
from rig.keys.keystore import KeyStore

VECTORS = SHARED_DIR / "gbcs-rtds" / "vectors"
WALL = 1.7e9
EXEMPLARS = [e for entries in table().values() for e in entries]
#: Top-ups carry a UTRN bound to the RTDS meter and counter: the test makes a fresh one.
TOP_UPS = {0x0007: False, 0x0097: True}


def _command_file(ex: Exemplar) -> Path:
    folder = require_shared(VECTORS)
    [path] = folder.glob(f"*/{ex.vector.replace('_RESPONSE', '_COMMAND')}_GBCS.HEX")
    return path


def rebuilt(supplier: Supplier, ex: Exemplar, target: Any) -> bytes:
    """The vector's command for ``target`` with the bench's keys and a fresh counter."""
    code = table_code(ex)
    if code in TOP_UPS:
        return supplier.top_up(target, 500, gas=TOP_UPS[code])
    original = decode(bytes.fromhex(_command_file(ex).read_text().strip())).signing
    counter = supplier.next_counter()
    # PCS01 comes from the RTDS PPMID over the HAN: the bench's supplier sends its payload.
    originator = original.originator if original.originator.raw[0] == 0x90 else SUPPLIER
    signing = replace(
        original, counter=counter, originator=originator, recipient=target, signature=None
    )
    if original.signature is not None:
        signing = signing.with_signature(
            sign(supplier.keys.ds_private(original.originator), signing.signed_data())
        )
    return supplier.codec.seal_command(signing)


def table_code(ex: Exemplar) -> int:
    return next(code for code, entries in table().items() if ex in entries)


def clear(signing: GeneralSigning, keys: KeyStore) -> bytes:
    """The payload with each encrypted part as its placeholder (checked to re-encrypt)."""
    results = protect.decrypt_parts(signing, keys)
    assert all(r.verdict == protect.VALID for r in results), [r.verdict for r in results]
    plaintexts = tuple(r.plaintext for r in results if r.plaintext is not None)
    assert protect.reencrypt(signing, plaintexts, keys) == signing.payload
    payload = bytearray(signing.payload)
    for r, text in zip(results, plaintexts, strict=True):
        payload[r.part.offset : r.part.offset + len(r.part.block)] = placeholder(text)
    return bytes(payload)


def _data_shape(data: Data) -> Any:
    """Tags, with an array's element shapes as a set (its length is a value)."""
    if isinstance(data.value, tuple):
        items = tuple(_data_shape(d) for d in data.value)
        return data.tag, frozenset(items) if data.tag is Tag.ARRAY else items
    return data.tag


def _der_shape(der: Der) -> Any:
    return der.tag, tuple(_der_shape(d) for d in der.value) if isinstance(der.value, tuple) else ()


def shape(code: int, payload: bytes) -> Any:
    """The typed shape of a clear response: members / attributes and data types, not values."""
    if payload[:1] == b"\xda":
        response = DlmsResponse.decode(code, payload)
        return [(r.kind, r.member, r.result, _data_shape(r.to_data())) for r in response.results]
    if payload[:2] != PROFILE:
        return _der_shape(usecases.decode_payload(code, payload, Cra.RESPONSE).root)  # type: ignore[attr-defined]
    out = []
    for c in GbzPayload.decode(payload).components:
        if c.encrypted:
            c = decode_plaintext(c, c.body.block[5:-12])
        records = getattr(c.body, "records", None)
        body = [(r.attribute, r.status, r.data_type) for r in records] if records else None
        out.append(
            (c.cluster, c.frame_control, c.command, c.encrypted, type(c.body).__name__, body)
        )
    return out


#: The RTDS devices a CCS02 may remove: on the bench CHF's log before the test.
RTDS_HAN = [Eui64.parse(f"00-DB-12-34-56-78-90-A{i}") for i in range(7)]


def meter(pki: KeyStore, ex: Exemplar) -> tuple[SmartDevice, Any]:
    if ex.device == "esme":
        return Esme.from_keys(ESME, pki, wall_clock_offset=WALL), ESME
    if ex.device == "gsme":
        return Gsme.from_keys(GSME, pki, wall_clock_offset=WALL), GSME
    keys = {"ka_private": pki.ka_private, "ds_private": pki.ds_private}
    if ex.device == "chf":
        log = {eui: HanLogEntry(eui, install_code_for(eui)) for eui in RTDS_HAN}
        own = {k: f(CHF) for k, f in keys.items()}
        return Chf(CHF, **own, keys=pki, settings=HubSettings(), log=log), CHF
    gsme = Gsme.from_keys(GSME, pki, wall_clock_offset=WALL)
    own = {k: f(GPF) for k, f in keys.items()}
    return Gpf(GPF, **own, keys=pki, settings=HubSettings(), gsme=gsme), GPF


@pytest.mark.parametrize("ex", EXEMPLARS, ids=lambda e: f"{e.device}-{e.vector}")
def test_the_device_answers_the_rtds_command(
    pki: KeyStore, supplier: Supplier, ex: Exemplar
) -> None:
    device, eui = meter(pki, ex)
    if isinstance(device, Esme | Gsme):
        device.tick(0.0)
    frame = rebuilt(supplier, ex, eui)
    outputs = device.handle(frame, 1.0)
    assert outputs, list(device.events)
    response = outputs[-1][1]
    message = supplier.message(response)  # verifies the MAC or the signature
    s = message.signing
    assert s.cra is Cra.RESPONSE and s.originator == eui
    assert (s.signature is not None) == (decode(frame).signing.signature is not None)
    obj = usecases.decode_payload(s.message_code, s.payload, s.cra)
    assert not isinstance(obj, RawPayload)
    assert obj.encode(s.counter) == s.payload
    plain = clear(s, pki)
    code = table_code(ex)
    assert shape(code, plain) == shape(code, ex.response)


def test_the_count_of_use_cases_answered() -> None:
    """Every use case with a SUCCESS command to the RTDS ESME, GSME, CHF or GPF has an
    exemplar: 116 message codes of the shared vectors (105 ESME / GSME, 10 CHF, 6 GPF, some
    shared with the meters); only CS02g-1 to the SAPC (no keys) is not answered."""
    by_device: dict[str, set[int]] = {}
    for code, entries in table().items():
        for e in entries:
            by_device.setdefault(e.device, set()).add(code)
    assert len(table()) == 116
    assert {d: len(c) for d, c in by_device.items()} == {
        "esme": 67,
        "gsme": 38,
        "chf": 10,
        "gpf": 6,
    }


EMERGENCY_OBIS = [f"0-0:94.44.6.{i}" for i in range(1, 6)]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.lists(st.integers(0, 0xFFFFFFFF), min_size=5, max_size=5))
def test_set_then_get_returns_the_value(
    pki: KeyStore, supplier: Supplier, values: list[int]
) -> None:
    """ECS62 SETs five attributes; a GET of the same five returns them (ESME object model)."""
    esme = Esme.from_keys(ESME, pki, wall_clock_offset=WALL)
    data = [Data(Tag.DOUBLE_LONG_UNSIGNED, v) for v in values]
    set_ = DlmsRequest.build(0x005F, *data)
    [(_, frame)] = esme.handle(supplier.command(ESME, set_, 0x005F), 1.0)
    assert supplier.open(frame)[1].ok  # type: ignore[attr-defined]
    keys = [cosem_key(obis, 1, 2) for obis in EMERGENCY_OBIS]
    assert all(esme.state.cosem.provenance(k) == "set by ECS62" for k in keys)
    specs = [AccessSpec(AccessKind.GET, 1, Obis.parse(o).raw, 2) for o in EMERGENCY_OBIS]
    get = DlmsRequest(0x005E, tuple(CosemAccess(spec) for spec in specs))
    [(_, frame)] = esme.handle(supplier.command(ESME, get, 0x005E), 2.0)
    response = supplier.open(frame)[1]
    assert [r.to_data() for r in response.results] == data  # type: ignore[attr-defined]


def test_a_plan_sets_a_value_in_the_model_and_reads_it_over_gbcs(
    pki: KeyStore, supplier: Supplier
) -> None:
    """The object model is the device API: a value set in Python is what ECS26c reads."""
    esme = Esme.from_keys(ESME, pki, wall_clock_offset=WALL)
    key = cosem_key("0-0:94.44.0.0", 1, 2)
    assert esme.state.cosem.provenance(key).startswith("ECS26c")  # the RTDS exemplar's value
    esme.state.cosem.set(key, Data(Tag.DOUBLE_LONG_UNSIGNED, 4242))
    get = DlmsRequest.build(0x003D, None, None, None)
    [(_, frame)] = esme.handle(supplier.command(ESME, get, 0x003D), 1.0)
    assert supplier.open(frame)[1].results[0].to_data() == Data(  # type: ignore[attr-defined]
        Tag.DOUBLE_LONG_UNSIGNED, 4242
    )


def _gbz(*components: GbzComponent) -> RawPayload:
    return RawPayload(0, Gbz(components).encode())


def test_gsme_write_then_read_attributes(pki: KeyStore, supplier: Supplier) -> None:
    """A Write Attributes is stored in the GSME's ZCL model; a Read Attributes returns it, and
    an attribute the model does not hold is UNSUPPORTED_ATTRIBUTE."""
    gsme = Gsme.from_keys(GSME, pki, wall_clock_offset=WALL)
    write = ZclFrame(0x00, 0, 0x02, bytes.fromhex("0103") + b"\x22" + (1234).to_bytes(3, "little"))
    [(_, frame)] = gsme.handle(supplier.command(GSME, _gbz(GbzComponent(0x0702, write)), 0x7B), 1)
    [component] = supplier.open(frame)[1].components  # type: ignore[attr-defined]
    assert (component.command, component.body.encode()) == (0x04, b"\x00")
    assert gsme.state.zcl.provenance((0x0702, 0x0301)) == "set by GCS21a"
    read = ZclFrame(0x00, 1, 0x00, bytes.fromhex("0103FEFF"))
    [(_, frame)] = gsme.handle(supplier.command(GSME, _gbz(GbzComponent(0x0702, read)), 0x7B), 2)
    [component] = supplier.open(frame)[1].components  # type: ignore[attr-defined]
    assert [(r.attribute, r.status, r.value) for r in component.body.records] == [
        (0x0301, 0, 1234),
        (0xFFFE, 0x86, None),
    ]


def test_a_payload_the_device_does_not_speak_is_noted_not_answered(
    pki: KeyStore, supplier: Supplier
) -> None:
    """A GBZ command to the ESME gets no answer; the device log says why."""
    esme = Esme.from_keys(ESME, pki, wall_clock_offset=WALL)
    read = ZclFrame(0x00, 0, 0x00, bytes.fromhex("0000"))
    assert esme.handle(supplier.command(ESME, _gbz(GbzComponent(0x0702, read)), 0x7B), 1) == []
    assert "not supported by this stub" in esme.events[-1]
