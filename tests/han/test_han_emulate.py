"""``rig emulate`` on a HAN bench serves the emulated HAN to another rig process: the radio's
pty as its ``[han] port``, the meters' PKI and keys printed as bench-file text; ``rig check`` on
that physical-radio bench passes, and passes again in a second process (the first one's hub
asked the meters to leave when it stopped, so they join the next) (docs/han.md "rig emulate:
a HAN for another rig")."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from rig.config.bench import SHIPPED_BENCHES

pytestmark = pytest.mark.slow

RIG = Path(sys.executable).parent / "rig"


def physical_bench(printed: list[str], devices: tuple[str, ...]) -> str:
    """The shipped HAN bench's users and DSP, the printed key folder, [han] table and the
    ``[[device]]`` tables of ``devices``."""
    shipped = (SHIPPED_BENCHES / "han.toml").read_text()
    keys = printed[0].split('"')[1]
    head = shipped[: shipped.index("[han]")].replace('"@rtds"', f'"{keys}", "@rtds"')
    tables = "\n".join(printed[1:]).split("[[device]]\n")
    wanted = [t for t in tables[1:] if any(f'name = "{name}"' in t for name in devices)]
    return head + tables[0] + "".join(f"[[device]]\n{t}" for t in wanted)


def test_a_second_rig_drives_the_emulated_han_as_a_dongle(tmp_path: Path) -> None:
    served = subprocess.Popen(
        [str(RIG), "emulate", "han", "--out", str(tmp_path / "served")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines: list[str] = []
        while sum(line.startswith("response_timeout_s") for line in lines) < 2:
            line = served.stdout.readline()  # type: ignore[union-attr]
            assert line, served.stderr.read()  # type: ignore[union-attr]
            lines.append(line.rstrip("\n"))
        [radio] = [line.split("\t")[1] for line in lines if line.startswith("han radio\t")]
        assert radio.startswith("/dev/pts/")
        printed = lines[lines.index(next(x for x in lines if x.startswith("# add to"))) :]
        assert f'port = "{radio}"' in printed
        # One bench file: the Comms Hub's NWK frame counter is kept beside it, and the meters
        # refuse a hub whose counter went back (docs/bench-files.md "Counters").
        bench = tmp_path / "physical.toml"
        for name, devices in (("both", ("esme", "gsme")), ("again", ("esme",))):
            bench.write_text(physical_bench(printed, devices))
            check = subprocess.run(
                [str(RIG), "check", str(bench), "--out", str(tmp_path / name)],
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert check.returncode == 0, check.stdout + check.stderr
            for device in devices:
                assert f"ok     {device}: answered" in check.stdout
    finally:
        served.send_signal(signal.SIGINT)
        _, err = served.communicate(timeout=30)
    assert served.returncode == 0, err
    assert "stopped" in err
