"""Alert storm protection (SECMP0062, [SEED 004], domain.md §3): identical alerts from one device
beyond the threshold within the window are discarded, one copy per forward period carries
ThrottledAlertSequenceId and ThrottledAlertCount, and excluded codes are never throttled.

Two sources: alerts injected at the DSP from every meter of the bench, and real alerts from a
meter (top-ups with a UTRN for another device: 0x8F64, GBCS §14).
"""

from __future__ import annotations

import time

import pytest
from plan_load import BAND1, meters

from rig.config.bench import Bench
from rig.dsp.tmm import load_tmm
from rig.live.orchestrator import Rig
from rig.load import LoadDriver, alert_storm, merge
from rig.results.measure import Limit, Measurements

STORM_CODE = 0x8F5B  # credit would exceed the maximum: a storm-able, non-excluded code
EXCLUDED_CODE = 0x8F75  # on the TMM exclusion list
PER_DEVICE = 20


def wait_for(rig: Rig, predicate, timeout: float = 10.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        alerts = rig.alerts()
        if predicate(alerts) or time.monotonic() > deadline:
            return alerts
        time.sleep(0.05)


@pytest.mark.requirement("SECMP0062", "SEED 004", "domain.md §3")
def test_an_injected_storm_from_every_meter_is_throttled_per_device(
    rig: Rig, load: LoadDriver, bench: Bench, measure: Measurements
) -> None:
    esmes = meters(bench)
    storm = load_tmm(BAND1).alert_storm
    assert storm is not None
    with load.using_tmm(BAND1):
        start = len(rig.alerts())
        load.run(
            merge(
                alert_storm(esmes, STORM_CODE, per_device=PER_DEVICE, rate=100),
                alert_storm(esmes, EXCLUDED_CODE, per_device=PER_DEVICE, rate=100),
            )
        )
        alerts = wait_for(
            rig,
            lambda a: sum(x["throttled_count"] is not None for x in a[start:]) >= len(esmes),
            timeout=storm.forward_period_s * 5,
        )[start:]
    for device in esmes:
        mine = [a for a in alerts if a["device"] == device and a["code"] == STORM_CODE]
        summaries = [a for a in mine if a["throttled_count"] is not None]
        measure.record(
            f"{device}: storm alerts forwarded before the storm",
            len(mine) - len(summaries),
            limit=Limit(low=storm.threshold, high=storm.threshold, units="alerts"),
        )
        assert len(summaries) == 1 and summaries[0]["throttled_sequence_id"] is not None
        measure.record(
            f"{device}: ThrottledAlertCount of the summary",
            summaries[0]["throttled_count"],
            limit=Limit(low=PER_DEVICE - storm.threshold, high=PER_DEVICE - storm.threshold,
                        units="alerts"),
        )  # fmt: skip
        excluded = [a for a in alerts if a["device"] == device and a["code"] == EXCLUDED_CODE]
        measure.record(
            f"{device}: excluded-code alerts delivered",
            len(excluded),
            limit=Limit(low=PER_DEVICE, high=PER_DEVICE, units="alerts"),
        )


@pytest.mark.requirement("SECMP0062", "GBCS §14 UTRN")
def test_a_storm_of_real_device_alerts_is_summarised(
    rig: Rig, load: LoadDriver, bench: Bench, measure: Measurements
) -> None:
    esme = meters(bench)[0]
    storm = load_tmm(BAND1).alert_storm
    assert storm is not None
    count = storm.threshold + 3
    # A UTRN made for another party whose KA key the bench has: the meter answers 0x8F64.
    others = [d.eui for n, d in bench.devices.items() if n != esme]
    not_this_meter = others[0] if others else bench.user.eui
    with load.using_tmm(BAND1):
        start = len(rig.alerts())
        futures = [
            rig.submit_top_up(esme, pence=1, utrn_target=not_this_meter) for _ in range(count)
        ]
        records = [f.result(timeout=30) for f in futures]
        alerts = wait_for(
            rig, lambda a: any(x["throttled_count"] for x in a[start:]),
            timeout=storm.forward_period_s * 5,
        )[start:]  # fmt: skip
    assert all(not r.ok and "result 1" in (r.reason or "") for r in records)
    mine = [a for a in alerts if a["device"] == esme and a["code"] == 0x8F64]
    summaries = [a for a in mine if a["throttled_count"]]
    measure.record(
        "UTRN alerts discarded and summarised",
        summaries[0]["throttled_count"] if summaries else 0,
        limit=Limit(low=count - storm.threshold, high=count - storm.threshold, units="alerts"),
    )
