import math

import pytest

from rig.results.measure import (
    Limit,
    Measurements,
    Verdict,
    coverage_matrix,
    describe_limits,
    format_measurement,
    worst,
)

LATENCY = Limit(low=0, high=500, marginal_high=300, units="ms")


@pytest.mark.parametrize(
    ("value", "verdict"),
    [
        (0, Verdict.PASS),
        (300, Verdict.PASS),
        (300.1, Verdict.MARGINAL),
        (500, Verdict.MARGINAL),
        (500.1, Verdict.FAIL),
        (-1, Verdict.FAIL),
        (math.nan, Verdict.FAIL),
    ],
)
def test_limit_verdicts_are_inclusive_at_every_bound(value, verdict):
    assert LATENCY.verdict(value) is verdict


def test_a_limit_with_bounds_out_of_order_or_nan_is_refused():
    with pytest.raises(ValueError, match="low <= marginal_low"):
        Limit(high=100, marginal_high=200)
    with pytest.raises(ValueError, match="NaN"):
        Limit(low=math.nan)


def test_limits_in_words():
    assert LATENCY.describe() == "0 .. 500 (marginal > 300)"
    assert Limit(low=5, marginal_low=6).describe() == ">= 5 (marginal < 6)"
    assert describe_limits(None, None, None, None) == "no limit"


def test_measurements_are_judged_written_and_kept():
    written, seen = [], []

    class Sink:
        write = written.append

        def close(self):
            pass

    measure = Measurements(
        Sink(), nodeid="t.py::a", requirements=["SECMP0028 §3"], on_record=seen.append
    )
    assert measure.record("total", 350, limit=LATENCY, requirement="TRT 1") is Verdict.MARGINAL
    assert measure.record("count", 3) is Verdict.PASS  # no limit: recorded, not judged
    assert measure.record("queue", 900, "ms", LATENCY) is Verdict.FAIL
    assert [m.name for m in measure.failures] == ["queue"]
    assert seen == measure.taken
    first = written[0]
    assert first["kind"] == "measurement" and first["units"] == "ms"
    assert first["requirements"] == ["SECMP0028 §3", "TRT 1"]
    assert (first["high"], first["marginal_high"], first["verdict"]) == (500, 300, "marginal")
    assert format_measurement(first) == "350 ms marginal (0 .. 500 (marginal > 300))"
    assert written[1]["units"] is None and written[1]["high"] is None


def test_units_that_disagree_with_the_limit_are_refused():
    with pytest.raises(ValueError, match="measured in s but the limit is in ms"):
        Measurements().record("total", 0.3, "s", LATENCY)


def test_worst_verdict():
    assert worst([Verdict.PASS, Verdict.MARGINAL]) is Verdict.MARGINAL
    assert worst([Verdict.SKIPPED, Verdict.FAIL, Verdict.PASS]) is Verdict.FAIL
    assert worst([]) is Verdict.SKIPPED


def test_coverage_matrix_takes_the_worst_of_outcome_and_measurements():
    tests = [
        {"nodeid": "a", "outcome": "passed", "requirements": ["R1", "R2"]},
        {"nodeid": "b", "outcome": "passed", "requirements": ["R1"]},
        {"nodeid": "c", "outcome": "skipped", "requirements": ["R3"]},
        {"nodeid": "d", "outcome": "failed", "requirements": ["R3"]},
    ]
    measurements = [
        {"nodeid": "b", "verdict": "marginal", "requirements": ["R1"]},
        {"nodeid": "e", "verdict": "pass", "requirements": ["R4"]},  # no test record
    ]
    matrix = {row.requirement: row for row in coverage_matrix(tests, measurements)}
    assert list(matrix) == ["R1", "R2", "R3", "R4"]
    assert dict(matrix["R1"].tests) == {"a": Verdict.PASS, "b": Verdict.MARGINAL}
    assert matrix["R1"].verdict is Verdict.MARGINAL
    assert matrix["R2"].verdict is Verdict.PASS
    assert dict(matrix["R3"].tests) == {"c": Verdict.SKIPPED, "d": Verdict.FAIL}
    assert matrix["R4"].verdict is Verdict.PASS


def test_a_teardown_error_after_a_pass_counts_against_the_test():
    tests = [
        {"nodeid": "a", "outcome": "passed", "requirements": ["R1"]},
        {"nodeid": "a", "outcome": "error", "requirements": ["R1"]},
    ]
    (row,) = coverage_matrix(tests, [])
    assert row.tests["a"] is Verdict.FAIL
