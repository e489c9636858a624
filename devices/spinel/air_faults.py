"""Fault injection on the emulated air: pure and seeded, times passed in (the air's clock).

Each :class:`AirFault` is scheduled from ``at_s`` for ``for_s`` seconds (after the air's
``start``) and touches the frames it matches: by the meter's end of the frame (``device``, its
EUI-64) and by direction (``tx`` hub to device, ``rx`` device to hub, as serial faults:
``devices/transports/faults.py``), each with ``probability``. Kinds:

- ``drop``: the frame does not reach that receiver (nor does its ACK come back);
- ``delay``: it reaches that receiver ``delay_s`` later (past macAckWaitDuration, the sender
  retries as on a real air);
- ``corrupt``: one bit of its MAC payload flipped and the FCS made good again [ASSUMED: a
  tamperer, not noise; noise fails the FCS and the radio drops it: that is ``drop``];
- ``replay``: at ``at_s``, the last frame heard on the air that matches is delivered again to
  its receiver, as an attacker's re-transmission (once; no ACK is awaited);
- ``jam``: the channel is busy: a matching transmission that starts within the window fails
  its CCA (Spinel ``CCA_FAILURE``, IEEE 802.15.4-2006 §7.5.1.4 CHANNEL_ACCESS_FAILURE) and
  never reaches the air.

Every fault is logged as a :class:`~devices.transports.faults.FaultRecord` with the frames
(PSDUs, FCS included) it touched, in the serial fault log's format.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from devices.spinel import mac
from devices.transports.faults import Direction, Fault, FaultRecord

#: How long a jammed transmission takes to fail: macMaxCSMABackoffs (4) + 1 backoffs of the
#: largest exponent (2^5 - 1 unit periods of 320 us) [ASSUMED: the worst case of §7.5.1.4].
JAM_CCA_FAILURE_S = 5 * 31 * 320e-6
#: How many frames the air keeps for a replay.
CAPTURED_FRAMES = 64


class AirFaultKind(StrEnum):
    DROP = "drop"
    DELAY = "delay"
    CORRUPT = "corrupt"
    REPLAY = "replay"
    JAM = "jam"


#: The fault log's name of each kind.
_LOGGED = {
    AirFaultKind.DROP: Fault.DROP,
    AirFaultKind.DELAY: Fault.DELAY,
    AirFaultKind.CORRUPT: Fault.CORRUPT,
    AirFaultKind.REPLAY: Fault.REPLAY,
    AirFaultKind.JAM: Fault.JAM,
}


@dataclass(frozen=True)
class AirFault:
    """One scheduled fault (times in seconds from the air's start); ValueError if ill-formed."""

    kind: AirFaultKind
    at_s: float = 0.0
    for_s: float = math.inf
    device: bytes | None = None
    direction: Direction | None = None
    probability: float = 1.0
    delay_s: float = 0.1

    def __post_init__(self) -> None:
        if self.at_s < 0 or self.for_s <= 0:
            raise ValueError("at_s must be >= 0 and for_s > 0")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"probability must be within [0, 1], got {self.probability}")
        if self.delay_s < 0:
            raise ValueError(f"delay_s must not be negative, got {self.delay_s}")
        if self.device is not None and len(self.device) != 8:
            raise ValueError("device must be an 8-byte EUI-64")

    def active(self, t: float) -> bool:
        return self.at_s <= t < self.at_s + self.for_s

    def matches(self, device: bytes | None, direction: Direction | None) -> bool:
        return (self.device is None or self.device == device) and (
            self.direction is None or self.direction == direction
        )


@dataclass(slots=True)  # not frozen: per frame, frozen costs 5x to build
class Delivery:
    """What reaches one receiver: the PSDU (None: dropped) and the delay added."""

    psdu: bytes | None
    delay_s: float

    # mypyc compiles an explicit __init__; the one @dataclass writes runs interpreted
    # (docs/han.md "Speed of the secured HAN")
    def __init__(self, psdu: bytes | None, delay_s: float = 0.0) -> None:
        self.psdu = psdu
        self.delay_s = delay_s


@dataclass(slots=True)  # not frozen: per frame, frozen costs 5x to build
class Captured:
    """A frame heard on the air, kept for a replay."""

    sender: bytes
    receiver: bytes
    psdu: bytes
    channel: int

    # mypyc compiles an explicit __init__; the one @dataclass writes runs interpreted
    # (docs/han.md "Speed of the secured HAN")
    def __init__(self, sender: bytes, receiver: bytes, psdu: bytes, channel: int) -> None:
        self.sender = sender
        self.receiver = receiver
        self.psdu = psdu
        self.channel = channel


class AirFaults:
    """The faults of one air. ``hub`` is the Comms Hub radio's EUI-64 (what ``tx``/``rx`` are
    seen from); ``start`` the air clock's time that ``at_s`` counts from."""

    def __init__(
        self,
        faults: tuple[AirFault, ...] = (),
        *,
        hub: bytes | None = None,
        seed: int = 0,
        start: float = 0.0,
        on_record: Callable[[FaultRecord], None] | None = None,
    ) -> None:
        self.faults: list[AirFault] = list(faults)
        self.hub = hub
        self.start = start
        self.log: list[FaultRecord] = []
        self.on_record = on_record
        self._rng = random.Random(seed)
        self._captured: deque[Captured] = deque(maxlen=CAPTURED_FRAMES)

    def add(self, fault: AirFault) -> None:
        """Schedule one more fault (a test's API); the air schedules a replay's time itself."""
        self.faults.append(fault)

    def replay_times(self) -> list[tuple[float, AirFault]]:
        """When each replay is due, on the air's clock."""
        return [(self.start + f.at_s, f) for f in self.faults if f.kind is AirFaultKind.REPLAY]

    def _end(self, sender: bytes, receiver: bytes | None) -> tuple[bytes | None, Direction | None]:
        """The meter's end of a frame and its direction, seen from the hub."""
        if self.hub is None:
            return sender, None
        if sender == self.hub:
            return receiver, Direction.TX
        if receiver in (self.hub, None):  # None: a transmission, before it has receivers
            return sender, Direction.RX
        return sender, None

    def _fires(
        self,
        fault: AirFault,
        kinds: tuple[AirFaultKind, ...],
        now: float,
        end: tuple[bytes | None, Direction | None],
    ) -> bool:
        """One draw per candidate fault, so a seed and a sequence of frames give the same faults."""
        if fault.kind not in kinds or not fault.active(now - self.start):
            return False
        if not fault.matches(*end):
            return False
        return self._rng.random() < fault.probability

    def _record(
        self,
        now: float,
        kind: AirFaultKind,
        end: tuple[bytes | None, Direction | None],
        frames: tuple[bytes, ...],
        detail: str,
    ) -> None:
        meter, direction = end
        who = "" if meter is None else meter.hex().upper()
        record = FaultRecord(now, direction, _LOGGED[kind], frames, detail, who)
        self.log.append(record)
        if self.on_record is not None:
            self.on_record(record)

    def jammed(self, sender: bytes, psdu: bytes, now: float) -> bool:
        """Whether a transmission starting at ``now`` fails its CCA (logged if so)."""
        end = self._end(sender, None)
        for fault in self.faults:
            if self._fires(fault, (AirFaultKind.JAM,), now, end):
                detail = f"from {sender.hex()}: CCA failure"
                self._record(now, fault.kind, end, (psdu,), detail)
                return True
        return False

    def deliver(
        self, sender: bytes, receiver: bytes, psdu: bytes, channel: int, now: float
    ) -> Delivery:
        """What of a frame reaching ``receiver`` at ``now`` gets there; the frame is kept for a
        replay as it was sent."""
        self._captured.append(Captured(sender, receiver, psdu, channel))
        end = self._end(sender, receiver)
        kinds = (AirFaultKind.DROP, AirFaultKind.CORRUPT, AirFaultKind.DELAY)
        delay = 0.0
        route = f"{sender.hex()} to {receiver.hex()}"
        for fault in self.faults:
            if not self._fires(fault, kinds, now, end):
                continue
            if fault.kind is AirFaultKind.DROP:
                self._record(now, fault.kind, end, (psdu,), route)
                return Delivery(None)
            if fault.kind is AirFaultKind.CORRUPT:
                corrupted, bit = _flip(psdu, self._rng.random())
                self._record(now, fault.kind, end, (psdu, corrupted), f"{route} bit {bit}")
                psdu = corrupted
            else:
                delay += fault.delay_s
                self._record(now, fault.kind, end, (psdu,), f"{route} by {fault.delay_s:g} s")
        return Delivery(psdu, delay)

    def replay(self, fault: AirFault, now: float) -> Captured | None:
        """The frame a due replay sends again (the last captured one it matches), logged."""
        for frame in reversed(self._captured):
            end = self._end(frame.sender, frame.receiver)
            if fault.matches(*end):
                if self._rng.random() >= fault.probability:
                    return None
                route = f"{frame.sender.hex()} to {frame.receiver.hex()}"
                self._record(now, fault.kind, end, (frame.psdu,), f"{route} again")
                return frame
        return None


def _flip(psdu: bytes, position: float) -> tuple[bytes, int]:
    """``psdu`` with one bit of its MAC payload flipped (at ``position`` in [0, 1)) and its FCS
    recomputed; the bit's index in the PSDU. A frame with no payload gets its last header bit
    flipped."""
    frame = psdu[:-2]
    first = min(_header_length(frame), len(frame) - 1)
    bit = first * 8 + int(position * (len(frame) - first) * 8)
    flipped = bytearray(frame)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return mac.with_fcs(bytes(flipped)), bit


def _header_length(frame: bytes) -> int:
    """The MAC header's length: frame control, sequence number, addressing (§7.2.1)."""
    if len(frame) < 2:
        return 0
    fc = frame[0] | frame[1] << 8
    lengths = {0: 0, 1: 0, 2: 2, 3: 8}
    dst, src = lengths[(fc >> 10) & 3], lengths[(fc >> 14) & 3]
    pans = (2 if dst else 0) + (2 if src and not fc & 0x40 else 0)
    return 3 + pans + dst + src
