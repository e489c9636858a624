"""The load commands: ``rig bench load`` and ``rig emulate``."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from rig.load.bench import (
    BUSY_CORES,
    RATES,
    TARGET_P99_OVERHEAD_MS,
    TARGET_RATE,
    LoadBenchConfig,
    Step,
)


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
def bench_load(
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
      rig bench load --devices 4 --step 2 --json load.json
    """
    from rig.load.bench import run_load_bench

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
    table = Table(title="rig bench load")
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


def _show_log(device: str, line: str) -> None:
    """A line an emulated device logged, on the terminal (stderr: stdout is the snippet)."""
    click.echo(f"{device}: {line}", err=True)


@click.command("emulate")
@click.argument("bench", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Key folder parent.")
def emulate(bench: Path, out: Path | None) -> None:
    """Serve a bench's emulated devices so a physical rig can mix them in; Ctrl-C stops.

    Prints each device's port and a [[device]] snippet (and the key folder) for the other
    rig's bench file, then every line the devices log (kept in OUT/devices/<name>.log).

    \b
    Example:
      rig emulate rig/benches/emulated.toml
    """
    from rig.bench import BenchError, load_bench
    from rig.emulate import Served, serve, snippet

    try:
        loaded = load_bench(bench)
    except BenchError as exc:
        raise click.ClickException(str(exc)) from exc
    run_dir = out or Path("runs") / datetime.now(UTC).strftime("emulate-%Y%m%dT%H%M%SZ")

    def ready(served: list[Served], keys: Path) -> None:
        for device in served:
            click.echo(f"{device.name}\t{device.eui}\t{device.port}")
        click.echo(snippet(served, keys.resolve()))
        click.echo("serving; Ctrl-C stops", err=True)

    try:
        asyncio.run(serve(loaded, run_dir, ready, _show_log))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("stopped", err=True)
