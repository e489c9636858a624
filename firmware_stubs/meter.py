"""What the ESME and the GSME share as prepayment meters: UTRN top-ups, remote or typed on a
keypad (the meter's or a PPMID's), and emergency credit (issue 5; reference/gbcs.md §2).

A top-up is checked by :class:`~firmware_stubs.utrn_gate.UtrnGate`, then by the ledger's
maximum credit threshold; only then is the UTRN recorded as used. Credit made available again
arms a meter whose supply was interrupted (each meter says what arming means for it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from firmware_stubs.device import DeviceState, Output, SmartDevice
from firmware_stubs.prepayment import DAY, UNITS_PER_PENNY, Ledger, LedgerEvent, TopUpRefused
from firmware_stubs.utrn_gate import (
    ALERT_UTRN_LOCKOUT,
    ALERT_UTRN_NOT_FOR_DEVICE,
    ALERT_UTRN_OVER_MAX_CREDIT,
    UtrnGate,
    UtrnRefused,
)
from rig.gbcs.eui import Eui64
from rig.gbcs.utrn import pence
from rig.keys.keystore import KeyNotFound

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


class PrepaymentMeter(SmartDevice):
    """Top-ups and emergency credit; subclasses say how to arm and how time passes."""

    state: MeterState
    #: Prepayment mode: consumption is paid from credit, and exhausted credit interrupts supply.
    prepayment: bool
    prepayment_alerts: PrepaymentAlerts

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
