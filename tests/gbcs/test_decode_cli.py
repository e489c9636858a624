"""``rig decode`` on RTDS vectors through click's CliRunner: encrypted response parts decrypted
with ``--keys`` (reference/gbcs.md §1.4) and several GBT blocks reassembled (§1.8)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from gbcs_testdata import SHARED_DIR
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rig.gbcs.commands import decode
from rig.gbcs.errors import DecodeError
from rig.gbcs.gbt import segment
from rig.gbcs.tree import inspect
from rig.keys.keystore import KeyStore

pytestmark = pytest.mark.shared
ENCRYPTED = (
    "ECS17b_4.1.1_TWIN_SUCCESS_RESPONSE",
    "GCS13a_4.1.1_SUCCESS_RELIABLE_GSME_RESPONSE",
    "GCS14_4.3_SUCCESS_RELIABLE_GSME_RESPONSE",
    "ECS68_NA_8F0A_SINGLE_ALERT",
)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(decode, list(args))
    return result.exit_code, result.output


def vector(rtds: Path, name: str) -> str:
    (path,) = (rtds / "vectors").glob(f"*/{name}_GBCS.HEX")
    return path.read_text().strip()


def test_ecs17b_registers_are_decrypted_and_decoded(rtds: Path) -> None:
    frame = vector(rtds, "ECS17b_4.1.1_SINGLE_SUCCESS_RESPONSE")
    code, out = run(frame, "--keys", str(rtds / "keystore"))
    assert code == 0, out
    assert "encrypted protected attributes 0" in out and "decryption: decrypted" in out
    assert "typed: ProtectedAttributes" in out and "plaintext:" not in out
    assert "[0] double_long_unsigned: 10 (0xA)" in out and "[1] enum: 30 (0x1E)" in out
    assert "decryption verdict: valid" in out


def test_gcs13a_component_is_decrypted_into_attribute_records(rtds: Path) -> None:
    frame = vector(rtds, "GCS13a_4.1.1_SUCCESS_RELIABLE_GSME_RESPONSE")
    code, out = run(frame, "--keys", str(rtds / "keystore"), "--json")
    assert code == 0
    report = json.loads(out)
    assert report["verdicts"]["decryption"] == "valid"
    text = json.dumps(report["tree"])
    assert "encrypted component 0 (cluster 0x0702)" in text
    assert '"value": "ReadAttributesResponse"' in text
    assert "770 (0x302)" in text and "1000 (0x3E8)" in text  # the divisor


def test_a_tampered_encrypted_part_is_invalid(rtds: Path) -> None:
    frame = vector(rtds, "ECS17b_4.1.1_SINGLE_SUCCESS_RESPONSE")
    at = frame.index("3100000000") + 20  # first ciphertext byte
    tampered = frame[:at] + f"{int(frame[at : at + 2], 16) ^ 1:02X}" + frame[at + 2 :]
    code, out = run(tampered, "--keys", str(rtds / "keystore"))
    assert code == 1
    assert "authentication tag INVALID" in out and "decryption verdict: INVALID" in out


def test_without_the_key_the_part_is_not_decrypted(rtds: Path) -> None:
    frame = vector(rtds, "ECS17b_4.1.1_SINGLE_SUCCESS_RESPONSE")
    code, out = run(frame, "--keys", str(Path(__file__).parent))
    assert code == 0
    assert "decryption verdict: not checked" in out and "plaintext" not in out


def _blocks(rtds: Path) -> list[str]:
    command = bytes.fromhex(vector(rtds, "ECS01a_1.1.1_IMMEDIATE_TOU_SUCCESS_COMMAND"))
    blocks = [b.hex().upper() for b in segment(command, 256)]
    assert len(blocks) == 6
    return blocks


def test_gbt_blocks_in_any_order_are_reassembled_and_decoded(rtds: Path, tmp_path: Path) -> None:
    blocks = _blocks(rtds)
    shuffled = [blocks[2], blocks[0], blocks[1], *blocks[3:]]
    code, out = run(*shuffled, "--keys", str(rtds / "keystore"))
    assert code == 0, out
    assert "GBT reassembly: 6 blocks, 1426 bytes" in out
    assert "blocks in input order: 3, 1, 2, 4, 5, 6" in out
    assert "out of order: 1, 2" in out
    assert "UpdateTariffEsme" in out and "tou_prices: 48 items" in out
    assert "mac verdict: valid" in out
    lines = tmp_path / "blocks.txt"
    lines.write_text("\n".join(reversed(blocks)) + "\n")
    code, out = run(f"@{lines}", "--keys", str(rtds / "keystore"))
    assert code == 0 and "out of order: 5, 4, 3, 2, 1" in out


def test_missing_and_foreign_blocks_are_reported(rtds: Path) -> None:
    blocks = _blocks(rtds)
    code, out = run(blocks[0], *blocks[2:])
    assert code == 2
    assert "incomplete GBT message: missing blocks [2]" in out
    assert "received [1, 3, 4, 5, 6]" in out
    code, out = run(*blocks[:3])
    assert code == 2 and "no last block" in out
    other = segment(bytes.fromhex(vector(rtds, "ECS45_7.4_SUCCESS_COMMAND")), 32)[0].hex()
    code, out = run(blocks[0], other)
    assert code == 2 and "block input 2: block 1 belongs to another message" in out
    code, out = run(blocks[0], blocks[0])
    assert code == 2 and "block input 2: duplicate block 1" in out


@given(st.data())
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_mutated_encrypted_responses_decode_or_raise_decode_error(
    rtds_keys: KeyStore, data: st.DataObject
) -> None:
    """The bad-input contract holds with keys too: decryption never raises anything else."""
    name = data.draw(st.sampled_from(ENCRYPTED))
    frame = bytearray.fromhex(vector(SHARED_DIR / "gbcs-rtds", name))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(frame) - 1))
        frame[at] = data.draw(st.integers(0, 255))
    try:
        report = inspect(bytes(frame), rtds_keys)
    except DecodeError:
        return
    verdict = report.verdicts.get("decryption", "valid")
    assert verdict in {"valid", "INVALID"} or verdict.startswith("not checked (key not available")


def test_a_payload_its_model_cannot_re_encode_is_one_error_line(rtds: Path) -> None:
    """Issue 13: the ECS01a pre-command with a scaler ``0F FB`` flipped to ``0D FB`` (byte 591)
    is malformed input: exit status 2 and one line naming the offset and the reason."""
    frame = bytearray.fromhex(vector(rtds, "ECS01a_1.1.1_IMMEDIATE_TOU_SUCCESS_PRECOMMAND"))
    frame[591] ^= 0x02
    result = CliRunner().invoke(decode, [frame.hex(), "--keys", str(rtds / "keystore")])
    assert result.exit_code == 2 and result.exception is not None
    assert result.output.splitlines() == [
        "error: offset 36: payload: ECS01a: payload is not in canonical form "
        "(251 does not fit in INTEGER)"
    ]


def test_a_missing_file_is_one_error_line(tmp_path: Path) -> None:
    """``rig decode @FILE`` of a file that cannot be read: usage error (exit 2), no traceback."""
    result = CliRunner().invoke(decode, [f"@{tmp_path / 'absent.hex'}"])
    assert result.exit_code == 2
    assert "absent.hex" in result.output and "Traceback" not in result.output
    assert not isinstance(result.exception, OSError)
