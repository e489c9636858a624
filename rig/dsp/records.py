"""The records the DSP model passes around: a request, its synchronous acknowledgement and the
running totals (docs/dsp-model.md). Compiled with the core (rig/_native.py)."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from functools import partial
from typing import Any, Final, NamedTuple

from rig.dsp.tmm import Mode

ACK_CODE: Final = "I99"
"""DUIS synchronous acknowledgement: accepted for sending to the Device (domain.md §6, §7.4)."""


@dataclass(slots=True, eq=False, init=False)
class DspRequest:
    """A Service Request as the DSP queue sees it; ``payload`` is opaque (the orchestrator's).

    ``target`` is the Comms Hub or device: the EUI-64 string on the bench, any hashable (an
    integer) in simulation. The DSP fills ``submitted_at``/``acked_at`` on :meth:`Dsp.submit`,
    ``admitted_at`` when it enters the queue (later than submission if throttling held it,
    or if it is future-dated and the DSP held it until ``release_at``),
    ``dequeued_at`` when a server takes it, ``dispatched_at`` when its service ends and
    ``responded_at`` when its response comes back through :meth:`Dsp.respond`. ``seq`` is its
    place in queue-arrival order. Identity, not value, distinguishes two requests.
    """

    request_id: str
    srv: str
    mode: Mode
    user: str
    target: Hashable
    payload: Any  # not object: mypyc's dataclass support fails on a builtin annotation
    submitted_at: float = 0.0
    acked_at: float | None = None
    admitted_at: float | None = None
    dequeued_at: float | None = None
    dispatched_at: float | None = None
    responded_at: float | None = None
    seq: int = 0
    #: A DSP future-dated request (domain.md §7.3, pattern "DSP"): the DSP holds it until this
    #: time, then queues it; None (on demand, or a date already passed): queued at once.
    release_at: float | None = None

    def __init__(  # written out: the generated one is interpreted even when compiled (~10 %)
        self,
        request_id: str,
        srv: str,
        mode: Mode,
        user: str,
        target: Hashable,
        payload: Any,
        submitted_at: float = 0.0,
        acked_at: float | None = None,
        admitted_at: float | None = None,
        dequeued_at: float | None = None,
        dispatched_at: float | None = None,
        responded_at: float | None = None,
        seq: int = 0,
        release_at: float | None = None,
    ) -> None:
        self.request_id = request_id
        self.srv = srv
        self.mode = mode
        self.user = user
        self.target = target
        self.payload = payload
        self.submitted_at = submitted_at
        self.acked_at = acked_at
        self.admitted_at = admitted_at
        self.dequeued_at = dequeued_at
        self.dispatched_at = dispatched_at
        self.responded_at = responded_at
        self.seq = seq
        self.release_at = release_at


class Ack(NamedTuple):
    """The synchronous answer to a submitted request (domain.md §7.1): ``I99`` when accepted
    (queued, or held by throttling), else the TMM's rig-specific throttling code.

    A named tuple: immutable and the cheapest record to build once per request.
    """

    code: str
    at: float


_ack: Final = partial(tuple.__new__, Ack)
"""``_ack((code, at))`` is ``Ack(code, at)`` without the generated ``__new__``'s Python frame."""


@dataclass(frozen=True, slots=True)
class DspCounters:
    """A snapshot of the DSP's running totals.

    ``submitted`` = ``admitted`` + ``rejected`` + held now; ``throttled`` counts requests the
    throttle caught (held or rejected). ``alerts`` counts alerts received, ``alerts_discarded``
    those storm protection dropped.
    """

    submitted: int
    dispatched: int
    delivered: int
    admitted: int = 0
    throttled: int = 0
    rejected: int = 0
    alerts: int = 0
    alerts_discarded: int = 0


@dataclass(frozen=True, slots=True)
class UserCounters:
    """One User's SECMP0067 totals: admitted to the queue, throttled (held or rejected),
    rejected."""

    admitted: int
    throttled: int
    rejected: int
