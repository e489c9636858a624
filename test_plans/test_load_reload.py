"""TMM hot reload mid-run (domain.md §1 "without a system outage"; issue 3): while traffic
flows the document is swapped, an invalid one is refused (the old stays in force and the refusal
is recorded), and the original is restored. Nothing queued is lost or duplicated.
"""

from __future__ import annotations

import pytest
from plan_load import BAND1, INVALID, NO_BAND1, meters, two_users

from rig.config.bench import Bench
from rig.live.orchestrator import Rig
from rig.load import LoadDriver, background, merge, reload_tmm
from rig.results.measure import Limit, Measurements

RATE = 200.0
DURATION_S = 2.0
#: [ASSUMED] plan limit: the driver keeps to its schedule within 20 ms at p99 (pass); up to 1 s
#: is marginal. One full CI run saw a single 0.5 s stall of the rig loop (p99 502 ms) that no
#: run of the plan alone shows; suspects: a SQLite WAL checkpoint or a full GC on the loop
#: thread (docs/load.md). The plan's verdict is on the reload: nothing lost or duplicated.
P99_LAG = Limit(high=1000, marginal_high=20, units="ms")


@pytest.mark.requirement("domain.md §1 TMM hot reload", "SECMP0028")
def test_the_tmm_is_reloaded_while_traffic_flows(
    rig: Rig, load: LoadDriver, bench: Bench, measure: Measurements
) -> None:
    esmes = meters(bench)
    user, other = two_users(bench)
    with load.using_tmm(BAND1):
        result = load.run(
            merge(
                background(RATE, DURATION_S, devices=esmes, mix=("7.4",), users=(user, other)),
                reload_tmm(0.5, NO_BAND1),
                reload_tmm(1.0, INVALID),
                reload_tmm(1.5, BAND1),
            ),
            timeout=60,
        )
        assert rig.tmm.version == "plan-band1"
    ids = [r.request_id for r in result.records]
    assert len(ids) == len(set(ids)) == round(RATE * DURATION_S)  # none lost, none twice
    assert not result.failed, result.failed[0].reason
    assert len(result.reload_errors) == 1 and "level must be 1..4" in result.reload_errors[0]
    measure.record(
        "achieved / requested submission rate",
        result.achieved_rate / result.requested_rate,
        limit=Limit(low=0.95, marginal_low=0.99, units="ratio"),
    )
    # A reload runs on the loop: the submissions behind it wait for it (reported, no limit).
    measure.record("p99 submission lag", result.p99_lag_s * 1e3, limit=P99_LAG)
    measure.record("worst submission lag", result.max_lag_s * 1e3, limit=Limit(units="ms"))
