"""``rig decode``, ``rig frame`` and ``rig benchmark codec`` through click's CliRunner
(reference/gbcs.md §1-3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rig.benchmarks.commands import benchmark_codec
from rig.gbcs.commands import BUILDERS, decode, frame
from rig.gbcs.frame import decode as decode_frame
from rig.gbcs.gbt import reassemble, segment
from rig.gbcs.usecases import decode_payload

ECS45 = (
    "DD000000000000471100000000DF090100000000000003E80890B3D51F300100000800DB1234567890A00002"
    "005213D9200003E80001010046000060030AFF0301000052E8965230E91EE41782CE42"
)


def run(command: object, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(command, list(args))  # type: ignore[arg-type]
    return result.exit_code, result.output


def test_decode_without_keys_names_the_use_case() -> None:
    code, out = run(decode, ECS45, "--keys", str(Path(__file__).parent))
    assert code == 0
    assert "0x0052 ECS45 Read Status of Load Switch in the ESME" in out
    assert "ReadSupplyStatusEsme" in out and "mac verdict: not checked" in out


def test_decode_malformed_gives_offset_and_exit_2() -> None:
    code, out = run(decode, ECS45[:-2])
    assert code == 2 and "error: offset 7: ciphered-content length 71" in out


@pytest.mark.shared
def test_decode_verdicts_with_keys(rtds: Path, tmp_path: Path) -> None:
    keys = str(rtds / "keystore")
    code, out = run(decode, ECS45, "--keys", keys, "--json")
    report = json.loads(out)
    assert code == 0 and report["verdicts"] == {"mac": "valid", "signature": "absent"}
    tampered = ECS45[:-2] + "43"
    assert run(decode, tampered, "--keys", keys)[0] == 1
    (tmp_path / "f.hex").write_text(ECS45)
    (tmp_path / "f.bin").write_bytes(bytes.fromhex(ECS45))
    for name in ("f.hex", "f.bin"):
        assert "mac verdict: valid" in run(decode, f"@{tmp_path / name}", "--keys", keys)[1]


OPTIONS = {
    "CS01a": ["--credit", "10"],
    "CS01b": ["--credit", "1250", "--value-class", "pennies", "--target", "00DB1234567890A1"],
    "GCS24": ["--rate", "61680"],
    "GCS24a": ["--rate", "6.168"],
    "GCS01a": ["--threshold", "1000000", "--threshold", "2000000"],
    "CCS01": ["--device", "00DB1234567890A0", "--install-code", "30" * 16],
    "CCS02": ["--device", "00DB1234567890A0"],
}


@pytest.mark.shared
@pytest.mark.parametrize("use_case", sorted(BUILDERS))
def test_frame_builds_every_use_case(rtds: Path, use_case: str) -> None:
    counter = str(0x600000000)
    code, out = run(frame, use_case, "--counter", counter, *OPTIONS.get(use_case, []))
    assert code == 0, out
    s = decode_frame(bytes.fromhex(out.strip())).signing
    typed = decode_payload(s.message_code, s.payload, s.cra)
    assert type(typed).__name__ != "RawPayload"
    code, decoded = run(decode, out.strip(), "--keys", str(rtds / "keystore"))
    assert code == 0 and "INVALID" not in decoded


@pytest.mark.shared
def test_frame_reproduces_rtds_and_gbt(rtds: Path, tmp_path: Path) -> None:
    assert run(frame, "ECS45", "--counter", "1000")[1].strip() == ECS45
    code, out = run(
        frame,
        "ECS45",
        "--counter",
        "1000",
        "--gbt-block-size",
        "30",
        "--pcap",
        str(tmp_path / "x.pcap"),
    )
    blocks = [bytes.fromhex(line) for line in out.split()]
    assert code == 0 and len(blocks) == 3 and reassemble(blocks).hex().upper() == ECS45
    assert (tmp_path / "x.pcap").stat().st_size > 24
    code, out = run(frame, "ECS43", "--counter", "1000", "--critical-form", "precommand")
    assert out.strip().endswith("340" + "0")  # script 52, null signature


def test_frame_errors_are_usage_errors() -> None:
    code, out = run(frame, "GCS24", "--counter", "1", "--keys", str(Path(__file__).parent))
    assert code == 2 and "--rate" in out
    code, out = run(frame, "GCS24", "--counter", "1", "--rate", "6.5", "--keys", ".")
    assert code == 1 and "not an integer" in out


def test_bench_codec_reports_ratios() -> None:
    code, out = run(benchmark_codec, "--seconds", "0.05", "--json")
    rows = json.loads(out)
    assert code == 0 and rows[0]["name"] == "decode+verify+type (ECS45)"
    assert rows[1]["name"].strip() == "the same, cold (memo emptied)"
    assert all(r["ratio"] > 0 for r in rows)


def test_bench_codec_rtds_pass_prints_its_lines(rtds: Path) -> None:
    """--rtds: the RTDS mix rows, the whole-pass line with every vector typed and every part
    decrypted, and gbcs-parser's line (skipped here: no npm in a test); no timed assertion."""
    code, out = run(benchmark_codec, "--seconds", "0.05", "--rtds", "--no-gbcs-parser")
    assert code == 0, out
    vectors = len(list((rtds / "vectors").glob("*/*.HEX")))
    assert "decode+verify+type (RTDS mix, " in out
    assert f"whole-RTDS pass (rig): {vectors} frames, " in out and " frames/s " in out
    verdicts = next(line for line in out.splitlines() if "verdicts:" in line)
    assert f"payload typed {vectors}" in verdicts and "INVALID" not in verdicts
    assert "whole-RTDS pass (gbcs-parser): skipped (--no-gbcs-parser)" in out
    code, out = run(benchmark_codec, "--seconds", "0.05", "--rtds", "--no-gbcs-parser", "--json")
    figures = json.loads(out)["rtds_pass"]
    assert figures["frames"] == vectors and figures["ratio"] is None


def test_decode_gbt_block() -> None:
    block = segment(bytes.fromhex(ECS45), 40)[0].hex()
    code, out = run(decode, block, "--keys", str(Path(__file__).parent))
    assert code == 0 and "GBT block" in out and "block number: 1" in out
