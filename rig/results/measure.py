"""Measurements with limits: a named value, its units, the limits the plan declares and a verdict.

A :class:`Limit` has pass limits (``low`` / ``high``, inclusive) and, inside them, an optional
marginal band: a value outside ``marginal_low`` / ``marginal_high`` but within the pass limits
is *marginal* (it passes, and the report flags it). Plans declare limits as data::

    TOTAL_LATENCY = Limit(high=500, marginal_high=300, units="ms")

    @pytest.mark.requirement("SECMP0028 §3")
    def test_top_up_latency(rig, measure):
        record = rig.top_up("esme", pounds=5)
        measure.record("top-up total latency", record.latencies()["total"] * 1e3,
                       limit=TOTAL_LATENCY)

:class:`Measurements` writes each measurement to a results sink (store or JSONL) the moment it
is taken; :func:`coverage_matrix` turns recorded tests and measurements into the requirement
coverage matrix (requirement → tests → verdicts).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from rig.results.store import Sink


class Verdict(StrEnum):
    """A measurement's verdict; a test's in the coverage matrix adds ``skipped``."""

    PASS = "pass"
    MARGINAL = "marginal"
    FAIL = "fail"
    SKIPPED = "skipped"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_SEVERITY = {Verdict.SKIPPED: 0, Verdict.PASS: 1, Verdict.MARGINAL: 2, Verdict.FAIL: 3}


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    """The most severe verdict (fail > marginal > pass > skipped); skipped for none."""
    return max(verdicts, key=lambda v: v.severity, default=Verdict.SKIPPED)


@dataclass(frozen=True)
class Limit:
    """Pass limits and an optional marginal band inside them; any bound may be absent."""

    low: float | None = None
    high: float | None = None
    marginal_low: float | None = None
    marginal_high: float | None = None
    units: str | None = "ms"

    def __post_init__(self) -> None:
        bounds = [self.low, self.marginal_low, self.marginal_high, self.high]
        given = [b for b in bounds if b is not None]
        if any(math.isnan(b) for b in given):
            raise ValueError(f"{self}: a limit cannot be NaN")
        if given != sorted(given):
            raise ValueError(f"{self}: need low <= marginal_low <= marginal_high <= high")

    def verdict(self, value: float) -> Verdict:
        """fail outside [low, high] (or NaN); marginal outside the marginal band; else pass."""
        if math.isnan(value):
            return Verdict.FAIL
        if (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        ):
            return Verdict.FAIL
        if (self.marginal_low is not None and value < self.marginal_low) or (
            self.marginal_high is not None and value > self.marginal_high
        ):
            return Verdict.MARGINAL
        return Verdict.PASS

    def describe(self) -> str:
        """The limits in words, e.g. ``<= 500 (marginal > 300)``; ``no limit`` if none."""
        return describe_limits(self.low, self.high, self.marginal_low, self.marginal_high)


def describe_limits(
    low: float | None, high: float | None, marginal_low: float | None, marginal_high: float | None
) -> str:
    """Limits in words, from the bare bounds (as the store holds them)."""
    if low is not None and high is not None:
        text = f"{low:g} .. {high:g}"
    elif low is not None:
        text = f">= {low:g}"
    elif high is not None:
        text = f"<= {high:g}"
    else:
        text = "no limit"
    marginal = [
        f"< {marginal_low:g}" if marginal_low is not None else "",
        f"> {marginal_high:g}" if marginal_high is not None else "",
    ]
    band = " or ".join(m for m in marginal if m)
    return f"{text} (marginal {band})" if band else text


@dataclass(frozen=True)
class Measurement:
    """One value taken by a test, with its limit and verdict."""

    name: str
    value: float
    units: str | None
    limit: Limit | None
    verdict: Verdict
    nodeid: str = ""
    requirements: tuple[str, ...] = ()
    at: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        limit = self.limit or Limit(units=None)
        return {
            "kind": "measurement",
            "nodeid": self.nodeid,
            "name": self.name,
            "value": self.value,
            "units": self.units,
            "low": limit.low,
            "high": limit.high,
            "marginal_low": limit.marginal_low,
            "marginal_high": limit.marginal_high,
            "verdict": str(self.verdict),
            "requirements": list(self.requirements),
            "at": self.at,
        }


#: A measurement record's bounds, as :func:`describe_limits` takes them.
_BOUNDS = ("low", "high", "marginal_low", "marginal_high")


def format_measurement(record: Mapping[str, Any]) -> str:
    """A measurement record in one line: ``12.3 ms pass (<= 500 (marginal > 300))``."""
    units = f" {record['units']}" if record.get("units") else ""
    bounds = (record.get(k) for k in _BOUNDS)
    return f"{record['value']:g}{units} {record['verdict']} ({describe_limits(*bounds)})"


def _number(value: float) -> str:
    """A number as CI tools parse it: ``840.0``, ``nan``."""
    return repr(float(value))


def junit_properties(record: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A measurement record as JUnit properties, each value a bare number or word so CI tools
    can plot it: ``total.value`` = ``840.0``, ``total.units`` = ``ms``, ``total.low`` /
    ``total.high`` / ``total.marginal_low`` / ``total.marginal_high`` (those the limit has),
    ``total.verdict`` = ``fail``."""
    name = record["name"]
    properties = [(f"{name}.value", _number(record["value"]))]
    if record.get("units"):
        properties.append((f"{name}.units", str(record["units"])))
    properties += [
        (f"{name}.{bound}", _number(record[bound]))
        for bound in _BOUNDS
        if record.get(bound) is not None
    ]
    properties.append((f"{name}.verdict", str(record["verdict"])))
    return properties


def limit_breach(record: Mapping[str, Any]) -> str:
    """Why a failed measurement failed, with its value: ``total 840 ms > limit 500 ms``."""
    units = f" {record['units']}" if record.get("units") else ""
    value = record["value"]
    if math.isnan(value):
        limits = describe_limits(*(record.get(b) for b in _BOUNDS))
        return f"{record['name']} is not a number (limits {limits})"
    low, high = record.get("low"), record.get("high")
    if high is not None and value > high:
        return f"{record['name']} {value:g}{units} > limit {high:g}{units}"
    if low is not None and value < low:
        return f"{record['name']} {value:g}{units} < limit {low:g}{units}"
    return f"{record['name']} {format_measurement(record)}"


class Measurements:
    """The measurements of one test: each is judged, written to ``sink`` and kept.

    ``requirements`` (the test's requirement markers) are attached to every measurement;
    ``on_record`` sees each one (the pytest plugin uses it for JUnit properties).
    """

    def __init__(
        self,
        sink: Sink | None = None,
        *,
        nodeid: str = "",
        requirements: Sequence[str] = (),
        on_record: Callable[[Measurement], None] | None = None,
    ) -> None:
        self.sink = sink
        self.nodeid = nodeid
        self.requirements = tuple(requirements)
        self.taken: list[Measurement] = []
        self._on_record = on_record

    def record(
        self,
        name: str,
        value: float,
        units: str | None = None,
        limit: Limit | None = None,
        requirement: str | Sequence[str] | None = None,
    ) -> Verdict:
        """Judge ``value`` against ``limit`` (pass if none), write it down, return the verdict.

        ``units`` defaults to the limit's; giving both, they must agree. ``requirement`` adds
        requirement references to this measurement only.
        """
        if limit is not None and units is not None and limit.units not in (None, units):
            raise ValueError(f"{name}: measured in {units} but the limit is in {limit.units}")
        if units is None and limit is not None:
            units = limit.units
        extra = (requirement,) if isinstance(requirement, str) else tuple(requirement or ())
        value = float(value)
        measurement = Measurement(
            name=name,
            value=value,
            units=units,
            limit=limit,
            verdict=limit.verdict(value) if limit else Verdict.PASS,
            nodeid=self.nodeid,
            requirements=tuple(dict.fromkeys((*self.requirements, *extra))),
        )
        self.taken.append(measurement)
        if self.sink is not None:
            self.sink.write(measurement.to_json())
        if self._on_record is not None:
            self._on_record(measurement)
        return measurement.verdict

    @property
    def failures(self) -> list[Measurement]:
        return [m for m in self.taken if m.verdict is Verdict.FAIL]


# -- requirement coverage ---------------------------------------------------------------------

#: pytest outcomes as coverage verdicts: an expected failure (xfail) demonstrates nothing,
#: as a skipped test does.
_TEST_VERDICTS = {
    "passed": Verdict.PASS,
    "xpassed": Verdict.PASS,
    "failed": Verdict.FAIL,
    "error": Verdict.FAIL,
    "skipped": Verdict.SKIPPED,
    "xfailed": Verdict.SKIPPED,
}


@dataclass(frozen=True)
class RequirementCoverage:
    """One requirement: the verdict of every test that covers it, and the worst of them."""

    requirement: str
    tests: Mapping[str, Verdict]

    @property
    def verdict(self) -> Verdict:
        return worst(self.tests.values())


def coverage_matrix(
    tests: Iterable[Mapping[str, Any]], measurements: Iterable[Mapping[str, Any]]
) -> list[RequirementCoverage]:
    """Requirement → test → verdict, from ``test`` and ``measurement`` records.

    A test's verdict is its outcome, made marginal by a marginal measurement and failed by a
    failed one; a measurement also covers the requirements named on it alone.
    """
    tests, measurements = list(tests), list(measurements)
    measured: dict[str, list[Verdict]] = {}
    for m in measurements:
        measured.setdefault(m["nodeid"], []).append(Verdict(m["verdict"]))
    verdict_of: dict[str, Verdict] = {}
    for test in tests:
        outcome = _TEST_VERDICTS.get(test["outcome"], Verdict.FAIL)
        if outcome is not Verdict.SKIPPED:
            outcome = worst([outcome, *measured.get(test["nodeid"], ())])
        verdict_of[test["nodeid"]] = outcome
    matrix: dict[str, dict[str, Verdict]] = {}

    def cover(requirement: str, nodeid: str, verdict: Verdict) -> None:
        row = matrix.setdefault(requirement, {})
        row[nodeid] = worst([row[nodeid], verdict]) if nodeid in row else verdict

    for test in tests:
        for requirement in test.get("requirements") or ():
            cover(requirement, test["nodeid"], verdict_of[test["nodeid"]])
    for m in measurements:
        for requirement in m.get("requirements") or ():
            cover(requirement, m["nodeid"], verdict_of.get(m["nodeid"], Verdict(m["verdict"])))
    return [RequirementCoverage(r, matrix[r]) for r in sorted(matrix)]
