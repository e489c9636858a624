"""Alert storm protection: SECMP0062 at the DSP and DP119 consolidation at the Comms Hub.

"The DSP counts identical alerts from one device in a time window; above a threshold it
discards the excess and forwards one copy per set period", with ``ThrottledAlertSequenceId``
and ``ThrottledAlertCount`` in the DUIS alert; codes on the exclusion list are never throttled
(domain.md §3, [SEED 004]). DP119 proposes the same consolidation inside the Comms Hub, so one
:class:`AlertStormFilter` serves both places.

Rig semantics where the sources are silent [ASSUMED], documented in docs/dsp-model.md: the
window opens at the first alert of a (device, code) pair and lasts ``window_s``; the alert that
takes the count past ``threshold`` starts a storm and is the first discarded; at the end of each
``forward_period_s`` one copy of the latest discarded alert is forwarded with the storm's
sequence id and the number discarded in that period; a period with none ends the storm.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from rig.clock import Clock
from rig.dsp.tmm import AlertStormPolicy


@dataclass(slots=True, eq=False, init=False)
class DeviceAlert:
    """A device alert on its way north to ``user`` (domain.md §3, §6).

    ``received_at`` is stamped by the DSP. A forwarded storm summary carries
    ``throttled_sequence_id`` and ``throttled_count`` (DUIS ``ThrottledAlertSequenceId`` and
    ``ThrottledAlertCount``); a CH-consolidated one (DP119) carries ``ch_count``.
    """

    user: str
    device: Hashable
    code: int
    raised_at: float
    payload: Any = None  # not object: mypyc's dataclass support fails on a builtin annotation
    received_at: float | None = None
    throttled_sequence_id: int | None = None
    throttled_count: int | None = None
    ch_count: int | None = None

    def __init__(  # written out: the generated one is interpreted even when compiled
        self,
        user: str,
        device: Hashable,
        code: int,
        raised_at: float,
        payload: Any = None,
        received_at: float | None = None,
        throttled_sequence_id: int | None = None,
        throttled_count: int | None = None,
        ch_count: int | None = None,
    ) -> None:
        self.user = user
        self.device = device
        self.code = code
        self.raised_at = raised_at
        self.payload = payload
        self.received_at = received_at
        self.throttled_sequence_id = throttled_sequence_id
        self.throttled_count = throttled_count
        self.ch_count = ch_count


@dataclass(slots=True, eq=False)
class _Storm:
    sequence_id: int
    discarded: int
    latest: DeviceAlert


@dataclass(frozen=True, slots=True)
class StormCounters:
    """Totals of one filter: alerts offered, forwarded (incl. summaries), discarded; storms."""

    offered: int
    forwarded: int
    discarded: int
    summaries: int
    storms: int


class AlertStormFilter:
    """Counts identical alerts per (device, code) and throttles storms (SECMP0062 / DP119).

    ``forward`` receives every alert let through and every periodic summary. ``summarise``
    turns the latest discarded alert into the summary copy; by default it sets the DUIS fields
    ``throttled_sequence_id``/``throttled_count`` (the DSP); the CH uses ``ch_count``.
    Memory is bounded by the pairs seen within the last window plus the storms in progress.
    """

    def __init__(
        self,
        clock: Clock,
        policy: AlertStormPolicy,
        forward: Callable[[DeviceAlert], None],
        *,
        summarise: Callable[[DeviceAlert, int, int], DeviceAlert] | None = None,
    ) -> None:
        self._clock = clock
        self._forward = forward
        self._summarise = summarise or dsp_summary
        self._windows: dict[tuple[Hashable, int], list] = {}
        self._storms: dict[tuple[Hashable, int], _Storm] = {}
        self._sequence_ids = itertools.count(1)
        self._next_sweep = clock.now()
        self._offered = self._forwarded = self._discarded = self._summaries = self._started = 0
        self.policy = policy

    @property
    def policy(self) -> AlertStormPolicy:
        """The parameters in force; setting them (a TMM reload) applies from the next alert."""
        return self._policy

    @policy.setter
    def policy(self, policy: AlertStormPolicy) -> None:
        self._policy = policy
        self._excluded = policy.excluded_codes
        self._window = policy.window_s
        self._threshold = policy.threshold

    def offer(self, alert: DeviceAlert) -> None:
        """Forward ``alert`` now, or count it against its (device, code) storm."""
        self._offered += 1
        if alert.code in self._excluded:
            self._forwarded += 1
            self._forward(alert)
            return
        key = (alert.device, alert.code)
        storm = self._storms.get(key)
        if storm is not None:
            storm.discarded += 1
            storm.latest = alert
            self._discarded += 1
            return
        now = self._clock.now()
        if now >= self._next_sweep:
            self._sweep(now)
        window = self._windows.get(key)
        if window is None or now - window[0] >= self._window:
            self._windows[key] = [now, 1]
        else:
            window[1] += 1
            if window[1] > self._threshold:
                del self._windows[key]
                self._start_storm(key, alert, now)
                return
        self._forwarded += 1
        self._forward(alert)

    def _start_storm(self, key: tuple[Hashable, int], alert: DeviceAlert, now: float) -> None:
        storm = _Storm(next(self._sequence_ids), 1, alert)
        self._storms[key] = storm
        self._started += 1
        self._discarded += 1
        self._clock.call_at(now + self._policy.forward_period_s, self._period_end, key)

    def _period_end(self, key: tuple[Hashable, int]) -> None:
        storm = self._storms[key]
        if not storm.discarded:
            del self._storms[key]
            return
        summary = self._summarise(storm.latest, storm.sequence_id, storm.discarded)
        storm.discarded = 0
        self._summaries += 1
        self._forwarded += 1
        now = self._clock.now()
        self._clock.call_at(now + self._policy.forward_period_s, self._period_end, key)
        self._forward(summary)

    def _sweep(self, now: float) -> None:
        """Forget windows that have closed (keeps memory bounded over long runs)."""
        horizon = now - self._window
        self._windows = {k: w for k, w in self._windows.items() if w[0] > horizon}
        self._next_sweep = now + self._window

    @property
    def counters(self) -> StormCounters:
        return StormCounters(
            self._offered, self._forwarded, self._discarded, self._summaries, self._started
        )

    @property
    def storms_in_progress(self) -> int:
        return len(self._storms)


def dsp_summary(latest: DeviceAlert, sequence_id: int, count: int) -> DeviceAlert:
    """The DSP's periodic copy: DUIS ``ThrottledAlertSequenceId`` / ``ThrottledAlertCount``."""
    return dataclasses.replace(
        latest, received_at=None, throttled_sequence_id=sequence_id, throttled_count=count
    )


def ch_summary(latest: DeviceAlert, sequence_id: int, count: int) -> DeviceAlert:
    """The Comms Hub's consolidated copy (DP119): how many identical alerts it stands for."""
    return dataclasses.replace(latest, ch_count=count)
