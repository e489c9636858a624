"""Replay a DUIS log through the modelled DSP onto a bench (issue: DUIS in, DUIS out).

Entries are submitted at their logged offsets divided by ``speed`` (``inf``: as fast as
possible), each with its own RequestID, so the DSP's order and the devices' anti-replay checks
see the User's real counters. A request the DSP would refuse (schema, unknown SRV, unknown
device, a User not eligible for the SRV or the device, a command variant that does not fit, a
RequestID counter that does not increase, the seed-002 rules: the DSP's access control over the
bench's Users and devices, domain.md §7) is recorded with its DUIS or rig code and the
replay goes on. XML signatures are not checked here: ``rig duis verify`` does that.
"""

from __future__ import annotations

import concurrent.futures
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rig.config.bench import Bench
from rig.duis.access import AccessControl, Device, User
from rig.duis.codes import DuisError
from rig.duis.log import LogEntry
from rig.duis.srv_matrix import DeviceType, Role
from rig.gbcs.eui import Eui64
from rig.live.orchestrator import Rig
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
    access = bench_access_control(rig.bench)
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
            access.admit(request)
        except DuisError as error:
            refused.append(Refusal(entry.source, str(error)))
            rig.note({"kind": "refused", "source": entry.source, "reason": str(error)})
            continue
        futures.append(rig.submit(request))
    records = [future.result(timeout) for future in futures]
    return ReplayResult(records, refused, late)


def bench_access_control(bench: Bench) -> AccessControl:
    """The DSP's access control for a bench: its Users in their roles, each acting in its role
    for every device of the bench (the first User of a role, when several share it)."""
    users = list(bench.users.values()) or [bench.user]
    responsible: dict[Role, Eui64] = {}
    for user in users:
        responsible.setdefault(Role(user.role), user.eui)
    return AccessControl(
        [User(user.eui, frozenset({Role(user.role)})) for user in users],
        [
            Device(config.eui, DeviceType(config.inventory_type), responsible=responsible)
            for config in bench.devices.values()
        ],
    )
