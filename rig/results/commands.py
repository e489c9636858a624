"""``rig bench results``: the results writer's CPU per record (docs/load.md "The hot path")."""

from __future__ import annotations

import json
from dataclasses import asdict

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
def bench_results(
    records: int, rate: float, batch_ms: float, repeat: int, live_seconds: float, as_json: bool
) -> None:
    """CPU per record of the results writer process (JSON Lines, and with a SQLite store)
    and of the rig's side of it, for SRV 7.4 load-bench records; then a live probe: a writer
    process fed from a 1 ms timer loop, the timer's lateness and the CPU per record.

    \b
    Example:
      rig bench results --rate 2000 --batch-ms 10
    """
    from rig.results.bench import run_live_probe, run_results_bench

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
