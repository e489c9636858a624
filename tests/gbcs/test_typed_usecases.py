"""The typed GSME / ESME / CHF use cases beyond the RTDS bytes (reference/gbcs.md §1.6-1.7,
domain.md §5): limits, scaling, install codes, GBZ times, the DUIS critical flow, anti-replay."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from gbcs_testdata import ACB, ESME, SUPPLIER
from hypothesis import given
from hypothesis import strategies as st

from rig.gbcs.codec import AntiReplay, DeviceCodec, RemotePartyCodec, ReplayError, sign_precommand
from rig.gbcs.codes import MESSAGE_CODE_TABLE, message_code_name
from rig.gbcs.dlms_usecases import (
    INSTALL_CODE_REJECTED,
    AddHanDevice,
    InstallCodeError,
    ProtectionParameters,
    ReadImportRegistersEsme,
)
from rig.gbcs.errors import DecodeError, VerifyError
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import Cra, decode
from rig.gbcs.gbz import gbz_time, parse_gbz_time
from rig.gbcs.gbz_usecases import (
    ChangeSupplyGsme,
    GasSupplyState,
    SetUncontrolledGasFlow,
    TopUpGsme,
)
from rig.gbcs.gsme_tariff import (
    GAS_THRESHOLD_MAX,
    GasThresholdError,
    PublishBlockThresholds,
    UpdateTariffGsme,
)
from rig.gbcs.usecases import ChangeSupplyEsme, SupplyState, decode_payload
from rig.keys.keystore import KeyStore


def test_message_code_table_is_complete() -> None:
    # 224 from gbcs-parser, CCS05/CCS04 from Wireshark, 8 named by RTDS folders, 8 unnamed
    assert len(MESSAGE_CODE_TABLE) == 241
    assert message_code_name(0x0052).startswith("ECS45 ")
    assert message_code_name(0x011A).startswith("0x011A unnamed")
    assert message_code_name(0xBEEF) == "unknown 0xBEEF"


def test_gbz_time_is_seconds_since_2000() -> None:
    moment = datetime(2015, 1, 1, tzinfo=UTC)
    assert gbz_time(moment) == 0x1C374A80  # the RTDS issuer event id / alert time
    assert parse_gbz_time(0x1C374A80) == moment
    with pytest.raises(ValueError, match="aware"):
        gbz_time(datetime(2015, 1, 1))
    with pytest.raises(ValueError, match="range"):
        gbz_time(datetime(1999, 1, 1, tzinfo=UTC))


def test_gas_threshold_limit_is_2_48_minus_1() -> None:
    ok = PublishBlockThresholds(1, 2, 3, (GAS_THRESHOLD_MAX,))
    assert PublishBlockThresholds.parse(ok.payload()) == ok
    assert GAS_THRESHOLD_MAX == 281_474_976_710_655
    with pytest.raises(GasThresholdError, match="GasThresholdType 281474976710656"):
        PublishBlockThresholds(1, 2, 3, (GAS_THRESHOLD_MAX + 1,))
    tariff = UpdateTariffGsme((ok,))
    decoded = decode_payload(0x006B, tariff.encode(0), Cra.COMMAND)
    assert isinstance(decoded, UpdateTariffGsme) and decoded.block_thresholds == ok


@pytest.mark.parametrize(
    ("rate", "decimal", "threshold"),
    [
        (Decimal(61680), False, 61680),
        (Decimal("6.1680"), True, 61680),
        (Decimal("0.0001"), True, 1),
    ],
)
def test_gas_flow_scaling(rate: Decimal, decimal: bool, threshold: int) -> None:
    flow = SetUncontrolledGasFlow(rate, 0x1C374A80, 60, 300, decimal=decimal)
    assert flow.threshold == threshold
    assert decode_payload(flow.message_code, flow.encode(0), Cra.COMMAND) == flow


@pytest.mark.parametrize(("rate", "decimal"), [(Decimal("6.5"), False), (Decimal("6.55555"), True)])
def test_gas_flow_rate_must_scale_to_uint16(rate: Decimal, decimal: bool) -> None:
    with pytest.raises(ValueError, match=r"not an integer in 0\.\.65535"):
        SetUncontrolledGasFlow(rate, 1, 60, 300, decimal=decimal).encode(0)


def test_smets2_install_code_must_be_16_bytes() -> None:
    good = AddHanDevice(ESME, b"0123456789ABCDEF")
    good.check()
    short = AddHanDevice(ESME, b"01234567")
    short.check(smets2=False)
    with pytest.raises(InstallCodeError, match="install code of 8 bytes: a SMETS2 device needs 16"):
        short.check()
    assert decode_payload(0x0001, short.encode(7), Cra.COMMAND) == short  # the rig can send it
    rejected = decode_payload(0x0001, INSTALL_CODE_REJECTED.encode(7), Cra.RESPONSE)
    assert rejected == INSTALL_CODE_REJECTED and not INSTALL_CODE_REJECTED.ok


@given(st.integers(0, 2**32 - 1), st.sampled_from(GasSupplyState))
def test_change_supply_gsme_round_trips(issuer: int, state: GasSupplyState) -> None:
    command = ChangeSupplyGsme(state, issuer)
    assert decode_payload(command.message_code, command.encode(0), Cra.COMMAND) == command
    other = 0x0085 if state is GasSupplyState.OFF else 0x0081
    with pytest.raises(DecodeError, match="proposed status"):
        decode_payload(other, command.encode(0), Cra.COMMAND)


@given(st.text("0123456789", min_size=20, max_size=20), st.integers(0, 255))
def test_top_up_gsme_round_trips(utrn: str, origin: int) -> None:
    assert TopUpGsme.decode(TopUpGsme(utrn, origin).encode(0)) == TopUpGsme(utrn, origin)


def test_protected_read_names_its_own_transaction() -> None:
    read = ReadImportRegistersEsme(ProtectionParameters(1000, SUPPLIER, ESME))
    assert decode_payload(0x0027, read.encode(1000), Cra.COMMAND) == read


def test_duis_critical_flow(bench_keys: KeyStore) -> None:
    """CV 4 pre-command, supplier signature, CV 5 with the ACB's MAC, device verification."""
    dcc = RemotePartyCodec(bench_keys)
    payload = ChangeSupplyEsme(SupplyState.DISCONNECTED).encode(77)
    precommand = dcc.transform(SUPPLIER, ESME, 77, 0x0050, payload)
    assert precommand.endswith(b"\x00") and decode(precommand).signing.signature is None
    signed = sign_precommand(precommand, bench_keys.ds_private(SUPPLIER))
    frame = dcc.send_signed_precommand(signed)
    device = DeviceCodec(
        ESME, ka_private=bench_keys.ka_private(ESME), ds_private=None, keys=bench_keys, acb=ACB
    )
    assert device.open_command(frame).signing.signature == decode(signed).signing.signature
    forged = signed[:-1] + bytes([signed[-1] ^ 1])
    with pytest.raises(VerifyError, match="ECDSA"):
        dcc.send_signed_precommand(forged)
    with pytest.raises(VerifyError, match="unsigned pre-command"):
        sign_precommand(frame, bench_keys.ds_private(SUPPLIER))
    with pytest.raises(VerifyError, match="signed pre-command"):
        dcc.send_signed_precommand(precommand)


def test_anti_replay_per_remote_party(bench_keys: KeyStore) -> None:
    dcc = RemotePartyCodec(bench_keys)
    replay = AntiReplay()
    device = DeviceCodec(
        ESME,
        ka_private=bench_keys.ka_private(ESME),
        ds_private=None,
        keys=bench_keys,
        replay=replay,
    )
    payload = b"\x00"

    def command(counter: int, originator: Eui64 = SUPPLIER) -> bytes:
        return dcc.build_command(originator, ESME, counter, 0x0052, payload)

    device.open_command(command(10))
    with pytest.raises(ReplayError, match=r"counter 10 .* not above the last, 10"):
        device.open_command(command(10))
    with pytest.raises(ReplayError):
        device.open_command(command(9))
    device.open_command(command(11))
    assert replay.last(SUPPLIER) == 11
    replay.accept(ACB, 1)  # another remote party has its own counter
    assert replay.last(ACB) == 1
