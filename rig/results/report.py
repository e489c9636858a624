"""The latency report: per SRV, the count and p50 / p95 / p99 / max of every hop.

Percentiles use the nearest-rank method (the smallest value with at least p% of the sample at
or below it), so every figure printed is a latency that was actually measured.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from rig.results.record import HOPS


def nearest_rank(sorted_values: Sequence[float], percent: float) -> float:
    """The nearest-rank percentile of an ascending, non-empty sequence."""
    if not sorted_values:
        raise ValueError("percentile of an empty sample")
    if not 0 < percent <= 100:
        raise ValueError(f"percentile {percent} is outside (0, 100]")
    rank = math.ceil(percent / 100 * len(sorted_values))
    return sorted_values[rank - 1]


@dataclass(frozen=True)
class HopStats:
    count: int
    p50: float
    p95: float
    max: float
    p99: float

    @classmethod
    def of(cls, values: Iterable[float]) -> HopStats:
        ordered = sorted(values)
        p50, p95, p99 = (nearest_rank(ordered, p) for p in (50, 95, 99))
        return cls(len(ordered), p50, p95, ordered[-1], p99)


@dataclass(frozen=True)
class SrvSummary:
    srv: str
    ok: int
    failed: int
    hops: Mapping[str, HopStats]
    reasons: Mapping[str, int]


def summarise(records: Iterable[Mapping[str, Any]]) -> list[SrvSummary]:
    """Group request records by SRV; latency statistics come from successful requests only."""
    by_srv: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        by_srv.setdefault(_group(record), []).append(record)
    summaries = []
    for srv in sorted(by_srv, key=_srv_order):
        group = by_srv[srv]
        good = [r for r in group if r["outcome"] == "ok"]
        reasons: dict[str, int] = {}
        for r in group:
            if r["outcome"] != "ok":
                reasons[r["reason"]] = reasons.get(r["reason"], 0) + 1
        hops = {
            hop: HopStats.of(r["latency_s"][hop] for r in good)
            for hop in HOPS
            if good and all(hop in r["latency_s"] for r in good)
        }
        summaries.append(SrvSummary(srv, len(good), len(group) - len(good), hops, reasons))
    return summaries


#: How the requests that came in by HTTP (``rig serve``) are grouped apart from a plan's own.
VIA_HTTP = " via HTTP"


def _group(record: Mapping[str, Any]) -> str:
    """A request's row in the report: its SRV, ``2.2 via HTTP`` for one an adapter POSTed (its
    hops include ``http_in``/``http_out``; docs/dcc-boxed.md "Timestamps")."""
    srv = str(record["srv"])
    return srv + VIA_HTTP if "received" in record.get("stamps", {}) else srv


def _srv_order(group: str) -> tuple[list[int], str]:
    srv, _, via = group.partition(" ")
    return [int(p) for p in srv.split(".")], via


def render(summaries: Sequence[SrvSummary], console: Console, *, title: str) -> None:
    """Print one table: a row per SRV and hop, latencies in milliseconds."""
    table = Table(title=title, title_justify="left")
    table.add_column("SRV")
    table.add_column("ok", justify="right")
    table.add_column("failed", justify="right")
    table.add_column("hop")
    for column in ("p50 ms", "p95 ms", "p99 ms", "max ms"):
        table.add_column(column, justify="right")
    for summary in summaries:
        first = True
        for hop, stats in summary.hops.items():
            table.add_row(
                summary.srv if first else "",
                str(summary.ok) if first else "",
                str(summary.failed) if first else "",
                hop,
                f"{stats.p50 * 1e3:.3f}",
                f"{stats.p95 * 1e3:.3f}",
                f"{stats.p99 * 1e3:.3f}",
                f"{stats.max * 1e3:.3f}",
                end_section=hop == "total",
            )
            first = False
        if first:
            table.add_row(summary.srv, str(summary.ok), str(summary.failed), "-", "", "", "", "")
    console.print(table)
    for summary in summaries:
        for reason, count in summary.reasons.items():
            console.print(f"  SRV {summary.srv}: {count} failed: {reason}")
