"""``rig bench results``: the results writer's CPU per record (docs/load.md "The hot path")."""

from __future__ import annotations

import json

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
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def bench_results(records: int, rate: float, batch_ms: float, repeat: int, as_json: bool) -> None:
    """CPU per record of the results writer process (JSON Lines, and with a SQLite store)
    and of the rig's side of it, for SRV 7.4 load-bench records.

    \b
    Example:
      rig bench results --rate 2000 --batch-ms 10
    """
    from rig.results.bench import run_results_bench

    try:
        result = run_results_bench(records, rate, batch_ms / 1e3, repeat)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    click.echo(json.dumps(result.to_json(), indent=2) if as_json else result.text())
