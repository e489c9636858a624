"""The requirement coverage matrix in a terminal: one row per requirement (seed document and
clause) with its verdict, how many tests covered it by verdict, and the tests that did not pass;
and the measurements that did not plainly pass (marginal: inside the limits but outside the
marginal band the limit declares; failed).

The matrix itself is :func:`rig.results.measure.coverage_matrix`; the HTML report and the JUnit XML
show the same rows (docs/reading-the-report.md).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from rig.results.measure import RequirementCoverage, Verdict, format_measurement

_STYLE = {
    Verdict.PASS: "green",
    Verdict.MARGINAL: "yellow",
    Verdict.FAIL: "bold red",
    Verdict.SKIPPED: "dim",
}


def tally(row: RequirementCoverage) -> str:
    """How a requirement's tests went, worst first: ``1 fail, 3 pass``."""
    counts = Counter(row.tests.values())
    ordered = sorted(counts, key=lambda v: -v.severity)
    return ", ".join(f"{counts[v]} {v}" for v in ordered)


def render_coverage(matrix: Sequence[RequirementCoverage], console: Console) -> None:
    """Print the matrix as a table (nothing if no test named a requirement)."""
    if not matrix:
        return
    table = Table(title="Requirement coverage", title_justify="left")
    table.add_column("requirement")
    table.add_column("verdict")
    table.add_column("tests")
    table.add_column("not passed")
    for row in matrix:
        style = _STYLE[row.verdict]
        worse = [n for n, v in row.tests.items() if v.severity > Verdict.PASS.severity]
        table.add_row(
            row.requirement,
            f"[{style}]{row.verdict}[/]",
            tally(row),
            "\n".join(f"{row.tests[n]}: {n}" for n in worse),
        )
    verdicts = Counter(row.verdict for row in matrix)
    console.print(table)
    console.print(
        f"{len(matrix)} requirements: "
        + ", ".join(f"{verdicts[v]} {v}" for v in sorted(verdicts, key=lambda v: -v.severity))
    )


def render_measurements(measurements: Sequence[Mapping[str, Any]], console: Console) -> None:
    """Count the measurements by verdict and list the marginal and failed ones (nothing if no
    measurement was taken)."""
    if not measurements:
        return
    verdicts = Counter(Verdict(m["verdict"]) for m in measurements)
    flagged = [m for m in measurements if m["verdict"] in (Verdict.MARGINAL, Verdict.FAIL)]
    if flagged:
        table = Table(title="Marginal and failed measurements", title_justify="left")
        table.add_column("test")
        table.add_column("measurement")
        table.add_column("value, verdict (limits)")
        for m in sorted(flagged, key=lambda m: -Verdict(m["verdict"]).severity):
            style = _STYLE[Verdict(m["verdict"])]
            table.add_row(m["nodeid"] or "", m["name"], f"[{style}]{format_measurement(m)}[/]")
        console.print(table)
    console.print(
        f"{len(measurements)} measurements: "
        + ", ".join(f"{verdicts[v]} {v}" for v in sorted(verdicts, key=lambda v: -v.severity))
    )
