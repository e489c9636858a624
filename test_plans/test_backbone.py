"""The default test plan: prepayment top-up (SRV 2.2) and supply status (SRV 7.4) on an ESME.

Runs unchanged on the embedded emulated bench and on a physical bench (``--bench FILE`` naming
an ESME called ``esme``). ``rig demo`` runs this plan and prints its latency report.
"""

from __future__ import annotations

import pytest

from rig.gbcs.usecases import SupplyState
from rig.orchestrator import Rig

ESME = "esme"
ROUNDS = 50


def test_supply_status_reads_connected(rig: Rig) -> None:
    record = rig.read_supply_status(ESME)
    assert record.ok, record.reason
    assert record.response is not None
    assert record.response["control_state"] == SupplyState.CONNECTED


@pytest.mark.parametrize("amount", [{"pounds": 1}, {"pence": 250}])
def test_top_up_is_accepted(rig: Rig, amount: dict[str, int]) -> None:
    record = rig.top_up(ESME, **amount)
    assert record.ok, record.reason
    assert record.response is not None and record.response["result"] == 0


def test_top_ups_and_reads_under_concurrent_load(rig: Rig) -> None:
    """Top-ups and status reads submitted together; the DSP queues and serves them in order."""
    futures = []
    for _ in range(ROUNDS):
        futures.append(rig.submit_top_up(ESME, pence=100))
        futures.append(rig.submit_read_supply_status(ESME))
    records = [future.result(timeout=60) for future in futures]
    failures = [(r.request_id, r.reason) for r in records if not r.ok]
    assert not failures
    assert all(r.latencies()["total"] > 0 for r in records)
