"""A build (every run of a build id, from every host) reports and compares as a run does, from
a SQLite file or a PostgreSQL store alike."""

import pytest
from click.testing import CliRunner
from report_data import measurement, outcome, requests, write_run

from rig.report.commands import report
from rig.report.run import RunNotFound, load_build

CONFIG = {"plan": "p1", "bench": "b1", "tmm": "t1", "options": "o1"}


def invoke(*args):
    return CliRunner().invoke(report, [str(a) for a in args], terminal_width=120)


def host_run(tmp_path, store, build, host, totals, *records, bench="b1"):
    """One host's run of ``build``: same folder path as every other host, a key of its own."""
    folder = tmp_path / "runs" / "nightly"
    return write_run(
        folder,
        [*requests("2.2", totals), *records],
        store=store,
        config={**CONFIG, "bench": bench},
        key=f"{host}:{folder}:{build}",
        build=build,
    )


@pytest.fixture
def builds(tmp_path, store_location):
    """Builds 41 and 42, each run on two hosts (two benches); 42 is slower on host b and fails
    a test there."""
    s = store_location
    host_run(tmp_path, s, "41", "a", [0.1] * 20, outcome("p::t"), measurement("p::t", 100))
    host_run(tmp_path, s, "41", "b", [0.1] * 20, outcome("p::t"), bench="b2")
    host_run(tmp_path, s, "42", "a", [0.1] * 20, outcome("p::t"), measurement("p::t", 110))
    host_run(tmp_path, s, "42", "b", [0.5] * 20, outcome("p::t", "failed"), bench="b2")
    return s


def test_a_build_merges_its_runs_from_every_host(builds):
    build = load_build(builds, "41")
    assert build.label == "build 41" and len(build.requests) == 40 and len(build.tests) == 2
    assert build.info is not None and build.info.build == "41"
    assert build.info.folder.count("nightly") == 2  # both hosts' runs
    # the benches differ between the hosts, alike in both builds: the builds compare
    assert build.info.config == load_build(builds, "42").info.config


def test_rig_report_on_a_build_prints_all_its_runs(builds):
    result = invoke("--store", builds, "--build", "41")
    assert result.exit_code == 0, result.output
    assert "Latency report: build 41" in result.output
    assert "│ 2.2 │ 40 │      0 │" in result.output  # both hosts' requests
    assert "1 measurements: 1 pass" in result.output


def test_an_unreachable_store_is_one_line_without_its_password():
    result = invoke("--store", "postgresql://rig:pw@127.0.0.1:1/rig", "--build", "41")
    assert result.exit_code == 1
    assert result.output.startswith("Error: postgresql://rig@127.0.0.1:1/rig: connection")
    assert "pw" not in result.output and result.output.count("\n") == 1


def test_compare_two_builds_exits_1_on_a_regression_and_0_without(builds):
    worse = invoke("--compare", "--store", builds, "--build", "41", "--build", "42")
    assert worse.exit_code == 1, worse.output
    assert "test p::t: A passed, B failed: regressed" in worse.output
    same = invoke("--compare", "--store", builds, "--build", "41", "--build", "41")
    assert same.exit_code == 0, same.output


def test_an_unknown_build_cannot_compare_and_names_the_known_ones(builds):
    result = invoke("--compare", "--store", builds, "--build", "41", "--build", "40")
    assert result.exit_code == 2
    assert "no runs of build '40'; builds: 41, 42" in result.output
    with pytest.raises(RunNotFound, match="no runs of build 'x'"):
        load_build(builds, "x")


def test_runs_of_a_store_named_by_store_option_or_url(builds):
    listed = invoke("--list", "--store", builds).output.split()
    assert listed == ["nightly", "nightly-2", "nightly-3", "nightly-4"]
    for args in (("--store", builds, "nightly-3"), (f"{builds}#nightly-3",)):
        one = invoke(*args)
        assert one.exit_code == 0 and "Latency report: nightly-3" in one.output, one.output
    compared = invoke("--compare", "--store", builds, "nightly", "nightly-2")
    assert compared.exit_code == 2 and "differ in bench" in compared.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--build", "41"), "--build takes --store"),
        (("--store", "x.sqlite", "--build", "1", "run"), "--build takes --store"),
        (("--store", "s", "--build", "1", "--build", "2"), "name one --build"),
    ],
)
def test_bad_build_arguments_are_explained(args, message):
    result = invoke(*args)
    assert result.exit_code == 2 and message in result.output
