"""The shipped premises bench (rig/config/benches/premises.toml) end to end: SRVs to the Comms
Hub and to the sleeping GSME behind it complete through the live rig, the seed-002 rules are
applied by the DSP before anything reaches a device, and every record reaches the results file as
JSON."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from rig.config.bench import load_bench
from rig.duis import request as rq
from rig.gbcs.eui import Eui64
from rig.live.launch import launch
from rig.live.orchestrator import Rig
from rig.results.jsonl import RESULTS_FILE, read_jsonl

PREMISES = Path(__file__).resolve().parents[2] / "rig" / "config" / "benches" / "premises.toml"
JOINING = Eui64.parse("00-DB-12-34-56-78-93-09")


@pytest.fixture(scope="module")
def premises(tmp_path_factory: pytest.TempPathFactory) -> tuple[Rig, Path]:
    run = tmp_path_factory.mktemp("premises")
    with launch(load_bench(PREMISES), run) as rig:
        yield rig, run


def test_supply_status_of_the_sleeping_gsme_completes(premises: tuple[Rig, Path]) -> None:
    rig, _ = premises
    record = rig.read_supply_status("gsme", timeout=30)
    assert record.ok, record.reason
    assert record.response is not None and record.response["type"] == "GbzResponse"


def test_install_code_length_seed_002(premises: tuple[Rig, Path]) -> None:
    """8.11: a 16-byte install code joins; an 8-byte one for a SMETS2 device is refused by the
    DSP (seed 002, domain.md §5) and never reaches the hub."""
    rig, _ = premises
    good = rq.AddDeviceToChfWhitelist(60, bytes(range(16)))
    record = rig.request("hub", rq.UpdateHanDeviceLog(JOINING, rq.HanLogRequestType.ADD, good))
    assert record.ok, record.reason
    short = rq.AddDeviceToChfWhitelist(60, bytes(range(8)))
    record = rig.request("hub", rq.UpdateHanDeviceLog(JOINING, rq.HanLogRequestType.ADD, short))
    assert not record.ok and "RIG-INSTALL-CODE-LENGTH" in (record.reason or "")
    assert "on_wire" not in record.stamps


def test_gas_flow_with_decimal_scaling_reaches_the_gsme(premises: tuple[Rig, Path]) -> None:
    rig, _ = premises
    same = rq.SupplyStateChange.UNCHANGED
    body = rq.UpdateDeviceConfigurationGasFlow(same, same, 60, 300, rate_decimal=Decimal("1.2345"))
    record = rig.request("gsme", body, timeout=30)
    assert record.ok, record.reason


def test_every_record_is_written_as_json(premises: tuple[Rig, Path]) -> None:
    """Nested GBZ responses are written too (a non-JSON response once stopped all writes)."""
    rig, run = premises
    assert rig.read_supply_status("gsme", timeout=30).ok
    requests = [r for r in read_jsonl(run / RESULTS_FILE) if r.get("kind") == "request"]
    gbz = [r for r in requests if (r.get("response") or {}).get("type") == "GbzResponse"]
    assert gbz and all(r["outcome"] == "ok" for r in gbz)
