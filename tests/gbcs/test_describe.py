"""Frame descriptions (:mod:`rig.gbcs.describe`) and ``rig frame --from``: every shared RTDS
vector goes to JSON and back to the same bytes (MACs recomputed, encrypted parts re-encrypted
from their plaintexts), a response is crafted from a plaintext, TOML works, and a bad
description is one error line naming the file, the key and the value."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from gbcs_testdata import ESME, SUPPLIER, VECTORS

from rig.gbcs.commands import decode as decode_command
from rig.gbcs.commands import frame as frame_command
from rig.gbcs.describe import DescriptionError, build_frame, describe, payload_types
from rig.gbcs.frame import decode
from rig.gbcs.tree import inspect
from rig.keys.keystore import KeyStore


def _vector(rtds: Path, name: str) -> bytes:
    (path,) = (rtds / "vectors").glob(f"*/{name}_GBCS.HEX")
    return bytes.fromhex(path.read_text().strip())


@pytest.mark.shared
def test_every_vector_round_trips_through_json(rtds: Path, rtds_keys: KeyStore) -> None:
    for path in VECTORS:
        frame = bytes.fromhex(path.read_text().strip())
        description = json.loads(json.dumps(describe(frame, rtds_keys)))
        assert build_frame(description, rtds_keys) == frame, path.name


@pytest.mark.shared
def test_a_response_is_crafted_from_its_plaintext(rtds: Path, rtds_keys: KeyStore) -> None:
    """ECS17b's register part given as ``{"encrypt": plaintext}``: GCM under the same key and IV
    gives the RTDS bytes."""
    frame = _vector(rtds, "ECS17b_4.1.1_SINGLE_SUCCESS_RESPONSE")
    description = describe(frame, rtds_keys)
    plaintext = description.pop("encrypted_parts")[0]
    description["payload"]["encrypted"] = {"encrypt": plaintext}
    assert build_frame(description, rtds_keys) == frame


@pytest.mark.shared
def test_a_gbz_component_is_crafted_from_its_plaintext(rtds: Path, rtds_keys: KeyStore) -> None:
    frame = _vector(rtds, "GCS14_4.3_SUCCESS_RELIABLE_GSME_RESPONSE")
    description = describe(frame, rtds_keys)
    assert build_frame(description, rtds_keys) == frame
    assert inspect(build_frame(description, rtds_keys), rtds_keys).verdicts["decryption"] == "valid"


def test_toml_command_with_fresh_keys(tmp_path: Path, bench_keys: KeyStore) -> None:
    path = tmp_path / "ecs45.toml"
    path.write_text(
        f'use_case = "ECS45"\ncounter = 1000\noriginator = "{SUPPLIER}"\nrecipient = "{ESME}"\n'
    )
    keys = str(bench_keys.dirs[0])
    result = CliRunner().invoke(frame_command, ["--from", str(path), "--keys", keys])
    assert result.exit_code == 0, result.output
    report = inspect(bytes.fromhex(result.output.strip()), bench_keys)
    assert report.verdicts["mac"] == "valid"
    assert decode(bytes.fromhex(result.output.strip())).signing.message_code == 0x0052


@pytest.mark.shared
def test_cli_decode_describe_then_frame_gives_the_same_bytes(rtds: Path, tmp_path: Path) -> None:
    hex_frame = _vector(rtds, "GCS53_NA_8F0A_ALERT").hex().upper()
    runner = CliRunner()
    described = runner.invoke(decode_command, [hex_frame, "--describe"])
    assert described.exit_code == 0, described.output
    path = tmp_path / "gcs53.json"
    path.write_text(described.output)
    out = tmp_path / "gcs53.bin"
    built = runner.invoke(frame_command, ["--from", str(path), "--out", str(out)])
    assert built.exit_code == 0, built.output
    assert built.output.strip() == hex_frame
    assert out.read_bytes().hex().upper() == hex_frame


BASE = {"use_case": "ECS45", "counter": 1, "originator": str(SUPPLIER), "recipient": str(ESME)}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"use_case": "ECS999"}, 'use_case: "ECS999" is not a GBCS use case name'),
        ({"counter": "ten"}, 'counter: "ten" is not an integer'),
        ({"recipient": "00-DB"}, 'recipient: "00-DB" is not an EUI-64'),
        ({"colour": "red"}, "colour: unknown key"),
        ({"form": "sealed"}, 'form: "sealed" is not one of mac, signed+mac'),
        ({"cra": "response"}, "type: missing: name the payload class of 0x0052 RESPONSE"),
        (
            {"cra": "response", "type": "ReadSupplyStatusEsmeResponse", "payload": {"state": 1}},
            "payload.state: not a field of ReadSupplyStatusEsmeResponse",
        ),
        (
            {"type": "ChangeSupplyEsme", "payload": {"target": "ON"}},
            'payload.target: "ON" is not a SupplyState (DISCONNECTED, CONNECTED, ARMED)',
        ),
        ({"type": "ChangeSupplyEsme", "payload": {}}, "payload.target: missing"),
        ({"form": "signed+mac"}, "keys: "),
    ],
)
def test_a_bad_description_is_one_line(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(BASE | change))
    result = CliRunner().invoke(frame_command, ["--from", str(path), "--keys", str(tmp_path)])
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert line.startswith(f"Error: {path}: {message}"), line


@pytest.mark.parametrize(
    ("text", "message"), [("{not json", "not valid json"), ("[1]", "expected a JSON object")]
)
def test_an_unreadable_file_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    result = CliRunner().invoke(frame_command, ["--from", str(path)])
    assert result.exit_code == 1 and message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_payload_types_include_every_typed_module() -> None:
    names = payload_types()
    for name in (
        "TopUpEsme",
        "ProtectedReadResponse",
        "UpdateTariffGsme",
        "GbzAlert",
        "RawPayload",
    ):
        assert name in names


def test_build_frame_errors_are_description_errors() -> None:
    with pytest.raises(DescriptionError, match="counter: missing"):
        build_frame({"use_case": "ECS45"}, None)


def test_the_docs_toml_example_builds_the_rtds_ecs45_command(rtds: Path) -> None:
    text = (Path(__file__).parents[2] / "docs" / "gbcs-codec.md").read_text()
    (toml,) = re.findall(r"```toml\n(.*?)```", text, re.S)
    frame = build_frame(tomllib.loads(toml), KeyStore([rtds / "keystore"]))
    assert frame == _vector(rtds, "ECS45_7.4_SUCCESS_COMMAND")
