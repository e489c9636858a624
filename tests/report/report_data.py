"""Synthetic runs for the report tests: request records with chosen latencies, written to a
run folder's JSONL file or store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rig.results.jsonl import RESULTS_FILE, JsonlWriter
from rig.results.record import RequestRecord
from rig.results.store import open_run_writer


def request(
    n: int, srv: str = "2.2", *, total_s: float = 0.1, at: float = 0.0, ok: bool = True, **extra
) -> dict[str, Any]:
    """Request ``n`` submitted at ``at``: a fifth of ``total_s`` per hop after the ack."""
    record = RequestRecord(f"r{n}", srv, "00-DB-12-34-56-78-91-01", extra.pop("user", "supplier"))
    step = total_s / 5
    for i, stamp in enumerate(("submitted", "acknowledged", "dequeued", "on_wire")):
        record.stamp(stamp, at + i * step)
    if ok:
        record.stamp("device_response", at + 4 * step)
        record.stamp("delivered", at + total_s)
        record.outcome = "ok"
    else:
        record.fail("no response from esme within 5 s")
    return {"kind": "request", **record.to_json(), **extra}


def requests(srv: str, totals: list[float], **extra) -> list[dict[str, Any]]:
    return [request(n, srv, total_s=t, at=n * 0.01, **extra) for n, t in enumerate(totals)]


def write_run(
    folder: Path,
    records: list[dict[str, Any]],
    *,
    store: Path | str | None = None,
    config: dict[str, str] | None = None,
    **run: str,
) -> str:
    """Write ``records`` to the folder's store (or ``store``) and JSONL; the run id. ``run``:
    its ``key`` and ``build`` (:meth:`rig.results.store.ResultsStore.open_run`)."""
    writer = open_run_writer(folder, store, config=config, **run)
    with writer, JsonlWriter(folder / RESULTS_FILE) as jsonl:
        for record in records:
            writer.write(record)
            jsonl.write(record)
        return writer.run_id


def outcome(nodeid: str, result: str = "passed", *requirements: str) -> dict[str, Any]:
    """A test record: ``nodeid`` ended ``result``, covering ``requirements``."""
    return {"kind": "test", "nodeid": nodeid, "outcome": result, "requirements": requirements}


def measurement(
    nodeid: str, value: float, *, high: float = 500, verdict: str = "pass", **extra: Any
) -> dict[str, Any]:
    """A measurement in ms against a high limit of ``high``."""
    return {
        "kind": "measurement",
        "nodeid": nodeid,
        "name": "total",
        "value": value,
        "units": "ms",
        "low": None,
        "high": high,
        "marginal_low": None,
        "marginal_high": None,
        "verdict": verdict,
        "requirements": [],
        **extra,
    }
