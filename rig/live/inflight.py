"""What the live rig keeps of a request on its way: the command in flight, and a verified
device frame or a DCC event on its way back north (rig/live/orchestrator.py,
rig/live/northbound.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from devices.api import Device
from rig.dsp.model import DspRequest
from rig.duis.request import RequestId, ServiceRequest
from rig.gbcs.frame import GeneralSigning, Message
from rig.live.srv import Mangle
from rig.results.record import RequestRecord

#: A command in flight: (device, remote party, GBCS counter), as its response names them.
#: The EUIs as their raw bytes: hashed in C (an Eui64 hashes in Python, several times per request).
Key = tuple[bytes, bytes, int]
#: Called on the loop thread with the completed record of a request.
Done = Callable[[RequestRecord], None]
#: Takes over a completed request that came in by HTTP (rig/serve): it delivers the answer to
#: the User, then writes the record and calls its ``done``.
Relay = Callable[["InFlight"], None]


@dataclass(slots=True, eq=False)
class InFlight:
    record: RequestRecord
    request: ServiceRequest
    signing: GeneralSigning
    critical: bool
    device: Device
    done: Done
    mangle: Mangle | None
    key: Key  # how the response is matched: device, remote party and counter
    dsp: DspRequest | None = None
    deadline_seq: int = 0  # its entry in the deadline heap, once on the wire
    relay: Relay | None = None
    frame: bytes | None = None  # the device's response frame, as it came off the wire


@dataclass(frozen=True)
class VerifiedFrame:
    """A verified frame from a device on its way back to the User."""

    device: Device
    message: Message
    received_at: float
    frame: bytes = b""  # as it came off the wire (a DUIS response's GBCSPayload)


@dataclass(frozen=True)
class DccEvent:
    """An event the DSP tells a User of by a DCC alert (docs/dcc-boxed.md "DCC alerts"): its
    ``event`` (a key of ``[duis.dcc_alert_codes]``), the request and device it is about."""

    user: str
    event: str
    request_id: RequestId
    device: str
    raised_at: float
