"""The DUIS / MMC cases of seed 002 (DCC consultation on DUIS and MMC v4.0), as the DSP decides
them: a request a User's adapter sends (DUIS XML) goes through the DSP's intake (schema, access
control, the seed-002 rules) and, when admitted, its GBCS transform.

* 8.11 install code length (DUIS release note §4.1): 16 bytes for a SMETS2 device, anything
  shorter refused with one known code (the reference gives no DUIS code:
  ``RIG-INSTALL-CODE-LENGTH``, docs/duis.md); SMETS1 devices keep the shorter codes.
* GasThresholdType maximum (§4.2): 2^48 - 1, the GBCS maximum, in the schema and the rules.
* SRV 6.7 scaling (§3.2): ``UncontrolledGasFlowRateDecimal`` (the SMETS2 scaling) for SMETS1.
* N58 fields (§5): optional ``ESMEVariant`` and ``DeviceGBCSVersion`` in the DCC alert.

The bench's User and devices form the DSP's inventory; the gas meters and the Communications Hub
these cases address are added to it as inventory entries (the ``dsp`` fixture), because the bench
has no GSME or Comms Hub to send them to yet: device-side behaviour is not covered here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from rig.config.bench import Bench
from rig.duis import request as rq
from rig.duis.access import GAS_THRESHOLD_MAX, AccessControl, Device, User
from rig.duis.codes import DuisError, RigCode
from rig.duis.messages import (
    AlcsHcalcsConfigurationChange,
    DccAlert,
    Response,
    build_request,
    build_response,
    parse_response,
    parse_xml,
)
from rig.duis.srv_matrix import DeviceType, Role
from rig.duis.transform import to_gbcs
from rig.duis.xsd import DUIS_XSD, validate
from rig.gbcs import usecases
from rig.gbcs.dlms_usecases import AddHanDevice
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import Cra
from rig.gbcs.gbz_usecases import SetUncontrolledGasFlow

#: Devices the DSP inventory holds for these cases but the bench does not [ASSUMED test EUIs].
GSME_SMETS2 = Eui64.parse("00-DB-12-34-56-78-92-01")
GSME_SMETS1 = Eui64.parse("00-DB-12-34-56-78-92-02")
CHF = Eui64.parse("00-DB-12-34-56-78-92-03")
SMETS1_ESME = Eui64.parse("00-DB-12-34-56-78-92-04")

SEED_002_INSTALL_CODE = "seed 002 DUIS RN §4.1 8.11 install code length"
SEED_002_GAS_THRESHOLD = "seed 002 DUIS RN §4.2 GasThresholdType maximum"
SEED_002_GAS_FLOW = "seed 002 DUIS RN §3.2 SRV 6.7 gas flow scaling"
SEED_002_N58 = "seed 002 DUIS RN §5.1 N58 ESMEVariant, DeviceGBCSVersion"


@pytest.fixture(scope="module")
def dsp(bench: Bench) -> AccessControl:
    """The DSP's access control over the bench's User (import and gas supplier) and devices,
    plus the devices the bench lacks; the User acts for all of them."""
    user = bench.user.eui
    roles = {Role.IMPORT_SUPPLIER: user, Role.GAS_SUPPLIER: user}
    on_bench = [
        Device(d.eui, DeviceType(d.inventory_type), responsible=roles)
        for d in bench.devices.values()
    ]
    off_bench = [
        Device(GSME_SMETS2, DeviceType.GSME, smets=2, responsible=roles),
        Device(GSME_SMETS1, DeviceType.GSME, smets=1, responsible=roles),
        Device(CHF, DeviceType.CHF, responsible=roles),
        Device(SMETS1_ESME, DeviceType.ESME, smets=1, responsible=roles),
    ]
    return AccessControl(
        [User(user, frozenset({Role.IMPORT_SUPPLIER, Role.GAS_SUPPLIER}))], on_bench + off_bench
    )


class Sender:
    """A User's adapter: numbered requests, sent as DUIS XML to the DSP's intake."""

    def __init__(self, dsp: AccessControl, user: Eui64) -> None:
        self.dsp, self.user, self.counter = dsp, user, 1000

    def request(
        self,
        target: Eui64,
        body: rq.Body,
        variant: rq.CommandVariant = rq.CommandVariant.NON_CRITICAL_WAN,
    ) -> rq.ServiceRequest:
        """The next request, with a RequestID counter above every earlier one."""
        self.counter += 1
        return rq.ServiceRequest(rq.RequestId(self.user, target, self.counter), body, variant)

    def send(
        self,
        target: Eui64,
        body: rq.Body,
        variant: rq.CommandVariant = rq.CommandVariant.NON_CRITICAL_WAN,
    ) -> rq.ServiceRequest:
        """The admitted request; :class:`DuisError` if the DSP refuses it."""
        return self.dsp.receive(build_request(self.request(target, body, variant)))


@pytest.fixture(scope="module")
def user(dsp: AccessControl, bench: Bench) -> Sender:
    return Sender(dsp, bench.user.eui)


def add_to_whitelist(joining: Eui64, code_length: int) -> rq.UpdateHanDeviceLog:
    whitelist = rq.AddDeviceToChfWhitelist(60, bytes(range(code_length)))
    return rq.UpdateHanDeviceLog(joining, rq.HanLogRequestType.ADD, whitelist)


@pytest.mark.srv("8.11")
@pytest.mark.requirement(SEED_002_INSTALL_CODE, "GBCS CCS01")
def test_a_16_byte_install_code_for_a_smets2_device_is_admitted_and_sent(
    user: Sender, dsp: AccessControl
) -> None:
    request = user.send(CHF, add_to_whitelist(GSME_SMETS2, 16))
    command = to_gbcs(request, dsp.devices, counter=1)
    assert command.message_code == usecases.MESSAGE_CODES["CCS01"]
    sent = usecases.decode_payload(command.message_code, command.payload, Cra.COMMAND)
    assert isinstance(sent, AddHanDevice)
    assert sent.install_code == bytes(range(16)) and sent.device == GSME_SMETS2


@pytest.mark.srv("8.11")
@pytest.mark.requirement(SEED_002_INSTALL_CODE)
@pytest.mark.parametrize("length", [6, 8, 12, 15])
def test_a_shorter_install_code_for_a_smets2_device_gets_the_known_error(
    user: Sender, length: int
) -> None:
    with pytest.raises(DuisError) as refused:
        user.send(CHF, add_to_whitelist(GSME_SMETS2, length))
    assert refused.value.code is RigCode.INSTALL_CODE_LENGTH
    assert refused.value.element == "sr:InstallCode"


@pytest.mark.srv("8.11")
@pytest.mark.requirement(SEED_002_INSTALL_CODE)
@pytest.mark.parametrize("length", [8, 16])
def test_smets1_devices_keep_shorter_install_codes(user: Sender, length: int) -> None:
    user.send(CHF, add_to_whitelist(SMETS1_ESME, length))


@pytest.mark.srv("8.11")
@pytest.mark.requirement(SEED_002_INSTALL_CODE)
@pytest.mark.parametrize("length", [5, 17])
def test_install_codes_outside_6_to_16_bytes_break_the_schema(user: Sender, length: int) -> None:
    with pytest.raises(DuisError) as refused:
        user.send(CHF, add_to_whitelist(SMETS1_ESME, length))
    assert refused.value.code is RigCode.SCHEMA_VIOLATION


def gas_tariff(threshold: int) -> rq.UpdateImportTariff:
    sr = 'xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway"'
    elements = (
        f"<sr:GasTariffElements {sr}><sr:ThresholdMatrix>"
        f'<sr:BlockThreshold index="1">{threshold}</sr:BlockThreshold>'
        "</sr:ThresholdMatrix></sr:GasTariffElements>"
    ).encode()
    return rq.UpdateImportTariff(elements)


@pytest.mark.requirement(SEED_002_GAS_THRESHOLD)
def test_the_schema_caps_gas_threshold_type_at_the_gbcs_maximum() -> None:
    ns = {"xs": "http://www.w3.org/2001/XMLSchema"}
    tree = parse_xml(DUIS_XSD.read_bytes())
    cap = tree.find(".//xs:simpleType[@name='GasThresholdType']//xs:maxInclusive", ns)
    assert cap is not None and int(cap.get("value")) == GAS_THRESHOLD_MAX == 2**48 - 1


@pytest.mark.srv("1.1.1")
@pytest.mark.requirement(SEED_002_GAS_THRESHOLD)
def test_a_gas_threshold_above_the_maximum_is_refused(user: Sender) -> None:
    """The rule holds for requests made in code too (the schema catches it in XML)."""
    cv = rq.CommandVariant.CRITICAL_TRANSFORM
    user.dsp.admit(user.request(GSME_SMETS2, gas_tariff(GAS_THRESHOLD_MAX), cv))
    with pytest.raises(DuisError) as refused:
        user.dsp.admit(user.request(GSME_SMETS2, gas_tariff(GAS_THRESHOLD_MAX + 1), cv))
    assert refused.value.code is RigCode.GAS_THRESHOLD_RANGE


def gas_flow(**rate: object) -> rq.UpdateDeviceConfigurationGasFlow:
    same = rq.SupplyStateChange.UNCHANGED
    return rq.UpdateDeviceConfigurationGasFlow(same, same, 60, 300, **rate)  # type: ignore[arg-type]


@pytest.mark.srv("6.7")
@pytest.mark.requirement(SEED_002_GAS_FLOW, "GBCS GCS24a")
def test_a_smets1_gas_meter_takes_the_decimal_flow_rate(user: Sender, dsp: AccessControl) -> None:
    cv = rq.CommandVariant.CRITICAL_TRANSFORM
    request = user.send(GSME_SMETS1, gas_flow(rate_decimal=Decimal("1.2345")), cv)
    command = to_gbcs(request, dsp.devices)
    sent = usecases.decode_payload(command.message_code, command.payload, Cra.COMMAND)
    assert isinstance(sent, SetUncontrolledGasFlow)
    assert sent.rate == Decimal("1.2345") and sent.decimal


@pytest.mark.srv("6.7")
@pytest.mark.requirement(SEED_002_GAS_FLOW)
def test_a_smets1_gas_meter_refuses_the_integer_flow_rate(user: Sender) -> None:
    cv = rq.CommandVariant.CRITICAL_TRANSFORM
    with pytest.raises(DuisError) as refused:
        user.send(GSME_SMETS1, gas_flow(rate=12345), cv)
    assert refused.value.code is RigCode.GAS_FLOW_SCALING


@pytest.mark.srv("6.7")
@pytest.mark.requirement(SEED_002_GAS_FLOW)
def test_a_smets2_gas_meter_takes_either_form(user: Sender) -> None:
    cv = rq.CommandVariant.CRITICAL_TRANSFORM
    user.send(GSME_SMETS2, gas_flow(rate=12345), cv)
    user.send(GSME_SMETS2, gas_flow(rate_decimal=Decimal("6.5535")), cv)


@pytest.mark.requirement(SEED_002_N58)
@pytest.mark.parametrize(
    "event",
    [
        pytest.param(AlcsHcalcsConfigurationChange(CHF, "ADE", "4.3"), id="with-fields"),
        pytest.param(AlcsHcalcsConfigurationChange(CHF), id="without-fields"),
    ],
)
def test_n58_carries_the_optional_fields_schema_valid(
    event: AlcsHcalcsConfigurationChange, bench: Bench
) -> None:
    """The DSP's N58 DCC alert, as the User receives it: valid against the DUIS schema with or
    without ESMEVariant and DeviceGBCSVersion, and read back with them."""
    response_id = rq.RequestId(bench.user.eui, CHF, 1)
    alert = Response(
        "I0", datetime(2026, 11, 23, tzinfo=UTC), DccAlert("N58", event), None, response_id
    )
    xml = build_response(alert)
    validate(parse_xml(xml))
    assert (b"ESMEVariant" in xml) is (event.esme_variant is not None)
    assert parse_response(xml) == alert
