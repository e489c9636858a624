"""A meter's UTRN acceptance rules, shared by the ESME and the GSME (reference/gbcs.md §2).

Two ways in: a remote top-up (CS01a / CS01b) carries the full 64-bit originator counter; a UTRN
typed on a keypad (the meter's or a PPMID's) carries only ten counter bits, so the meter infers
the rest from the highest UTRN counter it has accepted from that supplier: the smallest counter
above it whose ten bits match (GBCS §14 as summarised in reference/gbcs.md §2: "for manual
keypad entry the meter must infer the other 22 bits"). A supplier whose counter jumped by 1,024
or more since the last accepted UTRN therefore issues UTRNs a keypad rejects (not for this
device), as the reference warns for epoch-based counters.

Rejections name the alert the meter raises (§1.6): 0x8F63 not authentic (check digit), 0x8F64
not for this device (MAC or counter bits), 0x8F51 duplicate (seen before, or counter not above
the last accepted), 0x8F5B over the maximum credit threshold (raised by the ledger's caller).
Repeated failed keypad entries lock the keypad out (0x81C4; [ASSUMED] limits, see
:class:`UtrnSettings`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ec

from rig.gbcs.errors import VerifyError
from rig.gbcs.eui import Eui64
from rig.gbcs.utrn import Utrn, UtrnError, UtrnRejection, parse_utrn, verify_utrn

ALERT_UTRN_NOT_AUTHENTIC = 0x8F63
ALERT_UTRN_NOT_FOR_DEVICE = 0x8F64
ALERT_UTRN_DUPLICATE = 0x8F51
ALERT_UTRN_OVER_MAX_CREDIT = 0x8F5B
#: "UTRN lock-out" (reference/gbcs.md §1.6 names 81C4 and 81C5 without saying which is which;
#: [ASSUMED] 81C4 when the keypad locks).
ALERT_UTRN_LOCKOUT = 0x81C4

_ALERTS = {
    UtrnRejection.NOT_AUTHENTIC: ALERT_UTRN_NOT_AUTHENTIC,
    UtrnRejection.NOT_FOR_DEVICE: ALERT_UTRN_NOT_FOR_DEVICE,
    UtrnRejection.DUPLICATE: ALERT_UTRN_DUPLICATE,
}
_COUNTER_FIELD = 1 << 10  # ten counter bits travel in a UTRN
_COUNTER_SHIFT = 32


@dataclass(frozen=True)
class UtrnSettings:
    """UTRN memory and keypad lock-out. All [ASSUMED] bench defaults (GBCS §14 values are not
    in the references)."""

    #: Accepted UTRNs remembered for duplicate detection.
    memory: int = 64
    #: Failed keypad entries that lock the keypad...
    lockout_failures: int = 5
    #: ...within this many seconds...
    lockout_window: float = 3_600.0
    #: ...for this many seconds.
    lockout_period: float = 3_600.0


class UtrnRefused(VerifyError):
    """A UTRN the meter turns down; ``alert`` is the alert code it raises."""

    def __init__(self, alert: int, reason: str) -> None:
        super().__init__(reason)
        self.alert = alert


@dataclass
class UtrnGate:
    """What a meter remembers about UTRNs, and the checks in the order it applies them."""

    settings: UtrnSettings = field(default_factory=UtrnSettings)
    accepted: deque[str] = field(default_factory=deque)
    last_counter: dict[Eui64, int] = field(default_factory=dict)
    failures: deque[float] = field(default_factory=deque)
    locked_until: float = float("-inf")

    def check_remote(
        self,
        digits: str,
        supplier_pp_ka: ec.EllipticCurvePublicKey,
        device_ka: ec.EllipticCurvePrivateKey,
        supplier: Eui64,
        device: Eui64,
        counter: int,
    ) -> Utrn:
        """Check a UTRN that arrived with its full counter; :class:`UtrnRefused` if bad."""
        if digits in self.accepted:
            raise UtrnRefused(ALERT_UTRN_DUPLICATE, "UTRN already used")
        try:
            utrn = verify_utrn(digits, supplier_pp_ka, device_ka, supplier, device, counter)
        except VerifyError as exc:
            rejection = getattr(exc, "rejection", UtrnRejection.NOT_AUTHENTIC)
            raise UtrnRefused(_ALERTS[rejection], str(exc)) from None
        if counter <= self.last_counter.get(supplier, 0):
            raise UtrnRefused(ALERT_UTRN_DUPLICATE, "UTRN counter not above the last accepted")
        return utrn

    def inferred_counter(self, digits: str, supplier: Eui64) -> int:
        """The full counter of a keypad UTRN: the smallest above the last accepted counter
        from ``supplier`` whose ten UTRN bits match (low 32 bits zero). :class:`UtrnRefused`
        (not authentic) if the digits are malformed or fail their check digit."""
        try:
            bits = parse_utrn(digits).counter_bits
        except UtrnError as exc:
            raise UtrnRefused(_ALERTS[exc.rejection], str(exc)) from None
        last = self.last_counter.get(supplier, 0) >> _COUNTER_SHIFT
        candidate = (last & ~(_COUNTER_FIELD - 1)) | bits
        if candidate <= last:
            candidate += _COUNTER_FIELD
        return candidate << _COUNTER_SHIFT

    def locked(self, now: float) -> bool:
        """Whether keypad entry is locked out at ``now``."""
        return now < self.locked_until

    def record_failure(self, now: float) -> bool:
        """Count a failed keypad entry; True if this one locks the keypad."""
        s = self.settings
        self.failures.append(now)
        while self.failures and self.failures[0] <= now - s.lockout_window:
            self.failures.popleft()
        if len(self.failures) >= s.lockout_failures:
            self.failures.clear()
            self.locked_until = now + s.lockout_period
            return True
        return False

    def commit(self, utrn: Utrn, supplier: Eui64, counter: int) -> None:
        """Record an accepted UTRN (after the credit check passed)."""
        self.last_counter[supplier] = counter
        self.accepted.append(utrn.digits)
        while len(self.accepted) > self.settings.memory:
            self.accepted.popleft()
