"""``rig duis`` validate / sign / verify / show (rig/duis/commands.py) through click's runner."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from duis_testdata import SIGN_KEYS, TEMPLATES

from rig.duis.commands import duis


def test_validate_good_and_bad(shared_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_bytes(TEMPLATES[0].read_bytes().replace(b"<sr:CommandVariant>", b"<sr:Oops>", 1))
    result = CliRunner().invoke(duis, ["validate", str(TEMPLATES[0]), str(bad)])
    assert result.exit_code == 1
    assert "OK request SRV" in result.output
    assert "bad.xml: RIG-" in result.output


def test_sign_then_verify_then_show(shared_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "signed"
    files = [str(p) for p in TEMPLATES[:3]]
    signed = runner.invoke(duis, ["sign", "--keys", str(SIGN_KEYS), "--out", str(out), *files])
    assert signed.exit_code == 0, signed.output
    paths = sorted(str(p) for p in out.iterdir())
    verified = runner.invoke(duis, ["verify", "--keys", str(SIGN_KEYS), *paths])
    assert verified.exit_code == 0 and verified.output.count("signature OK") == 3
    unsigned = runner.invoke(duis, ["verify", "--keys", str(SIGN_KEYS), files[0]])
    assert unsigned.exit_code == 1 and "RIG-BAD-SIGNATURE" in unsigned.output
    shown = runner.invoke(duis, ["show", paths[0]])
    assert shown.exit_code == 0 and "\n  <sr:Header>" in shown.output


def test_sign_to_stdout_with_explicit_key(shared_dir: Path) -> None:
    stem = SIGN_KEYS / "xml-sign-90B3D51F30020000-ds"
    result = CliRunner().invoke(
        duis,
        ["sign", "--key", f"{stem}.key", "--cert", f"{stem}.pem", str(TEMPLATES[0])],
    )
    assert result.exit_code == 0 and "<ds:SignatureValue>" in result.output
    half = CliRunner().invoke(duis, ["sign", "--key", f"{stem}.key", str(TEMPLATES[0])])
    assert half.exit_code != 0
