"""What the ESME and the GSME share as prepayment meters: UTRN top-ups, remote or typed on a
keypad (the meter's or a PPMID's), and emergency credit (issue 5; reference/gbcs.md §2).

A top-up is checked by :class:`~firmware_stubs.utrn_gate.UtrnGate`, then by the ledger's
maximum credit threshold; only then is the UTRN recorded as used. Credit made available again
arms a meter whose supply was interrupted (each meter says what arming means for it).

The firmware protocol (``handle``, ``tick``) is the same for both meters; each says which
commands it answers (``_dispatch``) and how time passes for it (``_advance``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar, Protocol, Self

from cryptography.hazmat.primitives.asymmetric import ec

from firmware_stubs.device import DeviceState, Output, SmartDevice
from firmware_stubs.prepayment import (
    DAY,
    UNITS_PER_PENNY,
    Ledger,
    LedgerEvent,
    PrepaymentSettings,
    TopUpRefused,
)
from firmware_stubs.timing import ProcessingTime
from firmware_stubs.utrn_gate import (
    ALERT_UTRN_LOCKOUT,
    ALERT_UTRN_NOT_FOR_DEVICE,
    ALERT_UTRN_OVER_MAX_CREDIT,
    UtrnGate,
    UtrnRefused,
    UtrnSettings,
)
from rig.gbcs import usecases
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import Message
from rig.gbcs.utrn import pence
from rig.keys.keystore import KeyNotFound, KeyStore

#: "Credit Added Locally" (reference/gbcs.md §1.6), after a keypad or PPMID top-up.
ALERT_CREDIT_ADDED_LOCALLY = 0x810E


@dataclass(frozen=True)
class PrepaymentAlerts:
    """Codes of prepayment alerts whose GBCS values are not in the references: [ASSUMED]
    placeholders, to be set from GBCS Table 16.x on a real bench."""

    low_credit: int = 0x8F1C
    supply_interrupted: int = 0x8F1D
    emergency_credit_in_use: int = 0x8F1E


@dataclass
class MeterState(DeviceState):
    """A prepayment meter's money and UTRN memory."""

    ledger: Ledger = field(default_factory=Ledger)
    utrns: UtrnGate = field(default_factory=UtrnGate)


class MeterSettings(Protocol):
    """The settings every prepayment meter has (``EsmeSettings``, ``GsmeSettings``)."""

    @property
    def max_credit_pence(self) -> int: ...
    @property
    def processing_time(self) -> float: ...
    @property
    def processing_jitter(self) -> float: ...
    @property
    def seed(self) -> int: ...
    @property
    def prepayment(self) -> bool: ...
    @property
    def tariff(self) -> PrepaymentSettings: ...
    @property
    def alerts(self) -> PrepaymentAlerts: ...
    @property
    def alert_recipient(self) -> Eui64 | None: ...
    @property
    def utrn(self) -> UtrnSettings: ...


class PrepaymentMeter(SmartDevice):
    """Top-ups and emergency credit; subclasses say which commands they answer, how to arm
    and how time passes."""

    #: The meter's settings when none are given, and its state type (fresh ledger and UTRNs).
    default_settings: ClassVar[type[MeterSettings]]
    state_type: ClassVar[type[MeterState]]
    settings: MeterSettings
    state: MeterState

    def __init__(
        self,
        eui: Eui64,
        *,
        ka_private: ec.EllipticCurvePrivateKey,
        ds_private: ec.EllipticCurvePrivateKey | None,
        keys: KeyStore,
        settings: MeterSettings | None = None,
        state: MeterState | None = None,
        wall_clock_offset: float = 0.0,
    ) -> None:
        self.settings = s = settings or self.default_settings()
        self.state = state or self.state_type(
            ledger=Ledger(s.tariff, s.max_credit_pence), utrns=UtrnGate(s.utrn)
        )
        super().__init__(
            eui,
            ka_private=ka_private,
            ds_private=ds_private,
            keys=keys,
            processing=ProcessingTime(s.processing_time, s.processing_jitter),
            seed=s.seed,
            wall_clock_offset=wall_clock_offset,
            alert_recipient=s.alert_recipient,
            device_state=self.state,
        )
        #: Prepayment mode: consumption is paid from credit; exhausted credit interrupts supply.
        self.prepayment = s.prepayment
        self.prepayment_alerts = s.alerts

    @classmethod
    def from_keys(
        cls,
        eui: Eui64,
        keys: KeyStore,
        settings: MeterSettings | None = None,
        *,
        wall_clock_offset: float = 0.0,
    ) -> Self:
        """The meter ``eui`` with its own key pairs from ``keys`` (which knows the remote
        parties too)."""
        return cls(
            eui,
            ka_private=keys.ka_private(eui),
            ds_private=keys.ds_private(eui),
            keys=keys,
            settings=settings,
            wall_clock_offset=wall_clock_offset,
        )

    # -- the firmware protocol ------------------------------------------------------------

    def handle(self, frame: bytes, now: float) -> Output:
        """Process one GBCS frame received at ``now``; return (delay, frame) pairs to send."""
        alerts = self._advance(now) + self._execute_due(now) + self._frame_arrived()
        accepted = self._accept(frame, now)
        if isinstance(accepted, list):
            return alerts + accepted
        return alerts + self._dispatch(*accepted, now)

    def tick(self, now: float) -> Output:
        """Advance consumption (and whatever else time wears) to ``now`` and execute the
        future-dated instructions due; the alerts due."""
        return self._advance(now) + self._execute_due(now)

    def _frame_arrived(self) -> Output:
        """What receiving a frame costs the meter, after consumption is accounted: nothing
        for a mains meter (a battery meter counts a wake)."""
        return []

    def _dispatch(self, command: Message, body: object, now: float) -> Output:
        """Answer a verified command whose payload decoded to ``body``."""
        raise NotImplementedError

    def _top_up(
        self,
        command: Message,
        utrn: str,
        now: float,
        *,
        refused: usecases.Payload,
        accepted: Callable[[int], usecases.Payload],
    ) -> Output:
        """A remote top-up (SRV 2.2): the ``accepted(pence)`` reply; refused, a non-critical
        alert with the UTRN rule's code, then the ``refused`` reply (the alert first, so the
        User has it when the response lands)."""
        signing = command.signing
        try:
            value = self._check_utrn(utrn, signing.originator, signing.counter)
        except UtrnRefused as exc:
            self._note(f"top-up rejected (alert 0x{exc.alert:04X}): {exc}")
            alert = self._alert_payload(exc.alert, now)
            code = usecases.GENERIC_NON_CRITICAL_ALERT
            return [
                self._alert(signing.originator, alert, code, critical=False),
                self._respond(command, refused, now),
            ]
        self._note(f"top-up of {value} p accepted")
        return [self._respond(command, accepted(value), now)]

    def _advance(self, now: float) -> Output:
        """Account consumption up to ``now``; the alerts it causes."""
        raise NotImplementedError

    def _arm_if_credit(self) -> None:
        """Arm an interrupted supply if credit is available again."""
        raise NotImplementedError

    def _interrupt_supply(self) -> None:
        """Open the contactor or close the valve: credit is exhausted."""
        raise NotImplementedError

    def _may_supply(self) -> bool:
        """Whether credit allows the supply on (always, in credit mode)."""
        return not self.prepayment or self.state.ledger.available > 0

    def _affordable(self, energy_kwh: float, seconds: float) -> float:
        """The part of ``energy_kwh`` that credit pays for (prepayment mode): a meter cuts
        the supply the moment credit runs out, however coarse the ticks that tell it so."""
        ledger = self.state.ledger
        rate = ledger.settings.unit_rate_pence_per_kwh
        if not self.prepayment or energy_kwh <= 0 or rate <= 0:
            return energy_kwh
        fixed = ledger.settings.standing_charge_pence_per_day * seconds / DAY
        spendable = ledger.available / UNITS_PER_PENNY - fixed
        return max(0.0, min(energy_kwh, spendable / rate))

    def _charge(self, energy_kwh: float, seconds: float, now: float) -> Output:
        """Pay for consumption (prepayment mode); the alerts and supply action it causes."""
        if not self.prepayment:
            return []
        codes = self.prepayment_alerts
        out: Output = []
        for event in self.state.ledger.charge(energy_kwh, seconds):
            if event is LedgerEvent.CREDIT_EXHAUSTED:
                self._interrupt_supply()
                code = codes.supply_interrupted
            elif event is LedgerEvent.LOW_CREDIT:
                code = codes.low_credit
            else:
                code = codes.emergency_credit_in_use
            out += self._unsolicited(self._alert_payload(code, now), event.value)
        return out

    def activate_emergency_credit(self, now: float) -> Output:
        """The consumer takes emergency credit (allowed below its threshold)."""
        alerts = self._advance(now)
        if self.state.ledger.activate_emergency_credit():
            self._note("emergency credit activated")
            self._arm_if_credit()
        return alerts

    def _check_utrn(self, digits: str, supplier: Eui64, counter: int) -> int:
        """Verify, credit and record a UTRN; its value in pence. :class:`UtrnRefused` if not."""
        try:
            supplier_key = self._keys.ka_public(supplier, prepayment=True)
        except KeyNotFound as exc:
            raise UtrnRefused(ALERT_UTRN_NOT_FOR_DEVICE, str(exc)) from None
        gate = self.state.utrns
        utrn = gate.check_remote(
            digits, supplier_key, self._ka_private, supplier, self.eui, counter
        )
        value = pence(utrn)
        try:
            self.state.ledger.top_up(value)
        except TopUpRefused as exc:
            raise UtrnRefused(ALERT_UTRN_OVER_MAX_CREDIT, str(exc)) from None
        gate.commit(utrn, supplier, counter)
        self._arm_if_credit()
        return value

    def enter_utrn(self, digits: str, now: float) -> Output:
        """A UTRN typed on the meter's keypad or sent by a PPMID over the HAN.

        The supplier is :attr:`alert_recipient`; the counter is inferred from the ten bits the
        UTRN carries (:meth:`UtrnGate.inferred_counter`). Accepted: credit and an 0x810E
        "Credit Added Locally" alert; refused: the rejection alert, and after repeated failures
        the keypad locks out (alert 0x81C4) and ignores entries until the lock-out ends.
        """
        alerts = self._advance(now)
        gate = self.state.utrns
        if gate.locked(now):
            self._note("keypad locked out: UTRN ignored")
            return alerts
        supplier = self.alert_recipient
        try:
            if supplier is None:
                raise UtrnRefused(ALERT_UTRN_NOT_FOR_DEVICE, "no supplier known for this meter")
            value = self._check_utrn(digits, supplier, gate.inferred_counter(digits, supplier))
        except UtrnRefused as exc:
            why = f"keypad UTRN rejected (alert 0x{exc.alert:04X}): {exc}"
            out = self._unsolicited(self._alert_payload(exc.alert, now), why)
            if gate.record_failure(now):
                lockout = self._alert_payload(ALERT_UTRN_LOCKOUT, now)
                out += self._unsolicited(lockout, "keypad locked out after repeated failures")
            return alerts + out
        why = f"keypad top-up of {value} p accepted"
        return alerts + self._unsolicited(self._alert_payload(ALERT_CREDIT_ADDED_LOCALLY, now), why)
