"""Under load: the adapter's top-ups keep their SECMP0028 priority while a plan's reads flood the
same DSP, and the report shows them apart with their HTTP hops. Measured with the DSP's own
stamps (which requests it dequeued when), not with a time limit."""

from __future__ import annotations

from serve_adapter import Served, record_of, rid, utrn

from rig.duis.request import CommandVariant, ReadSupplyStatus, ServiceRequest, TopUpDevice
from rig.results.report import VIA_HTTP, summarise

FLOOD = 300
TOP_UPS = [(13 + i) << 32 for i in range(3)]


def test_adapter_top_ups_overtake_a_flood_of_plan_reads(served: Served) -> None:
    flood = [
        served.rig.submit_srv("esme", ReadSupplyStatus(), user="supplier2") for _ in range(FLOOD)
    ]
    for counter in TOP_UPS:
        top_up = ServiceRequest(
            rid(counter),
            TopUpDevice(utrn(served.run_dir, counter, 100)),
            CommandVariant.NON_CRITICAL_WAN,
        )
        assert served.adapter.post("serviceS", served.adapter.signed(top_up))[0] == 200
    reads = [future.result(30) for future in flood]
    top_ups = [record_of(served.server, counter, timeout=30) for counter in TOP_UPS]
    assert all(r.ok for r in reads + top_ups), [r.reason for r in reads + top_ups if not r.ok]
    overtaken = 0
    for top_up in top_ups:
        admitted, served_at = top_up.stamps["acknowledged"], top_up.stamps["dequeued"]
        # A read queued before the top-up that the DSP served after it: priority at work.
        overtaken += sum(
            r.stamps["acknowledged"] < admitted and r.stamps["dequeued"] > served_at for r in reads
        )
        # Between its admission and its service the DSP finished at most the one read it had
        # in service (one server, non-preemptive): no queued read went first.
        served_first = sum(admitted < r.stamps["dequeued"] < served_at for r in reads)
        assert served_first <= 1, f"{served_first} reads were served ahead of the top-up"
    assert overtaken > 0, "the flood never queued ahead of a top-up: no load to overtake"
    summaries = {s.srv: s for s in summarise([r.to_json() for r in reads + top_ups])}
    via_http = summaries["2.2" + VIA_HTTP]
    assert {"http_in", "queue", "http_out", "adapter"} <= via_http.hops.keys()
    assert "http_in" not in summaries["7.4"].hops
