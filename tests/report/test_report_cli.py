import pytest
from click.testing import CliRunner
from report_data import measurement, outcome, requests, write_run

from rig.report.commands import report
from rig.results.jsonl import RESULTS_FILE, JsonlWriter

pytest_plugins = ["pytester"]


def invoke(*args):
    return CliRunner().invoke(report, [str(a) for a in args], terminal_width=120)


@pytest.fixture
def history(tmp_path):
    """A store with two nightly runs; the second is slower."""
    store = tmp_path / "history.sqlite"
    write_run(tmp_path / "nightly-41", requests("2.2", [0.100] * 20), store=store)
    write_run(tmp_path / "nightly-42", requests("2.2", [0.300] * 20), store=store)
    return store


def test_a_run_folder_prints_the_latency_table(tmp_path):
    write_run(tmp_path / "run", requests("2.2", [0.1] * 3) + requests("7.4", [0.05] * 2))
    result = invoke(tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert "Latency report: run" in result.output
    assert "p99 ms" in result.output and "100.000" in result.output and "7.4" in result.output


def test_a_folder_with_jsonl_files_only_is_read_across_worker_subfolders(tmp_path):
    for worker, srv in (("gw0", "2.2"), ("gw1", "7.4")):
        with JsonlWriter(tmp_path / "run" / worker / RESULTS_FILE) as writer:
            for record in requests(srv, [0.1]):
                writer.write(record)
    result = invoke(tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert "2.2" in result.output and "7.4" in result.output


def test_a_store_and_run_id_in_either_form(history):
    for args in ((history, "nightly-41"), (f"{history}#nightly-41",)):
        result = invoke(*args)
        assert result.exit_code == 0, result.output
        assert "Latency report: nightly-41" in result.output and "100.000" in result.output
    latest = invoke(history)
    assert "nightly-42" in latest.output and "300.000" in latest.output


def test_compare_two_runs_exits_1_on_a_regression(tmp_path, history):
    result = invoke("--compare", tmp_path / "nightly-41", tmp_path / "nightly-42")
    assert result.exit_code == 1
    assert "regressed" in result.output and "+200%" in result.output
    back = invoke("--compare", f"{history}#nightly-42", f"{history}#nightly-41")
    assert back.exit_code == 0 and "improved" in back.output


def test_compare_one_store_compares_its_last_two_runs(history):
    result = invoke("--compare", history, "--threshold", "250")
    assert result.exit_code == 0, result.output
    assert "A = nightly-41, B = nightly-42" in result.output


def test_list_the_runs_of_a_store(history):
    assert invoke("--list", history).output.split() == ["nightly-41", "nightly-42"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nowhere",), "no such run folder"),
        (("a", "b", "c"), "name one RUN"),
        (("--compare", "a"), "--compare takes RUN_A RUN_B"),
    ],
)
def test_bad_arguments_are_explained(tmp_path, args, message):
    result = invoke(*args)
    assert result.exit_code != 0 and message in result.output


def test_an_unknown_run_id_lists_the_known_ones(history):
    result = invoke(history, "nightly-1")
    assert result.exit_code == 1 and "runs: nightly-41, nightly-42" in result.output


def test_an_empty_folder_is_explained(tmp_path):
    (tmp_path / "empty").mkdir()
    result = invoke(tmp_path / "empty")
    assert result.exit_code == 1 and "neither results.sqlite nor results.jsonl" in result.output


def test_html_and_junit_reports_are_written(tmp_path):
    records = [
        *requests("2.2", [0.1] * 3),
        {"kind": "test", "nodeid": "p.py::test_a", "outcome": "passed", "requirements": ["R"]},
    ]
    write_run(tmp_path / "run", records)
    html, junit = tmp_path / "out" / "r.html", tmp_path / "out" / "j.xml"
    result = invoke(tmp_path / "run", "--html", html, "--junit", junit)
    assert result.exit_code == 0, result.output
    assert f"HTML report: {html}" in result.output and f"JUnit XML: {junit}" in result.output
    assert "<svg" in html.read_text() and 'name="test_a"' in junit.read_text()


CONFIG = {"plan": "p1", "bench": "b1", "tmm": "t1", "options": "o1"}


def nightly(tmp_path, name, *extra, config=CONFIG):
    records = [*requests("2.2", [0.1] * 20), *extra]
    write_run(tmp_path / name, records, config=config)
    return tmp_path / name


def test_compare_exits_1_when_b_fails_a_measurement_limit(tmp_path):
    a = nightly(tmp_path, "a", outcome("p::t"), measurement("p::t", 120))
    failed = measurement("p::t", 840, verdict="fail")
    b = nightly(tmp_path, "b", outcome("p::t", "failed"), failed)
    result = invoke("--compare", a, b)
    assert result.exit_code == 1, result.output
    assert "no regression" not in result.output
    assert "measurement total (p::t)" in result.output and "840 ms fail" in result.output
    assert "test p::t: A passed, B failed: regressed" in result.output


def test_compare_refuses_runs_of_different_configurations(tmp_path):
    a = nightly(tmp_path, "a")
    b = nightly(tmp_path, "b", config={**CONFIG, "bench": "b2", "tmm": "t2"})
    refused = invoke("--compare", a, b)
    assert refused.exit_code == 2
    assert refused.output.strip() == (
        "cannot compare: a and b differ in bench, tmm (--allow-different compares them anyway)"
    )
    allowed = invoke("--compare", a, b, "--allow-different")
    assert allowed.exit_code == 0, allowed.output
    assert "WARNING: A and B differ in bench, tmm" in allowed.output
    assert "no regression" in allowed.output


def test_compare_of_a_missing_run_cannot_compare(tmp_path):
    result = invoke("--compare", nightly(tmp_path, "a"), tmp_path / "nowhere")
    assert result.exit_code == 2 and "cannot compare:" in result.output
    assert "no such run folder" in result.output


def test_compare_warns_when_configuration_is_not_recorded(tmp_path):
    a, b = nightly(tmp_path, "a", config=None), nightly(tmp_path, "b", config=None)
    result = invoke("--compare", a, b)
    assert result.exit_code == 0 and "not checked that plan, bench" in result.output


def test_compare_names_too_few_samples(tmp_path):
    a, b = nightly(tmp_path, "a"), nightly(tmp_path, "b")
    result = invoke("--compare", a, b, "--min-samples", "50")
    assert result.exit_code == 0, result.output
    assert "not enough samples (n=20 < 50)" in result.output


def test_a_run_report_lists_marginal_and_failed_measurements(tmp_path):
    marginal = measurement("p::t", 450, marginal_high=400, verdict="marginal")
    nightly(tmp_path, "a", outcome("p::t"), marginal, measurement("p::u", 1))
    result = invoke(tmp_path / "a")
    assert result.exit_code == 0, result.output
    assert "Marginal and failed measurements" in result.output
    assert "450 ms marginal (<= 500 (marginal > 400))" in result.output
    assert "2 measurements: 1 marginal, 1 pass" in result.output


def test_compare_of_two_pytest_runs_exits_1_when_the_second_fails_a_limit(pytester):
    """The gate end to end: the same plan run twice into one store, its limit tightened
    between the runs (the same plan: edits of limits are what the comparison shows)."""
    plan = (
        "from rig.results.measure import Limit\n"
        "def test_latency(measure):\n"
        "    measure.record('total', 120, limit=Limit(high={high}))\n"
    )
    for name, high in (("night1", 500), ("night2", 100)):
        pytester.makepyfile(test_plan=plan.format(high=high))
        pytester.runpytest_inprocess(
            "-p", "rig.plugin.measurements", "--rig-results", name, "--rig-store", "history.sqlite"
        )
    result = invoke("--compare", pytester.path / "history.sqlite")
    assert result.exit_code == 1, result.output
    assert "1 limit(s) failed or regressed" in result.output
