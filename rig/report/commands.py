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
from rig.report.run import RUN_ID_SEPARATOR, RunData, RunNotFound, load_build, load_run
from rig.results.measure import coverage_matrix
from rig.results.report import render, summarise
from rig.results.store import ResultsStore, StoreError, is_url

#: Console width when the output is not a terminal (CI logs, pipes).
LOG_WIDTH = 110


def _load(spec: str, *, build: str | None = None) -> RunData:
    """The run a spec names, or (``build``: ``spec`` is the store) the build's runs merged."""
    try:
        return load_run(spec) if build is None else load_build(spec, build)
    except RunNotFound as exc:
        raise click.ClickException(str(exc)) from exc


def _store_runs(path: str) -> list[str]:
    if not _is_store(path):
        raise click.ClickException(f"{path}: not a store file or postgresql:// URL")
    try:
        with ResultsStore(path) as store:
            return [r.id for r in store.runs()]
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc


def _is_store(spec: str) -> bool:
    return is_url(spec) or (Path(spec).is_file() and not spec.endswith(".jsonl"))


def _in_store(store: str | None, runs: tuple[str, ...]) -> tuple[str, ...]:
    """Run specs: with ``--store``, each RUN is a run id of it."""
    return runs if store is None else tuple(f"{store}{RUN_ID_SEPARATOR}{r}" for r in runs)


@click.command("report")
@click.argument("runs", nargs=-1, metavar="RUN [RUN_ID]")
@click.option(
    "--store",
    metavar="FILE|URL",
    help="The results store (a SQLite file or a postgresql:// URL): each RUN is then one of "
    "its run ids (none: its latest run).",
)
@click.option(
    "--build",
    "builds",
    multiple=True,
    metavar="ID",
    help="With --store: report a build (all its runs, from every host, merged) as a run; "
    "twice with --compare: build B against build A.",
)
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
    store: str | None,
    builds: tuple[str, ...],
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
    file, or a store (a file or a postgresql:// URL) with a run id (STORE RUN_ID, STORE#RUN_ID
    or --store STORE RUN_ID; its latest run if none). A build (--store STORE --build ID) is
    every run of that build, from every host, merged into one.

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
      rig report --store postgresql://rig@db/rig --build nightly-42
      rig report --compare --store postgresql://rig@db/rig --build nightly-41 --build nightly-42
    """
    console = Console()
    if not console.is_terminal:  # logs and pipes: wide enough for the tables, not 80 columns
        console = Console(width=max(console.width, LOG_WIDTH))
    if builds and (store is None or runs):
        raise click.UsageError("--build takes --store FILE|URL, and no RUN")
    if listing:
        for spec in (store,) if store else runs:
            for run_id in _store_runs(spec):
                click.echo(run_id)
        return
    if comparing:
        pair = builds or _in_store(store, runs) or ((store,) if store else ())
        a_b = _compare_pair(pair, store if builds else None)
        _compare(a_b, threshold / 100, floor_ms / 1e3, min_samples, allow_different, console)
        return
    if len(builds) > 1:
        raise click.UsageError("name one --build; use --compare for two builds")
    if builds:
        assert store is not None
        run = _load(store, build=builds[0])
    else:
        runs = _in_store(store, runs) or ((store,) if store else ())
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


def _compare_pair(specs: tuple[str, ...], store: str | None) -> tuple[RunData, RunData]:
    """Runs A and B: two run specs, a store's last two runs, or (``store``) two builds."""
    try:
        if len(specs) == 1 and _is_store(specs[0]):
            ids = _store_runs(specs[0])
            if len(ids) < 2:
                _cannot_compare(f"{specs[0]}: needs two runs to compare, has {len(ids)}")
            specs = tuple(f"{specs[0]}{RUN_ID_SEPARATOR}{run_id}" for run_id in ids[-2:])
        if len(specs) != 2:
            raise click.UsageError(
                "--compare takes RUN_A RUN_B (or one store), or --build A --build B"
            )
        a, b = (_load(spec) if store is None else _load(store, build=spec) for spec in specs)
    except click.ClickException as exc:
        if isinstance(exc, click.UsageError):
            raise
        _cannot_compare(exc.format_message())
    return a, b


def _compare(
    pair: tuple[RunData, RunData],
    threshold: float,
    floor_s: float,
    min_samples: int,
    allow_different: bool,
    console: Console,
) -> None:
    a, b = pair
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
