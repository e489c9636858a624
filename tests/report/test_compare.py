import io

import pytest
from report_data import measurement, outcome, request, requests
from rich.console import Console

from rig.report.compare import Change, compare, render_comparison
from rig.report.run import RunData


def run(label, records):
    return RunData.of_records(label, records)


def hop(comparison, srv, name):
    return next(d for d in comparison.hops if d.srv == srv and d.hop == name)


def test_a_slower_total_beyond_threshold_and_floor_regresses():
    a = run("a", requests("2.2", [0.100] * 20))
    b = run("b", requests("2.2", [0.100] * 18 + [0.200] * 2))  # p95 and p99 doubled
    comparison = compare(a, b, threshold=0.10, floor_s=0.001)
    assert hop(comparison, "2.2", "total").change is Change.REGRESSED
    assert comparison.regressed
    same = compare(a, b, threshold=1.5)  # a 100 % rise is within a 150 % threshold
    assert hop(same, "2.2", "total").change is Change.SAME


def test_jitter_under_the_floor_is_not_a_regression():
    a = run("a", requests("7.4", [0.0001] * 20))
    b = run("b", requests("7.4", [0.0005] * 20))  # 5x slower but 0.4 ms
    assert not compare(a, b, threshold=0.10, floor_s=0.001).regressed
    assert compare(a, b, threshold=0.10, floor_s=0.0001).regressed


def test_faster_is_improved_and_srvs_in_one_run_only_are_named():
    a = run("a", requests("2.2", [0.2] * 20) + requests("7.4", [0.1] * 20))
    b = run("b", requests("2.2", [0.1] * 20) + requests("8.1.1", [0.1] * 20))
    comparison = compare(a, b)
    assert hop(comparison, "2.2", "total").change is Change.IMPROVED
    assert hop(comparison, "7.4", "total").change is Change.ONLY_A
    assert hop(comparison, "8.1.1", "total").change is Change.ONLY_B
    assert [s.srv for s in comparison.srvs] == ["2.2", "7.4", "8.1.1"]
    changes = {s.srv: s.change for s in comparison.srvs}
    assert changes["7.4"] is Change.NOT_COVERED and changes["8.1.1"] is Change.ONLY_B
    assert comparison.regressed  # B no longer exercises SRV 7.4


def test_a_higher_failure_rate_regresses_the_srv():
    a = run("a", requests("2.2", [0.1] * 10))
    b = run("b", [*requests("2.2", [0.1] * 9), request(99, "2.2", ok=False)])
    comparison = compare(a, b)
    (srv,) = comparison.srvs
    assert srv.change is Change.REGRESSED and comparison.regressed


def test_negative_thresholds_are_refused():
    with pytest.raises(ValueError, match="negative"):
        compare(run("a", []), run("b", []), threshold=-1)


def test_the_table_shows_both_runs_and_the_verdict():
    a = run("nightly-41", requests("2.2", [0.100] * 20))
    b = run("nightly-42", requests("2.2", [0.150] * 20))
    buffer = io.StringIO()
    render_comparison(compare(a, b), Console(file=buffer, width=100))
    text = buffer.getvalue()
    assert "A = nightly-41, B = nightly-42" in text
    assert "100.0→150.0" in text and "+50%" in text and "regressed" in text
    assert "REGRESSION" in text


def test_a_failed_limit_in_b_fails_the_gate_even_with_the_same_latency():
    records = requests("2.2", [0.1] * 20)
    a = run("a", [*records, outcome("p::t"), measurement("p::t", 120)])
    b = run("b", [*records, outcome("p::t", "failed"), measurement("p::t", 840, verdict="fail")])
    comparison = compare(a, b)
    (limit,) = comparison.measurements
    assert limit.change is Change.REGRESSED and limit.b["value"] == 840
    (test,) = comparison.tests
    assert (test.a, test.b, test.change) == ("passed", "failed", Change.REGRESSED)
    assert comparison.regressed and comparison.exit_status() == 1


def test_a_limit_failing_in_both_runs_still_fails_the_gate():
    a = run("a", [measurement("p::t", 900, verdict="fail")])
    b = run("b", [measurement("p::t", 900, verdict="fail")])
    (limit,) = compare(a, b).measurements
    assert limit.change is Change.STILL_FAILING and compare(a, b).exit_status() == 1


def test_test_outcomes_new_failures_still_failing_and_fixed():
    a = run(
        "a",
        [outcome("p::gone"), outcome("p::old", "failed"), outcome("p::fix", "error")],
    )
    b = run(
        "b",
        [
            outcome("p::new", "failed"),
            outcome("p::old", "failed"),
            outcome("p::fix"),
            outcome("p::skip", "skipped"),
        ],
    )
    comparison = compare(a, b)
    changes = {d.nodeid: d.change for d in comparison.tests}
    assert changes == {
        "p::gone": Change.ONLY_A,
        "p::new": Change.NEW_FAILURE,
        "p::old": Change.STILL_FAILING,
        "p::fix": Change.FIXED,
        "p::skip": Change.ONLY_B,
    }
    assert comparison.exit_status() == 1


def test_a_requirement_covered_in_a_and_not_in_b_is_a_regression():
    a = run("a", [outcome("p::t", "passed", "SECMP0067"), outcome("p::u", "passed", "R2")])
    b = run("b", [outcome("p::t", "skipped", "SECMP0067"), outcome("p::u", "passed", "R2")])
    comparison = compare(a, b)
    (lost,) = comparison.coverage
    assert lost.requirement == "SECMP0067" and lost.b == "skipped"
    assert comparison.regressed


def test_a_latency_change_on_too_few_samples_is_not_judged():
    a = run("a", requests("2.2", [0.1] * 5))
    b = run("b", requests("2.2", [0.5] * 5))
    comparison = compare(a, b)
    assert hop(comparison, "2.2", "total").change is Change.FEW_SAMPLES
    assert not comparison.regressed
    assert compare(a, b, min_samples=5).regressed
    buffer = io.StringIO()
    render_comparison(comparison, Console(file=buffer, width=140))
    text = buffer.getvalue()
    assert "not enough samples (n=5 < 20)" in text
    assert "no regression; 6 latency row(s) not judged" in text
