"""Typed use-case payloads (reference/gbcs.md §1.6, §1.7, §1.10)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rig.gbcs.errors import DecodeError
from rig.gbcs.frame import Cra
from rig.gbcs.usecases import (
    ALERT_CODES,
    GENERIC_CRITICAL_ALERT,
    MESSAGE_CODES,
    MESSAGE_NAMES,
    ChangeSupplyEsme,
    ChangeSupplyEsmeResponse,
    DlmsAlert,
    GbzAlert,
    Payload,
    RawPayload,
    ReadSupplyStatusEsme,
    ReadSupplyStatusEsmeResponse,
    SupplyState,
    TopUpEsme,
    TopUpEsmeResponse,
    decode_payload,
    encode_payload,
)

DATE_TIME = bytes.fromhex("07DF0101FF000000008000FF")


@pytest.mark.parametrize(
    ("code", "cra", "obj", "counter", "payload"),
    [
        (0x0052, Cra.COMMAND, ReadSupplyStatusEsme(), 1000,
         "D9200003E80001010046000060030AFF030100"),
        (0x0052, Cra.RESPONSE, ReadSupplyStatusEsmeResponse(SupplyState.CONNECTED), 1000,
         "DA200003E80000011601010100"),
        (0x0007, Cra.RESPONSE, TopUpEsmeResponse(0), 0x300000000, "DA2000000000000100010300"),
        (0x0050, Cra.COMMAND, ChangeSupplyEsme(SupplyState.DISCONNECTED), 1000,
         "D9200003E8000103000900000A006AFF0101120034"),
        (0x1000, Cra.ALERT, DlmsAlert(0x8F30, DATE_TIME), 2000,
         "0F200007D0000202128F30090C07DF0101FF000000008000FF"),
        (0x1001, Cra.ALERT, GbzAlert(0x810E, 0x1C374A80), 3000, "010900810E1C374A80"),
    ],
)  # fmt: skip
def test_known_payloads(code: int, cra: Cra, obj: Payload, counter: int, payload: str) -> None:
    assert encode_payload(obj, counter).hex().upper() == payload
    assert decode_payload(code, bytes.fromhex(payload), cra) == obj


def test_top_up_payload_carries_ascii_utrn() -> None:
    payload = encode_payload(TopUpEsme("73946144332040217315"), 0x300000000)
    assert payload.hex().upper() == (
        "D92000000000010300730000132800FF010109143733393436313434333332303430323137333135"
    )
    assert decode_payload(0x0007, payload, Cra.COMMAND) == TopUpEsme("73946144332040217315")


@pytest.mark.parametrize("state", list(SupplyState))
def test_supply_control_round_trip(state: SupplyState) -> None:
    command = ChangeSupplyEsme(state)
    payload = encode_payload(command, 7)
    assert decode_payload(command.message_code, payload, Cra.COMMAND) == command
    response = encode_payload(ChangeSupplyEsmeResponse(1), 7)
    assert decode_payload(command.message_code, response, Cra.RESPONSE).result == 1  # type: ignore[attr-defined]


def test_supply_control_script_must_match_code() -> None:
    payload = encode_payload(ChangeSupplyEsme(SupplyState.ARMED), 7)
    with pytest.raises(DecodeError, match="expected script 51"):
        decode_payload(MESSAGE_CODES["ECS42"], payload, Cra.COMMAND)


def test_read_supply_status_response_variants() -> None:
    for reply in (ReadSupplyStatusEsmeResponse(None, 1), ReadSupplyStatusEsmeResponse(7)):
        assert decode_payload(0x0052, encode_payload(reply, 1), Cra.RESPONSE) == reply


def test_unmodelled_code_is_raw() -> None:
    """Only a payload that is not DLMS (D9 / DA / 0F: typed for every code, issue 17)."""
    assert decode_payload(0x7FFF, b"\x7fjunk", Cra.COMMAND) == RawPayload(0x7FFF, b"\x7fjunk")
    with pytest.raises(DecodeError):
        decode_payload(0x7FFF, b"\xd9junk", Cra.COMMAND)
    assert encode_payload(RawPayload(0x0027, b"abc"), 5) == b"abc"


def test_wrong_shape_for_modelled_code_is_decode_error() -> None:
    wrong = encode_payload(ReadSupplyStatusEsme(), 1)
    with pytest.raises(DecodeError, match="CS01a"):
        decode_payload(TopUpEsme.MESSAGE_CODE, wrong, Cra.COMMAND)
    with pytest.raises(DecodeError):
        decode_payload(GENERIC_CRITICAL_ALERT, wrong, Cra.ALERT)


@given(
    st.sampled_from([(0x0007, 1), (0x0007, 2), (0x0052, 1), (0x0052, 2), (0x0050, 1), (0x1000, 3),
                     (0x1001, 3), (0x00CD, 3)]),
    st.binary(max_size=120),
)  # fmt: skip
def test_fuzz_modelled_payloads(key: tuple[int, int], payload: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode_payload(key[0], payload, key[1])


def test_tables() -> None:
    assert MESSAGE_CODES["CS01a"] == 0x0007 and MESSAGE_NAMES[0x0052] == "ECS45"
    for code in (0x8F30, 0x810E, 0x8F36, 0x8F63, 0x8F64, 0x8F51, 0x8F5B, 0x8F66):
        assert ALERT_CODES[code]
