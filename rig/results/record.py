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

#: Latency hops: name -> (from stamp, to stamp).
HOPS: dict[str, tuple[str, str]] = {
    "ack": ("submitted", "acknowledged"),
    "queue": ("acknowledged", "dequeued"),
    "dispatch": ("dequeued", "on_wire"),
    "device": ("on_wire", "device_response"),
    "northbound": ("device_response", "delivered"),
    "total": ("submitted", "delivered"),
}


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

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    def stamp(self, name: str, at: float) -> None:
        if name not in STAMPS:
            raise ValueError(f"unknown timestamp {name!r}; known: {', '.join(STAMPS)}")
        self.stamps.setdefault(name, at)

    def latencies(self) -> dict[str, float]:
        """Seconds per hop, for the hops whose both ends were stamped."""
        return {
            hop: self.stamps[end] - self.stamps[start]
            for hop, (start, end) in HOPS.items()
            if start in self.stamps and end in self.stamps
        }

    def fail(self, reason: str) -> None:
        self.outcome = "failed"
        self.reason = reason

    def to_json(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "srv": self.srv,
            "target": self.target,
            "user": self.user,
            "priority": self.priority,
            "ack_code": self.ack_code,
            "outcome": self.outcome,
            "reason": self.reason,
            "response": self.response,
            "alerts": self.alerts,
            "stamps": self.stamps,
            "latency_s": self.latencies(),
        }
