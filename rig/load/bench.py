"""``rig bench load``: the highest sustained request rate through the real-time path, and the
rig's own overhead per request (issue 6, "Performance").

A bench of ``devices`` emulated ESMEs (each its own process behind a pty) is started; SRV 7.4
reads from one User go round-robin to them at each rate of a rising ladder for ``step_s``
seconds each, through the DSP model (``servers`` servers of ``service_time_s``), the codec and
the pty links. A rate is *sustained* when no request is lost (every one answered ``ok``), the
driver submitted at the requested rate and completions kept up with it (both within
``tolerance``), and the p99 overhead stayed below ``max_overhead_p99_ms`` (beyond it a queue is
building). The ladder stops at the first rate not sustained.

Overhead per request = measured latency (submitted → delivered) - wire time - the configured
delays (DSP service time, device processing time; there is no WAN model on a bench). A pty has
no line rate, so its wire time is taken as 0: the overhead includes the pty hops, the
emulators' own scheduling and CPU, and everything the rig does.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rig.bench import load_bench
from rig.launch import launch
from rig.load.driver import LoadDriver
from rig.load.schedule import background
from rig.results.report import nearest_rank

#: The rate ladder, requests/s (the national average is about 850/s, issue 6).
RATES = (500, 1000, 1500, 2000, 2500, 3000, 3500, 4000)
#: Issue 6 targets.
TARGET_RATE = 2000.0
TARGET_P99_OVERHEAD_MS = 1.0
#: The User of the benchmark: the RTDS import supplier, whose keys ship with the rig.
USER_EUI = "90-B3-D5-1F-30-01-00-00"


@dataclass(frozen=True)
class LoadBenchConfig:
    """The benchmark bench and ladder; every delay is a setting, reported with the figures."""

    devices: int = 4
    servers: int = 16
    service_time_s: float = 0.0005
    processing_time_s: float = 0.0005
    step_s: float = 2.0
    rates: Sequence[float] = RATES
    tolerance: float = 0.97
    #: A p99 overhead above this means a queue is building: the path is saturated. [ASSUMED]
    max_overhead_p99_ms: float = 50.0
    warmup_s: float = 0.5

    def __post_init__(self) -> None:
        if self.devices < 1 or self.servers < 1:
            raise ValueError("devices and servers must be >= 1")
        if not self.rates or any(r <= 0 for r in self.rates):
            raise ValueError(f"rates = {list(self.rates)}: need positive rates")
        if not 0 < self.tolerance <= 1:
            raise ValueError(f"tolerance = {self.tolerance}: must be in (0, 1]")


@dataclass(frozen=True)
class Step:
    """One rate of the ladder."""

    requested_rate: float
    achieved_rate: float
    completed_rate: float
    requests: int
    lost: int
    sustained: bool
    rig_cpu_ms_per_request: float  # this process's CPU time (the rig, its loop and codec)
    devices_cpu_ms_per_request: float | None  # the emulator processes' (None: not on Linux)
    latency_p50_ms: float
    latency_p99_ms: float
    overhead_p50_ms: float
    overhead_p99_ms: float
    max_lag_ms: float


@dataclass
class LoadBenchResult:
    config: LoadBenchConfig
    steps: list[Step] = field(default_factory=list)

    @property
    def best(self) -> Step | None:
        """The highest sustained rate's step (the ladder stops at the first failure)."""
        sustained = [s for s in self.steps if s.sustained]
        return sustained[-1] if sustained else None

    def to_json(self) -> dict:
        best = self.best
        return {
            "config": {**asdict(self.config), "rates": list(self.config.rates)},
            "steps": [asdict(s) for s in self.steps],
            "sustained_rate": best.requested_rate if best else 0.0,
            "overhead_p50_ms": best.overhead_p50_ms if best else None,
            "overhead_p99_ms": best.overhead_p99_ms if best else None,
            "targets": {"rate": TARGET_RATE, "overhead_p99_ms": TARGET_P99_OVERHEAD_MS},
        }


def bench_text(config: LoadBenchConfig) -> str:
    """The benchmark's bench file: one User, the DSP as configured, N emulated ESMEs."""
    lines = [
        '[bench]\nname = "rig-bench-load"\n[keys]\ndirs = ["@rtds"]',
        f'[user]\nname = "supplier"\neui = "{USER_EUI}"',
        f"[dsp]\nservers = {config.servers}\nservice_time_s = {config.service_time_s!r}",
    ]
    for i in range(config.devices):
        lines.append(
            f'[[device]]\nname = "esme{i + 1}"\nkind = "esme"\n'
            f'eui = "00-DB-12-34-56-78-{i // 256:02X}-{i % 256:02X}"\nemulated = true\n'
            f"processing_time_s = {config.processing_time_s!r}"
        )
    return "\n\n".join(lines) + "\n"


def run_load_bench(
    config: LoadBenchConfig, run_dir: Path, *, on_step: Callable[[Step], None] | None = None
) -> LoadBenchResult:
    """Climb the rate ladder on a fresh emulated bench in ``run_dir``."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "bench-load.toml"
    path.write_text(bench_text(config), encoding="utf-8")
    bench = load_bench(path)
    devices = list(bench.devices)
    configured = config.service_time_s + config.processing_time_s
    result = LoadBenchResult(config)
    with launch(bench, run_dir) as rig:
        driver = LoadDriver(rig)
        driver.run(background(200, config.warmup_s, devices=devices), timeout=30)
        pids = [getattr(getattr(d, "process", None), "pid", None) for d in rig.devices.values()]
        for rate in config.rates:
            schedule = background(rate, config.step_s, devices=devices)
            cpu, devices_cpu = time.process_time(), _cpu_of(pids)
            run = driver.run(schedule, timeout=max(30.0, config.step_s * 5))
            cpu = time.process_time() - cpu
            after = _cpu_of(pids)
            devices_cpu = None if devices_cpu is None or after is None else after - devices_cpu
            ok = [r for r in run.records if r.ok]
            totals = sorted((r.stamps["delivered"] - r.stamps["submitted"]) * 1e3 for r in ok)
            overheads = [t - configured * 1e3 for t in totals]
            lost = len(run.records) - len(ok)
            tolerance = config.tolerance * rate
            p99 = nearest_rank(overheads, 99) if totals else float("nan")
            step = Step(
                requested_rate=rate,
                achieved_rate=run.achieved_rate,
                completed_rate=run.completed_rate,
                requests=len(run.records),
                lost=lost,
                sustained=not lost
                and run.achieved_rate >= tolerance
                and run.completed_rate >= tolerance
                and p99 <= config.max_overhead_p99_ms,
                rig_cpu_ms_per_request=cpu / max(1, len(run.records)) * 1e3,
                devices_cpu_ms_per_request=None
                if devices_cpu is None
                else devices_cpu / max(1, len(run.records)) * 1e3,
                latency_p50_ms=nearest_rank(totals, 50) if totals else float("nan"),
                latency_p99_ms=nearest_rank(totals, 99) if totals else float("nan"),
                overhead_p50_ms=nearest_rank(overheads, 50) if totals else float("nan"),
                overhead_p99_ms=p99,
                max_lag_ms=run.max_lag_s * 1e3,
            )
            result.steps.append(step)
            if on_step is not None:
                on_step(step)
            if not step.sustained:
                break
    return result


def _cpu_of(pids: Sequence[int | None]) -> float | None:
    """User + system CPU seconds of these processes so far (Linux ``/proc``), or None."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total
