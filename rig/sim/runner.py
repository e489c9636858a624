"""Run a scenario on a VirtualClock: the same :class:`~rig.dsp.model.Dsp` the bench uses.

Arrival generators submit requests and raise alerts; the DSP serves them (SECMP0028 order,
SECMP0067 throttling, SECMP0062 storms); the :class:`~rig.dsp.csp.Csp` returns each response
after the WAN round trip; the DSP delivers it north to the User's adapter, where the runner
records every hop. Everything is seeded: a scenario and a seed give one result.
"""

from __future__ import annotations

import bisect
import dataclasses
import gc
import itertools
import math
import random
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from rig.clock import VirtualClock
from rig.dsp.alerts import AlertStormFilter, DeviceAlert, ch_summary
from rig.dsp.csp import Csp
from rig.dsp.model import ACK_CODE, Dsp, DspRequest
from rig.dsp.tmm import Mode, TrafficManagementDocument
from rig.sim.scenario import Arrivals, Scenario, User
from rig.sim.stats import HOPS, Cell, LogHistogram, Series, Totals

ALERTS_GROUP: Final = "alerts"


class _Poisson:
    """Poisson arrivals at a piecewise-constant rate (memoryless: a step restarts the draw)."""

    def __init__(self, clock: VirtualClock, spec: Arrivals, rng: random.Random,
                 fire: Callable[[], None]) -> None:  # fmt: skip
        self._clock = clock
        self._uniform = rng.random
        self._steps = [(t, r) for t, r in spec.profile if t < spec.end_s] + [(spec.end_s, 0.0)]
        self._fire = fire
        self._step = 0
        self._cb = self._arrive
        self._start(self._steps[0][0])

    def _start(self, t: float) -> None:
        """From time ``t``, in the current step, schedule the next arrival (or the next step)."""
        steps = self._steps
        while self._step + 1 < len(steps):
            step_start, rate = steps[self._step]
            step_end = steps[self._step + 1][0]
            t = max(t, step_start)
            if rate > 0:
                nxt = t - math.log(1.0 - self._uniform()) / rate  # rng.expovariate(rate)
                if nxt < step_end:
                    self._step_end = step_end
                    self._rate = rate
                    self._clock.call_at(nxt, self._cb)
                    return
            self._step += 1
            t = step_end

    def _arrive(self) -> None:
        self._fire()
        nxt = self._clock.now() - math.log(1.0 - self._uniform()) / self._rate
        if nxt < self._step_end:
            self._clock.call_at(nxt, self._cb)
        else:
            self._step += 1
            self._start(self._step_end)


class _Burst:
    """``count`` arrivals evenly spread over ``spread_s`` (all at once if it is 0)."""

    def __init__(self, clock: VirtualClock, spec: Arrivals, fire: Callable[[], None]) -> None:
        self._clock = clock
        self._fire = fire
        self._left = spec.count
        self._gap = spec.spread_s / spec.count
        self._end = spec.end_s
        start = spec.profile[0][0]
        if start < self._end:
            clock.call_at(start, self._arrive)

    def _arrive(self) -> None:
        while self._left:
            self._left -= 1
            self._fire()
            if self._gap:
                nxt = self._clock.now() + self._gap
                if self._left and nxt < self._end:
                    self._clock.call_at(nxt, self._arrive)
                return


class Run:
    """One scenario (one variant) wired up and ready to :meth:`run`."""

    def __init__(self, scenario: Scenario, variant: str | None = None) -> None:
        self.scenario = scenario
        self.variant = variant
        self.clock = clock = VirtualClock()
        self._now = clock.now
        self.tmm: TrafficManagementDocument = scenario.tmm(variant)
        users = {u.name: u for u in scenario.users}
        self.csp = Csp(
            clock,
            latency=scenario.latency,
            on_response=self._respond,
            ch_in_flight_limit=scenario.ch_in_flight_limit,
            seed=scenario.seed + 1,
        )
        self.dsp = Dsp(
            clock,
            self.tmm,
            servers=scenario.servers,
            service_time=scenario.service_time,
            on_dispatch=self.csp.send,
            on_deliver=self._deliver,
            northbound_rate=scenario.adapter_rate,
            northbound_rates={u.name: u.adapter_rate for u in scenario.users if u.adapter_rate},
            portfolios={u.name: u.portfolio for u in scenario.users},
            seed=scenario.seed,
            service_time_by_srv=scenario.service_time_by_srv,
            service_time_by_mode=scenario.service_time_by_mode,
        )
        self.ch: AlertStormFilter | None = None
        if scenario.ch_consolidation is not None:
            self.ch = AlertStormFilter(
                clock, scenario.ch_consolidation, self.dsp.alert, summarise=ch_summary
            )
        self.cells: dict[tuple[str, str, Mode, int], Cell] = {}
        self._mixes: list[tuple[list[Cell], str, tuple[str, ...], Mode]] = []
        self.tmm_reloads: list[dict[str, Any]] = []
        self.alerts_raised: dict[str, int] = defaultdict(int)
        self.alert_latency: dict[str, LogHistogram] = defaultdict(LogHistogram)
        self.alert_summaries: dict[str, int] = defaultdict(int)
        groups = [f"level {n}" for n in (1, 2, 3, 4)] + [ALERTS_GROUP]
        self.series = Series(
            ("queue_depth", "in_service", "held", "csp_in_flight", "northbound_depth"), groups
        )
        for i, spec in enumerate(scenario.arrivals):
            rng = random.Random(f"{scenario.seed}/{i}")
            fire = self._alert_source(spec, users[spec.user], rng) if spec.kind == "alerts" else (
                self._request_source(spec, users[spec.user], rng)
            )  # fmt: skip
            if spec.kind == "burst":
                _Burst(clock, spec, fire)
            else:
                _Poisson(clock, spec, rng, fire)
        for outage in scenario.outages:
            clock.call_at(outage.start_s, self.dsp.begin_outage)
            clock.call_at(outage.start_s + outage.duration_s, self.dsp.end_outage)
        for reload in scenario.tmm_reloads:
            clock.call_at(reload.at_s, self._reload, reload.path)
        self._bin = scenario.series_bin_s
        clock.call_at(self._bin, self._tick)
        self.cpu_s = 0.0
        self.drained_at = 0.0

    # -- sources --------------------------------------------------------------------------------

    def _cell(self, user: str, srv: str, mode: Mode) -> Cell:
        """The cell of requests submitted now: by User, SRV, mode and level in force."""
        level = self.dsp.tmm.level_of(srv)
        key = (user, srv, mode, level)
        cell = self.cells.get(key)
        if cell is None:
            cell = self.cells[key] = Cell(user, srv, mode, level, self.scenario.trt(srv, mode))
            cell.series = self.series.current[f"level {level}"]
        return cell

    def _request_source(self, spec: Arrivals, user: User, rng: random.Random) -> Callable[[], None]:
        srvs = tuple(srv for srv, _ in spec.mix)
        cells = [self._cell(user.name, srv, spec.mode) for srv in srvs]
        self._mixes.append((cells, user.name, srvs, spec.mode))
        total = sum(w for _, w in spec.mix)
        cumulative = [c / total for c in itertools.accumulate(w for _, w in spec.mix)]
        cumulative[-1] = math.inf  # rounding must never pick past the last SRV
        uniform = rng.random
        dsp = self.dsp  # dsp.submit(...): compiled, a direct call (a bound method would not be)
        name, first, size = user.name, user.first_ch, user.portfolio
        pick = bisect.bisect

        def fire() -> None:
            cell = cells[pick(cumulative, uniform())]
            request = DspRequest(
                "sim", cell.srv, cell.mode, name, first + int(uniform() * size), cell
            )
            code = dsp.submit(request).code
            cell.submitted += 1
            if code != ACK_CODE:
                cell.throttled += 1
                cell.rejected += 1
            elif request.admitted_at is None:
                cell.throttled += 1

        return fire

    def _alert_source(self, spec: Arrivals, user: User, rng: random.Random) -> Callable[[], None]:
        uniform = rng.random
        clock = self.clock
        entry = self.ch.offer if self.ch is not None else self.dsp.alert
        codes = spec.codes
        name, first, devices = user.name, user.first_ch, spec.devices
        raised = self.alerts_raised

        def fire() -> None:
            code = codes[int(uniform() * len(codes))]
            raised[name] += 1
            entry(DeviceAlert(name, first + int(uniform() * devices), code, clock.now()))

        return fire

    def _reload(self, path: Path) -> None:
        """A scheduled hot reload of the TMM document (issue 3 §1): the DSP re-ranks what is
        queued; requests submitted from now on are counted under their new levels; a refused
        document leaves the old one in force and the reason in the report."""
        error = self.dsp.reload_file(path)
        self.tmm_reloads.append(
            {
                "at_s": self.clock.now(),
                "file": str(path),
                "applied": error is None,
                "version_in_force": self.dsp.tmm.version,
                "error": None if error is None else str(error),
            }
        )
        if error is None:
            for cells, user, srvs, mode in self._mixes:
                cells[:] = [self._cell(user, srv, mode) for srv in srvs]

    # -- the pipeline ---------------------------------------------------------------------------

    def _respond(self, request: DspRequest) -> None:
        """A response is back from the WAN (a method: compiled, its call to ``respond`` is
        direct, keywords resolved at build time)."""
        self.dsp.respond(request, request=request)

    def _deliver(self, item: object) -> None:
        now = self._now()
        self.drained_at = now  # the last delivery so far: the system is empty after the last
        if type(item) is DspRequest:
            cell: Cell = item.payload
            e2e = cell.record(
                item.submitted_at, item.admitted_at, item.dequeued_at,  # type: ignore[arg-type]
                item.dispatched_at, item.responded_at, now,  # type: ignore[arg-type]
            )  # fmt: skip
            acc = cell.series
        else:
            assert isinstance(item, DeviceAlert)
            e2e = now - item.raised_at
            self.alert_latency[item.user].record(e2e)
            if item.throttled_count is not None or item.ch_count is not None:
                self.alert_summaries[item.user] += 1  # the DSP's (SECMP0062) or the CH's (DP119)
            acc = self.series.current[ALERTS_GROUP]
        acc[0] += e2e
        acc[1] += 1
        if e2e > acc[2]:
            acc[2] = e2e

    def _tick(self) -> None:
        dsp, now = self.dsp, self.clock.now()
        self.series.close_bin(
            now,
            {
                "queue_depth": dsp.queue_depth,
                "in_service": dsp.in_service,
                "held": dsp.held,
                "csp_in_flight": self.csp.in_flight + self.csp.waiting,
                "northbound_depth": dsp.northbound_depth,
            },
        )
        if now < self.scenario.duration_s or self.clock.pending:
            self.clock.call_at(now + self._bin, self._tick)

    # -- running and reporting ------------------------------------------------------------------

    def run(
        self, progress: Callable[[float, float], None] | None = None, slices: int = 200
    ) -> dict[str, Any]:
        """Run to the end (arrivals stop at ``duration_s``; the system then drains).

        ``progress(sim_time_s, total_s)``, when given, is called after each of ``slices`` equal
        slices of the arrivals' span and once more when drained; the report is the same.
        """
        start = time.process_time()
        collecting = gc.isenabled()
        gc.disable()  # no cycles are made per event; its passes over the live requests cost ~8 %
        try:
            if progress is None:
                self.clock.run()
            else:
                total = self.scenario.duration_s
                for i in range(1, slices + 1):
                    self.clock.run(until=total * i / slices)
                    progress(self.clock.now(), total)
                self.clock.run()
                progress(self.clock.now(), total)
        finally:
            if collecting:
                gc.enable()
        self.cpu_s = time.process_time() - start
        return self.report()

    @property
    def messages(self) -> int:
        """Messages the DSP handled: requests submitted plus responses and alerts received."""
        c = self.dsp.counters
        return c.submitted + self.csp.completed + c.alerts

    def report(self) -> dict[str, Any]:
        cells = list(self.cells.values())
        c = self.dsp.counters
        users = [u.name for u in self.scenario.users]
        storms = self.dsp.storm_filter
        return {
            "scenario": self.scenario.name,
            "file": self.scenario.source,
            "variant": self.variant,
            "seed": self.scenario.seed,
            "tmm": {
                "version": self.tmm.version,
                "source": self.tmm.source,
                "provenance": dict(self.tmm.provenance),
            },
            "scenario_provenance": dict(self.scenario.provenance),
            "tmm_reloads": self.tmm_reloads,
            "run": {
                "arrivals_until_s": self.scenario.duration_s,
                "drained_at_s": self.drained_at,
                "messages": self.messages,
                "cpu_s": self.cpu_s,
                "messages_per_cpu_s": self.messages / self.cpu_s if self.cpu_s else None,
            },
            "dsp": {
                "submitted": c.submitted,
                "admitted": c.admitted,
                "throttled": c.throttled,
                "rejected": c.rejected,
                "dispatched": c.dispatched,
                "delivered": c.delivered,
                "throttling_activations": self.dsp.throttling_activations,
            },
            "by_srv": _grouped(cells, lambda cell: cell.srv),
            "by_level": _grouped(cells, lambda cell: str(cell.level)),
            "by_mode": _grouped(cells, lambda cell: cell.mode.value),
            "by_user": {
                user: {
                    **Totals(x for x in cells if x.user == user).report(),
                    "dsp_counters": vars_of(self.dsp.user_counters(user)),
                }
                for user in users
            },
            "alerts": {
                "by_user": {
                    user: {
                        "raised": self.alerts_raised.get(user, 0),
                        "delivered": self.alert_latency[user].count,
                        "storm_summaries_delivered": self.alert_summaries.get(user, 0),
                        "latency_s": self.alert_latency[user].summary(),
                    }
                    for user in users
                    if user in self.alerts_raised
                },
                "dsp_storm_protection": None if storms is None else vars_of(storms.counters),
                "ch_consolidation": None if self.ch is None else vars_of(self.ch.counters),
            },
            "series": self.series.report(self._bin),
        }


def vars_of(obj: Any) -> dict[str, Any]:
    """A dataclass instance as a flat dict."""
    return {field.name: getattr(obj, field.name) for field in dataclasses.fields(obj)}


def _grouped(cells: list[Cell], key: Callable[[Cell], str]) -> dict[str, dict[str, object]]:
    groups: dict[str, list[Cell]] = defaultdict(list)
    for cell in cells:
        groups[key(cell)].append(cell)
    return {
        k: Totals(v).report() for k, v in sorted(groups.items(), key=lambda kv: _sort_key(kv[0]))
    }


def _sort_key(label: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in label.split("."))


def simulate(scenario: Scenario) -> dict[str, Any]:
    """Run ``scenario`` (every variant, if it has any) and return the JSON-ready report."""
    if not scenario.variants:
        return Run(scenario).run()
    return {"variants": {name: Run(scenario, name).run() for name in scenario.variants}}


__all__ = ["HOPS", "Run", "simulate"]
