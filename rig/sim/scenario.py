"""Scenario files for ``rig simulate`` (TOML; reference in docs/dsp-model.md).

A scenario describes Users (portfolio, adapter rate), arrival processes, DSP and CSP capacity,
Target Response Times, outages and optional variants (TMM overrides run side by side). Loading
validates everything; a problem raises :class:`ScenarioError` naming file, field and value.
"""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from rig.dsp.distributions import Distribution, Empirical, Exponential, Fixed, LogNormal
from rig.dsp.tmm import (
    DCC_SCHEDULED_SRVS,
    KNOWN_SRVS,
    AlertStormPolicy,
    Mode,
    TmmError,
    TrafficManagementDocument,
    alert_storm_policy,
    expect_number,
    field_path,
    load_tmm,
    shipped_tmm_path,
)

SCENARIOS_DIR = Path(str(resources.files(__package__) / "scenarios"))
"""The shipped scenarios: package data (``rig/sim/scenarios``), so found installed or not."""


class ScenarioError(TmmError):
    """An invalid scenario; the message names the file, the field and the bad value."""


def scenario_path(name: str | Path) -> Path:
    """``name`` if it is a file, else the shipped scenario of that name (``quiet-hour`` or
    ``quiet-hour.toml``); a name that is neither raises :class:`ScenarioError`."""
    path = Path(name)
    if path.is_file():
        return path
    shipped = SCENARIOS_DIR / (path.name if path.suffix == ".toml" else f"{path.name}.toml")
    if path.parent == Path(".") and shipped.is_file():
        return shipped
    known = sorted(p.stem for p in SCENARIOS_DIR.glob("*.toml") if not p.stem.startswith("tmm-"))
    raise ScenarioError(str(name), "<document>", None, f"no such file or shipped scenario {known}")


@dataclass(frozen=True, slots=True)
class User:
    """A DCC User: ``portfolio`` Comms Hubs (numbered from ``first_ch``), its adapter rate."""

    name: str
    portfolio: int
    first_ch: int
    adapter_rate: float | None


@dataclass(frozen=True, slots=True)
class Arrivals:
    """One arrival process (see docs/dsp-model.md, "Arrivals").

    ``kind`` is ``poisson`` (rate piecewise constant over ``profile``: ``(start_s, rate)``
    steps), ``burst`` (``count`` requests evenly over ``spread_s`` from ``start_s``), or
    ``alerts`` (Poisson alerts with ``codes`` from ``devices`` Comms Hubs of the User; an
    ``alert_storm`` in the file is this with a rate per device). ``mix`` is SRV -> weight.
    """

    kind: str
    user: str
    profile: tuple[tuple[float, float], ...]
    end_s: float
    mode: Mode = Mode.ON_DEMAND
    mix: tuple[tuple[str, float], ...] = ()
    count: int = 0
    spread_s: float = 0.0
    codes: tuple[int, ...] = ()
    devices: int = 0


@dataclass(frozen=True, slots=True)
class Outage:
    start_s: float
    duration_s: float


@dataclass(frozen=True, slots=True)
class TmmReload:
    """At ``at_s``, hot-reload the TMM document ``path`` (validated then, not at load: an
    invalid one is refused by the DSP, which keeps the old one, and the run reports why)."""

    at_s: float
    path: Path


@dataclass(frozen=True, kw_only=True)
class Scenario:
    """A validated scenario file."""

    name: str
    description: str
    source: str
    duration_s: float
    seed: int
    series_bin_s: float
    tmm_path: Path
    servers: int
    service_time: Distribution
    service_time_by_srv: Mapping[str, Distribution]
    service_time_by_mode: Mapping[Mode, Distribution]
    latency: Distribution
    ch_in_flight_limit: int | None
    adapter_rate: float | None
    trt_by_mode: Mapping[Mode, float]
    trt_by_srv: Mapping[str, float]
    users: tuple[User, ...]
    arrivals: tuple[Arrivals, ...]
    outages: tuple[Outage, ...]
    ch_consolidation: AlertStormPolicy | None
    tmm_reloads: tuple[TmmReload, ...] = ()
    variants: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    provenance: Mapping[str, str] = field(default_factory=dict)

    def tmm(self, variant: str | None = None) -> TrafficManagementDocument:
        """The TMM document for ``variant`` (its overrides applied), validated."""
        overrides = dict(self.variants[variant]) if variant is not None else None
        if overrides is not None:
            overrides.setdefault("provenance", f"scenario {self.name!r}, variant {variant!r}")
        return load_tmm(self.tmm_path, overrides)

    def trt(self, srv: str, mode: Mode) -> float:
        """The Target Response Time (end to end) for ``srv`` in ``mode``."""
        return self.trt_by_srv.get(srv, self.trt_by_mode[mode])

    def window(self, start_s: float, end_s: float) -> Scenario:
        """Only the arrivals from ``start_s`` to ``end_s`` (a slice of the day, e.g. one that
        includes the nightly read burst); the system starts empty at ``start_s``."""
        cut = []
        for a in self.arrivals:
            if a.kind == "burst":
                if a.profile[0][0] >= start_s:
                    cut.append(replace(a, end_s=min(a.end_s, end_s)))
                continue
            steps = [(t, r) for t, r in a.profile if t > start_s]
            before = [(start_s, r) for t, r in a.profile if t <= start_s][-1:]
            cut.append(replace(a, profile=tuple(before + steps), end_s=min(a.end_s, end_s)))
        return replace(self, duration_s=end_s, arrivals=tuple(cut))

    def with_duration(self, duration_s: float) -> Scenario:
        """The same scenario with arrivals stopping at ``duration_s`` (a shorter run)."""
        cut = tuple(replace(a, end_s=min(a.end_s, duration_s)) for a in self.arrivals)
        return replace(self, duration_s=duration_s, arrivals=cut)


_TOP = {
    "required": ("name", "duration_s", "seed", "dsp", "csp", "trt", "users", "arrivals"),
    "optional": ("description", "tmm", "series_bin_s", "northbound", "outages", "variants",
                 "ch_consolidation", "tmm_reloads", "provenance"),
}  # fmt: skip
_ARRIVAL_FIELDS = {
    "poisson": (("user", "mix"), ("rate", "profile", "mode", "start_s", "end_s", "mode_override")),
    "burst": (("user", "mix", "count", "start_s"), ("spread_s", "mode", "mode_override")),
    "daily_read_burst": (("user", "mix", "count", "start_s", "duration_s"), ("mode_override",)),
    "alerts": (("user", "rate", "codes"), ("devices", "start_s", "end_s")),
    "alert_storm": (("user", "devices", "rate_per_device", "code", "start_s", "duration_s"), ()),
}
_DISTRIBUTIONS = {
    "fixed": ("seconds",),
    "exponential": ("mean_s",),
    "lognormal": ("median_s", "sigma"),
    "empirical": ("points",),
}


class _Reader:
    """Typed access to a parsed TOML document, raising :class:`ScenarioError` with paths."""

    def __init__(self, src: str) -> None:
        self.src = src

    def fail(self, path: str, value: object, reason: str) -> ScenarioError:
        return ScenarioError(self.src, path, value, reason)

    def table(self, raw: object, path: str, required: tuple = (), optional: tuple = ()) -> dict:
        if not isinstance(raw, dict):
            raise self.fail(path, raw, "wrong type: expected table")
        prefix = f"{path}." if path else ""
        for key in required:
            if key not in raw:
                raise self.fail(prefix + key, None, "missing required field")
        for key, value in raw.items():
            if key not in (*required, *optional):
                raise self.fail(
                    prefix + field_path(key), value,
                    f"unknown field; expected {(*required, *optional)}",
                )  # fmt: skip
        return raw

    def number(
        self, raw: object, path: str, *, minimum: float = 0.0, strict: bool = False
    ) -> float:
        value = expect_number(self.src, path, raw, ScenarioError)
        if value < minimum or (strict and value == minimum):
            raise self.fail(path, raw, f"must be {'>' if strict else '>='} {minimum:g}")
        return value

    def integer(self, raw: object, path: str, minimum: int = 0) -> int:
        if not isinstance(raw, int) or isinstance(raw, bool):
            raise self.fail(path, raw, "wrong type: expected integer")
        if raw < minimum:
            raise self.fail(path, raw, f"must be >= {minimum}")
        return raw

    def string(self, raw: object, path: str) -> str:
        if not isinstance(raw, str) or not raw:
            raise self.fail(path, raw, "wrong type: expected a non-empty string")
        return raw

    def distribution(self, raw: object, path: str) -> Distribution:
        table = self.table(
            raw, path, ("kind",), tuple(f for fs in _DISTRIBUTIONS.values() for f in fs)
        )
        kind = table["kind"]
        if kind not in _DISTRIBUTIONS:
            raise self.fail(
                f"{path}.kind", kind, f"unknown; expected one of {list(_DISTRIBUTIONS)}"
            )
        self.table(table, path, ("kind", *_DISTRIBUTIONS[kind]))
        if kind == "fixed":
            return Fixed(self.number(table["seconds"], f"{path}.seconds"))
        if kind == "exponential":
            return Exponential(self.number(table["mean_s"], f"{path}.mean_s", strict=True))
        if kind == "lognormal":
            return LogNormal(
                self.number(table["median_s"], f"{path}.median_s", strict=True),
                self.number(table["sigma"], f"{path}.sigma"),
            )
        points = table["points"]
        try:
            return Empirical.of(points)
        except (TypeError, ValueError) as exc:
            raise self.fail(
                f"{path}.points", points, f"need [[probability, seconds], ...]: {exc}"
            ) from None

    def mix(self, raw: object, path: str) -> tuple[tuple[str, float], ...]:
        table = self.table(raw, path, (), tuple(raw) if isinstance(raw, dict) else ())
        if not table:
            raise self.fail(path, raw, "must name at least one SRV")
        for srv, weight in table.items():
            if srv not in KNOWN_SRVS:
                raise self.fail(
                    f"{path}.{field_path(srv)}", srv, "unknown SRV (not in domain.md §7.3)"
                )
            self.number(weight, f"{path}.{field_path(srv)}", strict=True)
        return tuple((srv, float(w)) for srv, w in table.items())

    def mode(self, raw: object, path: str) -> Mode:
        try:
            return Mode(raw)
        except ValueError:
            raise self.fail(
                path, raw, f"unknown mode; expected one of {[m.value for m in Mode]}"
            ) from None


def load_scenario(path: Path) -> Scenario:
    """Load and validate a scenario file; any problem raises :class:`ScenarioError`."""
    src = str(path)
    r = _Reader(src)
    try:
        with path.open("rb") as f:
            raw = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise r.fail("<document>", None, f"not valid TOML: {exc}") from exc
    except OSError as exc:
        raise r.fail("<document>", None, f"cannot read: {exc}") from exc
    r.table(raw, "", _TOP["required"], _TOP["optional"])
    duration = r.number(raw["duration_s"], "duration_s", strict=True)

    tmm_name = raw.get("tmm", "default")
    tmm_path = shipped_tmm_path(r.string(tmm_name, "tmm")) or path.parent / tmm_name
    try:
        load_tmm(tmm_path)
    except TmmError as exc:
        raise r.fail("tmm", tmm_name, f"invalid TMM document: {exc}") from None

    dsp = r.table(
        raw["dsp"],
        "dsp",
        ("servers", "service_time"),
        ("service_time_by_srv", "service_time_by_mode"),
    )
    by_srv = r.table(dsp.get("service_time_by_srv", {}), "dsp.service_time_by_srv", (),
                     tuple(dsp.get("service_time_by_srv", {})))  # fmt: skip
    for srv in by_srv:
        if srv not in KNOWN_SRVS:
            raise r.fail(field_path("dsp", "service_time_by_srv", srv), srv, "unknown SRV")
    by_mode = r.table(dsp.get("service_time_by_mode", {}), "dsp.service_time_by_mode", (),
                      tuple(m.value for m in Mode))  # fmt: skip
    csp = r.table(raw["csp"], "csp", ("latency",), ("ch_in_flight_limit",))
    northbound = r.table(raw.get("northbound", {}), "northbound", (), ("adapter_rate",))
    trt = r.table(raw["trt"], "trt", tuple(f"{m.value}_s" for m in Mode), ("srv",))
    trt_srv = r.table(trt.get("srv", {}), "trt.srv", (), tuple(trt.get("srv", {})))
    for srv, seconds in trt_srv.items():
        if srv not in KNOWN_SRVS:
            raise r.fail(field_path("trt", "srv", srv), srv, "unknown SRV (not in domain.md §7.3)")
        r.number(seconds, field_path("trt", "srv", srv), strict=True)

    users = _users(r, raw["users"])
    by_name = {u.name: u for u in users}
    arrivals = tuple(
        _arrivals(r, a, f"arrivals[{i}]", by_name, duration)
        for i, a in enumerate(_array(r, raw["arrivals"], "arrivals"))
    )
    outages = []
    for i, o in enumerate(_array(r, raw.get("outages", []), "outages", allow_empty=True)):
        table = r.table(o, f"outages[{i}]", ("start_s", "duration_s"))
        outages.append(
            Outage(
                r.number(table["start_s"], f"outages[{i}].start_s"),
                r.number(table["duration_s"], f"outages[{i}].duration_s", strict=True),
            )
        )
    reloads = []
    for i, t in enumerate(_array(r, raw.get("tmm_reloads", []), "tmm_reloads", allow_empty=True)):
        table = r.table(t, f"tmm_reloads[{i}]", ("at_s", "tmm"))
        reloads.append(
            TmmReload(
                r.number(table["at_s"], f"tmm_reloads[{i}].at_s"),
                path.parent / r.string(table["tmm"], f"tmm_reloads[{i}].tmm"),
            )
        )
    consolidation = None
    if "ch_consolidation" in raw:
        table = r.table(
            raw["ch_consolidation"], "ch_consolidation",
            ("window_s", "threshold", "forward_period_s"), ("excluded_codes",),
        )  # fmt: skip
        consolidation = alert_storm_policy(src, "ch_consolidation", table, ScenarioError)

    variants = r.table(raw.get("variants", {}), "variants", (), tuple(raw.get("variants", {})))
    for name, overrides in variants.items():
        r.table(
            overrides,
            f"variants.{name}",
            (),
            tuple(overrides) if isinstance(overrides, dict) else (),
        )
    scenario = Scenario(
        name=r.string(raw["name"], "name"),
        description=raw.get("description", ""),
        source=src,
        duration_s=duration,
        seed=r.integer(raw["seed"], "seed"),
        series_bin_s=r.number(raw.get("series_bin_s", 60.0), "series_bin_s", strict=True),
        tmm_path=tmm_path,
        servers=r.integer(dsp["servers"], "dsp.servers", minimum=1),
        service_time=r.distribution(dsp["service_time"], "dsp.service_time"),
        service_time_by_srv={
            srv: r.distribution(d, field_path("dsp", "service_time_by_srv", srv))
            for srv, d in by_srv.items()
        },
        service_time_by_mode={
            Mode(m): r.distribution(d, f"dsp.service_time_by_mode.{m}") for m, d in by_mode.items()
        },
        latency=r.distribution(csp["latency"], "csp.latency"),
        ch_in_flight_limit=(
            r.integer(csp["ch_in_flight_limit"], "csp.ch_in_flight_limit", minimum=1)
            if "ch_in_flight_limit" in csp
            else None
        ),
        adapter_rate=(
            r.number(northbound["adapter_rate"], "northbound.adapter_rate", strict=True)
            if "adapter_rate" in northbound
            else None
        ),
        trt_by_mode={
            m: r.number(trt[f"{m.value}_s"], f"trt.{m.value}_s", strict=True) for m in Mode
        },
        trt_by_srv={srv: float(s) for srv, s in trt_srv.items()},
        users=users,
        arrivals=arrivals,
        outages=tuple(outages),
        ch_consolidation=consolidation,
        tmm_reloads=tuple(sorted(reloads, key=lambda x: x.at_s)),
        variants=variants,
        provenance=_provenance(r, raw.get("provenance", {}), raw),
    )
    for name in variants:
        try:
            scenario.tmm(name)
        except TmmError as exc:
            raise r.fail(f"variants.{name}", variants[name], str(exc)) from None
    return scenario


def _array(r: _Reader, raw: object, path: str, *, allow_empty: bool = False) -> list:
    if not isinstance(raw, list):
        raise r.fail(path, raw, "wrong type: expected array of tables")
    if not raw and not allow_empty:
        raise r.fail(path, raw, "must not be empty")
    return raw


def _users(r: _Reader, raw: object) -> tuple[User, ...]:
    users: list[User] = []
    first = 0
    for i, u in enumerate(_array(r, raw, "users")):
        table = r.table(u, f"users[{i}]", ("name", "portfolio"), ("adapter_rate",))
        name = r.string(table["name"], f"users[{i}].name")
        if any(x.name == name for x in users):
            raise r.fail(f"users[{i}].name", name, "duplicate User name")
        portfolio = r.integer(table["portfolio"], f"users[{i}].portfolio", minimum=1)
        rate = table.get("adapter_rate")
        if rate is not None:
            rate = r.number(rate, f"users[{i}].adapter_rate", strict=True)
        users.append(User(name, portfolio, first, rate))
        first += portfolio
    return tuple(users)


def _arrivals(
    r: _Reader, raw: object, path: str, users: Mapping[str, User], duration: float
) -> Arrivals:
    kind = r.table(
        raw, path, ("kind",), tuple(f for fs in _ARRIVAL_FIELDS.values() for f in (*fs[0], *fs[1]))
    )["kind"]
    if kind not in _ARRIVAL_FIELDS:
        raise r.fail(f"{path}.kind", kind, f"unknown; expected one of {list(_ARRIVAL_FIELDS)}")
    required, optional = _ARRIVAL_FIELDS[kind]
    t: dict[str, Any] = r.table(raw, path, ("kind", *required), optional)
    user = r.string(t["user"], f"{path}.user")
    if user not in users:
        raise r.fail(f"{path}.user", user, f"unknown User; expected one of {list(users)}")
    start = r.number(t.get("start_s", 0.0), f"{path}.start_s")
    mode = r.mode(t.get("mode", "on_demand"), f"{path}.mode")
    mix = r.mix(t["mix"], f"{path}.mix") if "mix" in t else ()
    if "mode_override" in t:
        r.string(t["mode_override"], f"{path}.mode_override")
    else:
        _check_modes(r, path, Mode.SCHEDULED if kind == "daily_read_burst" else mode, mix)
    if kind == "poisson":
        end = r.number(t.get("end_s", duration), f"{path}.end_s")
        if ("rate" in t) == ("profile" in t):
            raise r.fail(f"{path}.rate", t.get("rate"), "give exactly one of rate or profile")
        profile: tuple[tuple[float, float], ...]
        if "rate" in t:
            profile = ((start, r.number(t["rate"], f"{path}.rate")),)
        else:
            steps = _array(r, t["profile"], f"{path}.profile")
            profile = tuple(_step(r, s, f"{path}.profile[{j}]") for j, s in enumerate(steps))
            if any(b[0] <= a[0] for a, b in itertools.pairwise(profile)):
                raise r.fail(f"{path}.profile", t["profile"], "start times must increase")
        return Arrivals(kind, user, profile, min(end, duration), mode=mode, mix=mix)
    if kind == "burst":
        return Arrivals(
            kind, user, ((start, 0.0),), duration, mode=mode, mix=mix,
            count=r.integer(t["count"], f"{path}.count", minimum=1),
            spread_s=r.number(t.get("spread_s", 0.0), f"{path}.spread_s"),
        )  # fmt: skip
    if kind == "daily_read_burst":
        count = r.integer(t["count"], f"{path}.count", minimum=1)
        span = r.number(t["duration_s"], f"{path}.duration_s", strict=True)
        return Arrivals(
            "poisson", user, ((start, count / span),), min(start + span, duration),
            mode=Mode.SCHEDULED, mix=mix,
        )  # fmt: skip
    portfolio = users[user].portfolio
    if kind == "alerts":
        codes = t["codes"]
        if not isinstance(codes, list) or not codes:
            raise r.fail(f"{path}.codes", codes, "expected a non-empty array of alert codes")
        devices = r.integer(t.get("devices", portfolio), f"{path}.devices", minimum=1)
        rate = r.number(t["rate"], f"{path}.rate")
        end = r.number(t.get("end_s", duration), f"{path}.end_s")
    else:
        codes = [t["code"]]
        devices = r.integer(t["devices"], f"{path}.devices", minimum=1)
        rate = devices * r.number(t["rate_per_device"], f"{path}.rate_per_device")
        end = start + r.number(t["duration_s"], f"{path}.duration_s", strict=True)
    for code in codes:
        if not isinstance(code, int) or isinstance(code, bool) or not 0 <= code <= 0xFFFF:
            raise r.fail(f"{path}.codes", code, "alert code must be an integer 0..0xFFFF")
    if devices > portfolio:
        raise r.fail(f"{path}.devices", devices, f"more than the User's portfolio ({portfolio})")
    return Arrivals(
        "alerts", user, ((start, rate),), min(end, duration), codes=tuple(codes), devices=devices
    )


def _check_modes(r: _Reader, path: str, mode: Mode, mix: tuple[tuple[str, float], ...]) -> None:
    """Each SRV of ``mix`` can be sent in ``mode`` (domain.md §7.3): Scheduled only if DCC
    Scheduled; Future Dated (released by the DSP) only with a DSP future-dated pattern; On
    Demand unless the matrix says it is not. ``mode_override`` (a reason) waives the check."""
    from rig.duis.srv_matrix import SRV_MATRIX, FutureDated

    for srv, _ in mix:
        row = SRV_MATRIX.get(srv)
        if mode is Mode.SCHEDULED:
            ok = srv in DCC_SCHEDULED_SRVS
        elif mode is Mode.FUTURE_DATED:
            ok = row is None or row.future_dated in (FutureDated.DSP, FutureDated.DSP_AND_DEVICE)
        else:
            ok = row is None or row.on_demand
        if not ok:
            raise r.fail(
                f"{path}.mix.{field_path(srv)}", srv,
                f"SRV {srv} cannot be sent {mode.value} (domain.md §7.3); to model it anyway, "
                f"give the reason in {path}.mode_override",
            )  # fmt: skip


def _step(r: _Reader, raw: object, path: str) -> tuple[float, float]:
    if not isinstance(raw, list) or len(raw) != 2:
        raise r.fail(path, raw, "expected [start_s, rate]")
    return r.number(raw[0], f"{path}[0]"), r.number(raw[1], f"{path}[1]")


def _provenance(r: _Reader, raw: object, doc: Mapping[str, Any]) -> dict[str, str]:
    table = r.table(raw, "provenance", (), tuple(raw) if isinstance(raw, dict) else ())
    for key, note in table.items():
        if key.split(".")[0].split("[")[0] not in doc:
            raise r.fail(f"provenance.{field_path(key)}", note, "names no field of this scenario")
        if not isinstance(note, str):
            raise r.fail(f"provenance.{field_path(key)}", note, "wrong type: expected string")
    return dict(table)
