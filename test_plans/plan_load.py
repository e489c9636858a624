"""What the shipped load plans share: their TMM documents and the bench's Users and meters.

Plans name no ports and no EUIs: they take the bench's ESMEs and Users in order, so the same
plan runs on the emulated bench in CI and on a physical bench (docs/load.md "Shipped plans").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rig.config.bench import Bench

#: TMM documents of the plans (each value with its provenance inside).
TMM = Path(__file__).parent / "tmm"
BAND1 = TMM / "band1.toml"
NO_BAND1 = TMM / "no_band1.toml"
BAND1_PRIORITISED = TMM / "band1_prioritised.toml"
BAND1_THROTTLING = TMM / "band1_throttling.toml"
INVALID = TMM / "invalid.toml"


def meters(bench: Bench) -> list[str]:
    """The bench's ESMEs, in bench order."""
    found = [name for name, device in bench.devices.items() if device.kind == "esme"]
    if not found:
        pytest.skip(f"{bench.path}: the plan needs an ESME")
    return found


def two_users(bench: Bench) -> tuple[str, str]:
    """The first two Users: the one a plan measures, and another for background traffic."""
    users = list(bench.users or {bench.user.name: bench.user})
    if len(users) < 2:
        pytest.skip(f"{bench.path}: the plan needs two [[user]] entries")
    return users[0], users[1]
