"""Throttling fairness among Users (SECMP0067, [SEED 003], domain.md §2).

With throttling active, each User is held to its allocation (capacity x portfolio share): one
User flooding far beyond its allocation is throttled, while another keeping within its own is
not. Portfolios come from the bench's [[user]] entries; the TMM document sets capacity and the
operating threshold at plan scale.
"""

from __future__ import annotations

import pytest
from plan_load import BAND1_THROTTLING, meters, two_users

from rig.config.bench import Bench
from rig.dsp.tmm import load_tmm
from rig.live.orchestrator import Rig
from rig.load import LoadDriver, background, flood, merge
from rig.results.measure import Limit, Measurements

DURATION_S = 2.0
#: The flooding User asks for this multiple of its allocation; the other for this fraction.
FLOOD_FACTOR = 2.0
MODEST_FACTOR = 0.6


@pytest.mark.requirement("SECMP0067", "SEED 003", "domain.md §2")
def test_a_flooding_user_is_throttled_and_the_other_keeps_its_allocation(
    rig: Rig, load: LoadDriver, bench: Bench, measure: Measurements
) -> None:
    esme = meters(bench)[0]
    flooder, modest = two_users(bench)
    policy = load_tmm(BAND1_THROTTLING).throttling
    assert policy is not None
    portfolios = {name: u.portfolio for name, u in bench.users.items()}
    share = {name: p / sum(portfolios.values()) for name, p in portfolios.items()}
    allocation = {u: policy.allocation_pool * policy.capacity * share[u] for u in share}
    before = {u: rig.user_counters(u) for u in (flooder, modest)}
    with load.using_tmm(BAND1_THROTTLING):
        result = load.run(
            merge(
                flood(flooder, FLOOD_FACTOR * allocation[flooder], DURATION_S, devices=[esme]),
                background(
                    MODEST_FACTOR * allocation[modest], DURATION_S, devices=[esme],
                    users=(modest,),
                ),
            ),
            timeout=60,
        )  # fmt: skip
    after = {u: rig.user_counters(u) for u in (flooder, modest)}
    rejected = {u: after[u].rejected - before[u].rejected for u in after}
    sent = {u: result.count(user=u) for u in after}
    assert all(r.ok or r.ack_code == policy.response_code for r in result.records)
    measure.record(
        f"{modest} (within its allocation): share rejected",
        rejected[modest] / sent[modest],
        # Marginal, not failed, up to 5 %: when the rig's loop stalls, late arrivals are
        # submitted together and can meet the cap at a window edge (seen: 1 of 60, in CI).
        limit=Limit(high=0.05, marginal_high=0.01, units="ratio"),
    )
    measure.record(
        f"{flooder} (at {FLOOD_FACTOR:g}x its allocation): share rejected",
        rejected[flooder] / sent[flooder],
        limit=Limit(low=0.2, units="ratio"),
    )
    measure.record(
        "achieved / requested submission rate",
        result.achieved_rate / result.requested_rate,
        # The rule under test is fairness; a loaded machine that falls behind the requested
        # rate (seen: 0.90 in CI beside another test run) is marginal down to 0.8.
        limit=Limit(low=0.8, marginal_low=0.95, units="ratio"),
    )
