"""The Traffic Management Mechanism (TMM) document: southbound priority configuration.

Priority levels "live in the TMM document and change by re-configuration without a system
outage" (domain.md §1, SECMP0028, [SEED 000] §5). This module holds that document as an
immutable value, loads and validates it from TOML, and turns it into a sort key.

Every value that the seeds do not fix is configuration with its provenance: the document's
``provenance`` maps each field (a TOML dotted path) to a note of where its value comes from.
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

# fmt: off
KNOWN_SRVS: frozenset[str] = frozenset((
    # domain.md §7.3, SRV matrix table.
    "1.1.1", "1.5", "1.6", "2.1", "2.2", "2.3", "2.5", "3.1", "3.2", "3.3", "3.4", "3.5",
    "4.1.1", "4.3", "4.13", "4.18", "6.7", "6.11", "6.15.1", "6.15.2", "6.23", "7.1", "7.2",
    "7.3", "7.4", "8.11", "11.1", "11.2", "11.3",
    # domain.md §7.3, "DCC Scheduled = Yes" SRVs.
    "4.6.1", "4.6.2", "4.8.1", "4.8.2", "4.8.3", "4.10", "4.12.1", "4.12.2", "4.14", "4.15",
    "4.16", "4.17", "14.1",
    # domain.md §7.3, Non-Device SRVs.
    "5.1", "5.2", "5.3", "8.2", "8.3", "8.4", "8.6", "8.13", "8.14.1", "8.14.2", "8.14.3",
    "8.14.4", "11.4", "12.1", "12.2",
))
# fmt: on
"""SRVs a TMM document may name: those listed in domain.md §7.3 (a subset of the 129 in DUIS)."""

Rank = tuple[int, int, int]
_T = TypeVar("_T")

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def field_path(*parts: str) -> str:
    """A TOML dotted path, quoting keys that are not bare (``levels."2.2"``)."""
    return ".".join(p if _BARE_KEY.fullmatch(p) else f'"{p}"' for p in parts)


class TmmError(ValueError):
    """An invalid TMM document; the message names the file, the field and the bad value."""

    def __init__(self, source: str, path: str, value: object, reason: str) -> None:
        super().__init__(f"{source}: {path} = {value!r}: {reason}")
        self.source = source
        self.path = path
        self.value = value
        self.reason = reason


@dataclass(frozen=True, kw_only=True)
class TrafficManagementDocument:
    """One version of the TMM document (domain.md §1, SECMP0028; [SEED 000], [SEED 001]).

    ``levels`` maps SRV -> priority level 1..4; SRVs not listed get ``default_level``.
    ``priority_band_1`` holds SRVs processed ahead of other On Demand SRVs. ``mode_order`` ranks
    the modes of operation, each exactly once. ``provenance`` maps a field's dotted path
    (``mode_order``, ``levels."2.2"``) to its source. ``source`` names where the document came
    from, for error messages. Constructing one validates it (raises :class:`TmmError`).
    """

    version: str
    levels: Mapping[str, int]
    priority_band_1: frozenset[str] = frozenset()
    default_level: int = MAX_LEVEL
    mode_order: tuple[Mode, ...] = DEFAULT_MODE_ORDER
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


_TOML_TYPE_NAMES = {str: "string", int: "integer", list: "array", dict: "table"}


def _expect_type(source: str, path: str, value: object, kind: type[_T]) -> _T:
    # bool is an int subclass, but `level = true` is a type error, not level 1.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        name = _TOML_TYPE_NAMES.get(kind, kind.__name__)
        raise TmmError(source, path, value, f"wrong type: expected {name}")
    return value


def _check_level(source: str, path: str, level: object) -> None:
    if not MIN_LEVEL <= _expect_type(source, path, level, int) <= MAX_LEVEL:
        raise TmmError(source, path, level, f"level must be {MIN_LEVEL}..{MAX_LEVEL}")


def _check_srv(source: str, path: str, srv: object) -> None:
    _expect_type(source, path, srv, str)
    if srv not in KNOWN_SRVS:
        raise TmmError(source, path, srv, "unknown SRV (not in domain.md §7.3)")


_REQUIRED = ("version", "default_level", "mode_order", "priority_band_1", "levels")
_OPTIONAL = ("provenance",)


def load_tmm(path: Path) -> TrafficManagementDocument:
    """Load and validate a TMM document from TOML; any problem raises :class:`TmmError`.

    Keys: ``version`` (string), ``default_level`` (1..4), ``mode_order`` (array of
    ``on_demand``/``future_dated``/``scheduled``), ``priority_band_1`` (array of SRVs),
    ``[levels]`` (SRV = level), all required; optional ``[provenance]`` (field = note) with a
    ``[provenance.levels]`` sub-table (SRV = note).
    """
    src = str(path)
    try:
        with path.open("rb") as f:
            raw = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise TmmError(src, "<document>", None, f"not valid TOML: {exc}") from exc
    except OSError as exc:
        raise TmmError(src, "<document>", None, f"cannot read: {exc}") from exc
    _check_keys(src, "", raw, _REQUIRED, _OPTIONAL)
    levels = _expect_type(src, "levels", raw["levels"], dict)
    modes = _expect_type(src, "mode_order", raw["mode_order"], list)
    band = _expect_type(src, "priority_band_1", raw["priority_band_1"], list)
    return TrafficManagementDocument(
        version=raw["version"],
        default_level=raw["default_level"],
        mode_order=tuple(_mode(src, f"mode_order[{i}]", v) for i, v in enumerate(modes)),
        priority_band_1=frozenset(
            _expect_type(src, f"priority_band_1[{i}]", v, str) for i, v in enumerate(band)
        ),
        levels=levels,
        provenance=_flat_provenance(src, raw.get("provenance", {}), levels),
        source=src,
    )


@cache
def default_tmm() -> TrafficManagementDocument:
    """The rig's default TMM document, packaged as ``rig/dsp/default_tmm.toml``.

    SRV 2.2 and 7.4 at level 1 and in Priority Band 1, every other SRV at level 4, On Demand
    ahead of Scheduled; the file annotates each value with its source.
    """
    with resources.as_file(resources.files(__package__) / "default_tmm.toml") as path:
        return load_tmm(path)


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


def _mode(src: str, path: str, value: object) -> Mode:
    try:
        return Mode(value)
    except ValueError:
        raise TmmError(
            src, path, value, f"unknown mode; expected one of {[m.value for m in Mode]}"
        ) from None


def _flat_provenance(src: str, raw: object, levels: Mapping[str, Any]) -> dict[str, str]:
    """``[provenance]`` flattened to dotted paths; each must name a field the document has."""
    table = _expect_type(src, "provenance", raw, dict)
    _check_keys(src, "provenance.", table, (), _REQUIRED)
    flat = {k: v for k, v in table.items() if k != "levels"}
    for srv, note in _expect_type(src, "provenance.levels", table.get("levels", {}), dict).items():
        if srv not in levels:
            raise TmmError(
                src, field_path("provenance", "levels", srv), note, "no such entry in [levels]"
            )
        flat[field_path("levels", srv)] = note
    return flat
