"""The DSP's access control and validation of DUIS requests (domain.md §5, §7.3, §7.4).

:meth:`AccessControl.receive` takes the XML as a DCC User sends it and either returns the typed
request or raises :class:`~rig.duis.codes.DuisError`. Checks, in order:

1. well-formed XML, DUIS 5.4 schema, modelled SRV, header consistent (``RIG-…`` codes);
2. XML signature by a known certificate (``RIG-BAD-SIGNATURE``);
3. the signer is the RequestID's originator and a known User (E1), active (E3);
4. one of the User's roles is eligible for the SRV (E2, :data:`~rig.duis.srv_matrix.SRV_MATRIX`);
5. command variant allowed for the SRV, and no future-dating with CV 2/3 (E12; DUIS schema
   comment on CommandVariant: CV 2 and 3 are On Demand only);
6. the target device exists (E19), its type suits the SRV (E11), and the User acts for it in an
   eligible role (E4); a Non-Device request (8.2, 12.2) targets the DCC itself (domain.md §7.1:
   its EUI-64 :data:`DCC`), else E19;
7. seed-002 rules: 8.11 install code of 16 bytes for SMETS2, GasThresholdType at most 2^48-1,
   6.7 to a SMETS1 GSME in UncontrolledGasFlowRateDecimal (rig codes: the reference gives none);
8. RequestID counter above the last accepted from that originator to that target
   (``RIG-COUNTER-NOT-INCREASING``). [ASSUMED] scope per (originator, target), as devices check
   GBCS counters; only admitted requests advance it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from rig.duis import request as rq
from rig.duis.codes import DuisError, ResponseCode, RigCode
from rig.duis.dsig import CertificateStore, signer_eui, verify
from rig.duis.messages import SR, parse_request, parse_xml, tariff_elements
from rig.duis.srv_matrix import (
    DEVICE_USE_CASES,
    NON_DEVICE_SRVS,
    SRV_MATRIX,
    DeviceType,
    Role,
    use_case,
)
from rig.gbcs.eui import DCC, Eui64
from rig.gbcs.gsme_tariff import GAS_THRESHOLD_MAX  # seed 002 / DUIS 4.0 release note §4.2

#: seed 002 / DUIS 4.0 release note §4.1: SMETS2 install codes are 16 bytes.
SMETS2_INSTALL_CODE_LENGTH = 16
_LOCAL_ONLY_ON_DEMAND = frozenset({rq.CommandVariant(2), rq.CommandVariant(3)})
_SIGNED_PRE_COMMAND_CVS = frozenset(rq.CommandVariant(v) for v in (5, 6, 7))


@dataclass(frozen=True)
class User:
    """A DCC User: its EUI-64 (BusinessOriginatorID), roles and status."""

    eui: Eui64
    roles: frozenset[Role]
    active: bool = True


@dataclass(frozen=True)
class Device:
    """A device in the Smart Metering Inventory: type, SMETS generation, who acts for it."""

    eui: Eui64
    type: DeviceType
    smets: int = 2
    responsible: Mapping[Role, Eui64] = field(default_factory=dict)


class AccessControl:
    """DSP access control over a User list and a device inventory; keeps anti-replay state."""

    def __init__(
        self,
        users: Iterable[User],
        devices: Iterable[Device],
        certificates: CertificateStore | None = None,
    ) -> None:
        """``certificates`` None skips signature checks (unsigned logs, tests of the rules)."""
        self.users = {user.eui: user for user in users}
        self.devices = {device.eui: device for device in devices}
        self.certificates = certificates
        self._last_counter: dict[tuple[Eui64, Eui64], int] = {}

    def receive(self, xml: bytes) -> rq.ServiceRequest:
        """Parse, verify and admit one request as the DSP would; DuisError if refused."""
        root = parse_xml(xml)
        request = parse_request(root)
        signer = None
        if self.certificates is not None:
            signer = signer_eui(verify(root, self.certificates))
        self.admit(request, signer)
        return request

    def admit(
        self, request: rq.ServiceRequest, signer: Eui64 | None = None, *, repeat: bool = False
    ) -> None:
        """Run checks 3-8 on a parsed request; on success record its counter. ``repeat``
        admits the counter last admitted too: a CV 5 signed pre-command carries the RequestID
        of the CV 4 request whose pre-command it signs (docs/dcc-boxed.md)."""
        rid = request.request_id
        user = self.users.get(rid.originator)
        if user is None or (signer is not None and signer != rid.originator):
            who = "unknown User" if user is None else f"signed by {signer}"
            raise DuisError(ResponseCode.INVALID_USER, f"{rid.originator}: {who}", "sr:RequestID")
        if not user.active:
            raise DuisError(ResponseCode.INVALID_USER_STATUS, f"User {user.eui} is not active")
        info = SRV_MATRIX.get(request.srv)
        non_device = request.srv in NON_DEVICE_SRVS
        if info is None or not (non_device or request.srv in DEVICE_USE_CASES):
            raise DuisError(RigCode.UNSUPPORTED_SRV, f"the rig does not model SRV {request.srv}")
        roles = user.roles & info.roles
        if not roles:
            raise DuisError(
                ResponseCode.INVALID_ROLE_FOR_SRV,
                f"roles {sorted(user.roles)} not eligible for SRV {request.srv}",
                "sr:ServiceReferenceVariant",
            )
        self._check_command_variant(request, info.command_variants)
        if non_device:
            if rid.target != DCC:
                raise DuisError(
                    ResponseCode.DEVICE_UNKNOWN,
                    f"a Non-Device request targets the DCC ({DCC}), not {rid.target}",
                    "sr:RequestID",
                )
        else:
            device = self._check_device(request, roles)
            check_seed_002(request, device, self.devices)
        key = (rid.originator, rid.target)
        last = self._last_counter.get(key)
        if last is not None and (rid.counter < last or (rid.counter == last and not repeat)):
            raise DuisError(
                RigCode.COUNTER_NOT_INCREASING,
                f"counter {rid.counter} not above {last} from {rid.originator} to {rid.target}",
                "sr:RequestID",
            )
        self._last_counter[key] = rid.counter

    @staticmethod
    def _check_command_variant(
        request: rq.ServiceRequest, allowed: frozenset[rq.CommandVariant]
    ) -> None:
        cv = request.command_variant
        signed = isinstance(request.body, rq.SignedPreCommand)
        reason = None
        if cv not in allowed:
            reason = f"SRV {request.srv} takes CV {_listed(int(v) for v in allowed)}, not {int(cv)}"
        elif signed != (cv in _SIGNED_PRE_COMMAND_CVS):
            reason = "CV 5-7 carry a SignedPreCommand, and only they do"
        elif request.execution_date_time is not None and cv in _LOCAL_ONLY_ON_DEMAND:
            reason = f"CV {int(cv)} is On Demand only: no ExecutionDateTime"
        if reason:
            raise DuisError(ResponseCode.INVALID_COMMAND_VARIANT, reason, "sr:CommandVariant")

    def _check_device(self, request: rq.ServiceRequest, roles: frozenset[Role]) -> Device:
        target = request.request_id.target
        device = self.devices.get(target)
        if device is None:
            raise DuisError(ResponseCode.DEVICE_UNKNOWN, f"no device {target}", "sr:RequestID")
        use_case(request, device.type)
        if not any(device.responsible.get(role) == request.request_id.originator for role in roles):
            raise DuisError(
                ResponseCode.INVALID_USER_FOR_DEVICE,
                f"{request.request_id.originator} acts for {target} in no role of {_listed(roles)}",
                "sr:RequestID",
            )
        return device


def check_seed_002(
    request: rq.ServiceRequest, device: Device, devices: Mapping[Eui64, Device]
) -> None:
    """The DUIS 4.0 rules named in seed 002 (domain.md §5)."""
    body = request.body
    if isinstance(body, rq.UpdateHanDeviceLog) and body.add is not None:
        joining = devices.get(body.device_id, device)
        length = len(body.add.install_code)
        if joining.smets == 2 and length < SMETS2_INSTALL_CODE_LENGTH:
            raise DuisError(
                RigCode.INSTALL_CODE_LENGTH,
                f"{length}-byte install code for SMETS2 device {body.device_id}",
                "sr:InstallCode",
            )
    elif isinstance(body, rq.UpdateImportTariff):
        for element in tariff_elements(body):
            for threshold in element.iterfind(".//sr:BlockThreshold", {"sr": SR}):
                if element.tag == f"{{{SR}}}GasTariffElements" and (
                    int((threshold.text or "0").strip()) > GAS_THRESHOLD_MAX
                ):
                    raise DuisError(
                        RigCode.GAS_THRESHOLD_RANGE,
                        f"{threshold.text} > {GAS_THRESHOLD_MAX}",
                        "sr:BlockThreshold",
                    )
    elif (
        isinstance(body, rq.UpdateDeviceConfigurationGasFlow)
        and device.smets == 1
        and body.rate_decimal is None
    ):
        raise DuisError(
            RigCode.GAS_FLOW_SCALING,
            "SMETS1 GSMEs take UncontrolledGasFlowRateDecimal (DUIS 4.0, seed 002)",
            "sr:UncontrolledGasFlowRate",
        )


def _listed(items: Iterable[object]) -> str:
    """Sorted values as words for a reason (``IS, GS``), never a Python list of reprs."""
    return ", ".join(sorted(str(item) for item in items))
