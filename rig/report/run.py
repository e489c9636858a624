"""One run's records, loaded from a results store or a run folder.

A run is named by a *spec*: a run folder (``runs/20261123T120000Z``: its ``results.sqlite``, or
its ``results.jsonl`` files, one per xdist worker), a store file or ``postgresql://`` URL (its
latest run), a store and a run id (``history.sqlite#20261123T120000Z``), or one
``results.jsonl`` file. A *build* (:func:`load_build`) is every run of a store sharing a build
id, merged into one, so that it reports and compares as a run does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rig.results.config import parts_hash, text_hash
from rig.results.jsonl import RESULTS_FILE, ResultsError, read_jsonl
from rig.results.store import STORE_FILE, Location, ResultsStore, RunInfo, StoreError, is_url

#: Separates a store file from a run id in a run spec.
RUN_ID_SEPARATOR = "#"

_KINDS = ("request", "alert", "error", "measurement", "test")


class RunNotFound(ValueError):
    """A run spec that names no readable run."""


@dataclass
class RunData:
    """Everything recorded in one run, by kind; ``events`` holds the other kinds."""

    label: str
    info: RunInfo | None = None
    folder: Path | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    measurements: list[dict[str, Any]] = field(default_factory=list)
    tests: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of_records(cls, label: str, records: list[dict[str, Any]], **kw: Any) -> RunData:
        run = cls(label, **kw)
        for record in records:
            kind = record.get("kind")
            bucket = getattr(run, f"{kind}s") if kind in _KINDS else run.events
            bucket.append(record)
        return run


def load_run(spec: str | Path) -> RunData:
    """The run a spec names (see the module docstring); :class:`RunNotFound` if none."""
    if is_url(spec):
        location, _, wanted = str(spec).partition(RUN_ID_SEPARATOR)
        try:
            return _from_store(location, wanted or None, folder=None)
        except StoreError as exc:
            raise RunNotFound(str(exc)) from exc
    path, run_id = Path(spec), None
    if not path.exists() and RUN_ID_SEPARATOR in str(spec):
        head, run_id = str(spec).rsplit(RUN_ID_SEPARATOR, 1)
        path = Path(head)
    if not path.exists():
        raise RunNotFound(f"{spec}: no such run folder or results file")
    try:
        if path.is_dir():
            return _from_folder(path, run_id)
        if path.suffix == ".jsonl":
            return RunData.of_records(str(path), list(read_jsonl(path)), folder=path.parent)
        return _from_store(path, run_id, folder=None)
    except (OSError, ResultsError, StoreError) as exc:
        raise RunNotFound(str(exc)) from exc


def _from_folder(folder: Path, run_id: str | None) -> RunData:
    """The folder's store run; its JSONL files instead if the store has no requests (the
    store holding only test and measurement records), keeping the store's run information."""
    store_file = folder / STORE_FILE
    jsonl = sorted(folder.glob(f"**/{RESULTS_FILE}"))
    stored = _from_store(store_file, run_id, folder=folder) if store_file.exists() else None
    if stored is not None and (stored.requests or not jsonl):
        return stored
    if not jsonl:
        raise RunNotFound(f"{folder}: neither {STORE_FILE} nor {RESULTS_FILE} in it")
    records = [record for path in jsonl for record in read_jsonl(path)]
    info = stored.info if stored is not None else None
    return RunData.of_records(
        stored.label if stored else folder.name, records, info=info, folder=folder
    )


def _from_store(path: Location, run_id: str | None, *, folder: Path | None) -> RunData:
    with ResultsStore(path) as store:
        if run_id is None and folder is not None:
            mine = [r for r in store.runs() if r.folder == str(folder.resolve())]
            run_id = mine[-1].id if mine else None
        info = store.run(run_id)
        records = store.records(info.id)
    recorded = Path(info.folder)
    where = folder or (recorded if recorded.is_dir() else None)
    return RunData.of_records(info.id, records, info=info, folder=where)


def load_build(store: Location, build: str) -> RunData:
    """Every run of ``build`` in ``store`` as one run (its records merged, :func:`build_info`);
    :class:`RunNotFound` if the store has none."""
    if not is_url(store) and not Path(store).is_file():
        raise RunNotFound(f"{store}: no such store file")
    try:
        with ResultsStore(store) as opened:
            runs = opened.build(build)
            records = [record for run in runs for record in opened.records(run.id)]
    except StoreError as exc:
        raise RunNotFound(str(exc)) from exc
    return RunData.of_records(f"build {build}", records, info=build_info(build, runs))


def build_info(build: str, runs: list[RunInfo]) -> RunInfo:
    """What a build's runs ran on, as one run's: the first start; each of the benches, hosts,
    plans and rig versions; per configuration part, the runs' hash if they agree, else one hash
    over their distinct hashes (so two builds over the same set of benches compare as equal)."""

    def each(values: list[str | None]) -> str | None:
        return ", ".join(dict.fromkeys(v for v in values if v)) or None

    config: dict[str, str] | None = None
    if all(run.config for run in runs):
        names = dict.fromkeys(name for run in runs for name in run.config or {})
        config = {}
        for name in names:
            hashes = sorted({(run.config or {}).get(name, "") for run in runs})
            config[name] = hashes[0] if len(hashes) == 1 else text_hash("\n".join(hashes))
    return RunInfo(
        id=f"build {build}",
        folder=", ".join(run.folder for run in runs),
        started=min(run.started for run in runs),
        bench=each([run.bench for run in runs]),
        plan=each([run.plan for run in runs]),
        rig_version=each([run.rig_version for run in runs]),
        config_hash=None if config is None else parts_hash(config),
        host=each([run.host for run in runs]),
        config=config,
        build=build,
    )


#: Outcome severity when a test has several records (a teardown error after a pass): the
#: worst is the test's outcome. ``xfailed`` is an expected failure (``pytest.mark.xfail``),
#: ``xpassed`` a test expected to fail that passed.
OUTCOME_RANK = {"skipped": 0, "xfailed": 1, "passed": 2, "xpassed": 2, "failed": 3, "error": 4}
#: Outcomes that fail a run.
FAILING = frozenset({"failed", "error"})


def merged_tests(run: RunData) -> dict[str, dict[str, Any]]:
    """One entry per node id: the worst outcome, total duration, every message, every
    requirement."""
    tests: dict[str, dict[str, Any]] = {}
    for t in run.tests:
        entry = tests.setdefault(
            t["nodeid"],
            {"outcome": t["outcome"], "duration_s": 0.0, "messages": [], "requirements": []},
        )
        if OUTCOME_RANK.get(t["outcome"], 4) > OUTCOME_RANK.get(entry["outcome"], 4):
            entry["outcome"] = t["outcome"]
        entry["duration_s"] += t.get("duration_s") or 0.0
        if t.get("message"):
            entry["messages"].append(t["message"])
        entry["requirements"] += [
            r for r in t.get("requirements") or () if r not in entry["requirements"]
        ]
    return tests


#: Outcomes of a test that accepted what its requests met: a failed request sent by such a test
#: was what it asked for (a negative test's refusal) or knew of (an expected failure).
_ACCEPTING = frozenset({"passed", "xpassed", "xfailed"})


def unexpected_failures(run: RunData) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The run's failed requests, split: those nobody expected (sent outside a test, or by a
    test that failed), then those a test expected (sent by a test that passed: a negative
    test's intended refusals; or by an expected failure)."""
    outcomes = {n: t["outcome"] for n, t in merged_tests(run).items()}
    unexpected: list[dict[str, Any]] = []
    expected: list[dict[str, Any]] = []
    for r in run.requests:
        if r["outcome"] != "ok":
            accepted = outcomes.get(r.get("test") or "") in _ACCEPTING
            (expected if accepted else unexpected).append(r)
    return unexpected, expected


#: Per-test artefacts (protocol traces, logs) live in ``<run folder>/captures/<test>/``.
CAPTURES_DIR = "captures"


def capture_dir(run_dir: Path, nodeid: str) -> Path:
    """Where a test's captures go: one folder per test, named from its node id."""
    return run_dir / CAPTURES_DIR / re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")


def captures_of(run: RunData, nodeid: str) -> list[Path]:
    """The captures of a test in the run folder (and its xdist worker sub-folders)."""
    if run.folder is None:
        return []
    name = capture_dir(Path(), nodeid).name
    return sorted(p for p in run.folder.glob(f"**/{CAPTURES_DIR}/{name}/*") if p.is_file())
