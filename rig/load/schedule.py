"""Load schedules: what to send, from which User, to which device, when (sans I/O, seeded).

A schedule is a time-ordered tuple of events at offsets (seconds) from the start of a run:
requests (:class:`Send`), alerts injected at the DSP (:class:`InjectAlert`) and DSP controls
(:class:`Control`: an outage begins or ends, the TMM document is reloaded). The builders cover
the traffic patterns of issue 6 and domain.md §1-§5: background traffic by SRV mix and User at a
rate, the daily read burst, an alert storm from many devices, one User flooding, an outage and
restoration, a TMM hot reload. They are pure functions of their arguments (and ``seed``);
:func:`merge` combines them. :mod:`rig.load.driver` plays a schedule on the live rig.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

#: SRVs the load driver knows how to build (bodies in rig.load.driver).
LOAD_SRVS = ("2.2", "7.1", "7.3", "7.4")


class ScheduleError(ValueError):
    """A schedule that cannot be built; the message names the argument and the value."""


@dataclass(frozen=True, slots=True)
class Send:
    """One Service Request: ``srv`` from ``user`` (``None``: the bench's first) to ``device``."""

    at: float
    srv: str
    device: str
    user: str | None = None


@dataclass(frozen=True, slots=True)
class InjectAlert:
    """An alert ``code`` from ``device`` for ``user``, injected at the DSP (SECMP0062 applies)."""

    at: float
    device: str
    code: int
    user: str | None = None


@dataclass(frozen=True, slots=True)
class Control:
    """A DSP control: ``begin_outage``, ``end_outage`` or ``reload_tmm`` (``path``)."""

    at: float
    action: str
    path: Path | None = None


Event = Send | InjectAlert | Control
Schedule = tuple[Event, ...]

CONTROLS = ("begin_outage", "end_outage", "reload_tmm")


def _check(name: str, value: float, *, positive: bool = False) -> None:
    if not (value > 0 if positive else value >= 0):
        raise ScheduleError(f"{name} = {value!r}: must be {'> 0' if positive else '>= 0'}")


def _weights(name: str, weights: Mapping[str, float] | Sequence[str]) -> tuple[list, list]:
    items = dict.fromkeys(weights, 1.0) if not isinstance(weights, Mapping) else dict(weights)
    if not items:
        raise ScheduleError(f"{name}: must name at least one")
    for key, weight in items.items():
        if not weight >= 0:
            raise ScheduleError(f"{name}[{key!r}] = {weight!r}: must be >= 0")
    if not sum(items.values()) > 0:
        raise ScheduleError(f"{name}: weights must not all be 0")
    return list(items), list(items.values())


def _users(users: Mapping[str, float] | Sequence[str] | None) -> tuple[list, list]:
    """Users and their weights; ``None``: the bench's first User alone."""
    return _weights("users", users) if users is not None else ([None], [1.0])


def _sends(
    times: Sequence[float], srvs: Sequence[str], users: Sequence[str | None], devices: Sequence[str]
) -> Schedule:
    """A Send at each of ``times`` with the SRV and User drawn for it, to ``devices`` in turn."""
    return tuple(
        Send(t, srv, devices[i % len(devices)], user)
        for i, (t, srv, user) in enumerate(zip(times, srvs, users, strict=True))
    )


def _arrivals(rate: float, duration: float, start: float, poisson: bool, rng: random.Random):
    """Arrival times in [start, start + duration): evenly spaced, or a Poisson process."""
    _check("rate", rate, positive=True)
    _check("duration", duration)
    _check("start", start)
    end = start + duration
    if not poisson:
        count = round(rate * duration)
        return [start + i / rate for i in range(count)]
    times, t = [], start + rng.expovariate(rate)
    while t < end:
        times.append(t)
        t += rng.expovariate(rate)
    return times


def background(
    rate: float,
    duration: float,
    *,
    devices: Sequence[str],
    mix: Mapping[str, float] | Sequence[str] = ("7.4",),
    users: Mapping[str, float] | Sequence[str] | None = None,
    start: float = 0.0,
    poisson: bool = False,
    seed: int = 0,
) -> Schedule:
    """``rate`` requests/s for ``duration`` s: SRVs drawn from ``mix`` (SRV -> weight), Users
    from ``users`` (name -> weight; ``None``: the bench's first User), devices in turn."""
    rng = random.Random(seed)
    srvs, srv_weights = _weights("mix", mix)
    unknown = [s for s in srvs if s not in LOAD_SRVS]
    if unknown:
        raise ScheduleError(f"mix: SRV {unknown[0]!r} unknown (known: {', '.join(LOAD_SRVS)})")
    names, user_weights = _users(users)
    if not devices:
        raise ScheduleError("devices: must name at least one")
    times = _arrivals(rate, duration, start, poisson, rng)
    chosen_srvs = rng.choices(srvs, srv_weights, k=len(times))
    return _sends(times, chosen_srvs, rng.choices(names, user_weights, k=len(times)), devices)


def read_burst(
    count: int,
    spread_s: float,
    *,
    devices: Sequence[str],
    srv: str = "7.4",
    users: Mapping[str, float] | Sequence[str] | None = None,
    start: float = 0.0,
    seed: int = 0,
) -> Schedule:
    """The daily read burst (domain.md §5): ``count`` reads arriving at random over
    ``spread_s`` seconds (a DCC-scheduled burst is released in a short window)."""
    if count < 0:
        raise ScheduleError(f"count = {count!r}: must be >= 0")
    _check("spread_s", spread_s)
    rng = random.Random(seed)
    names, weights = _users(users)
    times = sorted(start + rng.random() * spread_s for _ in range(count))
    return _sends(times, [srv] * count, rng.choices(names, weights, k=count), devices)


def alert_storm(
    devices: Sequence[str],
    code: int,
    *,
    per_device: int,
    rate: float,
    user: str | None = None,
    start: float = 0.0,
) -> Schedule:
    """``per_device`` identical alerts from each of ``devices`` at ``rate`` per device per
    second (SECMP0062 counts identical alerts per device, domain.md §3)."""
    _check("rate", rate, positive=True)
    if per_device < 0:
        raise ScheduleError(f"per_device = {per_device!r}: must be >= 0")
    if not devices:
        raise ScheduleError("devices: must name at least one")
    return tuple(
        InjectAlert(start + i / rate + j / (rate * len(devices)), device, code, user)
        for i in range(per_device)
        for j, device in enumerate(devices)
    )


def flood(
    user: str,
    rate: float,
    duration: float,
    *,
    devices: Sequence[str],
    srv: str = "7.4",
    start: float = 0.0,
) -> Schedule:
    """One User flooding: ``rate`` requests/s of ``srv`` for ``duration`` s (SECMP0067)."""
    return background(rate, duration, devices=devices, mix=(srv,), users=(user,), start=start)


def outage(start: float, duration: float) -> Schedule:
    """DCC systems restricted from ``start`` for ``duration`` s, then restored (DP100)."""
    _check("start", start)
    _check("duration", duration)
    return (Control(start, "begin_outage"), Control(start + duration, "end_outage"))


def reload_tmm(at: float, path: Path) -> Schedule:
    """Hot reload of the TMM document at ``path`` mid-run (domain.md §1)."""
    _check("at", at)
    return (Control(at, "reload_tmm", Path(path)),)


def merge(*parts: Iterable[Event]) -> Schedule:
    """One schedule of every part's events in time order (ties: in the order given)."""
    return tuple(heapq.merge(*(sorted(p, key=_at) for p in parts), key=_at))


def _at(event: Event) -> float:
    return event.at


def requested_rate(schedule: Schedule) -> float:
    """Requests per second the schedule asks for, over the span of its requests."""
    times = [e.at for e in schedule if isinstance(e, Send)]
    if len(times) < 2:
        return 0.0
    span = times[-1] - times[0]
    return (len(times) - 1) / span if span > 0 else float("inf")
