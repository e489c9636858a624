"""XML-signing keys without ../shared: ``rig keys duis OUT`` makes a test set in the layout
``[duis] keys`` takes, and ``rig serve`` without one says so in one line naming the key and that
command (docs/dcc-boxed.md "Keys")."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from serve_adapter import ESME, SUPPLIER, rid, write_bench

from rig.cli import main
from rig.config.bench import load_bench
from rig.duis.access import DCC
from rig.duis.dsig import CertificateStore, Signer, sign, signer_eui, verify
from rig.duis.messages import build_request
from rig.duis.request import CommandVariant, ReadSupplyStatus, ServiceRequest
from rig.serve.gate import Gate

BENCH_WITHOUT_KEYS = """
[[user]]
name = "supplier"
eui = "90-B3-D5-1F-30-01-00-00"
[[device]]
name = "esme"
kind = "esme"
eui = "00-DB-12-34-56-78-90-A0"
emulated = true
"""


def test_rig_keys_duis_makes_a_set_rig_serve_signs_and_verifies_with(tmp_path: Path) -> None:
    out = tmp_path / "xml-sign-keys"
    result = CliRunner().invoke(main, ["keys", "duis", str(out)])
    assert result.exit_code == 0, result.output
    names = {Path(line).name for line in result.output.split()}
    assert {"dsp-xml-sign-90B3D51F30000002-ds.key", "xml-sign-90B3D51F30010000-ds.pem"} <= names
    gate = Gate(load_bench(write_bench(tmp_path, out, "http://127.0.0.1:9/")))
    stem = out / f"xml-sign-{SUPPLIER.hex.upper()}-ds"
    user = Signer.load(stem.with_suffix(".key"), stem.with_suffix(".pem"))
    request = ServiceRequest(rid(1 << 32), ReadSupplyStatus(), CommandVariant.NON_CRITICAL_WAN)
    read, signer = gate.read(sign(build_request(request), user))
    assert (read, signer) == (request, SUPPLIER)
    answer = gate.answer(request, "I99")
    assert signer_eui(verify(answer, CertificateStore.from_dirs(out))) == DCC
    assert read.request_id.target == ESME


def test_rig_serve_without_keys_names_the_key_and_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RIG_SHARED_DIR", str(tmp_path / "no-shared"))
    bench = tmp_path / "bench.toml"
    bench.write_text(BENCH_WITHOUT_KEYS)
    result = CliRunner().invoke(main, ["serve", str(bench), "--port", "0"])
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert "[duis] keys" in line and "rig keys duis OUT" in line, line
    assert str(tmp_path / "no-shared" / "duis" / "xml-sign-keys") in line
