"""A prepayment meter's money, as a pure ledger: top-ups, consumption, emergency credit, debt.

Amounts are kept in integer currency units of 1/1000 penny, the scale of the RTDS CS01b response
(1,250 pence top-up reported as 1,250,000; reference/gbcs.md §2) and of ECS82 balances.
The rules (issue 5; domain.md §0) are the usual GB prepayment ones; every threshold is a setting:

- a top-up first repays the emergency credit used, the rest becomes credit; credit may never
  exceed the maximum credit threshold (the meter refuses the UTRN, 0x8F5B);
- consumption and the time-based debt recovery rate are paid from credit, then from active
  emergency credit; when both are gone the supply must be interrupted;
- emergency credit may be activated only while credit is below its threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

#: Currency units per penny (RTDS CS01b: 1250 pence <-> 1,250,000).
UNITS_PER_PENNY = 1_000
DAY = 86_400.0


@dataclass(frozen=True)
class PrepaymentSettings:
    """Prepayment configuration (SRV 2.1 sets these on a real meter). All [ASSUMED] bench
    defaults: the references give no tariff or threshold values."""

    #: Emergency credit granted on activation, pence.
    emergency_credit_limit_pence: int = 500
    #: Emergency credit may be activated only below this credit, pence.
    emergency_credit_threshold_pence: int = 200
    #: A low-credit alert is raised when credit falls below this, pence.
    low_credit_threshold_pence: int = 300
    #: Time-based debt recovery, pence per day, taken from credit while debt remains.
    debt_recovery_rate_pence_per_day: int = 0
    #: Price of energy, pence per kWh (gas: per kWh after calorific conversion).
    unit_rate_pence_per_kwh: float = 24.5
    #: Standing charge, pence per day.
    standing_charge_pence_per_day: float = 53.0

    def __post_init__(self) -> None:
        values = (
            self.emergency_credit_limit_pence,
            self.emergency_credit_threshold_pence,
            self.low_credit_threshold_pence,
            self.debt_recovery_rate_pence_per_day,
            self.unit_rate_pence_per_kwh,
            self.standing_charge_pence_per_day,
        )
        if any(v < 0 for v in values):
            raise ValueError(f"prepayment settings must not be negative: {self}")


class LedgerEvent(Enum):
    """What a change to the ledger means for the meter (it picks the alert or supply action)."""

    LOW_CREDIT = "credit fell below the low-credit threshold"
    CREDIT_EXHAUSTED = "credit and emergency credit exhausted"
    EMERGENCY_CREDIT_IN_USE = "credit exhausted, drawing on emergency credit"


class TopUpRefused(ValueError):
    """A top-up that would take credit above the maximum credit threshold."""


@dataclass
class Ledger:
    """Credit, emergency credit and debt of one meter, in currency units (1/1000 penny)."""

    settings: PrepaymentSettings = field(default_factory=PrepaymentSettings)
    max_credit_pence: int = 50_000
    credit: int = 0
    #: Emergency credit still available while active (units); None when not activated.
    emergency: int | None = None
    debt: int = 0
    debt_recovered: int = 0
    low_credit: bool = False
    exhausted: bool = False
    #: Cost accrued but below one unit, carried to the next charge.
    owed: float = 0.0
    #: Everything charged so far (units): GCS60 "bill to date".
    spent: int = 0

    @property
    def credit_pence(self) -> float:
        """Credit in pence."""
        return self.credit / UNITS_PER_PENNY

    @property
    def emergency_used(self) -> int:
        """Emergency credit spent so far (units), repaid by the next top-up."""
        if self.emergency is None:
            return 0
        return self.settings.emergency_credit_limit_pence * UNITS_PER_PENNY - self.emergency

    @property
    def available(self) -> int:
        """What may still be spent: credit plus active emergency credit (units)."""
        return self.credit + (self.emergency or 0)

    @property
    def balance(self) -> int:
        """The meter balance (ECS82): credit less emergency credit used (units; may be < 0)."""
        return self.credit - self.emergency_used

    def top_up(self, pence: int) -> None:
        """Add a top-up of ``pence``; :class:`TopUpRefused` above the maximum credit."""
        if pence < 0:
            raise ValueError(f"top-up of {pence} pence")
        value = pence * UNITS_PER_PENNY
        repay = min(value, self.emergency_used)
        if (self.credit + value - repay) > self.max_credit_pence * UNITS_PER_PENNY:
            raise TopUpRefused(
                f"credit {self.credit_pence:.0f} p + {pence} p exceeds the maximum credit"
                f" threshold {self.max_credit_pence} p"
            )
        if self.emergency is not None:
            self.emergency += repay
            if self.emergency_used == 0:
                self.emergency = None
        self.credit += value - repay
        if self.available > 0:
            self.exhausted = False
        if self.credit >= self.settings.low_credit_threshold_pence * UNITS_PER_PENNY:
            self.low_credit = False

    def activate_emergency_credit(self) -> bool:
        """Grant emergency credit if allowed now (credit below its threshold, not active)."""
        threshold = self.settings.emergency_credit_threshold_pence * UNITS_PER_PENNY
        if self.emergency is not None or self.credit >= threshold:
            return False
        self.emergency = self.settings.emergency_credit_limit_pence * UNITS_PER_PENNY
        if self.available > 0:
            self.exhausted = False
        return True

    def charge(self, energy_kwh: float, seconds: float) -> list[LedgerEvent]:
        """Pay for ``energy_kwh``, ``seconds`` of standing charge and, while debt remains,
        ``seconds`` of debt recovery. Fractions of a unit carry over to the next charge."""
        s = self.settings
        per_second = s.standing_charge_pence_per_day / DAY
        recovery = 0.0
        if self.debt > 0:
            rate = s.debt_recovery_rate_pence_per_day * UNITS_PER_PENNY / DAY
            recovery = min(float(self.debt), seconds * rate)
        energy_pence = energy_kwh * s.unit_rate_pence_per_kwh + seconds * per_second
        self.owed += energy_pence * UNITS_PER_PENNY
        self.owed += recovery
        units = int(self.owed)
        self.owed -= units
        recovered = min(self.debt, round(recovery))
        self.debt -= recovered
        self.debt_recovered += recovered
        return self._spend(units)

    def _spend(self, units: int) -> list[LedgerEvent]:
        events = []
        self.spent += units
        from_credit = min(units, max(self.credit, 0))
        self.credit -= from_credit
        rest = units - from_credit
        if rest and self.emergency:
            if self.emergency == self.settings.emergency_credit_limit_pence * UNITS_PER_PENNY:
                events.append(LedgerEvent.EMERGENCY_CREDIT_IN_USE)
            taken = min(rest, self.emergency)
            self.emergency -= taken
            rest -= taken
        threshold = self.settings.low_credit_threshold_pence * UNITS_PER_PENNY
        if not self.low_credit and self.credit < threshold:
            self.low_credit = True
            events.append(LedgerEvent.LOW_CREDIT)
        if not self.exhausted and self.available <= 0:
            self.exhausted = True
            events.append(LedgerEvent.CREDIT_EXHAUSTED)
        return events
