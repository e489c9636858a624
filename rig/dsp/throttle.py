"""SECMP0067 Service Request throttling ([SEED 003], domain.md §2).

"A maximum system capacity, operating threshold and appropriate Service User allocations. When
the DCC System reaches this operating threshold, traffic management of the Service Requests
will become active"; Users "can exceed this allocation where there is spare System capacity but
will be forced to operate within that allocation if the System is near capacity and the
mechanism is active". Here (docs/dsp-model.md, "Throttling"):

* **Measurement.** The offered load is counted in a sliding window of ``window_s`` seconds made
  of :data:`SLOTS` slots: every submission counts, and so does every held request when it is
  released (it is offered to the DSP again then). The mechanism activates on the submission
  that takes the window's rate to ``activate_at`` x capacity (so it reacts within a fraction of
  the window, not at a window's end) and deactivates when a slot closes with the rate below
  ``deactivate_at`` x capacity (hysteresis, [ASSUMED]).
* **Allocations.** A User's allocation is ``allocation_pool`` x capacity x its portfolio share
  (pool 1 by default: the allocations share out the whole capacity); ``cap_rule`` picks what it
  is held to. A token bucket refilled at that rate, ``burst_s`` deep and full at activation,
  decides: a User within its allocation always finds a token, so it is never throttled.
* **Unused allocation.** ``unused_allocation = "kept"`` (default): a User over its allocation is
  held to it even when others leave theirs unused. ``"shared"``: while the admitted load in the
  window is below ``deactivate_at`` x capacity, a request without a token is admitted anyway
  (it borrows what others leave; the deactivation mark bounds the total).
* **Throttled requests** are rejected, or held in the User's FIFO (``action``). Held requests
  leave paced, never in one dump: one per token (at the User's cap), and while the mechanism is
  inactive also as far as the window's load stays under the activation mark; each release
  counts as offered load, so a backlog that would overload the DSP reactivates the mechanism. A
  User with held requests queues its new ones behind them (FIFO per User).

The :class:`Throttle` decides and keeps the held requests; the DSP admits what it releases.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Mapping

from rig.clock import Clock, TimerHandle
from rig.dsp.tmm import CapRule, ThrottleAction, ThrottlingPolicy, UnusedAllocation

ADMIT, HOLD, REJECT = 0, 1, 2
"""Outcomes of :meth:`Throttle.offer`."""

SLOTS = 10
"""Slots of the sliding measurement window ([ASSUMED]): with ``window_s`` = 1 s, the rate is
re-measured every 0.1 s, over the last 0.9-1.0 s."""

_ONE_TOKEN = 1.0 - 1e-9
"""A whole token, allowing for rounding in the refill (else a wake-up could find 0.99999...)."""


class _Bucket:
    __slots__ = ("cap", "depth", "held", "last", "timer", "tokens")

    def __init__(self, cap: float, depth: float) -> None:
        self.cap = cap
        self.depth = depth
        self.tokens = depth
        self.last = 0.0
        self.held: deque = deque()
        self.timer: TimerHandle | None = None

    def refill(self, now: float) -> None:
        tokens = self.tokens + (now - self.last) * self.cap
        self.tokens = tokens if tokens < self.depth else self.depth
        self.last = now


class Throttle:
    """Per-User admission under a :class:`ThrottlingPolicy`; ``release`` admits held requests.

    ``portfolios`` maps User -> portfolio size (any unit); a User's share is its portfolio over
    the total. A User not listed has share 0: while active, it is throttled entirely.
    """

    def __init__(
        self,
        clock: Clock,
        policy: ThrottlingPolicy,
        portfolios: Mapping[str, float],
        release: Callable[[object], None],
    ) -> None:
        if any(not p >= 0 for p in portfolios.values()):
            raise ValueError(f"portfolios = {dict(portfolios)!r}: sizes must be >= 0")
        self._clock = clock
        self._release = release
        total = sum(portfolios.values())
        self._shares = {u: (p / total if total else 0.0) for u, p in portfolios.items()}
        self._buckets: dict[str, _Bucket] = {}
        self.active = False
        self.activations = 0
        self.policy = policy

    @property
    def policy(self) -> ThrottlingPolicy:
        """The parameters in force; setting them (a TMM reload) keeps the state and the held
        requests (a new window length restarts the measurement)."""
        return self._policy

    @policy.setter
    def policy(self, policy: ThrottlingPolicy) -> None:
        old = getattr(self, "_policy", None)
        self._policy = policy
        self._hold = policy.action is ThrottleAction.HOLD
        self._share_unused = policy.unused_allocation is UnusedAllocation.SHARED
        self._on_rate = policy.activate_at * policy.capacity
        self._off_rate = policy.deactivate_at * policy.capacity
        if old is None or old.window_s != policy.window_s:
            self._slot_s = policy.window_s / SLOTS
            self._slot = self._slot_of(self._clock.now())
            self._offered = [0] * SLOTS
            self._admitted = [0] * SLOTS
            self._offered_sum = self._admitted_sum = 0
        for user, bucket in self._buckets.items():
            bucket.cap, bucket.depth = self._cap_and_depth(user)
            bucket.tokens = min(bucket.tokens, bucket.depth)

    def cap(self, user: str) -> float:
        """The rate (requests/s) ``user`` is held to while the mechanism is active."""
        p = self._policy
        share = self._shares.get(user, 0.0)
        allocation = p.allocation_pool * p.capacity * share
        if p.cap_rule is CapRule.ALLOCATION:
            return allocation
        return max(allocation, p.activate_at * p.capacity * share)

    def _cap_and_depth(self, user: str) -> tuple[float, float]:
        cap = self.cap(user)
        return cap, max(1.0, cap * self._policy.burst_s) if cap > 0 else 0.0

    def _bucket(self, user: str) -> _Bucket:
        bucket = self._buckets[user] = _Bucket(*self._cap_and_depth(user))
        bucket.last = self._clock.now()
        return bucket

    # -- the sliding window ---------------------------------------------------------------------

    def _slot_of(self, now: float) -> int:
        """The slot ``now`` falls in, consistent with the slot starts ``slot * slot_s`` (the
        division alone can round to the slot before a start)."""
        slot = math.floor(now / self._slot_s)
        return slot + 1 if (slot + 1) * self._slot_s <= now else slot

    def _span(self, now: float) -> float:
        """Seconds the window covers now: its full slots and the current one so far."""
        return (SLOTS - 1) * self._slot_s + (now - self._slot * self._slot_s)

    def _advance(self, now: float) -> None:
        """Close the slots up to ``now``; deactivate if the rate fell below the lower mark."""
        slot = self._slot_of(now)
        if slot <= self._slot:
            return
        for s in range(max(self._slot + 1, slot - SLOTS + 1), slot + 1):
            i = s % SLOTS
            self._offered_sum -= self._offered[i]
            self._admitted_sum -= self._admitted[i]
            self._offered[i] = self._admitted[i] = 0
        self._slot = slot
        if self.active and self._offered_sum < self._off_rate * self._span(now):
            self.active = False

    def _count(self, admitted: int) -> None:
        i = self._slot % SLOTS
        self._offered[i] += 1
        self._offered_sum += 1
        self._admitted[i] += admitted
        self._admitted_sum += admitted

    def refresh(self, now: float) -> bool:
        """Bring the measurement up to ``now``; whether the mechanism is active."""
        self._advance(now)
        return self.active

    # -- admission ------------------------------------------------------------------------------

    def offer(self, request: object, user: str, now: float) -> int:
        """Count one submission; ADMIT it now, HOLD it (kept here) or REJECT it."""
        self._advance(now)
        bucket = self._buckets.get(user)
        if bucket is not None and bucket.held:
            self._count(0)
            return self._throttle(bucket, request)
        if not self.active:
            if self._offered_sum + 1 < self._on_rate * self._span(now):
                self._count(1)
                return ADMIT
            self._activate(now)
        if bucket is None:
            bucket = self._bucket(user)
        bucket.refill(now)
        if bucket.tokens >= _ONE_TOKEN:
            bucket.tokens -= 1.0
            self._count(1)
            return ADMIT
        if self._share_unused and self._admitted_sum + 1 < self._off_rate * self._span(now):
            self._count(1)
            return ADMIT
        self._count(0)
        return self._throttle(bucket, request)

    def _activate(self, now: float) -> None:
        self.active = True
        self.activations += 1
        for bucket in self._buckets.values():
            if not bucket.held:
                bucket.tokens, bucket.last = bucket.depth, now

    def _throttle(self, bucket: _Bucket, request: object) -> int:
        if not self._hold or len(bucket.held) >= self._policy.hold_limit:
            return REJECT
        bucket.held.append(request)
        if bucket.timer is None:
            self._schedule(bucket, self._clock.now())
        return HOLD

    def _schedule(self, bucket: _Bucket, now: float) -> None:
        """Wake when the next token is due, or at the next slot (which may deactivate the
        mechanism or open room under the activation mark)."""
        wake = (self._slot + 1) * self._slot_s
        if bucket.cap > 0:
            wake = min(wake, now + max(0.0, 1.0 - bucket.tokens) / bucket.cap)
        bucket.timer = self._clock.call_at(max(wake, now), self._wake, bucket)

    def _wake(self, bucket: _Bucket) -> None:
        bucket.timer = None
        now = self._clock.now()
        self._advance(now)
        self._drain(bucket, now)

    def _drain(self, bucket: _Bucket, now: float) -> None:
        """Release held requests, paced: one per token; while inactive also while the window's
        load stays under the activation mark. Each release counts as offered load."""
        held = bucket.held
        bucket.refill(now)
        while held:
            if bucket.tokens >= _ONE_TOKEN:
                bucket.tokens -= 1.0
            elif self.active or self._offered_sum >= self._on_rate * self._span(now):
                break
            self._count(1)
            self._release(held.popleft())
        if not self.active and self._offered_sum >= self._on_rate * self._span(now):
            self._activate(now)
        if held and bucket.timer is None:
            self._schedule(bucket, now)

    @property
    def held(self) -> int:
        """Requests held now, all Users."""
        return sum(len(b.held) for b in self._buckets.values())

    def release_all(self) -> None:
        """Admit every held request (a TMM reload removed the mechanism altogether)."""
        for bucket in self._buckets.values():
            if bucket.timer is not None:
                bucket.timer.cancel()
                bucket.timer = None
            while bucket.held:
                self._release(bucket.held.popleft())
