"""The whole-RTDS pass of ``rig benchmark codec --rtds`` and its gbcs-parser column
(rig/benchmarks/rtds_pass.py): what it checks per frame, and the reasons it skips gbcs-parser."""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

import pytest

from rig.benchmarks import rtds_pass
from rig.benchmarks.rtds_pass import ParserFigure, PassResult, RtdsPass
from rig.keys.keystore import KeyStore


def test_pass_types_verifies_and_decrypts_every_vector(rtds: Path, rtds_keys: KeyStore) -> None:
    frames = [
        bytes.fromhex(p.read_text().strip()) for p in rtds_pass.vector_paths(rtds / "vectors")
    ]
    tally = RtdsPass(rtds_keys).run(frames)
    assert tally["payload typed"] == len(frames)
    assert tally["part decrypted"] > 0 and tally["MAC valid"] > 0 and tally["signature valid"] > 0
    assert not [name for name in tally if "INVALID" in name or "malformed" in name]


def test_a_malformed_frame_is_counted_not_raised(rtds_keys: KeyStore) -> None:
    tally: Counter[str] = Counter()
    RtdsPass(rtds_keys).frame(b"\xdd\x00", tally)
    assert tally == Counter({"frame malformed": 1})


def test_gbcs_parser_skipped_without_node(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(rtds_pass.shutil, "which", lambda name: None)
    figure = rtds_pass.gbcs_parser_pass(tmp_path, tmp_path, tmp_path, 0.1)
    assert figure == ParserFigure(None, note="node not found")
    ours = PassResult(737, 1000.0, Counter({"payload typed": 737}))
    assert "whole-RTDS pass (gbcs-parser): skipped (node not found)" in rtds_pass.report(
        ours, figure
    )


def test_a_failed_npm_install_says_why(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def npm(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        stderr = "npm error code E404\nnpm error 404 Not Found - GET https://example/x\n"
        return subprocess.CompletedProcess(command, 1, "", stderr)

    monkeypatch.setattr(rtds_pass.shutil, "which", lambda name: f"/bin/{name}")
    monkeypatch.setattr(rtds_pass.subprocess, "run", npm)
    why = rtds_pass.install_gbcs_parser(tmp_path / "parser")
    assert (
        why
        == f"npm install {rtds_pass.PACKAGE} failed: npm error 404 Not Found - GET https://example/x"
    )


def test_report_prints_the_ratio() -> None:
    ours = PassResult(10, 2000.0, Counter({"payload typed": 10}))
    text = rtds_pass.report(ours, ParserFigure(500.0, 10, "0"))
    assert (
        "gbcs-parser): 10 frames, 500 frames/s" in text and "ratio rig / gbcs-parser: 4.00" in text
    )


FAKE_PARSER = """
exports.parseGbcsMessage = async (message, keyStore) => {
  await keyStore('90-B3-D5-1F-30-01-00-00', 'KA', { privateKey: true })
  await keyStore(new Uint8Array([0, 0xdb, 0x12, 0x34, 0x56, 0x78, 0x90, 0xa0]), 'DS', {})
  if (message.startsWith('DF')) throw new Error('not this one')
  return { Payload: {} }
}
"""


@pytest.mark.skipif(rtds_pass.shutil.which("node") is None, reason="node not installed")
def test_node_script_loops_over_the_files_with_the_keystore(rtds: Path, tmp_path: Path) -> None:
    """The node side, against a stand-in for gbcs-parser (same entry point and keystore
    callback): every file parsed, keys found by EUI in either form, throws counted."""
    package = tmp_path / "node_modules" / "@smartdcc" / "gbcs-parser"
    package.mkdir(parents=True)
    (package / "package.json").write_text('{"name": "@smartdcc/gbcs-parser", "main": "index.js"}')
    (package / "index.js").write_text(FAKE_PARSER)
    figure = rtds_pass.gbcs_parser_pass(tmp_path, rtds / "vectors", rtds / "keystore", 0.05)
    paths = rtds_pass.vector_paths(rtds / "vectors")
    bare = sum(p.read_text().strip().upper().startswith("DF") for p in paths)
    assert figure.rate is not None and figure.rate > 0
    assert (figure.frames, figure.note) == (len(paths), str(bare))
