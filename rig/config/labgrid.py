"""The bench file's ``[labgrid]`` table: the bench is a labgrid place (docs/lab.md).

With it the rig does not open the bench's ports itself: it acquires a place through the labgrid
coordinator (one named ``place``, or any place whose tags match ``pool``/``tags``, through a
labgrid reservation) and reaches the devices through the place's resources (rig/lab/place.py).
Without it, physical ports are leased with ``flock`` on this host (rig/live/lease.py).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rig.config.bench import _Table as Table

#: labgrid's own default coordinator address, and the variable its tools read it from.
DEFAULT_COORDINATOR = "127.0.0.1:20408"
COORDINATOR_ENV = "LG_COORDINATOR"
#: The tag a ``pool`` name filters on: ``pool = "nightly"`` reserves a place tagged pool=nightly.
POOL_TAG = "pool"
#: labgrid's tag syntax (labgrid/remote/common.py TAG_KEY / TAG_VAL).
TAG_KEY = re.compile(r"[a-z][a-z0-9_]+")
TAG_VALUE = re.compile(r"[a-z0-9_]+")


@dataclass(frozen=True)
class LabgridConfig:
    """Which place to hold: ``place`` by name, or a place matching every tag of ``tags``
    (a pool: each worker and each CI job reserves its own)."""

    coordinator: str = field(default_factory=lambda: default_coordinator())
    place: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        """``place bench-a`` or ``pool pool=nightly``, for messages."""
        if self.place is not None:
            return f"place {self.place}"
        return "pool " + " ".join(f"{k}={v}" for k, v in sorted(self.tags.items()))


def default_coordinator() -> str:
    """``$LG_COORDINATOR`` (as labgrid's client and exporter read it), else labgrid's default."""
    return os.environ.get(COORDINATOR_ENV) or DEFAULT_COORDINATOR


def parse_tags(text: str) -> dict[str, str]:
    """``--lg-pool`` text: ``NAME`` (tag pool=NAME) or ``key=value[,key=value...]``;
    ValueError names what labgrid's tags allow."""
    pairs = [part.strip() for part in text.split(",") if part.strip()]
    if not pairs:
        raise ValueError("expected a pool name or key=value tags, got nothing")
    tags = {}
    for pair in pairs:
        key, _, value = pair.partition("=") if "=" in pair else (POOL_TAG, "=", pair)
        tags[key] = value
    check_tags(tags)
    return tags


def check_tags(tags: dict[str, str]) -> None:
    """Tags as labgrid takes them (lower-case letters, digits and ``_``; a key starts with a
    letter), else ValueError naming the first bad one."""
    for key, value in tags.items():
        if not TAG_KEY.fullmatch(key):
            raise ValueError(f"tag key {key!r}: labgrid takes [a-z][a-z0-9_]+")
        if not TAG_VALUE.fullmatch(value):
            raise ValueError(f"tag {key}={value!r}: labgrid takes values of [a-z0-9_]+")


def load_labgrid(table: Table) -> LabgridConfig:
    """The ``[labgrid]`` table: ``coordinator`` (HOST:PORT), and exactly one of ``place`` (a
    place name) or a pool (``pool = "NAME"`` and/or ``tags = {key = "value"}``)."""
    coordinator = table.get("coordinator", str, 'a coordinator "HOST:PORT"', None)
    place = table.get("place", str, "a labgrid place name", None)
    pool = table.get("pool", str, "a pool name (places tagged pool=NAME)", None)
    tags = dict(table.get("tags", dict, "a table of labgrid tags", {}))
    if pool is not None:
        tags[POOL_TAG] = pool
    if (place is None) == (not tags):
        raise table._error("place", "exactly one of place or a pool (pool / tags)")
    try:
        check_tags({str(k): v if isinstance(v, str) else repr(v) for k, v in tags.items()})
    except ValueError as exc:
        raise table._error("tags", str(exc)) from None
    table.check_unknown()
    config = LabgridConfig(place=place, tags=tags)
    return config if coordinator is None else LabgridConfig(coordinator, place, tags)
