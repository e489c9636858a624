"""Two runs side by side: the gate a nightly job runs (docs/reports.md "Comparing runs").

Run B (the new one) is judged against run A (the baseline) on four things:

- **tests**: a test that passed in A and fails (or errors) in B regressed; a test failing in
  B that did not fail in A is a new failure; one failing in both is still failing;
- **measurements**: a limit that passed in A and fails in B regressed; any limit B fails,
  fails the gate;
- **coverage**: a requirement (or an SRV that carried requests) covered in A but not in B;
- **latency**: per SRV and hop, a percentile *regresses* when B's is slower than A's by more
  than ``threshold`` (a fraction of A's) and by more than ``floor_s`` (so microsecond jitter on
  a fast hop is not a regression); it *improves* by the same rule the other way. A hop is only
  judged when both runs have at least ``min_samples`` successful requests on it. An SRV also
  regresses when B fails a larger share of its requests than A.

:meth:`Comparison.exit_status` is 1 when B regressed or fails anything, else 0;
:func:`configuration_differences` says which parts of the configuration differ (the command
exits 2 rather than compare them, unless told to).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from rig.report.run import FAILING, RunData, merged_tests, unexpected_failures
from rig.results.config import differing_parts
from rig.results.measure import Verdict, coverage_matrix, format_measurement
from rig.results.record import HOPS
from rig.results.report import HopStats, SrvSummary, summarise

PERCENTILES = ("p50", "p95", "p99")

#: Fewest successful requests on a hop, in each run, to judge its latency. [ASSUMED] With the
#: nearest-rank method (rig/results/report.py) the p95 of fewer than 20 values is the sample's
#: maximum, so one outlier would decide it; the p99 is the maximum below 100 values, so on
#: fewer than 100 a p99 change is one request's.
MIN_SAMPLES = 20


class Change(StrEnum):
    REGRESSED = "regressed"
    IMPROVED = "improved"
    SAME = "same"
    ONLY_A = "only in A"
    ONLY_B = "only in B"
    FEW_SAMPLES = "not enough samples"
    NEW_FAILURE = "new failure"
    STILL_FAILING = "still failing"
    FIXED = "fixed"
    NOW_MARGINAL = "now marginal"
    NOT_COVERED = "not covered in B"


#: Changes that fail the gate.
FAILS_GATE = frozenset(
    {Change.REGRESSED, Change.NEW_FAILURE, Change.STILL_FAILING, Change.NOT_COVERED}
)

_STYLE = {
    **dict.fromkeys(FAILS_GATE, "bold red"),
    Change.IMPROVED: "green",
    Change.FIXED: "green",
    Change.NOW_MARGINAL: "yellow",
    Change.FEW_SAMPLES: "yellow",
}


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
class TestDelta:
    """One test's outcome in both runs (None: not in that run)."""

    nodeid: str
    a: str | None
    b: str | None
    change: Change


@dataclass(frozen=True)
class MeasurementDelta:
    """One measurement (a test's measurement of that name; its worst if taken several times)
    in both runs: its record in each (None: not in that run)."""

    nodeid: str
    name: str
    a: dict[str, Any] | None
    b: dict[str, Any] | None
    change: Change


@dataclass(frozen=True)
class CoverageDelta:
    """A requirement covered in A and not in B: its verdict in each (None: not named)."""

    requirement: str
    a: Verdict
    b: Verdict | None
    change: Change = Change.NOT_COVERED


@dataclass(frozen=True)
class Comparison:
    a: str
    b: str
    hops: list[HopDelta]
    srvs: list[SrvDelta]
    tests: list[TestDelta] = field(default_factory=list)
    measurements: list[MeasurementDelta] = field(default_factory=list)
    coverage: list[CoverageDelta] = field(default_factory=list)
    min_samples: int = MIN_SAMPLES

    def _deltas(self) -> list[HopDelta | SrvDelta | TestDelta | MeasurementDelta | CoverageDelta]:
        return [*self.hops, *self.srvs, *self.tests, *self.measurements, *self.coverage]

    @property
    def regressed(self) -> bool:
        """B regressed against A, or fails a test or a limit."""
        return any(d.change in FAILS_GATE for d in self._deltas())

    @property
    def unjudged(self) -> list[HopDelta]:
        """The hops with too few samples in either run to judge."""
        return [d for d in self.hops if d.change is Change.FEW_SAMPLES]

    def exit_status(self) -> int:
        """0: no regression; 1: a regression or a failure in B."""
        return 1 if self.regressed else 0


def _judge(a: float, b: float, threshold: float, floor_s: float) -> Change:
    margin = max(threshold * a, floor_s)
    if b - a > margin:
        return Change.REGRESSED
    if a - b > margin:
        return Change.IMPROVED
    return Change.SAME


def _hop_change(
    a: HopStats, b: HopStats, threshold: float, floor_s: float, min_samples: int
) -> Change:
    if min(a.count, b.count) < min_samples:
        return Change.FEW_SAMPLES
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
    a: RunData,
    b: RunData,
    *,
    threshold: float = 0.10,
    floor_s: float = 0.001,
    min_samples: int = MIN_SAMPLES,
) -> Comparison:
    """Compare run ``b`` (the new one) against run ``a`` (the baseline)."""
    if threshold < 0 or floor_s < 0 or min_samples < 1:
        raise ValueError("threshold and floor must not be negative, min_samples at least 1")
    by_a = {s.srv: s for s in summarise(_judged_requests(a))}
    by_b = {s.srv: s for s in summarise(_judged_requests(b))}
    srvs = sorted(by_a.keys() | by_b.keys(), key=lambda s: [int(p) for p in s.split(".")])
    hops: list[HopDelta] = []
    counts: list[SrvDelta] = []
    for srv in srvs:
        sa, sb = by_a.get(srv), by_b.get(srv)
        if sa is None or sb is None:  # an SRV A exercised and B did not: coverage lost
            counts.append(
                SrvDelta(srv, sa, sb, Change.ONLY_B if sa is None else Change.NOT_COVERED)
            )
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
                change = _hop_change(ha, hb, threshold, floor_s, min_samples)
            hops.append(HopDelta(srv, hop, ha, hb, change))
    return Comparison(
        a.label,
        b.label,
        hops,
        counts,
        _test_deltas(a, b),
        _measurement_deltas(a, b),
        _coverage_deltas(a, b),
        min_samples,
    )


def _judged_requests(run: RunData) -> list[dict[str, Any]]:
    """The run's requests but the failures a test expected (a negative test's refusals)."""
    expected = {id(r) for r in unexpected_failures(run)[1]}
    return [r for r in run.requests if id(r) not in expected]


def _test_change(a: str | None, b: str | None) -> Change:
    if b is None:
        return Change.ONLY_A
    if b in FAILING:
        if a in FAILING:
            return Change.STILL_FAILING
        return Change.REGRESSED if a in ("passed", "xpassed") else Change.NEW_FAILURE
    if a is None:
        return Change.ONLY_B
    return Change.FIXED if a in FAILING and b == "passed" else Change.SAME


def _test_deltas(a: RunData, b: RunData) -> list[TestDelta]:
    """Every test whose outcome is not the same passing one in both runs."""
    in_a = {n: t["outcome"] for n, t in merged_tests(a).items()}
    in_b = {n: t["outcome"] for n, t in merged_tests(b).items()}
    deltas = [
        TestDelta(n, in_a.get(n), in_b.get(n), _test_change(in_a.get(n), in_b.get(n)))
        for n in sorted(in_a.keys() | in_b.keys())
    ]
    return [d for d in deltas if d.change is not Change.SAME]


def _worst_measurements(run: RunData) -> dict[tuple[str, str], dict[str, Any]]:
    worst: dict[tuple[str, str], dict[str, Any]] = {}
    for m in run.measurements:
        key = (m["nodeid"] or "", m["name"])
        kept = worst.get(key)
        if kept is None or Verdict(m["verdict"]).severity > Verdict(kept["verdict"]).severity:
            worst[key] = m
    return worst


def _measurement_change(a: Verdict | None, b: Verdict | None) -> Change:
    if b is None:
        return Change.ONLY_A
    if b is Verdict.FAIL:
        return Change.STILL_FAILING if a is Verdict.FAIL else Change.REGRESSED
    if a is Verdict.FAIL:
        return Change.FIXED
    if b is Verdict.MARGINAL and a is not Verdict.MARGINAL:
        return Change.NOW_MARGINAL
    return Change.ONLY_B if a is None else Change.SAME


def _measurement_deltas(a: RunData, b: RunData) -> list[MeasurementDelta]:
    """Every measurement whose verdict changed, or that fails in B."""
    in_a, in_b = _worst_measurements(a), _worst_measurements(b)
    deltas = []
    for key in sorted(in_a.keys() | in_b.keys()):
        ma, mb = in_a.get(key), in_b.get(key)
        change = _measurement_change(
            Verdict(ma["verdict"]) if ma else None, Verdict(mb["verdict"]) if mb else None
        )
        if change is not Change.SAME:
            deltas.append(MeasurementDelta(*key, ma, mb, change))
    return deltas


def _coverage_deltas(a: RunData, b: RunData) -> list[CoverageDelta]:
    """The requirements a test covered in A (any verdict but skipped) and none covers in B."""
    covered_b = {r.requirement: r.verdict for r in coverage_matrix(b.tests, b.measurements)}
    return [
        CoverageDelta(row.requirement, row.verdict, covered_b.get(row.requirement))
        for row in coverage_matrix(a.tests, a.measurements)
        if row.verdict is not Verdict.SKIPPED
        and covered_b.get(row.requirement, Verdict.SKIPPED) is Verdict.SKIPPED
    ]


def configuration_differences(a: RunData, b: RunData) -> list[str] | None:
    """The parts of the configuration (plan, bench, tmm, options) that differ between the
    runs; ``None`` when either run does not record its configuration (an older store, JSONL
    files alone), so it cannot be checked."""
    if a.info is None or b.info is None or not a.info.config_hash or not b.info.config_hash:
        return None
    if a.info.config and b.info.config:
        return differing_parts(a.info.config, b.info.config)
    return [] if a.info.config_hash == b.info.config_hash else ["configuration"]


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


def _hop_verdict(delta: HopDelta, min_samples: int) -> str:
    if delta.change is Change.FEW_SAMPLES and delta.a is not None and delta.b is not None:
        n = min(delta.a.count, delta.b.count)
        return _verdict(delta.change) + f" (n={n} < {min_samples})"
    return _verdict(delta.change)


def _measured(record: dict[str, Any] | None) -> str:
    return "-" if record is None else format_measurement(record)


def _details(comparison: Comparison) -> list[str]:
    """A line per test, measurement and requirement that changed (rich markup)."""
    lines = [
        f"  test {escape(d.nodeid)}: A {d.a or '-'}, B {d.b or '-'}: {_verdict(d.change)}"
        for d in comparison.tests
    ]
    lines += [
        f"  measurement {escape(d.name)} ({escape(d.nodeid)}): A {escape(_measured(d.a))}, "
        f"B {escape(_measured(d.b))}: {_verdict(d.change)}"
        for d in comparison.measurements
    ]
    lines += [
        f"  requirement {escape(d.requirement)}: A {d.a}, B {d.b or 'not named'}: "
        f"{_verdict(d.change)}"
        for d in comparison.coverage
    ]
    return lines


def _tally(comparison: Comparison) -> str:
    """What failed the gate, counted: ``2 tests regressed, 1 limit failed``."""
    counts = [
        (sum(d.change in FAILS_GATE for d in comparison.tests), "test(s) failing or regressed"),
        (
            sum(d.change in FAILS_GATE for d in comparison.measurements),
            "limit(s) failed or regressed",
        ),
        (len(comparison.coverage), "requirement(s) no longer covered"),
        (
            sum(h.change in FAILS_GATE for h in comparison.hops)
            + sum(s.change in FAILS_GATE for s in comparison.srvs),
            "SRV latency or failure-rate regression(s)",
        ),
    ]
    return ", ".join(f"{n} {what}" for n, what in counts if n)


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
            _hop_verdict(d, comparison.min_samples),
            end_section=d.hop == "total",
        )
        previous = d.srv
    console.print(table)
    for s in comparison.srvs:
        a = f"{s.a.ok} ok / {s.a.failed} failed" if s.a else "-"
        b = f"{s.b.ok} ok / {s.b.failed} failed" if s.b else "-"
        console.print(f"  SRV {s.srv}: A {a}, B {b}: {_verdict(s.change)}")
    for line in _details(comparison):
        console.print(line)
    if comparison.regressed:
        console.print(f"[bold red]REGRESSION[/]: B is worse than A or fails: {_tally(comparison)}")
        return
    unjudged = comparison.unjudged
    note = (
        f"; {len(unjudged)} latency row(s) not judged: not enough samples "
        f"(fewer than {comparison.min_samples} in A or B)"
        if unjudged
        else ""
    )
    console.print(f"[green]no regression[/]{note}")
