"""Two runs side by side: per SRV and hop, the p50 / p95 / p99 of each and a regression verdict.

A percentile *regresses* when run B's is slower than run A's by more than ``threshold`` (a
fraction of A's) and by more than ``floor_s`` (so microsecond jitter on a fast hop is not a
regression); it *improves* by the same rule the other way. A hop regresses if any of its
percentiles does. An SRV also regresses when B fails a larger share of its requests than A.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from rich import box
from rich.console import Console
from rich.table import Table

from rig.report.run import RunData
from rig.results.record import HOPS
from rig.results.report import HopStats, SrvSummary, summarise

PERCENTILES = ("p50", "p95", "p99")


class Change(StrEnum):
    REGRESSED = "regressed"
    IMPROVED = "improved"
    SAME = "same"
    ONLY_A = "only in A"
    ONLY_B = "only in B"


_STYLE = {Change.REGRESSED: "bold red", Change.IMPROVED: "green"}


@dataclass(frozen=True)
class HopDelta:
    """One SRV and hop in both runs."""

    srv: str
    hop: str
    a: HopStats | None
    b: HopStats | None
    change: Change


@dataclass(frozen=True)
class SrvDelta:
    """One SRV's request counts in both runs."""

    srv: str
    a: SrvSummary | None
    b: SrvSummary | None
    change: Change


@dataclass(frozen=True)
class Comparison:
    a: str
    b: str
    hops: list[HopDelta]
    srvs: list[SrvDelta]

    @property
    def regressed(self) -> bool:
        return any(d.change is Change.REGRESSED for d in (*self.hops, *self.srvs))


def _judge(a: float, b: float, threshold: float, floor_s: float) -> Change:
    margin = max(threshold * a, floor_s)
    if b - a > margin:
        return Change.REGRESSED
    if a - b > margin:
        return Change.IMPROVED
    return Change.SAME


def _hop_change(a: HopStats, b: HopStats, threshold: float, floor_s: float) -> Change:
    changes = {_judge(getattr(a, p), getattr(b, p), threshold, floor_s) for p in PERCENTILES}
    for change in (Change.REGRESSED, Change.IMPROVED):
        if change in changes:
            return change
    return Change.SAME


def _failure_change(a: SrvSummary, b: SrvSummary) -> Change:
    rate_a = a.failed / (a.ok + a.failed)
    rate_b = b.failed / (b.ok + b.failed)
    if rate_b > rate_a:
        return Change.REGRESSED
    return Change.IMPROVED if rate_b < rate_a else Change.SAME


def compare(
    a: RunData, b: RunData, *, threshold: float = 0.10, floor_s: float = 0.001
) -> Comparison:
    """Compare run ``b`` (the new one) against run ``a`` (the baseline)."""
    if threshold < 0 or floor_s < 0:
        raise ValueError("threshold and floor must not be negative")
    by_a = {s.srv: s for s in summarise(a.requests)}
    by_b = {s.srv: s for s in summarise(b.requests)}
    srvs = sorted(by_a.keys() | by_b.keys(), key=lambda s: [int(p) for p in s.split(".")])
    hops: list[HopDelta] = []
    counts: list[SrvDelta] = []
    for srv in srvs:
        sa, sb = by_a.get(srv), by_b.get(srv)
        if sa is None or sb is None:
            counts.append(SrvDelta(srv, sa, sb, Change.ONLY_B if sa is None else Change.ONLY_A))
        else:
            counts.append(SrvDelta(srv, sa, sb, _failure_change(sa, sb)))
        for hop in HOPS:
            ha = sa.hops.get(hop) if sa else None
            hb = sb.hops.get(hop) if sb else None
            if ha is None and hb is None:
                continue
            if ha is None or hb is None:
                change = Change.ONLY_B if ha is None else Change.ONLY_A
            else:
                change = _hop_change(ha, hb, threshold, floor_s)
            hops.append(HopDelta(srv, hop, ha, hb, change))
    return Comparison(a.label, b.label, hops, counts)


def _ms(seconds: float) -> str:
    ms = seconds * 1e3
    return f"{ms:.1f}" if ms >= 10 else f"{ms:.3f}"


def _cell(delta: HopDelta, percentile: str) -> str:
    """``A→B`` in milliseconds, e.g. ``116.9→130.2``."""
    a, b = (
        "-" if stats is None else _ms(getattr(stats, percentile)) for stats in (delta.a, delta.b)
    )
    return f"{a}→{b}"


def _largest_change(delta: HopDelta) -> str:
    """The percentile change of largest size, e.g. ``+11%``; empty if not in both runs."""
    if delta.a is None or delta.b is None:
        return ""
    changes = [
        (getattr(delta.b, p) - getattr(delta.a, p)) / getattr(delta.a, p)
        for p in PERCENTILES
        if getattr(delta.a, p) > 0
    ]
    return f"{max(changes, key=abs):+.0%}" if changes else ""


def _verdict(change: Change) -> str:
    style = _STYLE.get(change)
    return f"[{style}]{change}[/]" if style else str(change)


def render_comparison(comparison: Comparison, console: Console) -> None:
    """Print the comparison: a row per SRV and hop, then the request counts per SRV."""
    table = Table(
        title=f"Latency: A = {comparison.a}, B = {comparison.b}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("SRV", no_wrap=True)
    table.add_column("hop", no_wrap=True)
    for p in PERCENTILES:
        table.add_column(f"{p} ms A→B", justify="right", no_wrap=True)
    table.add_column("Δ", justify="right", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    previous = None
    for d in comparison.hops:
        table.add_row(
            d.srv if d.srv != previous else "",
            d.hop,
            *(_cell(d, p) for p in PERCENTILES),
            _largest_change(d),
            _verdict(d.change),
            end_section=d.hop == "total",
        )
        previous = d.srv
    console.print(table)
    for s in comparison.srvs:
        a = f"{s.a.ok} ok / {s.a.failed} failed" if s.a else "-"
        b = f"{s.b.ok} ok / {s.b.failed} failed" if s.b else "-"
        console.print(f"  SRV {s.srv}: A {a}, B {b}: {_verdict(s.change)}")
    if comparison.regressed:
        console.print("[bold red]REGRESSION[/]: B is worse than A")
    else:
        console.print("[green]no regression[/]")
