"""Supply contactor timing, sensed by the bench's Modbus I/O module (docs/bench-io.md).

Each figure is timed from the command's ``on_wire`` stamp to the first Modbus read of the
contactor sense input that saw the new position (an upper bound; ``resolution`` is the poll's
uncertainty), so the meter's processing, its relay and the sense wiring are all inside it.
Runs on any bench with a ``[bench_io]`` section (the embedded emulated bench has one) and an
ESME named ``esme``; skipped on a bench without one.
"""

from __future__ import annotations

import pytest

from devices.benchio.module import BenchIOModule
from rig.duis.request import DisableSupply, EnableSupply
from rig.live.orchestrator import Rig
from rig.results.measure import Limit, Measurements
from rig.results.record import RequestRecord

ESME = "esme"
#: How long a contactor may take to follow a command: no GBCS or SMETS2 figure is known to us;
#: a bench acceptance figure [ASSUMED], marginal from two thirds of it.
CONTACTOR_LIMIT = Limit(high=3_000, marginal_high=2_000, units="ms")
#: Longest wait for the contactor before the test fails, seconds.
WAIT_S = 10.0


@pytest.fixture
def bench_io(rig: Rig) -> BenchIOModule:
    if rig.bench_io is None or rig.bench_io.meter != ESME:
        pytest.skip(f"the bench has no [bench_io] module wired to {ESME!r}")
    return rig.bench_io


def ok(record: RequestRecord) -> RequestRecord:
    assert record.ok, record.reason
    return record


def supply_on(rig: Rig, bench_io: BenchIOModule) -> None:
    """Start from a connected meter with its contact closed."""
    if not bench_io.contactor_closed():
        ok(rig.top_up(ESME, pounds=5))
        ok(rig.request(ESME, EnableSupply()))
        bench_io.wait_for_contactor(True, WAIT_S)


@pytest.mark.requirement("DUIS SRV 7.2", "GBCS ECS43")
def test_disable_opens_the_contactor(
    rig: Rig, bench_io: BenchIOModule, measure: Measurements
) -> None:
    supply_on(rig, bench_io)
    record = ok(rig.request(ESME, DisableSupply()))
    timing = bench_io.wait_for_contactor(False, WAIT_S, since=record.stamps["on_wire"])
    measure.record(
        "SRV 7.2 disable → contactor open", timing.elapsed_s * 1e3, limit=CONTACTOR_LIMIT
    )
    measure.record("contactor open timing resolution", timing.resolution_s * 1e3, units="ms")
    supply_on(rig, bench_io)


@pytest.mark.requirement("DUIS SRV 2.2", "DUIS SRV 7.1", "GBCS CS01a", "GBCS ECS42")
def test_top_up_then_enable_closes_the_contactor(
    rig: Rig, bench_io: BenchIOModule, measure: Measurements
) -> None:
    """A disabled meter topped up is armed: its contact stays open (a real read says so) until
    it is enabled, here by SRV 7.1 sent as soon as the top-up is answered (standing in for the
    consumer's button). Timed from the top-up on the wire, and from the enable."""
    supply_on(rig, bench_io)
    ok(rig.request(ESME, DisableSupply()))
    bench_io.wait_for_contactor(False, WAIT_S)
    top_up = ok(rig.top_up(ESME, pounds=5))
    assert not bench_io.contactor_closed(), "an armed meter's contact must stay open"
    enable = ok(rig.request(ESME, EnableSupply()))
    timing = bench_io.wait_for_contactor(True, WAIT_S, since=top_up.stamps["on_wire"])
    after_enable = timing.elapsed_s - (enable.stamps["on_wire"] - top_up.stamps["on_wire"])
    measure.record("SRV 2.2 top-up (+ 7.1) → contactor closed", timing.elapsed_s * 1e3, units="ms")
    measure.record("SRV 7.1 enable → contactor closed", after_enable * 1e3, limit=CONTACTOR_LIMIT)
