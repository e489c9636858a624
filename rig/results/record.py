"""One request's measured journey: timestamps at every hop, and the latencies between them.

The hops are those of the backbone journey (docs/architecture.md): the User submits, the DSP
acknowledges (I99), dequeues, the frame goes on the wire, the device answers, and the DSP
delivers the response northbound.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: The timestamps recorded for every request, in journey order.
STAMPS = ("submitted", "acknowledged", "dequeued", "on_wire", "device_response", "delivered")
#: Two more for a request that came in by HTTP (``rig serve``, docs/dcc-boxed.md
#: "Timestamps"): its HTTP request began (before ``submitted``); its response was accepted by
#: the User's endpoint (after ``delivered``).
HTTP_STAMPS = ("received", "posted")
#: One more for a DSP future-dated request (domain.md §7.3, pattern "DSP"): the DSP released
#: it into its queue at its execution time (docs/dsp-model.md "Future-dated requests").
HELD_STAMPS = ("released",)

#: Latency hops: name -> (from stamp, to stamp).
HOPS: dict[str, tuple[str, str]] = {
    "http_in": ("received", "submitted"),
    "ack": ("submitted", "acknowledged"),
    "held": ("acknowledged", "released"),
    "queue": ("acknowledged", "dequeued"),
    "dispatch": ("dequeued", "on_wire"),
    "device": ("on_wire", "device_response"),
    "northbound": ("device_response", "delivered"),
    "http_out": ("delivered", "posted"),
    "total": ("submitted", "delivered"),
    "adapter": ("received", "posted"),
}
#: The hops that start at ``released`` instead, for a request the DSP held until its execution
#: time: its latency is the DSP's from then, as its User measures it; the wait is ``held``.
FROM_RELEASE = frozenset({"queue", "total"})


@dataclass(slots=True)
class RequestRecord:
    """What the rig knows about one request; written once, when it completes or fails.

    Slotted: a load run keeps thousands alive, and each object fewer for the garbage collector
    to scan shortens its pauses of the rig's loop."""

    request_id: str
    srv: str
    target: str
    user: str
    stamps: dict[str, float] = field(default_factory=dict)
    priority: int | None = None
    ack_code: str | None = None
    outcome: str = "pending"
    reason: str | None = None
    response: dict[str, Any] | None = None
    alerts: list[dict[str, Any]] = field(default_factory=list)
    #: The pytest node id of the test that sent it, when a test did (reports tell a refusal a
    #: passing negative test asked for from one nobody expected).
    test: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    def stamp(self, name: str, at: float) -> None:
        if name not in STAMPS and name not in HTTP_STAMPS and name not in HELD_STAMPS:
            known = ", ".join((*STAMPS, *HTTP_STAMPS, *HELD_STAMPS))
            raise ValueError(f"unknown timestamp {name!r}; known: {known}")
        self.stamps.setdefault(name, at)

    def latencies(self) -> dict[str, float]:
        """Seconds per hop, for the hops whose both ends were stamped."""
        return hop_latencies(self.stamps)

    def fail(self, reason: str) -> None:
        self.outcome = "failed"
        self.reason = reason

    def values(self) -> tuple[Any, ...]:
        """The fields in declaration order (what :func:`request_json` takes)."""
        return (
            self.request_id,
            self.srv,
            self.target,
            self.user,
            self.stamps,
            self.priority,
            self.ack_code,
            self.outcome,
            self.reason,
            self.response,
            self.alerts,
            self.test,
        )

    def to_json(self) -> dict[str, Any]:
        """The record as results hold it, without its ``kind``."""
        out = request_json(self.values())
        del out["kind"]
        return out


def hop_latencies(stamps: dict[str, float]) -> dict[str, float]:
    """Seconds per hop of :data:`HOPS`, for the hops whose both ends are in ``stamps`` (those
    of :data:`FROM_RELEASE` from ``released`` when it is)."""
    released = "released" in stamps
    out = {}
    for hop, (start, end) in HOPS.items():
        if released and hop in FROM_RELEASE:
            start = "released"
        if start in stamps and end in stamps:
            out[hop] = stamps[end] - stamps[start]
    return out


def request_json(values: tuple[Any, ...]) -> dict[str, Any]:
    """A request's record as the results file holds it (kind, fields, ``latency_s``, and
    ``test`` when a test sent it), from its
    :meth:`RequestRecord.values`: how the writer process makes it without building a record."""
    (
        request_id,
        srv,
        target,
        user,
        stamps,
        priority,
        ack_code,
        outcome,
        reason,
        response,
        alerts,
        test,
    ) = values
    out: dict[str, Any] = {
        "kind": "request",
        "request_id": request_id,
        "srv": srv,
        "target": target,
        "user": user,
        "priority": priority,
        "ack_code": ack_code,
        "outcome": outcome,
        "reason": reason,
        "response": response,
        "alerts": alerts,
        "stamps": stamps,
        "latency_s": hop_latencies(stamps),
    }
    if test is not None:
        out["test"] = test
    return out
