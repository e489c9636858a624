"""The Traffic Management Mechanism (TMM) document: the DSP's traffic-management configuration.

Priority levels "live in the TMM document and change by re-configuration without a system
outage" (domain.md §1, SECMP0028, [SEED 000] §5); the same document holds the SECMP0067
throttling parameters, the SECMP0062 alert-storm parameters and exclusion list (domain.md §2,
§3), and the rig's outage-release policy (DP100, domain.md §4). This module holds the document as
an immutable value, loads and validates it from TOML, and turns it into a sort key.

Every value that the seeds do not fix is configuration with its provenance: the document's
``provenance`` maps each field (a TOML dotted path) to a note of where its value comes from. A
document loaded from a file must give a provenance note for every field of the ``throttling``,
``alert_storm`` and ``outage_release`` sections, whose values are all [ASSUMED] or sourced.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from rig.dsp.tmm_sections import (
    ALL_AT_ONCE,
    FIFO_NORTHBOUND,
    AlertStormPolicy,
    CapRule,
    NorthboundOrder,
    NorthboundPolicy,
    OutageReleasePolicy,
    ReleasePolicy,
    ThrottleAction,
    ThrottlingPolicy,
    TmmError,
    UnusedAllocation,
    _expect_type,
    expect_number,
)

__all__ = [
    "ALL_AT_ONCE",
    "DCC_SCHEDULED_SRVS",
    "DEFAULT_MODE_ORDER",
    "FIFO_NORTHBOUND",
    "KNOWN_SRVS",
    "NUM_CLASSES",
    "AlertStormPolicy",
    "CapRule",
    "Mode",
    "NorthboundOrder",
    "NorthboundPolicy",
    "OutageReleasePolicy",
    "ReleasePolicy",
    "ThrottleAction",
    "ThrottlingPolicy",
    "TmmError",
    "TrafficManagementDocument",
    "UnusedAllocation",
    "alert_storm_policy",
    "default_tmm",
    "default_tmm_path",
    "expect_number",
    "field_path",
    "load_tmm",
    "shipped_tmm_path",
]


class Mode(Enum):
    """Mode of operation of a Service Request (domain.md §1, [SEED 000] §3)."""

    ON_DEMAND = "on_demand"
    FUTURE_DATED = "future_dated"
    SCHEDULED = "scheduled"

    # Members are singletons compared by identity; an identity hash (C-level) instead of
    # Enum's hash-of-name keeps the scheduler's rank look-up cheap.
    __hash__ = object.__hash__


DEFAULT_MODE_ORDER: tuple[Mode, ...] = (Mode.ON_DEMAND, Mode.FUTURE_DATED, Mode.SCHEDULED)
"""On Demand ahead of Scheduled: [SEED 000] §6 "Mode of Operation Priority Levels".
FUTURE_DATED's position (between them) is [ASSUMED]: the seeds do not rank it (domain.md §1)."""

MIN_LEVEL = 1
MAX_LEVEL = 4
"""Priority levels 1 (continuity of supply) to 4 (none of the criteria): [SEED 001] §7."""

NUM_CLASSES = 2 * len(Mode) * MAX_LEVEL
"""Distinct southbound ranks: Priority Band 1 or not, x mode of operation, x level."""

# fmt: off
DCC_SCHEDULED_SRVS: frozenset[str] = frozenset((
    # domain.md §7.3, "DCC Scheduled = Yes" SRVs: the only ones a scenario may send Scheduled.
    "4.6.1", "4.6.2", "4.8.1", "4.8.2", "4.8.3", "4.10", "4.12.1", "4.12.2", "4.14", "4.15",
    "4.16", "4.17", "14.1",
))
KNOWN_SRVS: frozenset[str] = frozenset((
    # domain.md §7.3, SRV matrix table.
    "1.1.1", "1.5", "1.6", "2.1", "2.2", "2.3", "2.5", "3.1", "3.2", "3.3", "3.4", "3.5",
    "4.1.1", "4.3", "4.13", "4.18", "6.7", "6.11", "6.15.1", "6.15.2", "6.23", "7.1", "7.2",
    "7.3", "7.4", "8.11", "11.1", "11.2", "11.3",
    *DCC_SCHEDULED_SRVS,
    # domain.md §7.3, Non-Device SRVs.
    "5.1", "5.2", "5.3", "8.2", "8.3", "8.4", "8.6", "8.13", "8.14.1", "8.14.2", "8.14.3",
    "8.14.4", "11.4", "12.1", "12.2",
))
# fmt: on
"""SRVs a TMM document may name: those listed in domain.md §7.3 (a subset of the 129 in DUIS)."""

Rank = tuple[int, int, int]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def field_path(*parts: str) -> str:
    """A TOML dotted path, quoting keys that are not bare (``levels."2.2"``)."""
    return ".".join(p if _BARE_KEY.fullmatch(p) else f'"{p}"' for p in parts)


# -- the document ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TrafficManagementDocument:
    """One version of the TMM document (domain.md §1-§4; [SEED 000], [SEED 001], [SEED 003],
    [SEED 004]).

    ``levels`` maps SRV -> priority level 1..4; SRVs not listed get ``default_level``.
    ``priority_band_1`` holds SRVs processed ahead of other On Demand SRVs. ``mode_order`` ranks
    the modes of operation, each exactly once, On Demand ahead of Scheduled ([SEED 000] §3)
    unless ``mode_order_override`` gives the reason to model otherwise. ``throttling`` (None:
    the mechanism is off), ``alert_storm`` (None: no storm protection), ``outage_release`` and
    ``northbound`` (the adapters' order) are the other sections.
    ``provenance`` maps a field's dotted path (``mode_order``, ``levels."2.2"``,
    ``throttling.capacity``) to its source. ``source`` names where the document came from, for
    error messages. Constructing one validates it (raises :class:`TmmError`).
    """

    version: str
    levels: Mapping[str, int]
    priority_band_1: frozenset[str] = frozenset()
    default_level: int = MAX_LEVEL
    mode_order: tuple[Mode, ...] = DEFAULT_MODE_ORDER
    throttling: ThrottlingPolicy | None = None
    alert_storm: AlertStormPolicy | None = None
    outage_release: OutageReleasePolicy = ALL_AT_ONCE
    northbound: NorthboundPolicy = FIFO_NORTHBOUND
    mode_order_override: str | None = None
    provenance: Mapping[str, str] = field(default_factory=dict)
    source: str = "<in memory>"
    _mode_index: Mapping[Mode, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        src = self.source
        _expect_type(src, "version", self.version, str)
        if not self.version:
            raise TmmError(src, "version", self.version, "must not be empty")
        _check_level(src, "default_level", self.default_level)
        for srv, level in self.levels.items():
            _check_srv(src, field_path("levels", srv), srv)
            _check_level(src, field_path("levels", srv), level)
        for srv in sorted(self.priority_band_1, key=repr):
            _check_srv(src, "priority_band_1", srv)
        for i, mode in enumerate(self.mode_order):
            _expect_type(src, f"mode_order[{i}]", mode, Mode)
        if sorted(m.value for m in self.mode_order) != sorted(m.value for m in Mode):
            raise TmmError(
                src,
                "mode_order",
                [m.value for m in self.mode_order],
                f"must list each of {[m.value for m in Mode]} exactly once",
            )
        if self.mode_order_override is not None:
            _expect_type(src, "mode_order_override", self.mode_order_override, str)
        elif self.mode_order.index(Mode.SCHEDULED) < self.mode_order.index(Mode.ON_DEMAND):
            raise TmmError(
                src, "mode_order", [m.value for m in self.mode_order],
                "puts scheduled ahead of on_demand, against SECMP0028 ([SEED 000] §3: all On "
                "Demand SRVs ahead of Scheduled); to model it anyway, give the reason in "
                "mode_order_override",
            )  # fmt: skip
        for section in (self.throttling, self.alert_storm, self.outage_release, self.northbound):
            if section is not None:
                section.validate(src)
        for key, note in self.provenance.items():
            _expect_type(src, field_path("provenance", key), note, str)
        object.__setattr__(self, "levels", MappingProxyType(dict(self.levels)))
        object.__setattr__(self, "priority_band_1", frozenset(self.priority_band_1))
        object.__setattr__(self, "provenance", MappingProxyType(dict(self.provenance)))
        object.__setattr__(self, "_mode_index", {m: i for i, m in enumerate(self.mode_order)})

    def level_of(self, srv: str) -> int:
        """The priority level of ``srv`` (1 = most urgent); ``default_level`` if not listed."""
        return self.levels.get(srv, self.default_level)

    def rank(self, srv: str, mode: Mode) -> Rank:
        """The sort key of a request (smaller goes first), per SECMP0028 (domain.md §1).

        ``(band, mode position, level)``:

        1. ``band`` 0 for a Priority Band 1 SRV in On Demand mode, else 1: "SRVs in Priority
           Band 1 will be processed ahead of other On Demand SRVs" ([SEED 000] §3);
        2. position of the mode in ``mode_order``: "all On Demand SRVs will be processed ahead
           of Scheduled SRVs" ([SEED 000] §3, §6), so mode outranks level, as the seeds say;
        3. priority level: "processed in order of their Priority Level, regardless of the
           order in which they are received" ([SEED 001] §3).

        The scheduler appends the arrival sequence number, making the full key FIFO within a
        level ("first come, first serve", [SEED 001] §7).
        """
        band = 0 if mode is Mode.ON_DEMAND and srv in self.priority_band_1 else 1
        return (band, self._mode_index[mode], self.levels.get(srv, self.default_level))

    def class_of(self, srv: str, mode: Mode) -> int:
        """:meth:`rank` as a small integer in ``range(NUM_CLASSES)``, in the same order."""
        band, mode_pos, level = self.rank(srv, mode)
        return (band * len(Mode) + mode_pos) * MAX_LEVEL + level - MIN_LEVEL


def _check_level(source: str, path: str, level: object) -> None:
    if not MIN_LEVEL <= _expect_type(source, path, level, int) <= MAX_LEVEL:
        raise TmmError(source, path, level, f"level must be {MIN_LEVEL}..{MAX_LEVEL}")


def _check_srv(source: str, path: str, srv: object) -> None:
    _expect_type(source, path, srv, str)
    if srv not in KNOWN_SRVS:
        raise TmmError(source, path, srv, "unknown SRV (not in domain.md §7.3)")


# -- loading --------------------------------------------------------------------------------

_REQUIRED = ("version", "default_level", "mode_order", "priority_band_1", "levels")
_SECTIONS = ("throttling", "alert_storm", "outage_release", "northbound")
_OPTIONAL = (*_SECTIONS, "mode_order_override", "provenance")
_SECTION_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # section: (required fields, optional fields)
    "throttling": (
        ("capacity", "activate_at", "deactivate_at", "window_s", "cap_rule", "action",
         "hold_limit", "burst_s", "response_code"),
        ("allocation_pool", "unused_allocation"),
    ),
    "alert_storm": (("window_s", "threshold", "forward_period_s", "excluded_codes"), ()),
    "outage_release": (("policy",), ("release_rate",)),
    "northbound": (("order",), ()),
}  # fmt: skip


def load_tmm(
    path: Path, overrides: Mapping[str, object] | None = None
) -> TrafficManagementDocument:
    """Load and validate a TMM document from TOML; any problem raises :class:`TmmError`.

    Keys: ``version`` (string), ``default_level`` (1..4), ``mode_order`` (array of
    ``on_demand``/``future_dated``/``scheduled``), ``priority_band_1`` (array of SRVs),
    ``[levels]`` (SRV = level), all required; optional ``[throttling]``, ``[alert_storm]`` and
    ``[outage_release]`` sections (docs/dsp-model.md), each of whose fields needs a note in
    ``[provenance.<section>]``; optional ``[provenance]`` (field = note) with a
    ``[provenance.levels]`` sub-table (SRV = note). ``overrides`` replaces values by dotted
    path (``{"outage_release.policy": "prioritised"}``) before validation, as a scenario variant
    does; their provenance comes from the ``provenance`` key of ``overrides`` if any.
    """
    src = str(path)
    try:
        with path.open("rb") as f:
            raw = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise TmmError(src, "<document>", None, f"not valid TOML: {exc}") from exc
    except OSError as exc:
        raise TmmError(src, "<document>", None, f"cannot read: {exc}") from exc
    if overrides:
        src = f"{src} (with overrides {sorted(overrides)})"
        raw = _apply_overrides(src, raw, overrides)
    _check_keys(src, "", raw, _REQUIRED, _OPTIONAL)
    levels = _expect_type(src, "levels", raw["levels"], dict)
    modes = _expect_type(src, "mode_order", raw["mode_order"], list)
    band = _expect_type(src, "priority_band_1", raw["priority_band_1"], list)
    for name in _SECTIONS:
        if name in raw:
            _check_keys(
                src, f"{name}.", _expect_type(src, name, raw[name], dict), *_SECTION_FIELDS[name]
            )
    provenance = _flat_provenance(src, raw.get("provenance", {}), raw)
    sections = {
        name: _section(src, name, raw[name], provenance) for name in _SECTIONS if name in raw
    }
    return TrafficManagementDocument(
        version=raw["version"],
        default_level=raw["default_level"],
        mode_order=tuple(_enum(src, f"mode_order[{i}]", v, Mode) for i, v in enumerate(modes)),
        priority_band_1=frozenset(
            _expect_type(src, f"priority_band_1[{i}]", v, str) for i, v in enumerate(band)
        ),
        levels=levels,
        mode_order_override=raw.get("mode_order_override"),
        provenance=provenance,
        source=src,
        **sections,
    )


@cache
def default_tmm() -> TrafficManagementDocument:
    """The rig's default TMM document, packaged as ``rig/dsp/default_tmm.toml``.

    SRV 2.2 at level 1 and in Priority Band 1 ([SEED 000]), 7.4 at level 1, the install and
    commission SRVs 8.11, 6.15.1 and 6.15.2 at level 2 ([SEED 001]), every other SRV at level 4,
    On Demand ahead of Scheduled; alert storm protection on; throttling off; outages released all at
    once. The file annotates each value with its source.
    """
    return load_tmm(default_tmm_path())


def default_tmm_path() -> Path:
    """Where the packaged default TMM document lives."""
    path = shipped_tmm_path("default")
    assert path is not None
    return path


SHIPPED_TMMS = {"default": "default_tmm.toml", "band1-with-7.4": "tmm_band1_with_7_4.toml"}
"""TMM documents shipped in the package, by the name a scenario or bench file may give."""


def shipped_tmm_path(name: str) -> Path | None:
    """The packaged TMM document called ``name`` (see :data:`SHIPPED_TMMS`), or None."""
    file = SHIPPED_TMMS.get(name)
    return None if file is None else Path(str(resources.files(__package__) / file))


def _apply_overrides(src: str, raw: dict[str, Any], overrides: Mapping[str, object]) -> dict:
    raw = {k: dict(v) if isinstance(v, dict) else v for k, v in raw.items()}
    notes: dict[str, str] = {}
    for dotted, value in overrides.items():
        if dotted == "provenance":
            continue
        parts = dotted.split(".")
        if len(parts) > 2 or not all(parts):
            raise TmmError(src, dotted, value, "override path must be FIELD or SECTION.FIELD")
        if len(parts) == 1:
            raw[dotted] = value
        else:
            section = raw.get(parts[0])
            if not isinstance(section, dict):
                raise TmmError(src, dotted, value, f"no [{parts[0]}] section to override")
            section[parts[1]] = value
        note = overrides.get("provenance")
        if isinstance(note, str):
            notes[dotted] = note
    if notes:
        prov = raw.setdefault("provenance", {})
        if isinstance(prov, dict):
            prov = raw["provenance"] = {
                k: dict(v) if isinstance(v, dict) else v for k, v in prov.items()
            }
            for dotted, note in notes.items():
                head, _, tail = dotted.partition(".")
                if tail:
                    prov.setdefault(head, {})[tail] = note
                else:
                    prov[head] = note
    return raw


def _section(src: str, name: str, raw: object, provenance: Mapping[str, str]) -> Any:
    table = _expect_type(src, name, raw, dict)
    for key in table:
        if f"{name}.{key}" not in provenance:
            raise TmmError(
                src, f"provenance.{name}.{key}", None,
                "missing: every traffic-management parameter must say where its value comes from",
            )  # fmt: skip
    if name == "throttling":
        enums: dict[str, type[Enum]] = {
            "cap_rule": CapRule, "action": ThrottleAction, "unused_allocation": UnusedAllocation,
        }  # fmt: skip
        fields: dict[str, Any] = {
            k: _enum(src, f"throttling.{k}", v, enums[k]) if k in enums else v
            for k, v in table.items()
        }
        return ThrottlingPolicy(**fields)
    if name == "alert_storm":
        return alert_storm_policy(src, name, table, TmmError)
    if name == "northbound":
        return NorthboundPolicy(
            order=_enum(src, "northbound.order", table["order"], NorthboundOrder)
        )
    return OutageReleasePolicy(
        policy=_enum(src, "outage_release.policy", table["policy"], ReleasePolicy),
        release_rate=table.get("release_rate"),
    )


def alert_storm_policy(
    src: str, sec: str, table: Mapping[str, Any], error: type[TmmError] = TmmError
) -> AlertStormPolicy:
    """An :class:`AlertStormPolicy` from a TOML table (TMM ``[alert_storm]`` or a scenario's
    DP119 consolidation table); errors are raised as ``error`` naming ``sec.<field>``."""
    codes = table.get("excluded_codes", [])
    if not isinstance(codes, list):
        raise error(src, f"{sec}.excluded_codes", codes, "wrong type: expected array")
    try:
        policy = AlertStormPolicy(
            window_s=table["window_s"],
            threshold=table["threshold"],
            forward_period_s=table["forward_period_s"],
            excluded_codes=frozenset(codes),
        )
        policy.validate(src, sec)
    except TmmError as exc:
        raise error(exc.source, exc.path, exc.value, exc.reason) from None
    except KeyError as exc:
        raise error(src, f"{sec}.{exc.args[0]}", None, "missing required field") from None
    return policy


def _check_keys(
    src: str,
    prefix: str,
    table: Mapping[str, Any],
    required: Iterable[str],
    optional: Iterable[str],
) -> None:
    allowed = (*required, *optional)
    for key in required:
        if key not in table:
            raise TmmError(src, prefix + key, None, "missing required field")
    for key, value in table.items():
        if key not in allowed:
            raise TmmError(
                src, prefix + field_path(key), value, f"unknown field; expected {allowed}"
            )


_E = TypeVar("_E", bound=Enum)


def _enum(src: str, path: str, value: object, kind: type[_E]) -> _E:
    try:
        return kind(value)
    except ValueError:
        raise TmmError(
            src, path, value, f"unknown value; expected one of {[m.value for m in kind]}"
        ) from None


def _flat_provenance(src: str, raw: object, doc: Mapping[str, Any]) -> dict[str, str]:
    """``[provenance]`` flattened to dotted paths; each must name a field the document has."""
    table = _expect_type(src, "provenance", raw, dict)
    _check_keys(src, "provenance.", table, (), _REQUIRED + _SECTIONS)
    flat: dict[str, str] = {}
    for key, note in table.items():
        if key == "levels" or key in _SECTIONS:
            sub = _expect_type(src, f"provenance.{key}", note, dict)
            have = doc.get(key)
            for name, sub_note in sub.items():
                path = field_path("provenance", key, name)
                if not isinstance(have, dict) or name not in have:
                    raise TmmError(src, path, sub_note, f"no such entry in [{key}]")
                flat[field_path(key, name)] = _expect_type(src, path, sub_note, str)
        else:
            flat[key] = note
    return flat
