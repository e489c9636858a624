"""``rig report``: the latency table of a run, its HTML and JUnit reports, or two runs compared."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import click
from rich.console import Console

from rig.report.compare import (
    MIN_SAMPLES,
    compare,
    configuration_differences,
    render_comparison,
)
from rig.report.coverage import render_coverage, render_measurements
from rig.report.run import RUN_ID_SEPARATOR, RunData, RunNotFound, load_run
from rig.results.measure import coverage_matrix
from rig.results.report import render, summarise
from rig.results.store import ResultsStore, StoreError

#: Console width when the output is not a terminal (CI logs, pipes).
LOG_WIDTH = 110


def _load(spec: str) -> RunData:
    try:
        return load_run(spec)
    except RunNotFound as exc:
        raise click.ClickException(str(exc)) from exc


def _store_runs(path: str) -> list[str]:
    try:
        with ResultsStore(Path(path)) as store:
            return [r.id for r in store.runs()]
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc


def _is_store(spec: str) -> bool:
    return Path(spec).is_file() and not spec.endswith(".jsonl")


@click.command("report")
@click.argument("runs", nargs=-1, required=True, metavar="RUN [RUN_ID]")
@click.option("--compare", "comparing", is_flag=True, help="Compare two runs: RUN_A RUN_B.")
@click.option(
    "--html",
    "html_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help=("Write the run's HTML report (one self-contained file) here."),
)
@click.option(
    "--junit",
    "junit_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help=("Write the run's JUnit XML here."),
)
@click.option(
    "--threshold",
    default=10.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="With --compare: a percentile regresses when B is this many percent slower than A...",
)
@click.option(
    "--floor-ms",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="...and slower by more than this many milliseconds.",
)
@click.option(
    "--min-samples",
    default=MIN_SAMPLES,
    show_default=True,
    type=click.IntRange(min=1),
    help="With --compare: fewest successful requests on a hop, in each run, to judge its "
    "latency (fewer: 'not enough samples', neither a regression nor a pass).",
)
@click.option(
    "--allow-different",
    is_flag=True,
    help="With --compare: compare runs whose plan, bench or configuration differ (with a "
    "warning) instead of refusing.",
)
@click.option("--list", "listing", is_flag=True, help="List the runs of a store file.")
def report(
    runs: tuple[str, ...],
    comparing: bool,
    html_out: Path | None,
    junit_out: Path | None,
    threshold: float,
    floor_ms: float,
    min_samples: int,
    allow_different: bool,
    listing: bool,
) -> None:
    """Print the latency report of a run, write its HTML or JUnit report, or compare two runs.

    A RUN is a run folder (its results.sqlite, or its results.jsonl files), a results.jsonl
    file, or a store file with a run id (STORE RUN_ID, or STORE#RUN_ID; its latest run if none).

    With --compare (B against A; given a single store file, its last two runs) the exit status
    is 0 for no regression; 1 if B regressed against A (tests, measurement limits, requirement
    coverage, latency, failure rate) or fails a test or a limit; 2 if the runs cannot be
    compared (not found, or their plan, bench or configuration differ: --allow-different
    compares them anyway).

    \b
    Examples:
      rig report runs/20261123T120000Z
      rig report runs/20261123T120000Z --html report.html --junit junit.xml
      rig report history.sqlite 20261123T120000Z
      rig report --compare runs/nightly-41 runs/nightly-42
      rig report --compare history.sqlite
    """
    console = Console()
    if not console.is_terminal:  # logs and pipes: wide enough for the tables, not 80 columns
        console = Console(width=max(console.width, LOG_WIDTH))
    if listing:
        for spec in runs:
            for run_id in _store_runs(spec):
                click.echo(run_id)
        return
    if comparing:
        _compare(runs, threshold / 100, floor_ms / 1e3, min_samples, allow_different, console)
        return
    if len(runs) == 2 and _is_store(runs[0]):
        runs = (f"{runs[0]}{RUN_ID_SEPARATOR}{runs[1]}",)
    if len(runs) != 1:
        raise click.UsageError("name one RUN (or STORE RUN_ID); use --compare for two runs")
    run = _load(runs[0])
    render(summarise(run.requests), console, title=f"Latency report: {run.label}")
    render_coverage(coverage_matrix(run.tests, run.measurements), console)
    render_measurements(run.measurements, console)
    if html_out is not None:
        from rig.report.html import write_html

        write_html(run, html_out)
        click.echo(f"HTML report: {html_out}")
    if junit_out is not None:
        from rig.report.junit import write_junit

        write_junit(run, junit_out)
        click.echo(f"JUnit XML: {junit_out}")


#: ``rig report --compare``: the runs cannot be compared.
CANNOT_COMPARE = 2


def _cannot_compare(reason: str) -> NoReturn:
    click.echo(f"cannot compare: {reason}", err=True)
    raise SystemExit(CANNOT_COMPARE)


def _compare(
    specs: tuple[str, ...],
    threshold: float,
    floor_s: float,
    min_samples: int,
    allow_different: bool,
    console: Console,
) -> None:
    try:
        if len(specs) == 1 and _is_store(specs[0]):
            ids = _store_runs(specs[0])
            if len(ids) < 2:
                _cannot_compare(f"{specs[0]}: needs two runs to compare, has {len(ids)}")
            specs = tuple(f"{specs[0]}{RUN_ID_SEPARATOR}{run_id}" for run_id in ids[-2:])
        if len(specs) != 2:
            raise click.UsageError("--compare takes RUN_A RUN_B (or one store file)")
        a, b = (_load(spec) for spec in specs)
    except click.ClickException as exc:
        if isinstance(exc, click.UsageError):
            raise
        _cannot_compare(exc.format_message())
    differ = configuration_differences(a, b)
    if differ is None:
        console.print(
            "[yellow]warning[/]: A or B does not record its configuration; "
            "not checked that plan, bench and configuration match"
        )
    elif differ and not allow_different:
        _cannot_compare(
            f"{a.label} and {b.label} differ in {', '.join(differ)} "
            "(--allow-different compares them anyway)"
        )
    elif differ:
        console.print(
            f"[bold red]WARNING: A and B differ in {', '.join(differ)}[/]: "
            "a change below may come from that, not from what is under test"
        )
    comparison = compare(a, b, threshold=threshold, floor_s=floor_s, min_samples=min_samples)
    render_comparison(comparison, console)
    raise SystemExit(comparison.exit_status())
