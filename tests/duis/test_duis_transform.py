"""DUIS -> GBCS: each template's command equals its RTDS command (domain.md §7.3, gbcs.md §1).

Byte for byte where deterministic: non-critical commands (MAC included) and the pre-commands of
critical ones; a critical command's ECDSA signature is random, so it is checked by verifying it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from duis_testdata import DEVICES, ESME, GSME, RTDS_DIR, SUPPLIER
from shared_dir import require_shared

from rig.duis import request as rq
from rig.duis.codes import DuisError, ResponseCode, RigCode
from rig.duis.messages import parse_request
from rig.duis.transform import DCC_ORIGINATED, command_signing, to_gbcs
from rig.gbcs.codec import RemotePartyCodec
from rig.gbcs.crypto import verify_signature
from rig.gbcs.frame import decode, encode_signed
from rig.keys.keystore import KeyStore

INVENTORY = {device.eui: device for device in DEVICES}
#: Templates without an RTDS command: a DSP future-dated and a local-delivery (CV 2) variant.
NO_VECTOR = {"ECS17b_4.1.1_DSP_FUTURE_DATED", "ECS17b_4.1.1"}


@pytest.fixture(scope="module")
def codec(shared_dir: Path) -> RemotePartyCodec:
    return RemotePartyCodec(KeyStore([require_shared(RTDS_DIR / "keystore")]))


def _vector(stem: str, kind: str) -> bytes:
    (path,) = (RTDS_DIR / "vectors").glob(f"*/{stem}_{kind}_GBCS.HEX")
    return bytes.fromhex(path.read_text().strip())


def test_template_command_equals_rtds(
    template_file: Path, template: bytes, codec: RemotePartyCodec
) -> None:
    stem = template_file.name.removesuffix("_REQUEST_DUIS.XML")
    request = parse_request(template)
    if stem in NO_VECTOR:
        stem = "ECS17b_4.1.1_SINGLE_SUCCESS"  # the same read, released or delivered at once
    expected = decode(_vector(stem, "COMMAND")).signing
    dcc_counter = expected.counter if expected.message_code in DCC_ORIGINATED else None
    command = to_gbcs(request, INVENTORY, counter=dcc_counter)
    signing = command_signing(request, command, dcc_counter=dcc_counter)
    if not command.critical:
        assert codec.seal_command(signing) == _vector(stem, "COMMAND")
        return
    assert encode_signed(signing.without_signature_field()) == _vector(stem, "PRECOMMAND")
    frame = codec.build_critical_command(
        signing.originator,
        signing.recipient,
        signing.counter,
        command.message_code,
        command.payload,
    )
    built = decode(frame).signing
    assert built.with_signature(None) == expected.with_signature(None)
    assert built.signature is not None
    verify_signature(codec.keys.ds_public(SUPPLIER), built.signed_data(), built.signature)


def test_signed_pre_command_passes_through(codec: RemotePartyCodec) -> None:
    pre = _vector("ECS43_7.2_SUCCESS", "PRECOMMAND")
    request = rq.ServiceRequest(
        rq.RequestId(SUPPLIER, ESME, 1000), rq.SignedPreCommand("7.2", pre), rq.CommandVariant(5)
    )
    command = to_gbcs(request, INVENTORY)
    assert command.message_code == 0x0050 and command.critical
    assert command.payload == decode(pre).signing.payload


def test_unknown_target_and_wrong_type() -> None:
    unknown = rq.RequestId(SUPPLIER, SUPPLIER, 1)
    with pytest.raises(DuisError) as caught:
        to_gbcs(rq.ServiceRequest(unknown, rq.ReadSupplyStatus()), INVENTORY)
    assert caught.value.code is ResponseCode.DEVICE_UNKNOWN
    enable_gas = rq.ServiceRequest(rq.RequestId(SUPPLIER, GSME, 1), rq.EnableSupply())
    with pytest.raises(DuisError) as caught:
        to_gbcs(enable_gas, INVENTORY)
    assert caught.value.code is ResponseCode.INVALID_SRV_DEVICE_TYPE


def test_locked_gas_state_is_not_guessed() -> None:
    body = rq.UpdateDeviceConfigurationGasFlow(
        rq.SupplyStateChange.LOCKED, rq.SupplyStateChange.UNCHANGED, 60, 300, rate=10
    )
    request = rq.ServiceRequest(rq.RequestId(SUPPLIER, GSME, 1), body, rq.CommandVariant(4))
    with pytest.raises(DuisError) as caught:
        to_gbcs(request, INVENTORY)
    assert caught.value.element == "sr:SupplyDepletionState"


def test_dcc_originated_needs_its_counter() -> None:
    body = rq.UpdateHanDeviceLog(ESME, rq.HanLogRequestType.REMOVE)
    chf = next(d.eui for d in DEVICES if d.type == "CHF")
    request = rq.ServiceRequest(rq.RequestId(SUPPLIER, chf, 1002), body)
    with pytest.raises(ValueError, match="dcc_counter"):
        command_signing(request, to_gbcs(request, INVENTORY))


def _template_request(name: str) -> rq.ServiceRequest:
    return parse_request(require_shared(RTDS_DIR.parent / "duis" / "templates" / name).read_bytes())


def _tariff_with(template: str, old: bytes, new: bytes) -> rq.ServiceRequest:
    """A template's tariff request with one value changed (as an unvalidated log may carry)."""
    request = _template_request(template)
    body = request.body
    assert isinstance(body, rq.UpdateImportTariff)
    elements = body.elements.replace(old, new)
    assert elements != body.elements
    return dataclasses.replace(request, body=dataclasses.replace(body, elements=elements))


def test_gas_threshold_above_the_maximum_is_refused_in_the_transform() -> None:
    """Seed 002: a GasThresholdType above 2^48 - 1 that got past the schema (an unvalidated
    log) gets the rig's GasThresholdType code naming the element, not a GBCS payload."""
    template = "GCS01a_1.1.1_FUTURE_DATED_BLOCK_SUCCESS_REQUEST_DUIS.XML"
    with pytest.raises(DuisError) as caught:
        to_gbcs(_tariff_with(template, b">3000000<", b">281474976710656<"), INVENTORY)
    assert caught.value.code is RigCode.GAS_THRESHOLD_RANGE
    assert caught.value.element == "sr:BlockThreshold"


def test_tariff_elements_must_suit_the_device() -> None:
    request = _template_request("ECS01a_1.1.1_IMMEDIATE_TOU_SUCCESS_REQUEST_DUIS.XML")
    to_gas = dataclasses.replace(
        request, request_id=rq.RequestId(SUPPLIER, GSME, request.request_id.counter)
    )
    with pytest.raises(DuisError) as caught:
        to_gbcs(to_gas, INVENTORY)
    assert caught.value.code is ResponseCode.INVALID_SRV_DEVICE_TYPE


def test_a_value_gbcs_cannot_carry_is_a_named_refusal() -> None:
    """An electricity threshold beyond double-long-unsigned (a log not checked by the schema)."""
    template = "ECS01a_1.1.1_IMMEDIATE_BLOCK_SUCCESS_REQUEST_DUIS.XML"
    with pytest.raises(DuisError) as caught:
        to_gbcs(_tariff_with(template, b">10000<", b">4294967296<"), INVENTORY)
    assert caught.value.code is RigCode.SCHEMA_VIOLATION and "ECS01a" in caught.value.reason
