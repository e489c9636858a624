"""PNG plots for ``rig simulate --plot`` (matplotlib, the optional ``plot`` extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

INSTALL_HINT = "pip install 'gb-smart-rig[plot]'  (or: pip install matplotlib)"


def require_matplotlib() -> None:
    """Fail early, saying how to install it, if matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise click.ClickException(
            f"--plot needs matplotlib, which is not installed: {INSTALL_HINT}"
        ) from None


def write_plots(reports: list[dict[str, Any]], out: Path) -> list[Path]:
    """Per run: gauges (queue depths) and end-to-end latency per priority level over time;
    with several variants, one more figure comparing their latency per level."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for report in reports:
        series = report["series"]
        t_min = [t / 60 for t in series["t_s"]]
        fig, (gauges, latency) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
        for name in ("queue_depth", "held", "csp_in_flight", "northbound_depth"):
            gauges.plot(t_min, series[name], label=name.replace("_", " "))
        gauges.set_ylabel("items")
        gauges.set_yscale("symlog")
        gauges.legend(loc="upper right")
        _latency(latency, series)
        latency.set_xlabel("simulated time (min)")
        fig.suptitle(_title(report))
        written.append(_save(fig, out / f"{_stem(report)}.png"))
        plt.close(fig)
    if len(reports) > 1:
        fig, axes = plt.subplots(len(reports), 1, figsize=(10, 3.5 * len(reports)), sharex=True,
                                 sharey=True, squeeze=False)  # fmt: skip
        for ax, report in zip(axes[:, 0], reports, strict=True):
            _latency(ax, report["series"])
            ax.set_title(_title(report))
        axes[-1, 0].set_xlabel("simulated time (min)")
        written.append(_save(fig, out / f"{reports[0]['scenario']}-variants.png"))
        plt.close(fig)
    return written


def _latency(ax: Any, series: dict[str, Any]) -> None:
    t_min = [t / 60 for t in series["t_s"]]
    for group, values in series["end_to_end_latency_s"].items():
        if any(v is not None for v in values["mean"]):
            mean = [float("nan") if v is None else v for v in values["mean"]]
            ax.plot(t_min, mean, label=f"{group} (mean)")
    ax.set_ylabel("end-to-end latency (s)")
    ax.set_yscale("log")
    ax.legend(loc="upper right", fontsize="small")


def _title(report: dict[str, Any]) -> str:
    variant = report["variant"]
    return report["scenario"] + (f" — {variant}" if variant else "")


def _stem(report: dict[str, Any]) -> str:
    return report["scenario"] + (f"-{report['variant']}" if report["variant"] else "")


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path
