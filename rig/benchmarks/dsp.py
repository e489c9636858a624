"""``rig benchmark dsp``: throughput of the DSP model, one simulated day, and SimPy side by side.

Figures (issue 3, performance): simulated messages per CPU-second on the national scenario
(messages = requests submitted + responses and alerts received by the DSP), the CPU time of
one simulated day, peak RSS, and the same priority model written with SimPy (a dev-only
dependency) on the same slice of the same scenario, with the ratio. Every run is a child
process (``python -m rig.benchmarks.dsp``) so that its peak RSS is its own.
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
import os
import platform
import random
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rig.sim.scenario import SCENARIOS_DIR, Scenario, load_scenario

NATIONAL_SCENARIO = SCENARIOS_DIR / "national-day-2024.toml"
DAY_S = 86400.0


def _peak_rss_mb() -> float:
    """This process's peak RSS since its exec: Linux ``VmHWM``. Not ``ru_maxrss``, which Linux
    keeps across fork and exec, so a child would report its parent's peak (the rig CLI's)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def run_rig(scenario: Scenario) -> dict[str, Any]:
    """The rig's model (rig.sim.runner) on ``scenario``: messages, CPU seconds, peak RSS."""
    from rig import _native
    from rig.sim.runner import Run

    run = Run(scenario)
    wall = time.perf_counter()
    run.run()
    return {
        "model": "rig",
        "compiled": _native.compiled(),
        "simulated_s": scenario.duration_s,
        "messages": run.messages,
        "requests": run.dsp.counters.submitted,
        "cpu_s": run.cpu_s,
        "wall_s": time.perf_counter() - wall,
        "peak_rss_mb": _peak_rss_mb(),
    }


def run_simpy(scenario: Scenario) -> dict[str, Any]:
    """The same priority model written with SimPy, as lean as it stays faithful.

    Same arrivals (Poisson profiles, SRV mixes, alerts), SECMP0028 order as a non-preemptive
    ``PriorityResource`` (priority = TMM class, FIFO within it), ``servers`` servers, the same
    service and WAN distributions, the same Comms Hub limit, per-User FIFO adapters at their
    rate, and the same per-hop histograms. One process per request and none per alert: a FIFO
    with a known time per item (a Comms Hub with one command in flight, a User's adapter) is
    the time it frees next, not a ``Resource`` and two more processes per delivery (issue 13:
    that version ran 1.45x slower). Not modelled (they never act in the national scenario):
    throttling, storm protection, outages.
    """
    import simpy

    from rig.dsp.distributions import sampler
    from rig.dsp.tmm import Mode
    from rig.sim.stats import Cell, LogHistogram

    env = simpy.Environment()
    tmm = scenario.tmm()
    dsp = simpy.PriorityResource(env, capacity=scenario.servers)
    service = sampler(scenario.service_time, random.Random(scenario.seed))
    wan = sampler(scenario.latency, random.Random(scenario.seed + 1))
    limit = scenario.ch_in_flight_limit
    hub_free: dict[int, float] = {}  # limit 1: when each Comms Hub's slot frees
    hubs: dict[int, simpy.Resource] = {}  # a limit above 1
    users = {u.name: u for u in scenario.users}
    rates = {name: u.adapter_rate or scenario.adapter_rate for name, u in users.items()}
    interval = {name: 1.0 / rate if rate else 0.0 for name, rate in rates.items()}
    adapter_free = dict.fromkeys(users, 0.0)
    cells: dict[tuple[str, str, Mode], Cell] = {}
    alert_latency = LogHistogram()
    counts = {"messages": 0, "requests": 0}

    def deliver(user: str) -> float:
        """The User's FIFO adapter takes the item now or when it is next free."""
        at = max(env.now, adapter_free[user])
        adapter_free[user] = at + interval[user]
        return at

    def request(cell: Cell, target: int) -> Any:
        times = [env.now] * 2  # submitted, admitted
        with dsp.request(priority=tmm.class_of(cell.srv, cell.mode)) as server:
            yield server
            times.append(env.now)
            yield env.timeout(service())
            times.append(env.now)
        if limit == 1:
            back = max(env.now, hub_free.get(target, 0.0)) + wan()
            hub_free[target] = back
            yield env.timeout(back - env.now)
            if hub_free[target] == back:
                del hub_free[target]
        elif limit is None:
            yield env.timeout(wan())
        else:
            hub = hubs.get(target) or hubs.setdefault(target, simpy.Resource(env, capacity=limit))
            with hub.request() as slot:
                yield slot
                yield env.timeout(wan())
            if not hub.count and not hub.queue:
                hubs.pop(target, None)
        times.append(env.now)
        counts["messages"] += 1
        submitted, admitted, dequeued, dispatched, responded = times
        cell.record(submitted, admitted, dequeued, dispatched, responded, deliver(cell.user))

    def alert(user: str) -> None:
        counts["messages"] += 1
        alert_latency.record(deliver(user) - env.now)

    def source(spec: Any, rng: random.Random, fire: Callable[[], None]) -> Any:
        steps = [(t, r) for t, r in spec.profile if t < spec.end_s] + [(spec.end_s, 0.0)]
        for (start, rate), (end, _) in itertools.pairwise(steps):
            if env.now < start:
                yield env.timeout(start - env.now)
            while rate > 0:
                gap = rng.expovariate(rate)
                if env.now + gap >= min(end, spec.end_s):
                    break
                yield env.timeout(gap)
                fire()

    for i, spec in enumerate(scenario.arrivals):
        rng = random.Random(f"{scenario.seed}/{i}")
        user = users[spec.user]
        if spec.kind == "burst":
            raise ValueError(f"{scenario.source}: arrivals[{i}]: burst not in the SimPy model")
        if spec.kind == "alerts":
            fire = (lambda name: lambda: alert(name))(user.name)
        else:
            mix = [
                cells.setdefault(
                    (user.name, srv, spec.mode),
                    Cell(
                        user.name, srv, spec.mode, tmm.level_of(srv), scenario.trt(srv, spec.mode)
                    ),
                )
                for srv, _ in spec.mix
            ]
            cumulative = list(itertools.accumulate(w for _, w in spec.mix))
            cumulative = [c / cumulative[-1] for c in cumulative[:-1]] + [math.inf]

            def fire(mix=mix, cumulative=cumulative, rng=rng, user=user) -> None:
                cell = mix[bisect.bisect(cumulative, rng.random())]
                counts["messages"] += 1
                counts["requests"] += 1
                cell.submitted += 1
                env.process(request(cell, user.first_ch + int(rng.random() * user.portfolio)))

        env.process(source(spec, rng, fire))
    wall, cpu = time.perf_counter(), time.process_time()
    env.run()
    return {
        "model": "simpy",
        "simulated_s": scenario.duration_s,
        "messages": counts["messages"],
        "requests": counts["requests"],
        "cpu_s": time.process_time() - cpu,
        "wall_s": time.perf_counter() - wall,
        "peak_rss_mb": _peak_rss_mb(),
    }


def _child(model: str, scenario: Path, hours: float, start_hours: float = 0.0) -> dict[str, Any]:
    """Run one model in a fresh interpreter; its figures come back as JSON on stdout."""
    cmd = [
        sys.executable,
        "-m",
        "rig.benchmarks.dsp",
        model,
        str(scenario),
        str(hours),
        str(start_hours),
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def run_all(
    scenario: Path,
    *,
    hours: float,
    compare_hours: float,
    compare_start_hours: float = 0.0,
    echo: Callable[[str], None],
) -> dict[str, Any]:
    """The three runs: rig and SimPy on ``compare_hours`` from ``compare_start_hours``, then rig
    on the first ``hours``."""
    span = f"{compare_hours:g} h from {compare_start_hours:g} h"
    echo(f"rig model, {span} of {scenario.name} ...")
    rig_slice = _child("rig", scenario, compare_hours, compare_start_hours)
    echo(f"SimPy model (lean), {span} ...")
    simpy_slice = _child("simpy", scenario, compare_hours, compare_start_hours)
    echo(f"rig model, {hours:g} h (peak RSS of a long run) ...")
    rig_long = _child("rig", scenario, hours)
    rate = rig_long["messages"] / rig_long["cpu_s"]
    return {
        "scenario": str(scenario),
        "machine": {
            "python": platform.python_version(),
            "cpu": platform.processor() or platform.machine(),
            "load_average": os.getloadavg(),
        },
        "rig": rig_long,
        "messages_per_cpu_s": rate,
        "cpu_s_per_simulated_day": rig_long["cpu_s"] * DAY_S / rig_long["simulated_s"],
        "compare": {
            "start_s": compare_start_hours * 3600,
            "rig": rig_slice,
            "simpy": simpy_slice,
            "rig_messages_per_cpu_s": rig_slice["messages"] / rig_slice["cpu_s"],
            "simpy_messages_per_cpu_s": simpy_slice["messages"] / simpy_slice["cpu_s"],
            "ratio": (rig_slice["messages"] / rig_slice["cpu_s"])
            / (simpy_slice["messages"] / simpy_slice["cpu_s"]),
        },
    }


def render(f: dict[str, Any]) -> str:
    """The figures as text."""
    rig, cmp_ = f["rig"], f["compare"]
    hours = rig["simulated_s"] / 3600
    return "\n".join(
        [
            f"scenario: {f['scenario']}",
            f"machine: Python {f['machine']['python']}, load average "
            + ", ".join(f"{x:.2f}" for x in f["machine"]["load_average"]),
            "rig model: "
            + ("compiled core (mypyc)" if rig.get("compiled") else "pure Python (not compiled)"),
            f"rig model, {hours:g} simulated h: {rig['messages']:,} messages "
            f"({rig['requests']:,} requests) in {rig['cpu_s']:.1f} CPU-s "
            f"({rig['wall_s']:.1f} s wall): {f['messages_per_cpu_s']:,.0f} messages/CPU-s",
            f"one simulated day: {f['cpu_s_per_simulated_day']:.0f} CPU-s "
            f"({f['cpu_s_per_simulated_day'] / 60:.1f} min"
            + (
                ", run in full"
                if rig["simulated_s"] >= DAY_S
                else f", linear extrapolation of the first {hours:g} h, not the day's traffic mix"
            )
            + f"); peak RSS {rig['peak_rss_mb']:.0f} MB",
            f"side by side, {cmp_['rig']['simulated_s'] / 3600:g} simulated h from "
            f"{cmp_.get('start_s', 0.0) / 3600:g} h: "
            f"rig {cmp_['rig_messages_per_cpu_s']:,.0f} messages/CPU-s "
            f"(peak RSS {cmp_['rig']['peak_rss_mb']:.0f} MB), "
            f"lean SimPy {cmp_['simpy_messages_per_cpu_s']:,.0f} messages/CPU-s "
            f"(peak RSS {cmp_['simpy']['peak_rss_mb']:.0f} MB): ratio {cmp_['ratio']:.1f}x",
        ]
    )


def main(argv: list[str]) -> None:
    """Child entry point: ``python -m rig.benchmarks.dsp rig|simpy SCENARIO HOURS [START]``."""
    model, path, hours, *start = argv
    span, first = float(hours) * 3600, float(start[0]) * 3600 if start else 0.0
    scenario = load_scenario(Path(path))
    scenario = scenario.window(first, first + span) if first else scenario.with_duration(span)
    figures = run_rig(scenario) if model == "rig" else run_simpy(scenario)
    figures["simulated_s"] = span
    print(json.dumps(figures))


if __name__ == "__main__":
    main(sys.argv[1:])
