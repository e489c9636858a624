"""The shipped HAN bench end to end: the rig as Comms Hub on an emulated Spinel RCP, the ESME and
GSME joined over the emulated air (docs/han.md "On the bench")."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import rig.live.han
from rig.cli import main
from rig.zigbee.mmo import with_crc

HAN_BENCH = Path(__file__).parents[2] / "rig" / "config" / "benches" / "han.toml"
PLAN = Path(__file__).parents[2] / "test_plans" / "test_backbone.py"

pytestmark = pytest.mark.slow


def han_events(run: Path) -> list[tuple[str, str]]:
    records = [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines()]
    return [(r["event"], r["device"]) for r in records if r.get("kind") == "han"]


def test_rig_check_joins_both_meters_and_each_answers(tmp_path: Path) -> None:
    run = tmp_path / "check"
    result = CliRunner().invoke(main, ["check", "--bench", str(HAN_BENCH), "--out", str(run)])
    assert result.exit_code == 0, result.output
    assert "ok     esme" in result.output and "ok     gsme" in result.output
    # the rig's own Comms Hub (kind comms_hub, transport han): a CHF has no SRV 7.4
    assert "skipped hub: GBCS has no SRV 7.4 Read Supply Status for a CHF" in result.output
    events = han_events(run)
    for meter in ("esme", "gsme"):
        for event in ("associated", "joined", "key-established"):
            assert (event, meter) in events
    assert (run / "han.pcap").stat().st_size > 24
    keys = (run / "wireshark" / "zigbee_pc_keys").read_text()
    assert "network key" in keys and "CBKE key esme" in keys and "CBKE key gsme" in keys
    assert (run / "han" / "pki" / "ca.json").is_file()
    assert (run / "han" / "counters.json").is_file()  # the hub's NWK counters, kept


def test_a_meter_with_the_wrong_install_code_is_reported_refused_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The emulated ESME is given another install code than the Comms Hub's device log holds:
    it cannot open the network key's Transport Key, never announces, and is refused."""
    write = rig.live.han.write_description

    def wrong_code(*args: object, **kwargs: object) -> Path:
        path = write(*args, **kwargs)  # type: ignore[arg-type]
        description = json.loads(path.read_text())
        description["meters"][0]["install_code"] = with_crc(bytes(16)).hex()
        path.write_text(json.dumps(description))
        return path

    monkeypatch.setattr(rig.live.han, "write_description", wrong_code)
    run = tmp_path / "check"
    result = CliRunner().invoke(main, ["check", "--bench", str(HAN_BENCH), "--out", str(run)])
    assert result.exit_code != 0
    refused = [line for line in result.output.splitlines() if "esme: refused" in line]
    assert len(refused) == 1 and "install code" in refused[0], result.output
    assert "Traceback" not in result.output
    assert ("refused", "esme") in han_events(run)


def test_the_backbone_plan_passes_and_tshark_dissects_the_gbcs_in_han_pcap(
    tmp_path: Path,
) -> None:
    run = tmp_path / "run"
    rig = Path(sys.executable).parent / "rig"
    done = subprocess.run(
        [str(rig), "run", str(PLAN), "--bench", str(HAN_BENCH), "--out", str(run)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert ("joined", "esme") in han_events(run)
    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed")
    env = {**os.environ, "WIRESHARK_CONFIG_DIR": str(run / "wireshark")}

    def tshark(*args: str) -> list[str]:
        out = subprocess.run(
            ["tshark", "-r", str(run / "han.pcap"), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=True,
        )
        return [line for line in out.stdout.splitlines() if line]

    protocols = tshark("-T", "fields", "-e", "frame.protocols")
    tunnelled = [p for p in protocols if "zbee_zcl_se.tun:gbcs_tunnel:gbcs_message" in p]
    assert len(tunnelled) >= 100  # every request and response of the plan, reassembled
    assert tshark("-Y", "_ws.malformed") == []
    # Every APS ack goes APS-secured, as the frames it acknowledges (docs/han.md "APS acks"),
    # and shows as an APS ack with its security header once the NWK layer is opened (Wireshark
    # verifies no MIC over an empty payload: tests/zigbee/test_stack_aps_ack.py checks the key).
    acks = tshark("-Y", "zbee_aps.type == 2", "-T", "fields", "-e", "zbee_aps.security")
    assert len(acks) >= 100 and set(acks) == {"1"}, acks[:5]
    # Without the keys nothing above the NWK header is readable: the NWK-secured frames end at
    # the NWK, and the only APS headers shown are the Transport Keys' (NWK-unsecured, as the
    # spec sends them), whose payload stays encrypted.
    env["WIRESHARK_CONFIG_DIR"] = str(tmp_path / "no-keys")
    blind = tshark("-T", "fields", "-e", "frame.protocols")
    assert len(blind) == len(protocols)
    above = [p for p in blind if p not in ("wpan", "wpan:zbee_beacon", "wpan:zbee_nwk:data")]
    assert set(above) <= {"wpan:zbee_nwk:zbee_aps:data"}, set(above)
    assert 0 < len(above) <= 10  # a Transport Key per join
