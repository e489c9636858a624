"""The light benchmark commands (registered lazily by rig/cli.py): ``rig benchmark dsp``,
``rig benchmark codec`` and ``rig benchmark results``; each imports its benchmark when run.
The others live beside their benchmark (load, emulator, devices, fuzz)."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

import click

from rig.results.background import BATCH_S


@click.command("results")
@click.option("--records", default=4000, show_default=True, help="Records written per run.")
@click.option("--rate", default=2000.0, show_default=True, help="Records per second framed.")
@click.option(
    "--batch-ms",
    default=BATCH_S * 1e3,
    show_default=True,
    help="Milliseconds between the sender's frames (the writer's batch interval).",
)
@click.option("--repeat", default=5, show_default=True, help="Runs; the best is shown.")
@click.option(
    "--live-seconds",
    default=3.0,
    show_default=True,
    help="Seconds of the live probe (a writer process fed from a 1 ms timer loop); 0: none.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def benchmark_results(
    records: int, rate: float, batch_ms: float, repeat: int, live_seconds: float, as_json: bool
) -> None:
    """CPU per record of the results writer process (JSON Lines, and with a SQLite store)
    and of the rig's side of it, for SRV 7.4 load-bench records; then a live probe: a writer
    process fed from a 1 ms timer loop, the timer's lateness and the CPU per record.

    \b
    Example:
      rig benchmark results --rate 2000 --batch-ms 10
    """
    from rig.benchmarks.results import run_live_probe, run_results_bench

    try:
        result = run_results_bench(records, rate, batch_ms / 1e3, repeat)
        live = run_live_probe(rate, batch_ms / 1e3, live_seconds) if live_seconds else None
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if as_json:
        figures = {**result.to_json(), "live": None if live is None else asdict(live)}
        click.echo(json.dumps(figures, indent=2))
        return
    click.echo(result.text())
    if live is not None:
        click.echo(live.text())


@click.command("dsp")
@click.option(
    "--hours", type=click.FloatRange(min=0, min_open=True), default=24.0, show_default=True,
    help="Simulated hours of the national scenario for the throughput and RSS run.",
)  # fmt: skip
@click.option(
    "--compare-hours", type=click.FloatRange(min=0, min_open=True), default=0.5,
    show_default=True, help="Simulated hours for the side-by-side run against the lean SimPy twin.",
)  # fmt: skip
@click.option(
    "--compare-start-hours", type=click.FloatRange(min=0), default=0.25, show_default=True,
    help="Where the side-by-side slice starts (the default slice, 00:15-00:45, holds the first "
    "quarter hour of the nightly read burst).",
)  # fmt: skip
@click.option(
    "--scenario", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Scenario to run (default: the shipped national-day-2024).",
)  # fmt: skip
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the figures as JSON here.")  # fmt: skip
def benchmark_dsp(
    hours: float,
    compare_hours: float,
    compare_start_hours: float,
    scenario: Path | None,
    json_out: Path | None,
) -> None:
    """Benchmark the DSP model: simulated messages per CPU-second, one day, SimPy ratio.

    Each run is a separate process, so its peak RSS is its own.
    """
    from rig.benchmarks import dsp as bench

    figures = bench.run_all(
        scenario or bench.NATIONAL_SCENARIO, hours=hours, compare_hours=compare_hours,
        compare_start_hours=compare_start_hours, echo=lambda line: click.echo(line, err=True),
    )  # fmt: skip
    click.echo(bench.render(figures))
    if json_out is not None:
        json_out.write_text(json.dumps(figures, indent=1))
    sys.stdout.flush()


@click.command("codec")
@click.option(
    "--seconds",
    type=click.FloatRange(0.05),
    default=1.0,
    show_default=True,
    help="Time per measurement.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option(
    "--rtds",
    is_flag=True,
    help="Also a whole pass over the shared RTDS vectors (decode, verify, type, decrypt): "
    "frames/s, beside gbcs-parser's if node can run it.",
)
@click.option(
    "--gbcs-parser/--no-gbcs-parser",
    "with_parser",
    default=True,
    show_default=True,
    help="With --rtds: install gbcs-parser into build/gbcs-parser (npm) and time it too.",
)
def benchmark_codec(seconds: float, as_json: bool, rtds: bool, with_parser: bool) -> None:
    """Frames per second of the codec and its ratio to the bare cryptography it needs; with
    ``--rtds``, frames per second of a whole-RTDS pass beside gbcs-parser's (docs/gbcs-codec.md,
    "Benchmark").

    \b
    Example:
      rig benchmark codec --seconds 1 --rtds
    """
    from rig.benchmarks import rtds_pass
    from rig.benchmarks.codec import measure, run_benchmarks, table
    from rig.gbcs.commands import SHARED_KEYS

    vectors = SHARED_KEYS.parent / "vectors"
    results = run_benchmarks(seconds)
    notes = []
    if rtds_pass.vector_paths(vectors):
        results += [measure(c, seconds) for c in rtds_pass.mix_cases(vectors, SHARED_KEYS)]
    else:
        notes.append(f"RTDS mix and pass: skipped (no vectors under {vectors})")
    figures = None
    if rtds and not notes:
        ours = rtds_pass.rig_pass(vectors, SHARED_KEYS, seconds)
        theirs = rtds_pass.ParserFigure(None, note="--no-gbcs-parser")
        if with_parser:
            folder = Path(__file__).resolve().parents[2] / "build" / "gbcs-parser"
            theirs = rtds_pass.gbcs_parser_pass(folder, vectors, SHARED_KEYS, seconds)
        figures = (ours, theirs)
    if as_json:
        rows = [r.to_json() for r in results]
        if figures is None:
            click.echo(json.dumps(rows, indent=2))
        else:
            rtds_figures = rtds_pass.to_json(*figures)
            click.echo(json.dumps({"rows": rows, "rtds_pass": rtds_figures}, indent=2))
        return
    click.echo(table(results))
    for note in notes:
        click.echo(note)
    if figures is not None:
        click.echo("")
        click.echo(rtds_pass.report(*figures))
