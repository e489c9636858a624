"""The electricity meter (ESME) as a pure state machine: bytes and a time in, bytes out.

No I/O and no wall clock: the host (``devices/emulated``) feeds it frames and ticks with the
current time and writes back what it returns, after the processing delay it asks for. The same
object runs behind a pty, in a hub, in a simulation, or directly in a unit test.

Commands answered (checks in :mod:`firmware_stubs.device`): CS01a top-up (SRV 2.2, UTRN rules
in :mod:`firmware_stubs.utrn_gate`), ECS42/43/44 enable / disable / arm supply (SRV 7.1/7.2/7.3,
critical, signed response), ECS45 supply status (SRV 7.4), ECS17b import registers (SRV 4.1.1)
and ECS19 prepayment registers (SRV 4.3), both with an encrypted part, and ECS82 meter balance
(SRV 4.18). A rejected top-up gets a response with a failed action result and a non-critical
alert.

Supply rules (issue 5), in prepayment mode:

- disable (7.2) opens the contactor whatever the credit; arm (7.3) leaves it open, ready for the
  consumer's button; enable (7.1) closes it, refused (result 250) while credit is exhausted;
- when credit and emergency credit run out the meter disconnects and raises an alert; a top-up
  or emergency credit that makes credit available again arms a disconnected meter (the consumer
  presses the button to reconnect), as a meter may not reconnect without someone present.

Consumption follows a :class:`~firmware_stubs.load_profile.LoadProfile` while the supply is
connected; ``tick(now)`` advances the registers and the ledger and returns the alerts due.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property

from firmware_stubs.device import ALERT_NO_AUTHORITY, Output
from firmware_stubs.load_control import ProportionalController
from firmware_stubs.load_profile import LoadProfile
from firmware_stubs.meter import MeterState, PrepaymentAlerts, PrepaymentMeter
from firmware_stubs.object_model import CosemKey, CosemModel, ZclModel, cosem_key
from firmware_stubs.prepayment import (
    UNITS_PER_PENNY,
    PrepaymentSettings,
)
from firmware_stubs.utrn_gate import (
    ALERT_UTRN_DUPLICATE,
    ALERT_UTRN_LOCKOUT,
    ALERT_UTRN_NOT_AUTHENTIC,
    ALERT_UTRN_NOT_FOR_DEVICE,
    ALERT_UTRN_OVER_MAX_CREDIT,
    UtrnSettings,
)
from rig.gbcs import dlms_usecases as dlms
from rig.gbcs import usecases
from rig.gbcs.dlms import Data, Tag
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import Message
from rig.gbcs.usecases import SupplyState

__all__ = [
    "ALERT_NO_AUTHORITY",
    "ALERT_UTRN_DUPLICATE",
    "ALERT_UTRN_LOCKOUT",
    "ALERT_UTRN_NOT_AUTHENTIC",
    "ALERT_UTRN_NOT_FOR_DEVICE",
    "ALERT_UTRN_OVER_MAX_CREDIT",
    "Esme",
    "EsmeIdentity",
    "EsmeSettings",
    "EsmeState",
]

#: DLMS action-result for a rejected top-up, as in the RTDS CS01a ERROR response.
RESULT_FAILED = 0x01
#: DLMS action-result "other reason" (dlms_usecases.OTHER_REASON) for a refused enable.
RESULT_OTHER_REASON = dlms.OTHER_REASON
#: ECS80 supply outage restored, and the same for an outage of 3 minutes or more (§1.6).
ALERT_SUPPLY_RESTORED = 0x8F35
ALERT_SUPPLY_RESTORED_LONG = 0x8F36
LONG_OUTAGE = 180.0
#: Logical names of the attributes the meter computes from its state (IEC 62056-6-2; the first
#: two as ECS45 and ECS82 read them).
SUPPLY_OBIS, BALANCE_OBIS, CLOCK_OBIS = "0-0:96.3.10.255", "0-0:19.10.0.255", "0-0:1.0.0.255"
ACTIVE_IMPORT_OBIS, REACTIVE_IMPORT_OBIS = "1-0:1.8.0.255", "1-0:3.8.0.255"
#: DLMS scaler-unit units (IEC 62056-6-2): Wh and varh, as in the RTDS ECS17b register part.
_UNIT_WH, _UNIT_VARH = 30, 32


class EsmeVariant(Enum):
    """DUIS ``ESMEVariant`` (seed 002: N58 gains it). Values [ASSUMED] from public inventory
    data (single element A, twin element B, polyphase C, with ALCS D, with APC E)."""

    A = "A"
    B = "B"
    C = "C"
    AD = "AD"
    ADE = "ADE"


@dataclass(frozen=True)
class EsmeIdentity:
    """What the DSP adds to an N58 alert about this meter (seed 002): its ``ESMEVariant`` and
    ``DeviceGBCSVersion``. N58 is a DCC alert: the DSP builds it, the device supplies the data."""

    variant: EsmeVariant = EsmeVariant.A
    #: [ASSUMED] a GBCS version string as DUIS inventories show it.
    gbcs_version: str = "4.0"

    @property
    def has_apc(self) -> bool:
        """Whether the meter has an Auxiliary Proportional Controller (the E of ADE)."""
        return "E" in self.variant.value

    def n58_data_items(self) -> dict[str, str]:
        """The two optional N58 data items (seed 002, DUIS 4.0 release note §5.1)."""
        return {"ESMEVariant": self.variant.value, "DeviceGBCSVersion": self.gbcs_version}


@dataclass(frozen=True)
class EsmeSettings:
    """Behaviour knobs, each a setting rather than a constant in the code."""

    #: Maximum credit threshold in pence. [ASSUMED] a bench default; a real meter has it set by
    #: SRV 2.1 (Update Prepay Configuration).
    max_credit_pence: int = 50_000
    #: Seconds the meter takes to process a command before it answers. [ASSUMED] bench default.
    processing_time: float = 0.002
    #: Uniform extra processing time, seconds, drawn from ``seed``. [ASSUMED] 0 by default.
    processing_jitter: float = 0.0
    seed: int = 0
    #: Prepayment mode: consumption is paid from credit. Credit mode (False, the default so an
    #: emulated meter never disconnects itself during a test) only advances the registers.
    prepayment: bool = False
    tariff: PrepaymentSettings = field(default_factory=PrepaymentSettings)
    load: LoadProfile = field(default_factory=LoadProfile)
    #: Reactive energy as a share of active energy. [ASSUMED]
    reactive_ratio: float = 0.1
    identity: EsmeIdentity = field(default_factory=EsmeIdentity)
    alerts: PrepaymentAlerts = field(default_factory=PrepaymentAlerts)
    #: Where unsolicited alerts go; None: the last remote party that sent a command.
    alert_recipient: Eui64 | None = None
    #: UTRN memory and keypad lock-out.
    utrn: UtrnSettings = field(default_factory=UtrnSettings)


@dataclass
class EsmeState(MeterState):
    """What the meter remembers between commands."""

    supply: SupplyState = SupplyState.CONNECTED
    #: Active and reactive import registers, Wh and varh (fractions kept).
    active_wh: float = 0.0
    reactive_varh: float = 0.0
    #: Monotonic time up to which consumption has been accounted; None before the first event.
    accounted_to: float | None = None
    outage_since: float | None = None
    #: Every other COSEM attribute (firmware_stubs.object_model): RTDS values, then SETs.
    cosem: CosemModel = field(default_factory=CosemModel.seeded)

    @property
    def credit_pence(self) -> float:
        """Credit in pence."""
        return self.ledger.credit_pence

    @credit_pence.setter
    def credit_pence(self, pence: float) -> None:
        self.ledger.credit = round(pence * UNITS_PER_PENNY)


class Esme(PrepaymentMeter):
    """An ESME answering CS01a, ECS42/43/44/45, ECS17b, ECS19 and ECS82, with prepayment,
    a load profile, alerts and (variant with E) an Auxiliary Proportional Controller."""

    default_settings = EsmeSettings
    state_type = EsmeState
    exemplar_device = "esme"
    settings: EsmeSettings
    state: EsmeState

    def _models(self) -> tuple[CosemModel | None, ZclModel | None]:
        """The COSEM model, its live attributes bound to this meter's state."""
        model = self.state.cosem
        if not model.live:
            model.live.update(self._live_attributes())
        return model, None

    def _live_attributes(self) -> dict[CosemKey, Callable[[], Data]]:
        """COSEM attributes read from the meter's state: supply (disconnect control), balance
        (account), clock, active and reactive import registers (IEC 62056-6-2 OBIS codes)."""
        state = self.state
        return {
            cosem_key(SUPPLY_OBIS, 70, 3): lambda: Data.enum(int(state.supply)),
            cosem_key(BALANCE_OBIS, 112, 2): lambda: Data(Tag.DOUBLE_LONG, state.ledger.balance),
            cosem_key(CLOCK_OBIS, 8, 2): lambda: Data.octet_string(
                self._device_time(state.accounted_to or 0.0)
            ),
            cosem_key(ACTIVE_IMPORT_OBIS, 3, 2): lambda: Data(
                Tag.DOUBLE_LONG_UNSIGNED, int(state.active_wh) & 0xFFFFFFFF
            ),
            cosem_key(REACTIVE_IMPORT_OBIS, 3, 2): lambda: Data(
                Tag.DOUBLE_LONG_UNSIGNED, int(state.reactive_varh) & 0xFFFFFFFF
            ),
        }

    @cached_property
    def apc(self) -> ProportionalController | None:
        """The Auxiliary Proportional Controller, if the variant has one (seed 002)."""
        s = self.settings
        return ProportionalController(seed=s.seed) if s.identity.has_apc else None

    # -- local actions (the consumer at the meter) ---------------------------------------------

    def press_button(self, now: float) -> Output:
        """The consumer's button: reconnect an armed meter if credit allows."""
        alerts = self._advance(now)
        if self.state.supply is SupplyState.ARMED and self._may_supply():
            self.state.supply = SupplyState.CONNECTED
            self._note("button pressed: supply reconnected")
        return alerts

    def power_outage(self, start: float, end: float) -> Output:
        """Mains lost from ``start`` to ``end``: no consumption meanwhile; on restoration the
        ECS80 alert (0x8F35, or 0x8F36 for 3 minutes or more) with both date-times."""
        alerts = self._advance(start)
        self.state.accounted_to = max(end, self.state.accounted_to or end)
        code = ALERT_SUPPLY_RESTORED_LONG if end - start >= LONG_OUTAGE else ALERT_SUPPLY_RESTORED
        alert = usecases.SupplyRestoredAlert.build(
            code, self._device_time(end), self._device_time(start), self._device_time(end)
        )
        why = f"supply restored after {end - start:.0f} s"
        return alerts + self._unsolicited(alert, why, 0x0067, critical=True)

    # -- use cases ------------------------------------------------------------------------

    def _dispatch(self, command: Message, body: object, now: float) -> Output:
        if isinstance(body, usecases.TopUpEsme):
            return self._top_up(
                command,
                body.utrn,
                now,
                refused=usecases.TopUpEsmeResponse(RESULT_FAILED),
                accepted=lambda _pence: usecases.TopUpEsmeResponse(result=0),
            )
        if isinstance(body, usecases.ReadSupplyStatusEsme):
            reply = usecases.ReadSupplyStatusEsmeResponse(control_state=self.state.supply)
            return [self._respond(command, reply)]
        if isinstance(body, usecases.ChangeSupplyEsme):
            return [self._respond(command, self._change_supply(body.target))]
        if isinstance(body, dlms.ReadImportRegistersEsme):
            return [self._protected_read(command, self._import_registers(), now)]
        if isinstance(body, dlms.ReadPrepaymentRegistersEsme):
            return [self._protected_read(command, self._prepayment_registers(), now)]
        if isinstance(body, dlms.ReadMeterBalanceEsme):
            return [self._respond(command, dlms.MeterBalanceResponse(self.state.ledger.balance))]
        return self._answer(command, now)

    def _change_supply(self, target: SupplyState) -> usecases.ChangeSupplyEsmeResponse:
        """ECS42/43/44 (SRV 7.1/7.2/7.3): critical, so the response is signed."""
        if target is SupplyState.CONNECTED and not self._may_supply():
            self._note("enable supply refused: credit exhausted")
            return usecases.ChangeSupplyEsmeResponse(result=RESULT_OTHER_REASON)
        self.state.supply = target
        return usecases.ChangeSupplyEsmeResponse(result=0)

    # -- consumption and the supply --------------------------------------------------------------

    def _interrupt_supply(self) -> None:
        if self.state.supply is SupplyState.CONNECTED:
            self.state.supply = SupplyState.DISCONNECTED

    def _arm_if_credit(self) -> None:
        if self.state.supply is SupplyState.DISCONNECTED and self.state.ledger.available > 0:
            self.state.supply = SupplyState.ARMED

    def _advance(self, now: float) -> Output:
        """Account consumption from the last accounted time to ``now`` (never backwards)."""
        state = self.state
        since = state.accounted_to
        if since is None or now <= since:
            state.accounted_to = now if since is None else since
            return []
        state.accounted_to = now
        energy = 0.0
        if state.supply is SupplyState.CONNECTED:
            demand = self.settings.load.energy_wh(self.wall_time(since), self.wall_time(now))
            energy = 1000 * self._affordable(demand / 1000, now - since)
        state.active_wh += energy
        state.reactive_varh += energy * self.settings.reactive_ratio
        return self._charge(energy / 1000, now - since, now)

    # -- register reads ---------------------------------------------------------------------

    def _import_registers(self) -> Data:
        """ECS17b register data: active and reactive import with their scaler-units (RTDS)."""
        state = self.state
        return Data.structure(
            Data.structure(
                Data(Tag.DOUBLE_LONG_UNSIGNED, int(state.active_wh) & 0xFFFFFFFF),
                Data.structure(Data(Tag.INTEGER, 0), Data.enum(_UNIT_WH)),
                Data(Tag.DOUBLE_LONG_UNSIGNED, int(state.reactive_varh) & 0xFFFFFFFF),
                Data.structure(Data(Tag.INTEGER, 0), Data.enum(_UNIT_VARH)),
            )
        )

    def _prepayment_registers(self) -> Data:
        """ECS19 register data: six double-longs as in the RTDS part. Order [ASSUMED]: meter
        balance, emergency credit remaining, accumulated debt, payment debt, time debt 1 and 2."""
        ledger = self.state.ledger
        values = (ledger.balance, ledger.emergency or 0, ledger.debt, 0, ledger.debt, 0)
        return Data.structure(Data.structure(*(Data(Tag.DOUBLE_LONG, v) for v in values)))

    def _protected_read(self, command: Message, registers: Data, now: float) -> tuple[float, bytes]:
        """An ECS17b / ECS19 response: protection parameters and the encrypted register part."""
        c = command.signing
        protection = dlms.ProtectionParameters(c.counter, self.eui, c.originator)
        block = self._encrypt(command, registers.encode())
        return self._respond(command, dlms.ProtectedReadResponse(protection, block), now)
