"""A live bench of one emulated ESME on a chosen transport, for the e2e tests that drive it
through the rig (bench I/O, fault injection)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rig.config.bench import load_bench
from rig.live.launch import launch
from rig.live.orchestrator import Rig

#: ``extra`` is appended inside the ESME's ``[[device]]`` table: its keys, then any tables.
ONE_ESME = """
[bench]
name = "{name}"
[keys]
dirs = ["@rtds"]
[user]
eui = "90-B3-D5-1F-30-01-00-00"
[[device]]
name = "esme"
kind = "esme"
eui = "00-DB-12-34-56-78-91-01"
emulated = true
processing_time_s = 0.001
transport = "{transport}"
{extra}"""


def write_bench(folder: Path, name: str, transport: str, extra: str = "") -> Path:
    """The bench file ``folder/bench.toml``."""
    path = folder / "bench.toml"
    path.write_text(ONE_ESME.format(name=name, transport=transport, extra=extra))
    return path


@contextmanager
def live_rig(folder: Path, name: str, transport: str, extra: str = "") -> Iterator[Rig]:
    """The bench launched (devices, DSP, results in ``folder``) until the block ends."""
    with launch(load_bench(write_bench(folder, name, transport, extra)), folder) as running:
        yield running
