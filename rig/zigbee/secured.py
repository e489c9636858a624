"""The security seams made real (docs/han.md "Stack (coordinator and device)", "Security"):
:class:`SecuredNwk` (ZigBee 05-3474 §4.3: level 5 under the network key, per-source incoming
counters, the outgoing counter kept across runs) and :class:`SecuredAps` (§4.4: per-device link
keys, the key-transport key for Transport Key, the key established by CBKE for Tunneling), and
the configuration of a secured trust center and device with the factories that build them
(:func:`coordinator`, :func:`device`; :class:`Credentials` and :func:`issue` for CBKE).

Built on the pure functions of :mod:`rig.zigbee.security` and the counters of
:mod:`rig.zigbee.counters`; the only I/O is the kept counters file, when a path is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rig.clock import Clock
from rig.util.kept_counters import CounterStore
from rig.zigbee.coordinator import Coordinator
from rig.zigbee.counters import (
    FrameCounters,
    KeptFrameCounter,
    KeptIncomingCounters,
    OutgoingCounter,
)
from rig.zigbee.device import Device, Memory
from rig.zigbee.keyest import Credentials, issue
from rig.zigbee.node import StackConfig
from rig.zigbee.seam import Radio, Refusal
from rig.zigbee.security import (
    APS_SECURITY_BIT,
    NWK_SECURITY_BIT,
    FrameError,
    FrameRefused,
    KeyId,
    Opened,
    open_aps,
    open_nwk,
    secure_aps,
    secure_nwk,
)

__all__ = [
    "Credentials",
    "DeviceConfig",
    "SecuredAps",
    "SecuredNwk",
    "TrustCenterConfig",
    "coordinator",
    "device",
    "issue",
]

#: The kept file's counter names: the outgoing NWK counter, and a prefix for incoming ones.
NWK_OUT = "nwk"
NWK_IN = "nwk-in"


def _address(eui64: bytes) -> int:
    """An EUI-64 as written (most significant byte first) as the integer security.py takes."""
    return int.from_bytes(eui64, "big")


class SecuredNwk:
    """NWK security with the network key (§4.3.1): frames secured at level 5 (level 0 on the
    air), every frame received checked by :func:`~rig.zigbee.security.open_nwk` against the
    per-source counters (a stale or replayed counter, a wrong MIC, an unsecured frame: refused
    with the reason and counted in :attr:`counters`).

    With ``kept`` (a counters file, docs/bench-files.md "Counters", or a store in memory that
    outlives the node: an emulated meter's) and ``owner`` (this node's EUI-64), the outgoing
    counter resumes above every counter a previous run sent
    (:class:`~rig.zigbee.counters.KeptFrameCounter`) and the incoming counters are kept too
    (:class:`~rig.zigbee.counters.KeptIncomingCounters`), so a power cycle neither sends a
    counter twice nor accepts a frame replayed from before it."""

    def __init__(
        self,
        owner: bytes,
        *,
        network_key: bytes | None = None,
        key_seq: int = 0,
        kept: Path | CounterStore | None = None,
    ) -> None:
        self.owner = owner
        self.keys: dict[int, bytes] = {}
        self.key_seq = key_seq
        name = owner.hex().upper()
        self._kept_out = None if kept is None else KeptFrameCounter(kept, name, NWK_OUT)
        self._kept_in = None if kept is None else KeptIncomingCounters(kept, name, NWK_IN)
        self.outgoing = self._kept_out.resume() if self._kept_out else OutgoingCounter()
        #: Incoming counters per sender, and the frames dropped per (sender, reason).
        self.counters = self._kept_in.resume() if self._kept_in else FrameCounters()
        if network_key is not None:
            self.install(network_key, key_seq)

    def install(self, key: bytes, key_seq: int) -> None:
        """Use ``key`` from now on; another key than the one held brings its own incoming
        counters (§4.3.1: the incoming frame counters belong to the key's security material,
        nwkSecurityMaterialSet), so a device that joins afresh takes the new key's frames."""
        if self.keys.get(self.key_seq, key) != key:
            self.counters = FrameCounters(drops=self.counters.drops)
        self.keys[key_seq] = key
        self.key_seq = key_seq

    def secure(self, frame: bytes, *, source: bytes) -> bytes:
        key = self.keys.get(self.key_seq)
        if key is None:
            raise FrameError("no network key installed: nothing can be NWK-secured")
        counter, self.outgoing = self.outgoing.take()
        if self._kept_out is not None:
            self._kept_out.sent(counter)
        return secure_nwk(frame, key, counter, _address(source), self.key_seq)

    def open(self, frame: bytes, *, allow_unsecured: bool) -> bytes | Refusal:
        control = int.from_bytes(frame[:2], "little")
        if allow_unsecured and len(frame) >= 2 and not control & NWK_SECURITY_BIT:
            return frame
        try:
            opened = open_nwk(frame, self.keys, self.counters)
        except FrameRefused as refused:
            self.counters = refused.counters
            return Refusal(f"{refused.reason}: {refused.args[0]}")
        self.counters = opened.counters
        if self._kept_in is not None:
            self._kept_in.accepted(self.counters)
        return opened.frame

    def close(self) -> None:
        """Keep the counters on file (the end of a run, or a power cycle)."""
        if self._kept_out is not None:
            self._kept_out.close()
        if self._kept_in is not None:
            self._kept_in.save(self.counters)


@dataclass
class _Link:
    """One link key shared with a peer: its incoming and outgoing APS frame counters (§4.4.1;
    they start again with each new key), and whether Key Establishment set it up."""

    key: bytes
    established: bool = False
    counters: FrameCounters = field(default_factory=FrameCounters)
    outgoing: OutgoingCounter = field(default_factory=OutgoingCounter)


class SecuredAps:
    """APS security with per-device link keys (§4.4.1): frames secured at level 5 with the
    link key (key identifier 0) or, for Transport Key, its key-transport key (2, §4.5.3).

    Each peer has its **current** link key (what frames go out under), perhaps a **pending**
    one (set up by Key Establishment but not yet confirmed in use: a frame that opens under it
    makes it current) and the **replaced** one (to name it when a frame still comes under it).
    ``open(..., established=True)`` (the Tunneling cluster) takes only a frame under a key that
    Key Establishment set up (SE 1.2a §5.4.7)."""

    def __init__(self, owner: bytes) -> None:
        self.owner = owner
        self._links: dict[bytes, _Link] = {}
        self._pending: dict[bytes, bytes] = {}
        self._replaced: dict[bytes, bytes] = {}

    def install_link_key(self, peer: bytes, key: bytes, *, established: bool = False) -> None:
        """``key`` becomes the link key with ``peer``, with counters from 0 (an install-code
        key installed again at a join starts again, as the joiner does); a key Key
        Establishment set up that is already current keeps its counters (a staged key that a
        frame made current, then installed when the frame it was staged for is acknowledged:
        its outgoing counter must not go back, §4.5.2.2)."""
        old = self._links.get(peer)
        if established and old is not None and old.key == key:
            old.established = True
        else:
            if old is not None and old.key != key:
                self._replaced[peer] = old.key
            self._links[peer] = _Link(key, established)
        self._pending.pop(peer, None)

    def stage_link_key(self, peer: bytes, key: bytes) -> None:
        """A key Key Establishment agreed: frames under it are taken (it then becomes current);
        frames keep going out under the current key until :meth:`install_link_key`."""
        self._pending[peer] = key

    def link_key(self, peer: bytes) -> bytes | None:
        """The newest link key with ``peer``, staged or current (for a capture's keys)."""
        link = self._links.get(peer)
        return self._pending.get(peer, link.key if link is not None else None)

    def current_key(self, peer: bytes) -> bytes | None:
        """The current link key with ``peer`` (what frames go out under; a frame ``open``
        takes under the staged key makes that one current first)."""
        link = self._links.get(peer)
        return link.key if link is not None else None

    def established(self, peer: bytes) -> bool:
        """Whether the current key with ``peer`` was set up by Key Establishment."""
        link = self._links.get(peer)
        return link is not None and link.established

    def secure(self, frame: bytes, *, peer: bytes, key_transport: bool = False) -> bytes:
        link = self._links.get(peer)
        if link is None:
            raise FrameError(f"no link key for {peer.hex().upper()}: nothing can be APS-secured")
        counter, link.outgoing = link.outgoing.take()
        key_id = KeyId.KEY_TRANSPORT if key_transport else KeyId.DATA
        return secure_aps(frame, link.key, counter, _address(self.owner), key_id)

    def open(
        self, frame: bytes, *, peer: bytes, required: bool, established: bool = False
    ) -> bytes | Refusal:
        if not frame or not frame[0] & APS_SECURITY_BIT:
            if required or established:
                return Refusal("unsecured: APS security is required for this frame")
            return frame
        pending = self._pending.get(peer)
        if pending is not None:
            opened = _try_open(frame, pending, peer, FrameCounters())
            if opened is not None:
                self.install_link_key(peer, pending, established=True)
                self._links[peer].counters = opened.counters
                return opened.frame
        link = self._links.get(peer)
        if link is None:
            return Refusal(f"key: no link key for {peer.hex().upper()}")
        try:
            opened = open_aps(frame, {_address(peer): link.key}, link.counters, _address(peer))
        except FrameRefused as refused:
            link.counters = refused.counters
            replaced = self._replaced.get(peer)
            if replaced is not None and _try_open(frame, replaced, peer, FrameCounters()):
                return Refusal("key: secured under the replaced link key, not the current one")
            return Refusal(f"{refused.reason}: {refused.args[0]}")
        link.counters = opened.counters
        if established and not link.established:
            return Refusal(
                "key: Tunneling is taken only under the link key set up by Key Establishment"
            )
        return opened.frame


def _try_open(frame: bytes, key: bytes, peer: bytes, counters: FrameCounters) -> Opened | None:
    """``frame`` opened under ``key``, or None."""
    try:
        return open_aps(frame, {_address(peer): key}, counters, _address(peer))
    except FrameRefused:
        return None


@dataclass(frozen=True)
class TrustCenterConfig:
    """The Comms Hub as coordinator and trust center of a secured HAN."""

    eui64: bytes
    pan_id: int
    extended_pan_id: bytes
    #: The network key (a test key on a bench) and its sequence number.
    network_key: bytes
    #: The device log: EUI-64 (as written) -> install code with its CRC (SRV 8.11, seed 002).
    device_log: Mapping[bytes, bytes]
    #: The hub's CBKE credentials.
    credentials: Credentials
    #: The kept counters file (NWK frame counters across runs), or None to keep them in memory.
    counters: Path | None = None
    stack: StackConfig = field(default_factory=StackConfig)


@dataclass(frozen=True)
class DeviceConfig:
    """An ESME or GSME joining a secured HAN."""

    eui64: bytes
    #: The install code with its CRC (what the hub's device log holds for it).
    install_code: bytes
    credentials: Credentials
    sleepy: bool = False
    extended_pan_id: bytes | None = None
    #: The kept counters file, or a store in memory shared by the node's boots (an emulated
    #: meter: devices/han/emulated.py), or None to keep them in the node only.
    counters: Path | CounterStore | None = None
    stack: StackConfig = field(default_factory=StackConfig)


def coordinator(config: TrustCenterConfig, clock: Clock, radio: Radio) -> Coordinator:
    """The secured trust center: NWK and APS security, Key Establishment with each device."""
    return Coordinator(
        config.eui64,
        clock,
        radio,
        pan_id=config.pan_id,
        extended_pan_id=config.extended_pan_id,
        network_key=config.network_key,
        device_log=dict(config.device_log),
        nwk_security=SecuredNwk(config.eui64, kept=config.counters),
        aps_security=SecuredAps(config.eui64),
        config=config.stack,
        credentials=config.credentials,
    )


def device(
    config: DeviceConfig, clock: Clock, radio: Radio, memory: Memory | None = None
) -> Device:
    """A secured device (with ``memory``, after a power cycle: call ``rejoin()``)."""
    return Device(
        config.eui64,
        clock,
        radio,
        install_code=config.install_code,
        sleepy=config.sleepy,
        extended_pan_id=config.extended_pan_id,
        memory=memory,
        nwk_security=SecuredNwk(config.eui64, kept=config.counters),
        aps_security=SecuredAps(config.eui64),
        config=config.stack,
        credentials=config.credentials,
    )
