"""The message-code table's message types (rig/gbcs/codes.py) and what the codecs do with them."""

from __future__ import annotations

import pytest
from gbcs_testdata import ESME, SUPPLIER

from rig.gbcs.codec import DeviceCodec
from rig.gbcs.codes import (
    ASSUMPTIONS,
    CODE_BY_NAME,
    CRITICAL_CODES,
    HAN_ONLY_CODES,
    MESSAGE_CODE_TABLE,
    SIGNATURE_ONLY_COMMANDS,
    MessageType,
)
from rig.gbcs.crypto import sign
from rig.gbcs.errors import VerifyError
from rig.gbcs.frame import Cra, GeneralSigning, encode_signed
from rig.keys.keystore import KeyStore


@pytest.mark.parametrize(
    ("name", "message_type"),
    [
        ("ECS01c", MessageType.CRITICAL_COMMAND),  # 0x00B7, the code issue 13 found missing
        ("ECS45", MessageType.NON_CRITICAL_COMMAND),
        ("CS01a", MessageType.NON_CRITICAL_COMMAND),  # SME.C.NC plus UTRN crypto
        ("ECS68", MessageType.CRITICAL_ALERT),
        ("CS14", MessageType.NON_CRITICAL_ALERT),
        ("CS02a", MessageType.VARIANT),
        ("PCS01", MessageType.HAN_ONLY),
        ("ECS61e", MessageType.NON_CRITICAL_COMMAND),  # 0x011D, named by its RTDS folder
        ("ECS47a", MessageType.CRITICAL_COMMAND),  # 0x011E
    ],
)
def test_message_type_from_the_use_case_table(name: str, message_type: MessageType) -> None:
    row = MESSAGE_CODE_TABLE[CODE_BY_NAME[name]]
    assert row.type is message_type and not row.assumed


def test_every_named_code_has_a_type_and_assumptions_are_marked() -> None:
    for code, row in MESSAGE_CODE_TABLE.items():
        assert (row.type is None) == row.description.startswith("unnamed"), hex(code)
    assumed = {row.name for row in MESSAGE_CODE_TABLE.values() if row.assumed}
    assert {"ECS08", "GCS24", "FD-DLMS", "CS02b-9", "CS02g-2", "ECS100"} <= assumed
    assert len(ASSUMPTIONS) == 8


def test_criticality_derived_from_the_type() -> None:
    assert 0x00B7 in CRITICAL_CODES and 0x0052 not in CRITICAL_CODES
    assert MESSAGE_CODE_TABLE[0x0008].critical is None  # CS02a: either form
    assert MESSAGE_CODE_TABLE[0x011A].critical is None  # unnamed: unknown
    assert {
        CODE_BY_NAME[n] for n in ("PCS01", "PCS02", "PECS01", "PECS02", "PECS03", "HECS01")
    } == HAN_ONLY_CODES


def _signed_without_mac(keys: KeyStore, code: int) -> bytes:
    precommand = GeneralSigning(Cra.COMMAND, 0x0000000A00000000, SUPPLIER, ESME, code, b"\x00")
    return encode_signed(
        precommand.with_signature(sign(keys.ds_private(SUPPLIER), precommand.signed_data()))
    )


def test_device_accepts_a_signed_security_credential_command_without_mac(
    rtds_keys: KeyStore,
) -> None:
    device = DeviceCodec(
        ESME, ka_private=rtds_keys.ka_private(ESME), ds_private=None, keys=rtds_keys
    )
    code = CODE_BY_NAME["CS02a"]
    assert code in SIGNATURE_ONLY_COMMANDS
    assert device.open_command(_signed_without_mac(rtds_keys, code)).signing.message_code == code


@pytest.mark.parametrize("name", ["ECS43", "ECS45", "CS01a"])
def test_device_refuses_any_other_command_without_mac(rtds_keys: KeyStore, name: str) -> None:
    """Security: only GBCS §13's credential commands may skip the ACB's MAC."""
    device = DeviceCodec(
        ESME, ka_private=rtds_keys.ka_private(ESME), ds_private=None, keys=rtds_keys
    )
    with pytest.raises(VerifyError, match="no MAC header"):
        device.open_command(_signed_without_mac(rtds_keys, CODE_BY_NAME[name]))


def test_device_refuses_a_credential_command_with_a_bad_signature(rtds_keys: KeyStore) -> None:
    device = DeviceCodec(
        ESME, ka_private=rtds_keys.ka_private(ESME), ds_private=None, keys=rtds_keys
    )
    frame = bytearray(_signed_without_mac(rtds_keys, CODE_BY_NAME["CS02a"]))
    frame[-1] ^= 0x01
    with pytest.raises(VerifyError):
        device.open_command(bytes(frame))
