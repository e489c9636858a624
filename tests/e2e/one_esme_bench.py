"""A bench of one ESME for the e2e tests that drive it through the rig: emulated on a chosen
transport, live (bench I/O, fault injection), or physical on a port the test provides (a pty
nobody answers, an emulator process the rig reaches as a serial port)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rig.config.bench import load_bench
from rig.gbcs.eui import Eui64
from rig.live.launch import launch
from rig.live.orchestrator import Rig

#: The bench's one ESME.
METER = Eui64.parse("00-DB-12-34-56-78-91-01")


def esme_bench(name: str, device: str, keys: tuple[str, ...] = ()) -> str:
    """The text of a bench of one ESME (:data:`METER`): ``device`` is the rest of its
    ``[[device]]`` table (its port or ``emulated``, its timings), then any further tables; the
    bench's keys are the folders ``keys`` (beside the bench file) and the RTDS's."""
    dirs = ", ".join(f'"{k}"' for k in (*keys, "@rtds"))
    return f"""
[bench]
name = "{name}"
[keys]
dirs = [{dirs}]
[user]
eui = "90-B3-D5-1F-30-01-00-00"
[[device]]
name = "esme"
kind = "esme"
eui = "{METER}"
{device}"""


def write_bench(folder: Path, name: str, transport: str, extra: str = "") -> Path:
    """The bench file ``folder/bench.toml``: the ESME emulated, on ``transport``; ``extra`` is
    appended inside its ``[[device]]`` table (its keys, then any tables)."""
    path = folder / "bench.toml"
    device = f'emulated = true\nprocessing_time_s = 0.001\ntransport = "{transport}"\n{extra}'
    path.write_text(esme_bench(name, device))
    return path


@contextmanager
def live_rig(folder: Path, name: str, transport: str, extra: str = "") -> Iterator[Rig]:
    """The bench launched (devices, DSP, results in ``folder``) until the block ends."""
    with launch(load_bench(write_bench(folder, name, transport, extra)), folder) as running:
        yield running
