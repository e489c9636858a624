"""The Comms Hub (CHF + GPF) with the devices joined to it, as one pure firmware (issue 5).

The hub is what a premises looks like from the WAN: every frame for any of its devices arrives
here and is routed over the HAN by the GBCS header's recipient EUI (domain.md §0). It models:

- **routing**: a frame for the CHF itself (CCS01 / CCS02 / CCS06, ECS26i …) is answered by the
  CHF, one for the GPF (GCS09, GCS13a …) by the GPF, each with its own keys; a frame for a
  device on the HAN device log is relayed to it; anything else is discarded and noted;
- **the HAN device log** (SRV 8.11, CCS01 / CCS02): a SMETS2 hub refuses an install code that is
  not 16 bytes with the known, consistent error response (seed 002; domain.md §5); a full log
  refuses further devices;
- **commands in flight**: at most ``max_in_flight`` commands per HAN device between the hub
  receiving one and its last answer leaving; beyond that the hub discards the command (the DSP
  sees no response) and counts it;
- **GBT toward the HAN**: a frame larger than ``segment_above`` bytes crosses the HAN as GBT
  blocks (reference/gbcs.md §1.8) and is reassembled at the device; each block costs one HAN
  transit; GBT blocks arriving from the WAN are reassembled before routing;
- **the GPF**: a command for a GSME waits until its next wake window; the GSME's own alerts wait
  for a wake too.

Time: each device answers in order (one command at a time). A command is handed to its device
when it is received, with the time the device will actually get it (``now`` plus HAN transit,
the wake wait and the device's queue), so outputs carry their true delays and the host needs no
extra timers; devices therefore see non-decreasing times of their own. A host RESET drops
scheduled outputs, not the state changes already made.
"""

from __future__ import annotations

import hashlib
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from cryptography.hazmat.primitives.asymmetric import ec

from firmware_stubs.device import DeviceState, Output, SmartDevice
from firmware_stubs.gsme import Gsme
from firmware_stubs.object_model import CosemModel, ZclModel, cosem_key
from firmware_stubs.timing import ProcessingTime
from rig.gbcs import dlms_usecases as dlms
from rig.gbcs import gbt, usecases
from rig.gbcs.dlms import AccessKind, AccessResult, Data, Tag
from rig.gbcs.errors import DecodeError
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import Message, decode
from rig.keys.keystore import KeyStore


class HanDevice(Protocol):
    """A device behind the hub: a firmware with an EUI (ticks and wakes are optional)."""

    eui: Eui64

    def handle(self, frame: bytes, now: float) -> Output: ...


@runtime_checkable
class TickingDevice(HanDevice, Protocol):
    def tick(self, now: float) -> Output: ...


@runtime_checkable
class SleepingDevice(HanDevice, Protocol):
    """A battery device reached through the GPF: it takes frames only in wake windows."""

    def next_wake(self, after: float) -> float: ...


@dataclass(frozen=True)
class HubSettings:
    """Comms Hub behaviour. Every default is [ASSUMED]: the CHTS values are not in the
    references."""

    #: One HAN transit (a frame, or one GBT block), seconds.
    han_latency: float = 0.01
    #: Frames above this many bytes cross the HAN as GBT blocks...
    segment_above: int = 400
    #: ...of at most this many data bytes.
    block_size: int = 128
    max_in_flight: int = 4
    max_log_entries: int = 16
    #: GBT messages reassembled at once; a new one beyond this drops the oldest unfinished
    #: one, so blocks of messages never completed do not pile up (issue 13).
    max_reassemblies: int = 16
    #: Apply the SMETS2 install-code rule (16 bytes) to CCS01.
    smets2: bool = True
    #: The CHF's own processing time for CCS01 / CCS02, seconds.
    processing_time: float = 0.005
    seed: int = 0


@dataclass(frozen=True)
class HanLogEntry:
    """One device on the CHF's HAN device log (CCS01)."""

    device: Eui64
    install_code: bytes
    device_type: int = 1


def install_code_for(device: Eui64) -> bytes:
    """A deterministic 16-byte install code for a device that joined before the test began."""
    return hashlib.sha256(b"install code " + device.raw).digest()[:16]


@dataclass
class HubStats:
    """What the hub counts (for the host's log and for load tests)."""

    routed: int = 0
    discarded: int = 0
    over_limit: int = 0
    han_blocks: int = 0
    held_for_wake: int = 0


#: The response to a CCS01 when the HAN device log is full. [ASSUMED] shaped like the
#: install-code rejection (domain.md §5), with "other reason" throughout.
LOG_FULL = dlms.AccessResults(
    (Data.null(),) * 3,
    (
        AccessResult(AccessKind.ACTION, dlms.OTHER_REASON),
        AccessResult(AccessKind.SET, dlms.OTHER_REASON),
        AccessResult(AccessKind.SET, dlms.OTHER_REASON),
    ),
)
_ADDED = dlms.AccessResults(
    (Data.null(),) * 3,
    (
        AccessResult(AccessKind.ACTION, 0),
        AccessResult(AccessKind.SET, 0),
        AccessResult(AccessKind.SET, 0),
    ),
)


class HubFunction(SmartDevice):
    """A function of the Comms Hub with its own EUI and keys (the CHF, the GPF): it answers
    its use cases through the general mechanism (:mod:`firmware_stubs.answers`) from its own
    object model and RTDS exemplars, secured with its own device keys."""

    def __init__(
        self,
        eui: Eui64,
        *,
        ka_private: ec.EllipticCurvePrivateKey,
        ds_private: ec.EllipticCurvePrivateKey | None,
        keys: KeyStore,
        settings: HubSettings,
        wall_clock_offset: float = 0.0,
    ) -> None:
        super().__init__(
            eui,
            ka_private=ka_private,
            ds_private=ds_private,
            keys=keys,
            processing=ProcessingTime(settings.processing_time),
            seed=settings.seed,
            wall_clock_offset=wall_clock_offset,
            alert_recipient=None,
            device_state=DeviceState(),
        )
        self.settings = settings

    def handle(self, frame: bytes, now: float) -> Output:
        """Answer one frame received at ``now``, after the future-dated instructions due."""
        due = self._execute_due(now)
        accepted = self._accept(frame, now)
        if isinstance(accepted, list):
            return due + accepted
        return due + self._dispatch(*accepted, now)

    def tick(self, now: float) -> Output:
        """Execute the future-dated instructions due (§1.6): their alerts."""
        return self._execute_due(now)

    def _dispatch(self, command: Message, body: object, now: float) -> Output:
        return self._answer(command, now)


class Chf(HubFunction):
    """The Communications Hub Function: the HAN device log (SRV 8.11: CCS01 / CCS02 by hand,
    CCS06 reads it live) and every other CHF use case from its COSEM model (ECS26i/n, ECS35c,
    DBCH01/05, CS02a/b …)."""

    exemplar_device = "chf"

    def __init__(
        self, eui: Eui64, *, log: MutableMapping[Eui64, HanLogEntry], **function: Any
    ) -> None:
        """``log``: the HAN device log (a dict, or the rig's live one on a HAN bench:
        devices/han/chf.py); ``function``: :class:`HubFunction`'s keys, settings and clock
        offset."""
        super().__init__(eui, **function)
        self.log = log
        self.cosem = CosemModel.seeded(self.exemplar_device)

    def _models(self) -> tuple[CosemModel | None, ZclModel | None]:
        """The CHF's COSEM model; its active devices (CCS06) are the HAN device log."""
        model = self.cosem
        template = model.values.get(ACTIVE_DEVICES)
        entries = None if template is None else template.value
        if not model.live and isinstance(entries, tuple) and entries:
            first = entries[0]
            model.live[ACTIVE_DEVICES] = lambda: Data(
                Tag.ARRAY, tuple(_device_entry(first, eui) for eui in self.log)
            )
        return model, None

    def _dispatch(self, command: Message, body: object, now: float) -> Output:
        if isinstance(body, dlms.AddHanDevice):
            return [self._respond(command, self._add(body))]
        if isinstance(body, dlms.RemoveHanDevice):
            removed = self.log.pop(body.device, None) is not None
            self._note(f"CCS02 {body.device}: {'removed' if removed else 'not on the log'}")
            result = 0 if removed else dlms.OTHER_REASON
            return [self._respond(command, usecases.ChangeSupplyEsmeResponse(result=result))]
        return self._answer(command, now)

    def _add(self, body: dlms.AddHanDevice) -> dlms.AccessResults:
        try:
            body.check(smets2=self.settings.smets2)
        except dlms.InstallCodeError as exc:
            self._note(f"CCS01 {body.device} refused: {exc}")
            return dlms.INSTALL_CODE_REJECTED
        if body.device not in self.log and len(self.log) >= self.settings.max_log_entries:
            self._note(f"CCS01 {body.device} refused: HAN device log full")
            return LOG_FULL
        self.log[body.device] = HanLogEntry(body.device, body.install_code, body.device_type)
        self._note(f"CCS01 {body.device} added to the HAN device log")
        return _ADDED


#: ZigBee network control (class 104, 0-0:30.3.0.255) active_devices, as CCS06 reads it.
ACTIVE_DEVICES = cosem_key("0-0:30.3.0.255", 104, 4)


def _device_entry(template: Data, eui: Eui64) -> Data:
    """An active_devices entry for ``eui``: the RTDS entry's link figures [ASSUMED], its EUI."""
    assert isinstance(template.value, tuple), "an active_devices entry is a structure"
    _, *rest = template.value
    return Data.structure(Data.octet_string(eui.raw), *rest)


class Gpf(HubFunction):
    """The Gas Proxy Function: it answers for the GSME from its mirror of the GSME's data
    (GCS13a, GCS14, GCS60a read the GSME's live attributes when one is on the premises) and
    its own use cases (GCS09, GCS59, CS02b) from its ZCL model and RTDS exemplars."""

    exemplar_device = "gpf"

    def __init__(self, eui: Eui64, *, gsme: Gsme | None = None, **function: Any) -> None:
        """``function``: :class:`HubFunction`'s keys, settings and clock offset."""
        super().__init__(eui, **function)
        self.gsme = gsme
        self.zcl = ZclModel.seeded(self.exemplar_device)

    def _models(self) -> tuple[CosemModel | None, ZclModel | None]:
        """The GPF's ZCL model, mirroring the GSME's live attributes."""
        if not self.zcl.live and self.gsme is not None:
            _, mirrored = self.gsme.object_models()
            if mirrored is not None:
                self.zcl.live.update(mirrored.live)
        return None, self.zcl


@dataclass
class _Lane:
    """One HAN device as the hub sees it: answers pending and when it is next free."""

    device: HanDevice
    pending: list[float] = field(default_factory=list)
    free_at: float = float("-inf")
    #: Whether it ticks and whether it sleeps (checked once: protocol checks are slow).
    ticks: bool = False
    sleeps: bool = False

    def __post_init__(self) -> None:
        self.ticks = isinstance(self.device, TickingDevice)
        self.sleeps = isinstance(self.device, SleepingDevice)


class CommsHub:
    """A Comms Hub and its HAN devices as one firmware (``handle`` and ``tick``)."""

    def __init__(
        self,
        chf: Chf,
        devices: Sequence[HanDevice],
        settings: HubSettings,
        gpf: Gpf | None = None,
    ) -> None:
        self.chf = chf
        self.gpf = gpf
        #: The hub's own functions by EUI: they answer at once, not over the HAN.
        self.functions: dict[Eui64, HubFunction] = {f.eui: f for f in (chf, gpf) if f}
        self.settings = settings
        self.devices = {d.eui: d for d in devices}
        self._lanes = {d.eui: _Lane(d) for d in devices}
        self._assembling: dict[tuple[object, ...], gbt.Reassembler] = {}
        self.stats = HubStats()

    @property
    def euis(self) -> tuple[Eui64, ...]:
        """Every EUI this hub answers for: its functions (CHF, GPF) and its devices."""
        return (*self.functions, *self.devices)

    @property
    def log(self) -> MutableMapping[Eui64, HanLogEntry]:
        """The HAN device log."""
        return self.chf.log

    def _discard(self, why: str) -> None:
        self.chf._note(f"discarded {why}")
        self.stats.discarded += 1

    # -- the firmware protocol ------------------------------------------------------------

    def handle(self, frame: bytes, now: float) -> Output:
        """Route one frame from the WAN received at ``now``."""
        if gbt.is_gbt(frame):
            whole = self._reassemble(frame)
            if whole is None:
                return []
            frame = whole
        try:
            recipient = decode(frame).signing.recipient
        except DecodeError as exc:
            self._discard(f"malformed frame: {exc}")
            return []
        function = self.functions.get(recipient)
        if function is not None:
            self.stats.routed += 1
            return function.handle(frame, now)
        lane = self._lanes.get(recipient)
        if lane is None:
            self._discard(f"frame for {recipient}: no such device behind this hub")
            return []
        if recipient not in self.log:
            self._discard(f"frame for {recipient}: not on the HAN device log")
            return []
        lane.pending = [t for t in lane.pending if t > now]
        if len(lane.pending) >= self.settings.max_in_flight:
            self.stats.over_limit += 1
            self._discard(f"frame for {recipient}: {len(lane.pending)} already in flight")
            return []
        self.stats.routed += 1
        return self._relay(lane, frame, now)

    def tick(self, now: float) -> Output:
        """Tick the hub's own functions (their alerts leave at once: they are on the WAN side)
        and every device (its alerts leave over the HAN, a GSME's at its next wake)."""
        out: Output = [output for f in self.functions.values() for output in f.tick(now)]
        for lane in self._lanes.values():
            if lane.ticks:
                sent = self._leave(lane, now, lane.device.tick(now))  # type: ignore[attr-defined]
                out += [(due - now, frame) for due, frame in sent]
        return out

    # -- the HAN ---------------------------------------------------------------------------

    def _cross(self, frame: bytes) -> tuple[float, bytes]:
        """Send a frame over the HAN: (seconds it takes, the frame as the far end has it).
        One latency per frame, or per GBT block for a large frame reassembled at the far end."""
        if len(frame) <= self.settings.segment_above:
            return self.settings.han_latency, frame
        blocks = gbt.segment(frame, self.settings.block_size)
        self.stats.han_blocks += len(blocks)
        return self.settings.han_latency * len(blocks), gbt.reassemble(blocks)

    def _relay(self, lane: _Lane, frame: bytes, now: float) -> Output:
        transit, frame = self._cross(frame)
        arrive = now + transit
        device = lane.device
        if lane.sleeps:
            wake = device.next_wake(max(arrive, lane.free_at))  # type: ignore[attr-defined]
            if wake > arrive:
                self.stats.held_for_wake += 1
            arrive = wake
        start = max(arrive, lane.free_at)
        outputs = device.handle(frame, start)
        lane.free_at = start + max((delay for delay, _ in outputs), default=0.0)
        sent = self._leave(lane, start, outputs, wake=False)
        lane.pending.append(max((due for due, _ in sent), default=start))
        return [(due - now, out) for due, out in sent]

    def _leave(
        self, lane: _Lane, at: float, outputs: Output, *, wake: bool = True
    ) -> list[tuple[float, bytes]]:
        """When each output of ``lane``'s device, made at ``at``, reaches the WAN side."""
        sent = []
        for delay, frame in outputs:
            ready = at + delay
            if wake and lane.sleeps:
                ready = lane.device.next_wake(ready)  # type: ignore[attr-defined]
            transit, frame = self._cross(frame)
            sent.append((ready + transit, frame))
        return sent

    def _reassemble(self, data: bytes) -> bytes | None:
        try:
            block = gbt.decode_block(data)
            assembler = self._assembling.get(block.transaction)
            if assembler is None:
                assembler = self._assembling[block.transaction] = gbt.Reassembler()
                if len(self._assembling) > self.settings.max_reassemblies:
                    _, counter, originator, *_ = stale = next(iter(self._assembling))
                    del self._assembling[stale]
                    why = f"GBT message {counter} from {originator}: unfinished, too many at once"
                    self._discard(why)
            whole = assembler.add(block)
        except DecodeError as exc:
            self._discard(f"GBT block: {exc}")
            return None
        if whole is not None:
            del self._assembling[block.transaction]
        return whole
