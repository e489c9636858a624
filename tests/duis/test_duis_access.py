"""DSP access control and validation: E1-E4, E11, E12, E19, anti-replay, seed-002 rules
(reference/domain.md §5, §7.3, §7.4)."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from duis_testdata import (
    CHF,
    DEVICES,
    ESME,
    GPF,
    GSME,
    NETWORK_OPERATOR,
    SUPPLIER,
    USERS,
    rtds_access,
)
from shared_dir import require_shared

from rig.duis import request as rq
from rig.duis.access import GAS_THRESHOLD_MAX, AccessControl, Device, User
from rig.duis.codes import DuisError, ResponseCode, RigCode
from rig.duis.dsig import CertificateStore, Signer, sign
from rig.duis.messages import build_request, parse_request
from rig.duis.srv_matrix import DEVICE_USE_CASES, SRV_MATRIX, DeviceType, Role
from rig.gbcs.eui import Eui64

CV1, CV2, CV4, CV5 = (rq.CommandVariant(v) for v in (1, 2, 4, 5))
STRANGER = Eui64.parse("90-B3-D5-1F-30-03-00-00")


def _request(
    body: rq.Body,
    target: Eui64 = ESME,
    cv: rq.CommandVariant = CV1,
    counter: int = 1000,
    originator: Eui64 = SUPPLIER,
) -> rq.ServiceRequest:
    return rq.ServiceRequest(rq.RequestId(originator, target, counter), body, cv)


def _refused(access: AccessControl, request: rq.ServiceRequest) -> DuisError:
    with pytest.raises(DuisError) as caught:
        access.admit(request)
    return caught.value


def test_templates_are_admitted_when_signed(
    template: bytes, signers: dict[Eui64, Signer], certificates: CertificateStore
) -> None:
    request = parse_request(template)
    signed = sign(template, signers[request.request_id.originator])
    assert rtds_access(certificates).receive(signed) == request


def test_tampered_or_unsigned_request_is_refused(
    signers: dict[Eui64, Signer], certificates: CertificateStore
) -> None:
    signed = sign(build_request(_request(rq.ReadSupplyStatus())), signers[SUPPLIER])
    access = rtds_access(certificates)
    with pytest.raises(DuisError) as caught:
        access.receive(signed.replace(b"A0:1000<", b"A1:1000<"))
    assert caught.value.code is RigCode.BAD_SIGNATURE
    with pytest.raises(DuisError) as caught:
        access.receive(build_request(_request(rq.ReadSupplyStatus())))
    assert caught.value.code is RigCode.BAD_SIGNATURE


def test_e1_signed_by_someone_else_or_unknown_user(
    signers: dict[Eui64, Signer], certificates: CertificateStore
) -> None:
    request = build_request(_request(rq.ReadSupplyStatus()))
    with pytest.raises(DuisError) as caught:
        rtds_access(certificates).receive(sign(request, signers[NETWORK_OPERATOR]))
    assert caught.value.code is ResponseCode.INVALID_USER
    assert _refused(rtds_access(), _request(rq.ReadSupplyStatus(), originator=STRANGER)).code is (
        ResponseCode.INVALID_USER
    )


def test_e3_inactive_user() -> None:
    users = [dataclasses.replace(u, active=False) for u in USERS]
    access = AccessControl(users, DEVICES)
    assert (
        _refused(access, _request(rq.ReadSupplyStatus())).code is ResponseCode.INVALID_USER_STATUS
    )


@pytest.mark.parametrize(
    ("body", "target", "cv"),
    [
        (rq.EnableSupply(), ESME, CV4),  # 7.1: IS only
        (rq.DisableSupply(), ESME, CV4),  # 7.2: IS, GS
        (rq.TopUpDevice("7" * 20), ESME, CV1),  # 2.2: IS, GS
    ],
)
def test_e2_network_operator_may_not_send_supplier_srvs(body, target, cv) -> None:
    error = _refused(rtds_access(), _request(body, target, cv, originator=NETWORK_OPERATOR))
    assert error.code is ResponseCode.INVALID_ROLE_FOR_SRV


def test_network_operator_may_read() -> None:
    access = rtds_access()
    access.admit(_request(rq.ReadSupplyStatus(), originator=NETWORK_OPERATOR))
    access.admit(_request(rq.ReadInstantaneousImportRegisters(), GSME, originator=NETWORK_OPERATOR))


def test_e4_user_not_acting_for_device() -> None:
    other = Device(ESME, DeviceType.ESME, responsible={Role.IMPORT_SUPPLIER: STRANGER})
    access = AccessControl(USERS, [other])
    assert _refused(access, _request(rq.ReadSupplyStatus())).code is (
        ResponseCode.INVALID_USER_FOR_DEVICE
    )
    # A gas-only supplier for a device it supplies electricity to: role not eligible there.
    gas_only = AccessControl([User(SUPPLIER, frozenset({Role.GAS_SUPPLIER}))], DEVICES)
    assert _refused(gas_only, _request(rq.ReadSupplyStatus())).code is (
        ResponseCode.INVALID_USER_FOR_DEVICE
    )


@pytest.mark.parametrize(
    ("body", "target", "cv"),
    [
        (rq.EnableSupply(), GSME, CV4),  # gas has no enable (§1.6)
        (rq.TopUpDevice("7" * 20), CHF, CV1),
        (rq.ReadSupplyStatus(), GPF, CV1),
        (rq.UpdateHanDeviceLog(ESME, rq.HanLogRequestType.REMOVE), ESME, CV1),
    ],
)
def test_e11_srv_and_device_type(body, target, cv) -> None:
    assert _refused(rtds_access(), _request(body, target, cv)).code is (
        ResponseCode.INVALID_SRV_DEVICE_TYPE
    )


@pytest.mark.parametrize(
    ("body", "cv"),
    [
        (rq.DisableSupply(), CV1),  # critical needs CV 4
        (rq.ReadSupplyStatus(), CV4),  # non-critical cannot be transformed
        (rq.ReadSupplyStatus(), rq.CommandVariant(8)),
        (rq.ReadInstantaneousImportRegisters(datetime(2030, 1, 1, tzinfo=UTC)), CV2),
        (rq.DisableSupply(), CV5),  # CV 5 carries a SignedPreCommand
        (rq.SignedPreCommand("7.2", b"\xdf"), CV4),
    ],
)
def test_e12_command_variant(body, cv) -> None:
    assert _refused(rtds_access(), _request(body, ESME, cv)).code is (
        ResponseCode.INVALID_COMMAND_VARIANT
    )


def test_e19_unknown_device() -> None:
    unknown = Eui64.parse("00-DB-12-34-56-78-90-FF")
    assert _refused(rtds_access(), _request(rq.ReadSupplyStatus(), unknown)).code is (
        ResponseCode.DEVICE_UNKNOWN
    )


def test_unmodelled_srv_is_rig_specific() -> None:
    error = _refused(rtds_access(), _request(rq.SignedPreCommand("1.6", b"\xdf"), ESME, CV5))
    assert error.code is RigCode.UNSUPPORTED_SRV


def test_counter_must_increase_per_originator_and_target() -> None:
    access = rtds_access()
    access.admit(_request(rq.ReadSupplyStatus(), counter=1000))
    for counter in (1000, 999):
        assert _refused(access, _request(rq.ReadSupplyStatus(), counter=counter)).code is (
            RigCode.COUNTER_NOT_INCREASING
        )
    access.admit(_request(rq.ReadSupplyStatus(), GSME, counter=1000))  # another target
    access.admit(_request(rq.ReadSupplyStatus(), counter=1001))


def test_refused_requests_do_not_advance_the_counter() -> None:
    access = rtds_access()
    _refused(access, _request(rq.DisableSupply(), cv=CV1, counter=5000))
    access.admit(_request(rq.ReadSupplyStatus(), counter=10))


def _add(code_length: int, device: Eui64 = ESME) -> rq.UpdateHanDeviceLog:
    whitelist = rq.AddDeviceToChfWhitelist(90, bytes(code_length))
    return rq.UpdateHanDeviceLog(device, rq.HanLogRequestType.ADD, whitelist)


def test_seed_002_install_code_length_for_smets2_only() -> None:
    error = _refused(rtds_access(), _request(_add(8), CHF))
    assert error.code is RigCode.INSTALL_CODE_LENGTH and error.element == "sr:InstallCode"
    rtds_access().admit(_request(_add(16), CHF))
    smets1 = [dataclasses.replace(d, smets=1) if d.eui == ESME else d for d in DEVICES]
    AccessControl(USERS, smets1).admit(_request(_add(8), CHF))


def _gas_tariff(threshold: int) -> rq.UpdateImportTariff:
    sr = 'xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway"'
    elements = (
        f"<sr:GasTariffElements {sr}><sr:ThresholdMatrix>"
        f'<sr:BlockThreshold index="1">{threshold}</sr:BlockThreshold>'
        "</sr:ThresholdMatrix></sr:GasTariffElements>"
    ).encode()
    return rq.UpdateImportTariff(elements)


def test_seed_002_gas_threshold_maximum() -> None:
    rtds_access().admit(_request(_gas_tariff(GAS_THRESHOLD_MAX), GSME, CV4))
    error = _refused(rtds_access(), _request(_gas_tariff(GAS_THRESHOLD_MAX + 1), GSME, CV4))
    assert error.code is RigCode.GAS_THRESHOLD_RANGE


def test_seed_002_gas_threshold_maximum_in_the_schema(shared_dir: Path) -> None:
    name = "GCS01a_1.1.1_IMMEDIATE_TOU_SUCCESS_REQUEST_DUIS.XML"
    template = require_shared(shared_dir / "duis" / "templates" / name).read_bytes()
    threshold = re.compile(rb"(<sr:BlockThreshold[^>]*>)\d+<")
    assert threshold.search(template)
    parse_request(threshold.sub(rb"\g<1>281474976710655<", template, 1))
    with pytest.raises(DuisError) as caught:
        parse_request(threshold.sub(rb"\g<1>281474976710656<", template, 1))
    assert caught.value.code is RigCode.SCHEMA_VIOLATION


def test_seed_002_gas_flow_decimal_for_smets1() -> None:
    def flow(**rate: object) -> rq.UpdateDeviceConfigurationGasFlow:
        same = rq.SupplyStateChange.UNCHANGED
        return rq.UpdateDeviceConfigurationGasFlow(same, same, 60, 300, **rate)

    smets1 = AccessControl(
        USERS, [dataclasses.replace(d, smets=1) if d.eui == GSME else d for d in DEVICES]
    )
    error = _refused(smets1, _request(flow(rate=61680), GSME, CV4))
    assert error.code is RigCode.GAS_FLOW_SCALING
    smets1.admit(_request(flow(rate_decimal=Decimal("6.1680")), GSME, CV4))
    rtds_access().admit(_request(flow(rate=61680), GSME, CV4))


def test_srv_1_1_1_access_control() -> None:
    """1.1.1 Update Import Tariff: critical (CV 4-7), IS / GS only, ESME or GSME (§7.3)."""
    info = SRV_MATRIX["1.1.1"]
    assert info.critical and info.roles == {Role.IMPORT_SUPPLIER, Role.GAS_SUPPLIER}
    assert DEVICE_USE_CASES["1.1.1"] == {
        DeviceType.ESME: ("ECS01a",),
        DeviceType.GSME: ("GCS01a",),
    }
    tariff = _gas_tariff(1)
    rtds_access().admit(_request(tariff, GSME, CV4))
    cases = [
        (_request(tariff, GSME, CV4, originator=NETWORK_OPERATOR), "INVALID_ROLE_FOR_SRV"),
        (_request(tariff, CHF, CV4), "INVALID_SRV_DEVICE_TYPE"),
        (_request(tariff, GSME, CV1), "INVALID_COMMAND_VARIANT"),
    ]
    for request, code in cases:
        assert _refused(rtds_access(), request).code is ResponseCode[code]
    gas_only = AccessControl([User(SUPPLIER, frozenset({Role.GAS_SUPPLIER}))], DEVICES)
    assert _refused(gas_only, _request(tariff, ESME, CV4)).code is (
        ResponseCode.INVALID_USER_FOR_DEVICE
    )
