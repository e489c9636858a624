"""Replay a DUIS log through the modelled DSP onto a bench (issue: DUIS in, DUIS out).

Entries are submitted at their logged offsets divided by ``speed`` (``inf``: as fast as
possible), each with its own RequestID, so the DSP's order and the devices' anti-replay checks
see the User's real counters. A request the DSP would refuse (schema, unknown SRV, unknown
device, ...) is recorded with its DUIS or rig code and the replay goes on. XML signatures are
not checked here: ``rig duis verify`` does that.
"""

from __future__ import annotations

import concurrent.futures
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rig.duis.codes import DuisError
from rig.duis.log import LogEntry
from rig.orchestrator import Rig
from rig.results.record import RequestRecord


@dataclass(frozen=True)
class Refusal:
    """A log entry the DSP refused before it became a request."""

    source: str
    reason: str


@dataclass(frozen=True)
class ReplayResult:
    records: list[RequestRecord]
    refused: list[Refusal]
    late_s: float  # the worst lag of a submission behind its scheduled time


def replay(
    rig: Rig,
    entries: Sequence[LogEntry],
    *,
    speed: float = 1.0,
    timeout: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ReplayResult:
    """Submit every entry at its (scaled) time, then wait for all of them to complete."""
    if not speed > 0:
        raise ValueError(f"speed must be positive (or inf), not {speed}")
    start = clock()
    futures: list[concurrent.futures.Future[RequestRecord]] = []
    refused: list[Refusal] = []
    late = 0.0
    for entry in entries:
        due = start + (0.0 if math.isinf(speed) else entry.offset / speed)
        wait = due - clock()
        if wait > 0:
            sleep(wait)
        else:
            late = max(late, -wait)
        try:
            request = entry.parse()
        except DuisError as error:
            refused.append(Refusal(entry.source, str(error)))
            rig.note({"kind": "refused", "source": entry.source, "reason": str(error)})
            continue
        futures.append(rig.submit(request))
    records = [future.result(timeout) for future in futures]
    return ReplayResult(records, refused, late)
