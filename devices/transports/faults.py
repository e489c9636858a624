"""Fault injection for any link: a pure, seeded core and a thin wrapper around a link.

:class:`FaultInjector` decides, frame by frame, what happens to each payload in each direction
(``TX`` rig to device, ``RX`` device to rig): drop it, corrupt one bit, duplicate it, delay it,
or hold it back so the next frame overtakes it (reorder). Rates are per-frame probabilities
drawn from a seeded generator, with a fixed number of draws per frame, so one seed and one
sequence of frames always give the same faults; :meth:`FaultInjector.script` forces faults on
chosen frames instead. Every fault is logged with the frames it touched.

:class:`FaultyLink` applies an injector to a link built by any ``LinkFactory`` (serial over
pty, TCP or RFC 2217, a reconnecting link, the ZigBee bridge link) and can take the link down
and up: the consumer sees ``on_closed("link lost: …")`` and ``on_reopened()`` exactly as for a
real outage. A device reboot (``EmulatedSerialDevice.reboot``, or a bench I/O power cycle) is
logged here as POWER_OFF and POWER_ON; clock skew is the firmware side's business.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from devices.transports.hdlc import Frame, FrameKind
from devices.transports.link import LinkClosedError, LinkEvents, LinkFactory

#: Starts the reason of an injected outage, like a real drop's (``serial_link.LINK_LOST``).
INJECTED_OUTAGE = "link lost: injected outage"


class Direction(StrEnum):
    TX = "tx"  # rig to device
    RX = "rx"  # device to rig


class Fault(StrEnum):
    DROP = "drop"
    CORRUPT = "corrupt"
    DUPLICATE = "duplicate"
    DELAY = "delay"
    REORDER = "reorder"
    LINK_DOWN = "link down"
    LINK_UP = "link up"
    POWER_OFF = "power off"  # the device's mains cut: a reboot is POWER_OFF then POWER_ON
    POWER_ON = "power on"
    REPLAY = "replay"  # on the air: a frame seen earlier sent again (devices/spinel/air_faults.py)
    JAM = "jam"  # on the air: the channel busy, a transmission fails its CCA


#: Per-frame faults, in the order they are decided and applied.
FRAME_FAULTS = (Fault.DROP, Fault.CORRUPT, Fault.DUPLICATE, Fault.DELAY, Fault.REORDER)


@dataclass(frozen=True)
class FaultRates:
    """Per-frame probabilities of each fault in one direction, and the delay range."""

    drop: float = 0.0
    corrupt: float = 0.0
    duplicate: float = 0.0
    delay: float = 0.0
    reorder: float = 0.0
    delay_s: tuple[float, float] = (0.01, 0.1)

    def __post_init__(self) -> None:
        for fault in FRAME_FAULTS:
            if not 0.0 <= getattr(self, fault.value) <= 1.0:
                raise ValueError(f"{fault.value} rate must be within [0, 1]")
        low, high = self.delay_s
        if not 0.0 <= low <= high:
            raise ValueError("delay_s must be (low, high) with 0 <= low <= high")

    def rate(self, fault: Fault) -> float:
        return float(getattr(self, fault.value))


@dataclass(frozen=True)
class FaultRecord:
    """One fault: when, which way, what, the payloads it touched (for a corruption: before, then
    after), a detail such as the bit flipped or the delay, and the device it concerns (its bench
    name in the results; an injector that knows only its EUI-64, as the air's, gives that)."""

    at: float
    direction: Direction | None
    fault: Fault
    frames: tuple[bytes, ...]
    detail: str = ""
    device: str = ""

    def to_json(self) -> dict[str, object]:
        """A results record: ``{"kind": "fault", "fault": "drop", "frames": [hex, …], …}``."""
        return {
            "kind": "fault",
            "at": self.at,
            "direction": None if self.direction is None else self.direction.value,
            "fault": self.fault.value,
            "frames": [frame.hex() for frame in self.frames],
            "detail": self.detail,
            "device": self.device,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> FaultRecord:
        """The record :meth:`to_json` gave (a fault log read back); ValueError if it is not
        one."""
        try:
            direction = data["direction"]
            return cls(
                float(data["at"]),  # type: ignore[arg-type]
                None if direction is None else Direction(str(direction)),
                Fault(str(data["fault"])),
                tuple(bytes.fromhex(str(frame)) for frame in data["frames"]),  # type: ignore[attr-defined]
                str(data.get("detail", "")),
                str(data.get("device", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a fault record: {type(exc).__name__}: {exc}") from None


@dataclass(frozen=True)
class Emit:
    """Pass ``payload`` on at loop time ``at`` (``at`` <= now means at once)."""

    at: float
    payload: bytes


@dataclass
class _Held:
    payload: bytes
    deadline: float


@dataclass
class _Lane:
    """One direction's state: its frame count and the frame held back for a reorder."""

    rates: FaultRates
    count: int = 0
    held: _Held | None = None
    script: dict[int, frozenset[Fault]] = field(default_factory=dict)


class FaultInjector:
    """Decides the faults; no I/O, no clock of its own (times are passed in)."""

    def __init__(
        self,
        seed: int = 0,
        *,
        tx: FaultRates | None = None,
        rx: FaultRates | None = None,
        reorder_hold_s: float = 0.5,
        on_record: Callable[[FaultRecord], None] | None = None,
    ) -> None:
        if reorder_hold_s <= 0:
            raise ValueError("reorder_hold_s must be positive")
        self.seed = seed
        self.reorder_hold_s = reorder_hold_s
        self.log: list[FaultRecord] = []
        #: Told of every fault as it is logged (the rig writes them to the results).
        self.on_record = on_record
        self._rng = random.Random(seed)
        self._lanes = {
            Direction.TX: _Lane(tx or FaultRates()),
            Direction.RX: _Lane(rx or FaultRates()),
        }

    def script(self, direction: Direction, index: int, *faults: Fault) -> None:
        """Apply exactly ``faults`` to frame ``index`` (0-based) in ``direction``, whatever the
        rates; the delay is still drawn from the rates' range."""
        unknown = set(faults) - set(FRAME_FAULTS)
        if unknown:
            raise ValueError(f"not per-frame faults: {sorted(unknown)}")
        self._lanes[direction].script[index] = frozenset(faults)

    def note(self, fault: Fault, at: float, detail: str = "") -> None:
        """Log a link- or device-level fault (LINK_DOWN, LINK_UP, POWER_OFF, POWER_ON)."""
        self.record(FaultRecord(at, None, fault, (), detail))

    def record(self, record: FaultRecord) -> None:
        """Log one fault (and tell ``on_record``)."""
        self.log.append(record)
        if self.on_record is not None:
            self.on_record(record)

    def process(self, direction: Direction, payload: bytes, now: float) -> list[Emit]:
        """What to pass on, and when, for one frame arriving at ``now``."""
        lane = self._lanes[direction]
        index, lane.count = lane.count, lane.count + 1
        draws = {fault: self._rng.random() for fault in FRAME_FAULTS}
        delay = self._rng.uniform(*lane.rates.delay_s)
        position = self._rng.random()
        chosen = lane.script.pop(index, None)
        if chosen is None:
            chosen = frozenset(f for f in FRAME_FAULTS if draws[f] < lane.rates.rate(f))

        def record(fault: Fault, *frames: bytes, detail: str = "") -> None:
            self.record(FaultRecord(now, direction, fault, frames, detail))

        if Fault.DROP in chosen:
            record(Fault.DROP, payload, detail=f"frame {index}")
            return []
        if Fault.CORRUPT in chosen:
            bit = int(position * len(payload) * 8)
            corrupted = bytearray(payload)
            corrupted[bit // 8] ^= 1 << (bit % 8)
            record(Fault.CORRUPT, payload, bytes(corrupted), detail=f"frame {index} bit {bit}")
            payload = bytes(corrupted)
        at = now
        if Fault.DELAY in chosen:
            at = now + delay
            record(Fault.DELAY, payload, detail=f"frame {index} by {delay:.6f} s")
        emits = [Emit(at, payload)]
        if Fault.DUPLICATE in chosen:
            record(Fault.DUPLICATE, payload, detail=f"frame {index}")
            emits.append(Emit(at, payload))
        if lane.held is not None:
            held, lane.held = lane.held, None
            record(Fault.REORDER, held.payload, payload, detail=f"frame {index} overtook")
            return [*emits, Emit(at, held.payload)]
        if Fault.REORDER in chosen:
            lane.held = _Held(payload, now + self.reorder_hold_s)
            record(Fault.REORDER, payload, detail=f"frame {index} held back")
            return emits[1:]  # a duplicate still goes now: the held copy comes after the next
        return emits

    def next_expiry(self) -> float | None:
        """When a held frame must be let go if no other frame overtakes it first."""
        deadlines = [lane.held.deadline for lane in self._lanes.values() if lane.held]
        return min(deadlines, default=None)

    def expire(self, now: float) -> list[tuple[Direction, Emit]]:
        """Release held frames whose hold is over (nothing overtook them)."""
        out = []
        for direction, lane in self._lanes.items():
            if lane.held is not None and lane.held.deadline <= now:
                out.append((direction, Emit(now, lane.held.payload)))
                lane.held = None
        return out

    def discard_held(self) -> list[bytes]:
        """Forget held frames (an outage swallowed them); return them."""
        lost = []
        for lane in self._lanes.values():
            if lane.held is not None:
                lost.append(lane.held.payload)
                lane.held = None
        return lost


class FaultyLink:
    """A link seen through a :class:`FaultInjector`; also takes the link down and up.

    Faults apply to GBCS frames; link-control frames pass untouched, except that an outage
    stops everything. ``send`` returns the time the frame entered the faulty medium: the inner
    link's on-wire time when it goes at once, else ``now`` (dropped or held) or the delayed
    send time.
    """

    def __init__(self, make: LinkFactory, events: LinkEvents, injector: FaultInjector) -> None:
        self.injector = injector
        self._events = events
        self._inner = make(
            LinkEvents(
                on_frame=self._received,
                on_error=events.on_error,
                on_closed=self._inner_closed,
                on_reopened=self._inner_reopened,
            )
        )
        self.url = self._inner.url
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timers: set[asyncio.TimerHandle] = set()
        self._expiry: asyncio.TimerHandle | None = None
        self._up_timer: asyncio.TimerHandle | None = None
        self._down = False

    @property
    def is_open(self) -> bool:
        return self._inner.is_open and not self._down

    @property
    def down(self) -> bool:
        """True during an injected outage."""
        return self._down

    async def open(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self._inner.open()

    def send(self, payload: bytes, kind: FrameKind = FrameKind.GBCS) -> float:
        if self._down:
            raise LinkClosedError(f"{self.url}: {INJECTED_OUTAGE}")
        if kind is not FrameKind.GBCS:
            return self._inner.send(payload, kind)
        now = self._require_loop().time()
        sent_at: float | None = None
        for emit in self.injector.process(Direction.TX, payload, now):
            if emit.at <= now:
                at = self._inner.send(emit.payload)
            else:
                self._later(emit.at, self._send_late, emit.payload)
                at = emit.at
            sent_at = at if sent_at is None else sent_at
        self._arm_expiry()
        return now if sent_at is None else sent_at

    def take_down(self, duration: float | None = None, reason: str = "") -> None:
        """Start an outage: frames either way are lost, ``send`` raises, the consumer hears
        ``on_closed``. With ``duration``, :meth:`bring_up` follows by itself."""
        if self._down:
            return
        loop = self._require_loop()
        self._down = True
        self._cancel_timers()
        lost = self.injector.discard_held()
        detail = reason or (f"for {duration:g} s" if duration is not None else "until brought up")
        self.injector.note(Fault.LINK_DOWN, loop.time(), detail)
        for payload in lost:
            self.injector.record(
                FaultRecord(loop.time(), None, Fault.DROP, (payload,), "held frame lost in outage")
            )
        self._events.on_closed(f"{INJECTED_OUTAGE} ({detail})")
        if duration is not None:
            self._up_timer = loop.call_later(duration, self.bring_up)

    def bring_up(self) -> None:
        """End an outage; the consumer hears ``on_reopened`` if the real link is up."""
        if not self._down:
            return
        self._down = False
        if self._up_timer is not None:
            self._up_timer.cancel()
            self._up_timer = None
        self.injector.note(Fault.LINK_UP, self._require_loop().time())
        if self._inner.is_open:
            self._events.on_reopened()

    def close(self) -> None:
        self._cancel_timers()
        if self._up_timer is not None:
            self._up_timer.cancel()
            self._up_timer = None
        self._inner.close()

    # -- the shell's plumbing ---------------------------------------------------------------

    def _require_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise LinkClosedError(f"{self.url} is not open")
        return self._loop

    def _later(self, at: float, callback: Callable[[bytes], None], payload: bytes) -> None:
        """Run ``callback(payload)`` at ``at`` unless an outage or close cancels it first."""
        handle: asyncio.TimerHandle

        def run() -> None:
            self._timers.discard(handle)
            callback(payload)

        handle = self._require_loop().call_at(at, run)
        self._timers.add(handle)

    def _cancel_timers(self) -> None:
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None

    def _send_late(self, payload: bytes) -> None:
        if self._down or not self._inner.is_open:
            return
        try:
            self._inner.send(payload)
        except ConnectionError as exc:
            self._events.on_error(exc)

    def _received(self, frame: Frame, at: float) -> None:
        if self._down:
            self.injector.record(
                FaultRecord(at, Direction.RX, Fault.DROP, (frame.payload,), "lost in outage")
            )
            return
        if frame.kind is not FrameKind.GBCS:
            self._events.on_frame(frame, at)
            return
        for emit in self.injector.process(Direction.RX, frame.payload, at):
            self._deliver(emit, at)
        self._arm_expiry()

    def _deliver(self, emit: Emit, received_at: float) -> None:
        """Hand a GBCS frame on: stamped with its real arrival time if it goes at once, with
        the release time if the injector delayed or held it."""
        if emit.at <= received_at:
            self._events.on_frame(Frame(FrameKind.GBCS, emit.payload), received_at)
        else:
            self._later(emit.at, self._deliver_late, emit.payload)

    def _deliver_late(self, payload: bytes) -> None:
        if not self._down:
            self._events.on_frame(Frame(FrameKind.GBCS, payload), self._require_loop().time())

    def _arm_expiry(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        due = self.injector.next_expiry()
        if due is not None:
            self._expiry = self._require_loop().call_at(due, self._expire)

    def _expire(self) -> None:
        self._expiry = None
        now = self._require_loop().time()
        for direction, emit in self.injector.expire(now):
            if direction is Direction.TX:
                self._send_late(emit.payload)
            else:
                self._deliver_late(emit.payload)
        self._arm_expiry()

    def _inner_closed(self, reason: str) -> None:
        self._cancel_timers()
        if not self._down or reason == "closed":
            self._events.on_closed(reason)

    def _inner_reopened(self) -> None:
        if not self._down:
            self._events.on_reopened()
