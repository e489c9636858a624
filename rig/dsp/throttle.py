"""SECMP0067 Service Request throttling ([SEED 003], domain.md §2).

"A maximum system capacity, operating threshold and appropriate Service User allocations. When
the DCC System reaches this operating threshold, traffic management of the Service Requests
will become active", holding Users over their allocation to it; "they can exceed this
allocation where there is spare System capacity" (borrowing). Here:

* the offered rate (every submission) is measured over successive ``window_s`` windows; at the
  end of a window the mechanism activates when the rate reached ``activate_at`` x capacity and
  deactivates when it fell below ``deactivate_at`` x capacity (hysteresis, [ASSUMED]);
* while inactive every request is admitted: a User borrows whatever spare capacity there is;
* while active each User is held to its cap (``cap_rule``) by a token bucket refilled at the
  cap rate and ``burst_s`` deep, full at activation; a request without a token is throttled:
  rejected, or held in the User's FIFO and admitted as tokens come (``action``, [ASSUMED]).

The :class:`Throttle` decides and keeps the held requests; the DSP admits what it releases.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping

from rig.clock import Clock, TimerHandle
from rig.dsp.tmm import CapRule, ThrottleAction, ThrottlingPolicy

ADMIT, HOLD, REJECT = 0, 1, 2
"""Outcomes of :meth:`Throttle.offer`."""

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
        self._count = 0
        self.window_end = clock.now()
        self.policy = policy

    @property
    def policy(self) -> ThrottlingPolicy:
        """The parameters in force; setting them (a TMM reload) keeps state and held requests."""
        return self._policy

    @policy.setter
    def policy(self, policy: ThrottlingPolicy) -> None:
        self._policy = policy
        self._hold = policy.action is ThrottleAction.HOLD
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

    def offer(self, request: object, user: str, now: float) -> int:
        """Count one submission; ADMIT it now, HOLD it (kept here) or REJECT it."""
        if now >= self.window_end:
            self._roll(now)
        self._count += 1
        bucket = self._buckets.get(user)
        if bucket is not None and bucket.held:
            return self._throttle(bucket, request)
        if not self.active:
            return ADMIT
        if bucket is None:
            bucket = self._bucket(user)
        bucket.refill(now)
        if bucket.tokens >= _ONE_TOKEN:
            bucket.tokens -= 1.0
            return ADMIT
        return self._throttle(bucket, request)

    def _throttle(self, bucket: _Bucket, request: object) -> int:
        if not self._hold or len(bucket.held) >= self._policy.hold_limit:
            return REJECT
        bucket.held.append(request)
        if bucket.timer is None:
            self._schedule(bucket)
        return HOLD

    def _schedule(self, bucket: _Bucket) -> None:
        """Wake when the next token is due, or at the window end (which may deactivate)."""
        now = self._clock.now()
        wake = self.window_end if self.window_end > now else now + self._policy.window_s
        if self.active and bucket.cap > 0:
            wake = min(wake, now + max(0.0, 1.0 - bucket.tokens) / bucket.cap)
        bucket.timer = self._clock.call_at(wake, self._wake, bucket)

    def _wake(self, bucket: _Bucket) -> None:
        bucket.timer = None
        now = self._clock.now()
        if now >= self.window_end:
            self._roll(now)
        self._drain(bucket, now)

    def _drain(self, bucket: _Bucket, now: float) -> None:
        held = bucket.held
        if not self.active:
            while held:
                self._release(held.popleft())
            return
        bucket.refill(now)
        while held and bucket.tokens >= _ONE_TOKEN:
            bucket.tokens -= 1.0
            self._release(held.popleft())
        if held and bucket.timer is None:
            self._schedule(bucket)

    def _roll(self, now: float) -> None:
        """Close the measurement window(s) up to ``now`` and apply the hysteresis."""
        p = self._policy
        rate = self._count / p.window_s if now < self.window_end + p.window_s else 0.0
        self._count = 0
        periods = (now - self.window_end) // p.window_s + 1
        self.window_end += periods * p.window_s
        if not self.active and rate >= p.activate_at * p.capacity:
            self.active = True
            self.activations += 1
            for bucket in self._buckets.values():
                bucket.tokens, bucket.last = bucket.depth, now
        elif self.active and rate < p.deactivate_at * p.capacity:
            self.active = False
            for bucket in list(self._buckets.values()):
                self._drain(bucket, now)

    @property
    def held(self) -> int:
        """Requests held now, all Users."""
        return sum(len(b.held) for b in self._buckets.values())

    def release_all(self) -> None:
        """Admit every held request (the mechanism is being switched off)."""
        for bucket in self._buckets.values():
            if bucket.timer is not None:
                bucket.timer.cancel()
                bucket.timer = None
            while bucket.held:
                self._release(bucket.held.popleft())
