"""The lab tests' own rules, and the run folder of workers that do not share a disk: the lab
tests fail (not skip) where the lab is required; a worker's results reach the controller's run
folder through xdist's worker output when the worker wrote them elsewhere."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest
from lab_env import lab_missing  # tests/lab/lab_env.py

from rig.plugin.lab import keep_worker_results, worker_results


@pytest.mark.parametrize("variable", ["RIG_REQUIRE_LAB", "CI"])
def test_a_missing_lab_fails_where_it_is_required(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv(variable, "1")
    with pytest.raises(pytest.fail.Exception, match="requires the lab"):
        lab_missing("labgrid is not installed")


def test_a_missing_lab_skips_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("RIG_REQUIRE_LAB", raising=False)
    with pytest.raises(pytest.skip.Exception):
        lab_missing("labgrid is not installed")


def test_a_workers_results_are_kept_where_the_controller_has_none(tmp_path: Path) -> None:
    worker_dir = tmp_path / "worker-host" / "run" / "gw1"
    worker_dir.mkdir(parents=True)
    (worker_dir / "results.jsonl").write_text('{"kind": "test", "outcome": "passed"}\n')
    sent = worker_results(worker_dir)
    assert sent is not None and zlib.decompress(sent).startswith(b'{"kind"')
    controller_run = tmp_path / "controller" / "run"
    kept = keep_worker_results(controller_run, "gw1", sent)
    assert kept == controller_run / "gw1" / "results.jsonl"
    assert kept.read_text() == (worker_dir / "results.jsonl").read_text()
    # A worker sharing the controller's disk already wrote them: nothing is overwritten.
    assert keep_worker_results(controller_run, "gw1", zlib.compress(b"other\n")) is None
    assert keep_worker_results(controller_run, "gw2", None) is None
    assert worker_results(tmp_path / "empty") is None
