"""The sections of the TMM document besides the priorities: SECMP0067 throttling
([SEED 003]), SECMP0062 alert storms ([SEED 004]), the DP100 outage release and the northbound
order ([SEED 004]); with :class:`TmmError` and the value checks :mod:`rig.dsp.tmm` shares.
Every value here is configuration with its provenance (domain.md §2-§4)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import Enum
from typing import TypeVar

_T = TypeVar("_T")
_DUIS_LIKE_CODE = re.compile(r"[EIWN]\d+")


class TmmError(ValueError):
    """An invalid TMM document; the message names the file, the field and the bad value."""

    def __init__(self, source: str, path: str, value: object, reason: str) -> None:
        super().__init__(f"{source}: {path} = {value!r}: {reason}")
        self.source = source
        self.path = path
        self.value = value
        self.reason = reason


# -- the sections ---------------------------------------------------------------------------


class CapRule(Enum):
    """What an over-allocation User is held to while throttling is active (SECMP0067).

    The 2019 text says "either their stated allocation or the operating threshold (whichever is
    greater)", which is ambiguous (domain.md §2), hence a setting.
    """

    ALLOCATION = "allocation"
    GREATER_OF_ALLOCATION_AND_THRESHOLD_SHARE = "greater_of_allocation_and_threshold_share"


class ThrottleAction(Enum):
    """What a throttled request gets ([ASSUMED], domain.md §2): refused, or held and admitted
    later at the User's cap rate."""

    REJECT = "reject"
    HOLD = "hold"


class UnusedAllocation(Enum):
    """While throttling is active, whether a User over its allocation may use what others leave
    unused ([SEED 003] allows exceeding it only "where there is spare System capacity")."""

    KEPT = "kept"
    """Held to its allocation whatever the others do: [SEED 003] "forced to operate within
    that allocation if the System is near capacity and the mechanism is active"."""
    SHARED = "shared"
    """[ASSUMED] option: it borrows while the admitted load is below the deactivation mark."""


class ReleasePolicy(Enum):
    """How northbound traffic held during an outage is released (DP100, domain.md §4)."""

    ALL_AT_ONCE = "all_at_once"
    """Today's behaviour ([SEED 004]): everything at once, in arrival order."""
    PRIORITISED = "prioritised"
    """DP100's proposal: time-critical responses first, alerts at the back, paced."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ThrottlingPolicy:
    """SECMP0067 Service Request Traffic Management ([SEED 003], domain.md §2).

    ``capacity`` is the maximum system capacity in requests/s. The mechanism activates when the
    offered rate, measured over successive ``window_s`` windows, reaches ``activate_at`` x
    capacity (the operating threshold) and deactivates below ``deactivate_at`` x capacity
    (hysteresis). Each User's allocation is ``allocation_pool`` x capacity x its portfolio
    share (pool 1 by default: a User within its share of the capacity is never throttled,
    [SEED 003]); its threshold share is ``activate_at`` x capacity x its share; ``cap_rule``
    picks what it is held to while active, through a token bucket ``burst_s`` seconds deep;
    ``unused_allocation`` says whether others' unused allocation is shared out.
    ``action`` says what a request over the cap gets; a held request beyond ``hold_limit``
    per User is rejected. ``response_code`` is the rig's own code for a rejection: it must
    start with ``RIG-`` so that it is never mistaken for a DUIS code.
    """

    capacity: float
    activate_at: float
    deactivate_at: float
    window_s: float
    cap_rule: CapRule
    action: ThrottleAction
    hold_limit: int
    burst_s: float
    response_code: str
    allocation_pool: float = 1.0
    unused_allocation: UnusedAllocation = UnusedAllocation.KEPT

    def validate(self, src: str) -> None:
        sec = "throttling"
        _positive(src, f"{sec}.capacity", self.capacity)
        _fraction(src, f"{sec}.activate_at", self.activate_at)
        _fraction(src, f"{sec}.deactivate_at", self.deactivate_at)
        if self.deactivate_at >= self.activate_at:
            raise TmmError(
                src, f"{sec}.deactivate_at", self.deactivate_at,
                f"must be below activate_at ({self.activate_at}) for hysteresis",
            )  # fmt: skip
        _positive(src, f"{sec}.window_s", self.window_s)
        _fraction(src, f"{sec}.allocation_pool", self.allocation_pool)
        _expect_type(src, f"{sec}.cap_rule", self.cap_rule, CapRule)
        _expect_type(src, f"{sec}.action", self.action, ThrottleAction)
        _expect_type(src, f"{sec}.unused_allocation", self.unused_allocation, UnusedAllocation)
        if _expect_type(src, f"{sec}.hold_limit", self.hold_limit, int) < 0:
            raise TmmError(src, f"{sec}.hold_limit", self.hold_limit, "must be >= 0")
        _positive(src, f"{sec}.burst_s", self.burst_s)
        code = _expect_type(src, f"{sec}.response_code", self.response_code, str)
        if not code.startswith("RIG-") or _DUIS_LIKE_CODE.fullmatch(code):
            raise TmmError(
                src, f"{sec}.response_code", code,
                "must start with 'RIG-': a rig-specific code, never one that looks like DUIS",
            )  # fmt: skip


@dataclass(frozen=True, kw_only=True, slots=True)
class AlertStormPolicy:
    """SECMP0062 alert storm protection ([SEED 004], domain.md §3); also DP119 at the CH.

    More than ``threshold`` identical alerts (same device, same code) within ``window_s`` of the
    first start a storm: the excess is discarded and one copy is forwarded per
    ``forward_period_s`` carrying ``ThrottledAlertSequenceId`` and ``ThrottledAlertCount``.
    Codes in ``excluded_codes`` are never throttled.
    """

    window_s: float
    threshold: int
    forward_period_s: float
    excluded_codes: frozenset[int] = frozenset()

    def validate(self, src: str, sec: str = "alert_storm") -> None:
        _positive(src, f"{sec}.window_s", self.window_s)
        if _expect_type(src, f"{sec}.threshold", self.threshold, int) < 1:
            raise TmmError(src, f"{sec}.threshold", self.threshold, "must be >= 1")
        _positive(src, f"{sec}.forward_period_s", self.forward_period_s)
        for code in sorted(self.excluded_codes, key=repr):
            if not 0 <= _expect_type(src, f"{sec}.excluded_codes", code, int) <= 0xFFFF:
                raise TmmError(src, f"{sec}.excluded_codes", code, "alert code must be 0..0xFFFF")


@dataclass(frozen=True, kw_only=True, slots=True)
class OutageReleasePolicy:
    """How held northbound traffic is released after an outage (DP100, domain.md §4).

    ``release_rate`` (items/s per User) paces a PRIORITISED release; ALL_AT_ONCE ignores it.
    """

    policy: ReleasePolicy
    release_rate: float | None = None

    def validate(self, src: str) -> None:
        _expect_type(src, "outage_release.policy", self.policy, ReleasePolicy)
        if self.release_rate is not None:
            _positive(src, "outage_release.release_rate", self.release_rate)
        elif self.policy is ReleasePolicy.PRIORITISED:
            raise TmmError(
                src, "outage_release.release_rate", None, "required by the prioritised policy"
            )


ALL_AT_ONCE = OutageReleasePolicy(policy=ReleasePolicy.ALL_AT_ONCE)
"""Without an ``[outage_release]`` section: today's behaviour, "all sent at once" ([SEED 004])."""


class NorthboundOrder(Enum):
    """The order of a User's adapter queue outside an outage (docs/dsp-model.md)."""

    FIFO = "fifo"
    """Today's behaviour, the reference: responses and alerts leave in the order they are ready
    (DP100, [SEED 004]: "irrespective of importance")."""
    PRIORITISED = "prioritised"
    """An option after DP100's intent ([SEED 004]: time-critical messages "prioritised over
    messages such as Alerts"): responses by their request's SECMP0028 rank, then items the DSP
    cannot rank, alerts last; first come first served within a rank [ASSUMED]."""


@dataclass(frozen=True, kw_only=True, slots=True)
class NorthboundPolicy:
    """How each User's adapter queue is ordered outside an outage."""

    order: NorthboundOrder

    def validate(self, src: str) -> None:
        _expect_type(src, "northbound.order", self.order, NorthboundOrder)


FIFO_NORTHBOUND = NorthboundPolicy(order=NorthboundOrder.FIFO)
"""Without a ``[northbound]`` section: today's FIFO adapters."""


# -- value checks ---------------------------------------------------------------------------

_TOML_TYPE_NAMES = {str: "string", int: "integer", list: "array", dict: "table"}


def _expect_type(source: str, path: str, value: object, kind: type[_T]) -> _T:
    # bool is an int subclass, but `level = true` is a type error, not level 1.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        name = _TOML_TYPE_NAMES.get(kind, kind.__name__)
        raise TmmError(source, path, value, f"wrong type: expected {name}")
    return value


def expect_number(source: str, path: str, value: object, error: type[TmmError] = TmmError) -> float:
    """``value`` as a finite float (TOML integer or float, not a boolean), or ``error``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise error(source, path, value, "wrong type: expected a finite number")
    return float(value)


def _positive(source: str, path: str, value: object) -> None:
    if expect_number(source, path, value) <= 0:
        raise TmmError(source, path, value, "must be > 0")


def _fraction(source: str, path: str, value: object) -> None:
    if not 0 < expect_number(source, path, value) <= 1:
        raise TmmError(source, path, value, "must be a fraction in (0, 1]")
