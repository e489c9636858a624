"""Issue 13: an exception while a request is built or dispatched (a corrupt key file, a plan's
``mangle`` hook) fails that request with its reason: the record is finished and written, the
caller is told, and nothing waits for ever."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from one_esme_bench import METER, esme_bench

from devices.transports.pty_pair import PtyPair, open_pty_pair
from rig.cli import main
from rig.config.bench import load_bench
from rig.gbcs.eui import Eui64
from rig.keys.keystore import Role, key_file_name
from rig.live.launch import launch
from rig.live.orchestrator import Rig
from rig.results.jsonl import RESULTS_FILE, read_jsonl

OTHER = Eui64.parse("00-DB-12-34-56-78-91-99")


def corrupt_key(folder: Path, eui: Eui64) -> Path:
    """A garbage ``-ka.pem`` for ``eui`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / key_file_name(eui, Role.KA, private=False)
    path.write_text("not a certificate\n")
    return path


@pytest.fixture
def meter_port() -> Iterator[PtyPair]:
    """A physical meter's port that nobody answers on (the rig must not need an answer)."""
    with open_pty_pair() as pair:
        yield pair


def test_rig_check_fails_a_corrupt_key_file_in_one_line_quickly(
    tmp_path: Path, meter_port: PtyPair
) -> None:
    key = corrupt_key(tmp_path / "bench-keys", METER)
    bench = tmp_path / "bench.toml"
    port = f'port = "{meter_port.slave_path}"\nresponse_timeout_s = 30\n'
    bench.write_text(esme_bench("corrupt-key", port, keys=("bench-keys",)))
    started = time.monotonic()
    result = CliRunner().invoke(main, ["check", str(bench), "--out", str(tmp_path / "run")])
    assert time.monotonic() - started < 20  # the response timeout is 30 s: no wait for it
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("FAILED esme: DSP could not frame the command for esme: ")
    assert f"{key}: not a PEM certificate or public key" in lines[0]
    assert "https://" not in lines[0]
    written = [r for r in read_jsonl(tmp_path / "run" / RESULTS_FILE) if r["kind"] == "request"]
    assert [r["outcome"] for r in written] == ["failed"]


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    """An emulated meter; the bench's keys hold a corrupt one for another device (OTHER)."""
    folder = tmp_path_factory.mktemp("dispatch-errors")
    corrupt_key(folder / "other-keys", OTHER)
    bench = folder / "bench.toml"
    emulated = "emulated = true\nresponse_timeout_s = 30\n"
    bench.write_text(esme_bench("corrupt-key", emulated, keys=("other-keys",)))
    with launch(load_bench(bench), folder) as running:
        yield running


def explode(frame: bytes) -> bytes:
    raise RuntimeError(f"the plan's hook broke on {len(frame)} bytes")


def test_a_mangle_hook_that_raises_fails_its_request_with_the_reason(rig: Rig) -> None:
    record = rig.read_supply_status("esme", mangle=explode, timeout=10)
    assert record.outcome == "failed"
    assert record.reason is not None
    assert record.reason.startswith(
        "the plan's mangle hook raised RuntimeError: the plan's hook broke on "
    )
    assert rig.read_supply_status("esme", timeout=10).ok  # the run goes on


def test_a_request_whose_body_cannot_be_built_fails_with_the_reason(rig: Rig) -> None:
    record = rig.top_up("esme", pounds=1, utrn_target=OTHER, timeout=10)
    assert record.outcome == "failed"
    assert record.srv == "2.2" and record.user == "supplier"
    assert record.reason is not None
    assert record.reason.startswith("the request could not be built: ")
    assert "not a PEM certificate or public key" in record.reason
    assert rig.top_up("esme", pence=10, timeout=10).ok
