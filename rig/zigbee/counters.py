"""ZigBee frame counters: freshness of incoming frames, and the outgoing counter kept across runs.

Incoming (ZigBee spec 4.3.1.2 step 4 and 4.5.1.1): a receiver keeps, per sender (and per key:
one :class:`FrameCounters` for the network key, one for each link key), the last frame counter
it accepted, and drops a frame whose counter is not above it: **replay** when equal, **stale**
when below. The counter is raised only after the MIC verified (rig/zigbee/security.py), so a
forged frame cannot move it. Every frame dropped, for whatever :class:`Drop` reason, is counted
per sender and reason. :class:`FrameCounters` is pure: counters in, decisions and a new state
out.

Outgoing (4.3.1.1 step 1): each secured frame takes the next counter; at 0xFFFFFFFF the key is
spent and nothing more may be sent under it. A node that restarted at 0 would be dropped as
stale by every neighbour, so :class:`KeptFrameCounter` keeps it in a file across runs, claiming
counters ahead in blocks as the GBCS originator counters do (rig/util/kept_counters.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType

from rig.util.kept_counters import CounterStore, kept_counters

#: The largest frame counter; a key whose counter reached it sends no more (ZigBee 4.3.1.1).
MAX_COUNTER = 0xFFFFFFFF


class Drop(StrEnum):
    """Why a secured frame was dropped."""

    MALFORMED = "malformed"  # too short, or a header that does not parse
    UNSECURED = "unsecured"  # no security where the network requires it
    LEVEL = "level"  # a security level other than 0 on the air (4.3.1.1 step 8)
    KEY = "key"  # a key identifier or key sequence number we hold no key for
    REPLAY = "replay"  # the counter of the last frame accepted from that sender
    STALE = "stale"  # a counter below it
    MIC = "mic"  # the MIC does not verify


@dataclass(slots=True)  # not frozen: per frame, frozen costs 5x to build
class FrameCounters:
    """Per sender (IEEE address): the last counter accepted; per (sender, reason): drops."""

    last: Mapping[int, int]
    drops: Mapping[tuple[int | None, Drop], int]

    # mypyc compiles an explicit __init__; the one @dataclass writes runs interpreted
    # (docs/han.md "Speed of the secured HAN")
    def __init__(
        self,
        last: Mapping[int, int] | None = None,
        drops: Mapping[tuple[int | None, Drop], int] | None = None,
    ) -> None:
        self.last = {} if last is None else last
        self.drops = {} if drops is None else drops

    def verdict(self, source: int, counter: int) -> Drop | None:
        """None if ``counter`` is fresh from ``source``, else why it is not."""
        last = self.last.get(source)
        if last is None or counter > last:
            return None
        return Drop.REPLAY if counter == last else Drop.STALE

    def accept(self, source: int, counter: int) -> FrameCounters:
        """The state once a frame from ``source`` with ``counter`` verified."""
        return FrameCounters(MappingProxyType({**self.last, source: counter}), self.drops)

    def drop(self, source: int | None, reason: Drop) -> FrameCounters:
        """The state with one more frame dropped (``source`` None: not known)."""
        key = (source, reason)
        return FrameCounters(
            self.last, MappingProxyType({**self.drops, key: self.drops.get(key, 0) + 1})
        )

    def dropped(self, reason: Drop | None = None, source: int | None = None) -> int:
        """Frames dropped, for one reason and/or one sender, or all."""
        return sum(
            count
            for (who, why), count in self.drops.items()
            if (reason is None or why == reason) and (source is None or who == source)
        )


class CounterExhausted(ValueError):
    """The outgoing frame counter reached 0xFFFFFFFF: the key must change before sending."""


@dataclass(slots=True)  # not frozen: per frame, frozen costs 5x to build
class OutgoingCounter:
    """The next frame counter to send under one key."""

    next: int

    # mypyc compiles an explicit __init__; the one @dataclass writes runs interpreted
    # (docs/han.md "Speed of the secured HAN")
    def __init__(self, next: int = 0) -> None:
        self.next = next

    def take(self) -> tuple[int, OutgoingCounter]:
        """The counter for the next frame, and the state after it."""
        if self.next >= MAX_COUNTER:
            raise CounterExhausted(
                f"the outgoing frame counter reached {MAX_COUNTER:#x}: this key sends no more"
            )
        return self.next, OutgoingCounter(self.next + 1)


class KeptFrameCounter:
    """The outgoing frame counter of one node (``owner``, its IEEE address as text) under one
    key (``name``, e.g. ``"nwk"``), kept in ``path`` across runs, or in a store in memory
    across power cycles of an emulated node (I/O: the shell around :class:`OutgoingCounter`).
    CounterStateError names the file if it cannot be kept."""

    def __init__(self, path: Path | CounterStore, owner: str, name: str = "nwk") -> None:
        self._kept = kept_counters(path)
        self._owner, self._name = owner, name
        #: The last counter sent (0: none), and the claim on file (sent up to it: no write).
        self._last = self._claim = 0

    def resume(self) -> OutgoingCounter:
        """The counter to start from: above every counter a previous run may have sent."""
        return OutgoingCounter(self._kept.resume_after(self._owner, [self._name]) + 1)

    def sent(self, counter: int) -> None:
        """Note a frame sent with ``counter`` (a file write once per claimed block)."""
        self._last = counter
        if counter > self._claim:
            self._claim = self._kept.use(self._owner, self._name, counter)

    def close(self) -> None:
        """Lower the claim on file to the last counter sent."""
        if self._last:
            self._kept.use(self._owner, self._name, self._last)
        self._kept.close()
        self._claim = 0  # the claim is gone: a frame sent after this claims again


#: Accepted frames between two writes of the incoming counters [ASSUMED: a node killed without
#: :meth:`KeptIncomingCounters.save` may take a replay of at most this many frames per sender].
SAVE_EVERY = 16


class KeptIncomingCounters:
    """The incoming frame counters of one node (``owner``) kept in the counters file of
    :class:`KeptFrameCounter`, one entry per sender named ``<name>:<sender's address in hex>``
    (exact values: a receiver must not claim ahead). Written every :data:`SAVE_EVERY` accepted
    frames and at :meth:`save`; CounterStateError names the file if it cannot be kept."""

    def __init__(self, path: Path | CounterStore, owner: str, name: str = "nwk-in") -> None:
        self._kept = kept_counters(path)
        self._owner, self._name = owner, name
        self._unsaved = 0

    def resume(self) -> FrameCounters:
        """The counters on file (no drops: those are per run)."""
        prefix = self._name + ":"
        return FrameCounters(
            MappingProxyType(
                {
                    int(name[len(prefix) :], 16): counter
                    for name, counter in self._kept.read(self._owner).items()
                    if name.startswith(prefix)
                }
            )
        )

    def accepted(self, counters: FrameCounters) -> None:
        """One more frame accepted: write once every :data:`SAVE_EVERY`."""
        self._unsaved += 1
        if self._unsaved >= SAVE_EVERY:
            self.save(counters)

    def save(self, counters: FrameCounters) -> None:
        self._unsaved = 0
        self._kept.keep(
            self._owner,
            {f"{self._name}:{source:016X}": last for source, last in counters.last.items()},
        )
