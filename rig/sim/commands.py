"""The ``rig simulate`` command (registered by rig/cli.py); ``rig benchmark dsp`` is in
rig/benchmarks/commands.py.

This module exposes exactly one click object: :data:`simulate`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from rig.sim.scenario import ScenarioError, load_scenario, scenario_path
from rig.util.progress import simulation_progress, stderr_on_terminal

if TYPE_CHECKING:
    from rich.progress import Progress

    from rig.sim.runner import Run


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


_STATS = ("mean", "p50", "p95", "p99", "max")


def _table(title: str, rows: dict[str, dict[str, Any]]) -> list[str]:
    head = (
        f"{title:<16}{'submitted':>10}{'admitted':>10}{'throttled':>10}{'rejected':>9}"
        f"{'delivered':>10} | end-to-end s" + "".join(f"{k:>7}" for k in _STATS)
        + " | queue p95 | TRT met"
    )  # fmt: skip
    lines = [head, "-" * len(head)]
    for name, r in rows.items():
        e2e, queue = r["latency_s"]["end_to_end"], r["latency_s"]["dsp_queue"]
        compliance = r["trt"]["compliance"]
        lines.append(
            f"{name:<16}{r['submitted']:>10}{r['admitted']:>10}{r['throttled']:>10}"
            f"{r['rejected']:>9}{r['delivered']:>10} | {'':12}"
            + "".join(f"{_fmt(e2e[k]):>7}" for k in _STATS)
            + f" | {_fmt(queue['p95']):>9} | "
            + ("-" if compliance is None else f"{100 * compliance:.2f} %")
        )
    return lines


def summary_text(report: dict[str, Any]) -> str:
    """A human-readable summary of one run's report (the JSON has everything)."""
    run, dsp = report["run"], report["dsp"]
    title = report["scenario"] + (f" [variant {report['variant']}]" if report["variant"] else "")
    lines = [
        f"== {title}: TMM {report['tmm']['version']}, seed {report['seed']}",
        f"   arrivals until {run['arrivals_until_s']:g} s, drained at {run['drained_at_s']:g} s; "
        f"{run['messages']} messages in {run['cpu_s']:.1f} CPU-s; "
        f"throttling activations: {dsp['throttling_activations']}",
        "",
        *_table("priority level", {f"level {k}": v for k, v in report["by_level"].items()}),
        "",
        *_table("SRV", report["by_srv"]),
        "",
        *_table("User", report["by_user"]),
    ]
    for reload in report["tmm_reloads"]:
        outcome = "applied" if reload["applied"] else f"REFUSED ({reload['error']})"
        lines.append(
            f"TMM reload at {reload['at_s']:g} s, {reload['file']}: {outcome}; "
            f"in force: {reload['version_in_force']}"
        )
    alerts = report["alerts"]
    if alerts["by_user"]:
        lines += ["", "alerts: raised, delivered, storm summaries, latency s (p50 / p95 / max)"]
        for user, a in alerts["by_user"].items():
            lat = a["latency_s"]
            lines.append(
                f"  {user:<20}{a['raised']:>10}{a['delivered']:>10}"
                f"{a['storm_summaries_delivered']:>8}   "
                f"{_fmt(lat['p50'])} / {_fmt(lat['p95'])} / {_fmt(lat['max'])}"
            )
        for name in ("dsp_storm_protection", "ch_consolidation"):
            if alerts[name]:
                lines.append(f"  {name}: {alerts[name]}")
    return "\n".join(lines)


def progress_task(progress: Progress, run: Run, description: str) -> Callable[[float, float], None]:
    """A :meth:`Run.run` progress callback advancing a new task of ``progress``: simulated
    seconds of arrivals done of the total and messages so far; then "draining"."""
    task = progress.add_task(description, total=run.scenario.duration_s, messages=0)

    def advance(sim_time_s: float, total_s: float) -> None:
        done = sim_time_s >= total_s
        progress.update(
            task,
            completed=min(sim_time_s, total_s),
            messages=run.messages,
            description=f"{description}: draining" if done else description,
        )

    return advance


@click.command("simulate")
@click.argument("scenario")
@click.option(
    "--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
    help="Write the full report (counts, per-hop latency, TRT, time series) as JSON here.",
)  # fmt: skip
@click.option(
    "--plot", "plot_dir", type=click.Path(file_okay=False, path_type=Path),
    help="Write PNG plots (queue depth, latency per level) into this directory "
    "(needs matplotlib: pip install 'gb-smart-rig[plot]').",
)  # fmt: skip
@click.option(
    "--duration", type=click.FloatRange(min=0, min_open=True),
    help="Stop arrivals after this many simulated seconds (a shorter run of the scenario).",
)  # fmt: skip
@click.option("--variant", multiple=True, help="Run only this variant (repeatable).")
@click.option(
    "--seed", type=click.IntRange(min=0),
    help="Use this seed instead of the scenario's (another draw of the same scenario).",
)  # fmt: skip
@click.option(
    "--progress/--no-progress", default=True, show_default=True,
    help="A progress bar (simulated time, messages) on standard error when it is a terminal.",
)  # fmt: skip
def simulate(
    scenario: str,
    json_out: Path | None,
    plot_dir: Path | None,
    duration: float | None,
    variant: tuple[str, ...],
    seed: int | None,
    progress: bool,
) -> None:
    """Simulate SCENARIO (a TOML file, or the name of a shipped one such as quiet-hour) on a
    virtual clock with the rig's own DSP model.

    Prints counts and end-to-end latency per priority level, SRV and User; variants (TMM
    overrides in the scenario, e.g. two outage-release policies) run side by side.
    """
    from rig.sim.runner import Run

    if plot_dir is not None:
        from rig.sim.plots import require_matplotlib

        require_matplotlib()
    try:
        spec = load_scenario(scenario_path(scenario))
    except ScenarioError as exc:
        raise click.ClickException(str(exc)) from None
    if duration is not None:
        spec = spec.with_duration(duration)
    if seed is not None:
        spec = dataclasses.replace(spec, seed=seed)
    unknown = [v for v in variant if v not in spec.variants]
    if unknown:
        raise click.BadParameter(
            f"{unknown}: scenario variants are {list(spec.variants)}", param_hint="--variant"
        )
    names: list[str | None] = list(variant or spec.variants) or [None]
    reports = {}
    show_progress = progress and stderr_on_terminal()
    for name in names:
        run = Run(spec, name)
        if show_progress:
            with simulation_progress() as bar:
                report = run.run(progress=progress_task(bar, run, name or spec.name))
        else:
            report = run.run()
        reports[name] = report
        click.echo(summary_text(report))
        click.echo()
    document: dict[str, Any] = (
        reports[None] if names == [None] else {"variants": {str(k): v for k, v in reports.items()}}
    )
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(document, indent=1, allow_nan=False))
        click.echo(f"report written to {json_out}")
    if plot_dir is not None:
        from rig.sim.plots import write_plots

        for path in write_plots(list(reports.values()), plot_dir):
            click.echo(f"plot written to {path}")
