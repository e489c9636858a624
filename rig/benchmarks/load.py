"""``rig benchmark load``: the highest sustained request rate through the real-time path, and the
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
emulators' own scheduling and CPU, and everything the rig does. It is broken down by hop
(:data:`OVERHEAD_HOPS`, from the record's stamps) so that a tail can be traced to where it
comes from; each step also says how busy the machine was (load average, other processes' CPU).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from rig.config.bench import DEFAULT_CPU_SLICE_S, load_bench
from rig.live.launch import launch
from rig.load.driver import LoadDriver, LoadResult
from rig.load.schedule import background
from rig.results.record import RequestRecord
from rig.results.report import nearest_rank

#: The rate ladder, requests/s (the national average is about 850/s, issue 6).
RATES = (500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 5000, 6000)
#: Issue 6 targets.
TARGET_RATE = 2000.0
TARGET_P99_OVERHEAD_MS = 1.0
#: Other processes' CPU (cores) above which a step's figures are flagged as taken on a busy
#: machine. [ASSUMED]
BUSY_CORES = 0.2
#: The overhead by hop: name -> (from stamp, to stamp, configured delay subtracted). They add up
#: to the overhead (docs/load.md "Reading the breakdown").
OVERHEAD_HOPS: dict[str, tuple[str, str, str | None]] = {
    "submit": ("submitted", "acknowledged", None),  # DUIS checks, transform, DSP submit
    "queue": ("acknowledged", "dequeued", None),  # waiting for a free DSP server
    "dispatch": ("dequeued", "on_wire", "service_time_s"),  # timer lateness, seal, write
    "device": ("on_wire", "device_response", "processing_time_s"),  # ptys, emulator, read
    "northbound": ("device_response", "delivered", None),  # open, DSP northbound, decode
}
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
    #: ``[host] cpu_slice_us`` of the bench (0: the OS default slice; rig/host/cpu_slice.py).
    cpu_slice_us: int = round(DEFAULT_CPU_SLICE_S * 1e6)
    #: ``[host] busy_poll_us`` of the bench (0: the loop sleeps at once; rig/host/busy_poll.py).
    #: [ASSUMED] chosen by measurement (docs/load.md "Busy polling").
    busy_poll_us: int = 1000

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
    p99_lag_ms: float = 0.0
    #: The results writer process's CPU per request (None: no such process, or not on Linux).
    writer_cpu_ms_per_request: float | None = None
    #: Overhead per hop of :data:`OVERHEAD_HOPS`: name -> (p50, p99) ms.
    hops_ms: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: How busy the machine was: the 1-minute load average at the end of the step and the
    #: CPU the other processes used during it, in cores (None: not on Linux).
    load_average: float | None = None
    others_cpu_cores: float | None = None
    #: CPU time the hypervisor took from this virtual machine's CPUs during the step, ms summed
    #: over CPUs (``/proc/stat`` steal; 0 on bare metal, None: not on Linux): a step with steal
    #: had its processes stopped for that long, wherever they were.
    steal_ms: float | None = None


@dataclass
class LoadBenchResult:
    config: LoadBenchConfig
    steps: list[Step] = field(default_factory=list)
    #: Why the rig ran on the OS's default CPU slice instead (None: as configured).
    cpu_slice_refused: str | None = None

    @property
    def best(self) -> Step | None:
        """The highest sustained rate's step (the ladder stops at the first failure)."""
        sustained = [s for s in self.steps if s.sustained]
        return sustained[-1] if sustained else None

    @property
    def within_target(self) -> Step | None:
        """The highest sustained rate whose p99 overhead met :data:`TARGET_P99_OVERHEAD_MS`."""
        met = [s for s in self.steps if s.sustained and s.overhead_p99_ms <= TARGET_P99_OVERHEAD_MS]
        return met[-1] if met else None

    def to_json(self) -> dict:
        best, within = self.best, self.within_target
        return {
            "config": {**asdict(self.config), "rates": list(self.config.rates)},
            "steps": [asdict(s) for s in self.steps],
            "sustained_rate": best.requested_rate if best else 0.0,
            "overhead_p50_ms": best.overhead_p50_ms if best else None,
            "overhead_p99_ms": best.overhead_p99_ms if best else None,
            "rate_within_p99_target": within.requested_rate if within else 0.0,
            "targets": {"rate": TARGET_RATE, "overhead_p99_ms": TARGET_P99_OVERHEAD_MS},
            "cpu_slice_refused": self.cpu_slice_refused,
        }


def bench_text(config: LoadBenchConfig) -> str:
    """The benchmark's bench file: one User, the DSP as configured, N emulated ESMEs."""
    lines = [
        '[bench]\nname = "rig-bench-load"\n[keys]\ndirs = ["@rtds"]',
        f'[user]\nname = "supplier"\neui = "{USER_EUI}"',
        f"[dsp]\nservers = {config.servers}\nservice_time_s = {config.service_time_s!r}",
        f"[host]\ncpu_slice_us = {config.cpu_slice_us}\nbusy_poll_us = {config.busy_poll_us}",
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
    result = LoadBenchResult(config)
    with launch(bench, run_dir) as rig:
        result.cpu_slice_refused = rig.cpu_slice_refused
        driver = LoadDriver(rig)
        driver.run(background(200, config.warmup_s, devices=devices), timeout=30)
        # the emulator processes, once each (the meters may share one: [host] shared_emulators)
        pids = list(
            dict.fromkeys(
                getattr(getattr(d, "process", None), "pid", None) for d in rig.devices.values()
            )
        )
        writer = [getattr(rig.results, "pid", None)]
        for rate in config.rates:
            schedule = background(rate, config.step_s, devices=devices)
            before = _Usage.now(pids, writer)
            run = driver.run(schedule, timeout=max(30.0, config.step_s * 5))
            step = _step(config, rate, run, before, _Usage.now(pids, writer))
            result.steps.append(step)
            if on_step is not None:
                on_step(step)
            if not step.sustained:
                break
    return result


def _step(
    config: LoadBenchConfig, rate: float, run: LoadResult, before: _Usage, after: _Usage
) -> Step:
    """The figures of one rate from its records and the resource usage around it."""
    configured = config.service_time_s + config.processing_time_s
    ok = [r for r in run.records if r.ok]
    totals = sorted((r.stamps["delivered"] - r.stamps["submitted"]) * 1e3 for r in ok)
    overheads = [t - configured * 1e3 for t in totals]
    lost = len(run.records) - len(ok)
    tolerance = config.tolerance * rate
    p99 = _percentile(overheads, 99)
    requests = max(1, len(run.records))
    rig_cpu = after.rig_cpu - before.rig_cpu
    devices_cpu = _minus(after.devices_cpu, before.devices_cpu)
    writer_cpu = _minus(after.writer_cpu, before.writer_cpu)
    stolen = _minus(after.steal, before.steal)
    others = None
    if after.machine_cpu is not None and before.machine_cpu is not None:
        ours = rig_cpu + (devices_cpu or 0.0) + (writer_cpu or 0.0)
        wall = after.wall - before.wall
        others = max(0.0, (after.machine_cpu - before.machine_cpu - ours) / wall)
    return Step(
        requested_rate=rate,
        achieved_rate=run.achieved_rate,
        completed_rate=run.completed_rate,
        requests=len(run.records),
        lost=lost,
        sustained=not lost
        and run.achieved_rate >= tolerance
        and run.completed_rate >= tolerance
        and p99 <= config.max_overhead_p99_ms,
        rig_cpu_ms_per_request=rig_cpu / requests * 1e3,
        devices_cpu_ms_per_request=None if devices_cpu is None else devices_cpu / requests * 1e3,
        writer_cpu_ms_per_request=None if writer_cpu is None else writer_cpu / requests * 1e3,
        latency_p50_ms=_percentile(totals, 50),
        latency_p99_ms=_percentile(totals, 99),
        overhead_p50_ms=_percentile(overheads, 50),
        overhead_p99_ms=p99,
        max_lag_ms=run.max_lag_s * 1e3,
        p99_lag_ms=run.p99_lag_s * 1e3,
        hops_ms=hop_overheads(config, ok),
        load_average=after.load_average,
        others_cpu_cores=others,
        steal_ms=None if stolen is None else stolen * 1e3,
    )


def hop_overheads(
    config: LoadBenchConfig, records: Sequence[RequestRecord]
) -> dict[str, tuple[float, float]]:
    """p50 and p99 (ms) of each hop of :data:`OVERHEAD_HOPS` over completed ``records``, less
    the configured delay it includes."""
    out = {}
    for hop, (start, end, delay) in OVERHEAD_HOPS.items():
        less = getattr(config, delay) if delay else 0.0
        values = sorted((r.stamps[end] - r.stamps[start] - less) * 1e3 for r in records)
        out[hop] = (_percentile(values, 50), _percentile(values, 99))
    return out


def _percentile(ordered: Sequence[float], percent: float) -> float:
    return nearest_rank(ordered, percent) if ordered else float("nan")


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


@dataclass(frozen=True)
class _Usage:
    """CPU seconds so far of this process, the emulators, the results writer and the machine."""

    wall: float
    rig_cpu: float
    devices_cpu: float | None
    writer_cpu: float | None
    machine_cpu: float | None
    load_average: float | None
    steal: float | None

    @classmethod
    def now(cls, devices: Sequence[int | None], writer: Sequence[int | None]) -> _Usage:
        rig = time.process_time()
        return cls(time.monotonic(), rig, _cpu_of(devices), _cpu_of(writer), *_machine())


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


def _machine() -> tuple[float | None, float | None, float | None]:
    """CPU seconds the whole machine has been busy (``/proc/stat``: all but idle, iowait and
    steal), the 1-minute load average and the CPU seconds stolen by the hypervisor; Nones where
    there is no ``/proc``."""
    try:
        cpu = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        load = float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None, None, None
    ticks = [int(v) for v in cpu] + [0] * 8
    hz = os.sysconf("SC_CLK_TCK")
    idle, iowait, steal = ticks[3], ticks[4], ticks[7]
    return (sum(ticks[:8]) - idle - iowait - steal) / hz, load, steal / hz


def _rates(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[float, ...]:
    try:
        rates = tuple(float(v) for v in value.split(","))
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected comma-separated numbers") from None
    if not rates or any(r <= 0 for r in rates) or list(rates) != sorted(rates):
        raise click.BadParameter(f"{value!r}: expected positive rates in rising order")
    return rates


@click.command("load")
@click.option("--devices", default=4, show_default=True, help="Emulated ESMEs (processes).")
@click.option("--servers", default=16, show_default=True, help="DSP servers.")
@click.option("--service-time", default=0.0005, show_default=True, help="DSP service time, s.")
@click.option(
    "--processing-time", default=0.0005, show_default=True, help="Meter processing time, s."
)
@click.option("--step", default=2.0, show_default=True, help="Seconds at each rate.")
@click.option(
    "--rates",
    default=",".join(f"{r:g}" for r in RATES),
    show_default=True,
    callback=_rates,
    help="Rising rate ladder, requests/s.",
)
@click.option(
    "--cpu-slice-us",
    default=LoadBenchConfig.cpu_slice_us,
    show_default=True,
    help="The bench's [host] cpu_slice_us (0: the OS default slice).",
)
@click.option(
    "--busy-poll-us",
    default=LoadBenchConfig.busy_poll_us,
    show_default=True,
    help="The bench's [host] busy_poll_us: the rig's loop polls this long before it sleeps "
    "(0: it sleeps at once).",
)
@click.option("--json", "json_out", type=click.Path(path_type=Path), help="Write figures here.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Run folder.")
def benchmark_load(
    devices: int,
    servers: int,
    service_time: float,
    processing_time: float,
    step: float,
    rates: tuple[float, ...],
    cpu_slice_us: int,
    busy_poll_us: int,
    json_out: Path | None,
    out: Path | None,
) -> None:
    """Highest sustained request rate through the real-time path (DSP model, codec, pty links,
    emulated ESMEs) with no request lost, and the rig's overhead per request p50/p99.

    \b
    Example:
      rig benchmark load --devices 4 --step 2 --json load.json
    """

    config = LoadBenchConfig(
        devices=devices,
        servers=servers,
        service_time_s=service_time,
        processing_time_s=processing_time,
        step_s=step,
        rates=rates,
        cpu_slice_us=cpu_slice_us,
        busy_poll_us=busy_poll_us,
    )
    run_dir = out or Path("runs") / datetime.now(UTC).strftime("bench-load-%Y%m%dT%H%M%SZ")
    console = Console(soft_wrap=True)  # a step's lines stay whole in a log
    console.print(
        f"{devices} emulated ESMEs (pty), DSP {servers} x {service_time * 1e3:g} ms, meter "
        f"{processing_time * 1e3:g} ms, {step:g} s per rate; overhead = latency - "
        f"{(service_time + processing_time) * 1e3:g} ms configured - 0 wire (pty); CPU slice "
        + (f"{cpu_slice_us} µs" if cpu_slice_us else "the OS default")
        + "; rig loop "
        + (f"busy-polls {busy_poll_us} µs before sleeping" if busy_poll_us else "sleeps at once")
    )

    # A busy-polling loop holds its CPU while traffic flows: its CPU per request is then 1/rate.
    polling = " (polling)" if busy_poll_us else ""

    def show(s: Step) -> None:
        verdict = "[green]sustained[/]" if s.sustained else "[red]not sustained[/]"
        console.print(
            f"{s.requested_rate:7.0f}/s: achieved {s.achieved_rate:7.1f}/s, completed "
            f"{s.completed_rate:7.1f}/s, lost {s.lost}, overhead p50 {s.overhead_p50_ms:.2f} "
            f"p99 {s.overhead_p99_ms:.2f} ms; CPU ms/req: rig "
            f"{s.rig_cpu_ms_per_request:.3f}{polling}, "
            f"writer {_ms(s.writer_cpu_ms_per_request)}, emulators "
            f"{_ms(s.devices_cpu_ms_per_request)} {verdict}"
        )
        hops = ", ".join(f"{hop} {p50:.2f}/{p99:.2f}" for hop, (p50, p99) in s.hops_ms.items())
        console.print(f"         overhead by hop p50/p99 ms: {hops}")
        console.print(
            f"         driver lag p99/max {s.p99_lag_ms:.2f}/{s.max_lag_ms:.2f} ms; machine: "
            f"load average {_num(s.load_average)}, other processes "
            f"{_num(s.others_cpu_cores)} cores, stolen by the hypervisor "
            f"{_num(s.steal_ms)} ms"
        )

    result = run_load_bench(config, run_dir, on_step=show)
    if result.cpu_slice_refused is not None:
        console.print(f"[yellow]CPU slice not applied: {result.cpu_slice_refused}[/]")
    figures = result.to_json()
    table = Table(title="rig benchmark load")
    for column in ("figure", "value", "target", "met"):
        table.add_column(column)
    best = result.best
    rate = figures["sustained_rate"]
    p99 = figures["overhead_p99_ms"]
    table.add_row(
        "sustained rate, req/s", f"{rate:g}", f">= {TARGET_RATE:g}", _met(rate >= TARGET_RATE)
    )
    table.add_row(
        "overhead p50 / p99 at that rate, ms",
        "-" if best is None else f"{best.overhead_p50_ms:.2f} / {best.overhead_p99_ms:.2f}",
        f"p99 <= {TARGET_P99_OVERHEAD_MS:g}",
        _met(p99 is not None and p99 <= TARGET_P99_OVERHEAD_MS),
    )
    within = result.within_target
    table.add_row(
        f"highest rate with p99 overhead <= {TARGET_P99_OVERHEAD_MS:g} ms, req/s",
        "none" if within is None else f"{within.requested_rate:g}",
        f">= {TARGET_RATE:g}",
        _met(within is not None and within.requested_rate >= TARGET_RATE),
    )
    console.print(table)
    if best is not None:
        worst = max(best.hops_ms, key=lambda hop: best.hops_ms[hop][1])
        console.print(
            f"at {best.requested_rate:g}/s the p99 is mostly the {worst} hop "
            f"({best.hops_ms[worst][1]:.2f} ms); machine: load average "
            f"{_num(best.load_average)}, other processes {_num(best.others_cpu_cores)} cores, "
            f"stolen by the hypervisor {_num(best.steal_ms)} ms"
            + (
                " [yellow](a busy machine: its tail is the other jobs' as much as the rig's)[/]"
                if (best.others_cpu_cores or 0.0) > BUSY_CORES
                else ""
            )
        )
    if json_out is not None:
        json_out.write_text(json.dumps(figures, indent=2), encoding="utf-8")
        console.print(f"figures: {json_out}")


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _met(ok: bool) -> str:
    return "yes" if ok else "NO"
