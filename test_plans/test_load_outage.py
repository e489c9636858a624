"""Supply status after an outage, under both DP100 release policies ([SEED 004], domain.md §4).

During an outage the DSP holds every response northbound. Level-4 responses (SRV 7.1) are held
first, then a supply-status read (SRV 7.4, Priority Band 1) from the same User. On restoration,
"all at once" (today) delivers in arrival order: the read comes after every held response;
"prioritised" (DP100) releases time-critical responses first: the read comes first.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from plan_load import BAND1, BAND1_PRIORITISED, meters, two_users

from rig.config.bench import Bench
from rig.duis.request import EnableSupply
from rig.live.orchestrator import Rig
from rig.load import LoadDriver
from rig.results.measure import Limit, Measurements

HELD = 40  # level-4 responses held before the read
POLL_S = 0.01


def wait_held(rig: Rig, count: int, timeout: float = 30.0) -> None:
    """Until ``count`` items wait northbound (the devices have answered; the DSP holds them)."""
    deadline = time.monotonic() + timeout
    while rig.northbound_depth() < count:
        assert time.monotonic() < deadline, f"only {rig.northbound_depth()} of {count} held"
        time.sleep(POLL_S)


@pytest.mark.requirement("DP100", "SEED 004", "domain.md §4")
@pytest.mark.parametrize(
    ("tmm", "ahead"),
    [(BAND1, HELD), (BAND1_PRIORITISED, 0)],
    ids=["all-at-once", "prioritised"],
)
def test_supply_status_after_an_outage(
    rig: Rig, load: LoadDriver, bench: Bench, measure: Measurements, tmm: Path, ahead: int
) -> None:
    esme = meters(bench)[0]
    user, _ = two_users(bench)
    with load.using_tmm(tmm):
        rig.begin_outage()
        try:
            held = [rig.submit_srv(esme, EnableSupply(), user=user) for _ in range(HELD)]
            wait_held(rig, HELD)
            read = rig.submit_read_supply_status(esme, user=user)
            wait_held(rig, HELD + 1)
        finally:
            restored = rig.end_outage()
        records = [f.result(timeout=60) for f in held]
        status = read.result(timeout=60)
    assert status.ok and all(r.ok for r in records), status.reason
    delivered = status.stamps["delivered"]
    before = sum(r.stamps["delivered"] < delivered for r in records)
    measure.record(
        "responses delivered ahead of the supply-status read after restoration",
        before,
        limit=Limit(low=ahead, high=ahead, units="responses"),
    )
    measure.record(
        "supply-status read: restoration to delivery",
        (delivered - restored) * 1e3,
        limit=Limit(high=30_000, units="ms"),  # the On Demand TRT [ASSUMED], domain.md §6
    )
