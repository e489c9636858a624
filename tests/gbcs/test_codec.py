"""Both ends of the key-bound codec with generated bench keys (reference/gbcs.md §1.3, §1.4)."""

from __future__ import annotations

import dataclasses

import pytest
from gbcs_testdata import ACB, ESME, SUPPLIER
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rig.gbcs import crypto
from rig.gbcs.codec import DeviceCodec, RemotePartyCodec
from rig.gbcs.errors import DecodeError, VerifyError
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import Cra, GeneralSigning, decode, encode_mac_frame, encode_signed
from rig.gbcs.usecases import (
    GENERIC_CRITICAL_ALERT,
    GENERIC_NON_CRITICAL_ALERT,
    ChangeSupplyEsme,
    DlmsAlert,
    ReadSupplyStatusEsme,
    ReadSupplyStatusEsmeResponse,
    SupplyState,
    decode_payload,
    encode_payload,
)
from rig.keys.keystore import KeyNotFound, KeyStore

DATE_TIME = bytes.fromhex("07E8060D0C000000008000FF")


@pytest.fixture
def dcc(bench_keys: KeyStore) -> RemotePartyCodec:
    return RemotePartyCodec(bench_keys, acb=ACB)


@pytest.fixture
def esme(bench_keys: KeyStore) -> DeviceCodec:
    return DeviceCodec(
        ESME,
        ka_private=bench_keys.ka_private(ESME),
        ds_private=bench_keys.ds_private(ESME),
        keys=bench_keys,
        acb=ACB,
    )


def read_status(dcc: RemotePartyCodec, counter: int = 1000) -> bytes:
    payload = encode_payload(ReadSupplyStatusEsme(), counter)
    return dcc.build_command(SUPPLIER, ESME, counter, 0x0052, payload)


def test_non_critical_exchange(dcc: RemotePartyCodec, esme: DeviceCodec) -> None:
    command = esme.open_command(read_status(dcc))
    payload = encode_payload(ReadSupplyStatusEsmeResponse(SupplyState.ARMED), 1000)
    frame = esme.build_response(command, payload, date_time=DATE_TIME)
    response = dcc.open_response(frame)
    s = response.signing
    assert (s.cra, s.counter, s.originator, s.recipient) == (Cra.RESPONSE, 1000, ESME, SUPPLIER)
    assert response.mac is not None and s.signature is None and s.date_time == DATE_TIME


def test_critical_exchange(dcc: RemotePartyCodec, esme: DeviceCodec) -> None:
    payload = encode_payload(ChangeSupplyEsme(SupplyState.DISCONNECTED), 1001)
    frame = dcc.build_critical_command(SUPPLIER, ESME, 1001, 0x0050, payload)
    command = esme.open_command(frame)
    assert command.signing.signature is not None and command.mac is not None
    response = esme.build_response(command, b"\xda")
    assert response[0] == 0xDF  # signed, no MAC header
    assert dcc.open_response(response).signing.signature is not None


def test_command_tamper_and_forgery_rejected(
    dcc: RemotePartyCodec, esme: DeviceCodec, bench_keys: KeyStore
) -> None:
    frame = bytearray(read_status(dcc))
    frame[30] ^= 0x01  # inside the originator title
    with pytest.raises(VerifyError):
        esme.open_command(bytes(frame))
    message = decode(read_status(dcc))
    with pytest.raises(VerifyError, match="no MAC"):
        esme.open_command(encode_signed(message.signing))
    # A critical command whose signature is not the supplier's.
    forged = message.signing.with_signature(bytes(32) + b"\x01" * 32)
    with pytest.raises(VerifyError, match="ECDSA"):
        esme.open_command(dcc.seal_command(forged))


def test_command_for_someone_else_is_a_decode_error(
    dcc: RemotePartyCodec, esme: DeviceCodec
) -> None:
    other = Eui64.parse("00DB1234567890A1")
    message = decode(read_status(dcc))
    readdressed = dataclasses.replace(message.signing, recipient=other)
    with pytest.raises(DecodeError, match="addressed to 00-DB-12-34-56-78-90-A1") as caught:
        esme.open_command(encode_signed(readdressed))
    assert caught.value.offset == 21
    alert = esme.build_alert(SUPPLIER, 1, GENERIC_NON_CRITICAL_ALERT, b"", critical=False)
    with pytest.raises(DecodeError, match="expected COMMAND") as caught:
        esme.open_command(alert)
    assert caught.value.offset == 13 + 2


@pytest.mark.parametrize("critical", [True, False])
def test_alerts(dcc: RemotePartyCodec, esme: DeviceCodec, critical: bool) -> None:
    code = GENERIC_CRITICAL_ALERT if critical else GENERIC_NON_CRITICAL_ALERT
    payload = encode_payload(DlmsAlert(0x8F30, DATE_TIME), 2000)
    frame = esme.build_alert(SUPPLIER, 2000, code, payload, critical=critical)
    message = dcc.open_response(frame)
    assert (message.mac is None) == critical == (message.signing.signature is not None)
    assert esme.peek_originator(frame) == ESME


def test_response_without_mac_or_signature_rejected(
    dcc: RemotePartyCodec, esme: DeviceCodec
) -> None:
    frame = esme.build_alert(SUPPLIER, 1, GENERIC_NON_CRITICAL_ALERT, b"", critical=False)
    with pytest.raises(VerifyError, match="no MAC and no signature"):
        dcc.open_response(encode_signed(decode(frame).signing))
    with pytest.raises(VerifyError, match="got a command"):
        dcc.open_response(read_status(dcc))


def test_device_without_ds_key_cannot_sign(bench_keys: KeyStore) -> None:
    device = DeviceCodec(
        ESME, ka_private=bench_keys.ka_private(ESME), ds_private=None, keys=bench_keys
    )
    with pytest.raises(ValueError, match="no DS private key"):
        device.build_alert(SUPPLIER, 1, GENERIC_CRITICAL_ALERT, b"", critical=True)


def test_encrypted_part_round_trip(dcc: RemotePartyCodec, esme: DeviceCodec) -> None:
    command = esme.open_command(read_status(dcc, 77))
    response = dcc.open_response(esme.build_response(command, b"\xda"))
    block = esme.encrypt_part(response.signing, b"secret register values")
    assert block[:5] == bytes.fromhex("3100000000")
    assert dcc.decrypt_part(response, block) == b"secret register values"


@given(counter=st.integers(0, (1 << 64) - 1), payload=st.binary(max_size=300))
@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_build_command_is_the_general_encoder_and_kdf(
    dcc: RemotePartyCodec, bench_keys: KeyStore, counter: int, payload: bytes
) -> None:
    """The command hot path (encode_apdu, cached ECDH per pair) gives the bytes of the general
    path: a GeneralSigning MAC'd under the KDF from the keys (§1.4)."""
    signing = GeneralSigning(Cra.COMMAND, counter, SUPPLIER, ESME, 0x0052, payload)
    key = crypto.kdf(
        bench_keys.ka_private(ACB), bench_keys.ka_public(ESME), SUPPLIER, 1, counter, ESME
    )
    expected = encode_mac_frame(signing, key)
    assert dcc.build_command(SUPPLIER, ESME, counter, 0x0052, payload) == expected
    assert dcc.seal_command(signing) == expected


@given(
    counter=st.integers(0, (1 << 64) - 1),
    payload=st.binary(max_size=300),
    date_time=st.one_of(st.none(), st.binary(min_size=12, max_size=12), st.binary(max_size=13)),
)
@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_build_response_is_the_general_encoder_and_kdf(
    dcc: RemotePartyCodec,
    esme: DeviceCodec,
    bench_keys: KeyStore,
    counter: int,
    payload: bytes,
    date_time: bytes | None,
) -> None:
    """The MAC'd response hot path (encode_apdu straight from the command's fields) gives the
    bytes of a GeneralSigning MAC'd under the KDF from the keys (§1.4), or the same error."""
    command = esme.open_command(read_status(dcc, counter))
    try:
        signing = GeneralSigning(Cra.RESPONSE, counter, ESME, SUPPLIER, 0x0052, payload, date_time)
    except ValueError as exc:
        with pytest.raises(ValueError, match=str(exc)):
            esme.build_response(command, payload, date_time=date_time)
        return
    key = crypto.kdf(
        bench_keys.ka_private(ESME), bench_keys.ka_public(SUPPLIER), ESME, 2, counter, SUPPLIER
    )
    assert esme.build_response(command, payload, date_time=date_time) == encode_mac_frame(
        signing, key
    )


def test_unknown_party_raises_every_time(bench_keys: KeyStore) -> None:
    """Only found keys are cached: an unknown remote party fails on every frame."""
    dcc = RemotePartyCodec(bench_keys, acb=ACB)
    stranger = Eui64.parse("11-22-33-44-55-66-77-88")
    for _ in range(2):
        with pytest.raises(KeyNotFound):
            dcc.build_command(SUPPLIER, stranger, 1, 0x0052, b"")


def test_open_typed_is_open_response_and_decode_payload(
    dcc: RemotePartyCodec, esme: DeviceCodec
) -> None:
    """The one-call open (C accelerator: MAC and typed-payload memo in one call) gives what the
    two steps give, memo hit or miss, for MAC'd and signed frames alike."""
    command = esme.open_command(read_status(dcc))
    payload = encode_payload(ReadSupplyStatusEsmeResponse(SupplyState.ARMED), 1000)
    mac_d = esme.build_response(command, payload, date_time=DATE_TIME)
    alert = esme.build_alert(
        SUPPLIER, 7, GENERIC_CRITICAL_ALERT, encode_payload(DlmsAlert(0x8F30, DATE_TIME), 7), True
    )
    for frame in (mac_d, mac_d, alert):  # the second mac_d is a memo hit
        message, typed = dcc.open_typed(frame)
        s = message.signing
        assert message == dcc.open_response(frame)
        assert typed == decode_payload(s.message_code, s.payload, s.cra)
    assert dcc.open_typed(mac_d)[1] == ReadSupplyStatusEsmeResponse(SupplyState.ARMED)


def test_open_typed_rejects_what_open_response_rejects(
    dcc: RemotePartyCodec, esme: DeviceCodec
) -> None:
    """A bad MAC is a VerifyError and a malformed payload a DecodeError on every call: the memo
    keeps only successful decodes, and the MAC is checked before any lookup."""
    command = esme.open_command(read_status(dcc))
    good = esme.build_response(command, encode_payload(ReadSupplyStatusEsmeResponse(1), 1000))
    dcc.open_typed(good)  # remembered
    tampered = bytearray(good)
    tampered[-1] ^= 1
    with pytest.raises(VerifyError):
        dcc.open_typed(bytes(tampered))
    malformed = esme.build_response(command, bytes.fromhex("DA20000003E8000001"))
    for _ in range(2):
        with pytest.raises(DecodeError):
            dcc.open_typed(malformed)
    with pytest.raises(VerifyError, match="got a command"):
        dcc.open_typed(read_status(dcc))
