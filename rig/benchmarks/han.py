"""The secured HAN's figures for ``rig benchmark devices`` (issue 15; docs/han.md "Speed of the
secured HAN").

One HAN here is what a bench runs, in one process on a virtual clock and without the pty: the
emulated HAN (:class:`devices.han.emulated.Han` behind its :class:`~devices.han.emulated.HanCore`:
the air, the rig's emulated RCP framing HDLC-Lite Spinel, the ESME's emulated RCP and secured
stack, its firmware stub behind the tunnel) and the rig's secured coordinator
(:func:`rig.zigbee.secured.coordinator`) on :class:`HostRadio`, the host side of Spinel that the
hub's driver runs for each frame. Security is on throughout: NWK level 5 on every frame after the
join, APS-secured Tunneling under the key Key Establishment set up, every frame's MIC verified
and its counter checked, the NWK counters kept on file as on a bench.

- **Figure A**, :func:`measure_frames`: GBCS (an RTDS command, or any bytes) sent by the hub to
  the ESME in TransferData and echoed back by the ESME's tunnel, block by block with APS acks:
  MAC frames carried per CPU-second, against what the 250 kbit/s air carries of the same
  frames (each with its MAC ACK) and against the bare AES-CCM calls those frames need.
- **Figure B**, :func:`measure_hubs`: ``hans`` HANs, each joined and key-established first (the
  set-up, measured apart), then each sent one GBCS request per second (ECS45 with a real MAC,
  as ``rig benchmark devices``' hub farm sends) that its ESME firmware answers: CPU-seconds per
  request answered, so hubs per core at one request per second each. The HANs run one after the
  other (each would be its own emulator process; they share nothing), so the figure is the sum
  of their CPU over the sum of their requests.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter

import click
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from devices.emulated.farm import farm_euis, make_farm_keys
from devices.emulated.host import Firmware, Output
from devices.han.emulated import Han, HanCore, HanSpec, MeterSpec
from devices.spinel import hdlc_lite, mac
from devices.spinel.codec import Command, SpinelFrame, prop_frame, split_prop
from devices.spinel.emulated import HWADDR_PREFIX, earliest
from devices.spinel.properties import Prop, Property, RxFrame, TxDone, TxRequest
from devices.spinel.rcp import AirConfig
from rig.benchmarks import spinel
from rig.benchmarks.farm import FARM_KEYS, read_supply_status
from rig.clock import VirtualClock
from rig.gbcs.codec import RemotePartyCodec
from rig.gbcs.frame import decode
from rig.keys import RTDS_KEYS
from rig.keys.keystore import KeyStore
from rig.zigbee import secured
from rig.zigbee.aps import fragments
from rig.zigbee.cbke.ecqv import CertificateAuthority
from rig.zigbee.coordinator import Coordinator
from rig.zigbee.keyest import Credentials
from rig.zigbee.mmo import with_crc
from rig.zigbee.node import MAX_ASDU, MAX_BLOCK, Event

CHANNEL = 15
PAN = 0x4742
EXT_PAN = bytes.fromhex("00DB0000484E4542")
#: A test network key [ASSUMED: a bench's, never a real HAN's].
NETWORK_KEY = bytes.fromhex("0123456789ABCDEF0123456789ABCDEF")
#: The rig's RCP in the emulated HAN (devices/han/emulated.py: its hardware address).
HUB = HWADDR_PREFIX + b"\x01"
#: Simulated seconds a join and Key Establishment may take before the set-up gives up.
_JOIN_LIMIT_S = 30.0
#: Simulated seconds for the last answers after the last request [ASSUMED: an ESME answers a
#: few hundred ms after a request on a quiet air].
_DRAIN_S = 5.0


class HostRadio:
    """The rig's side of its RCP, in memory: what :class:`~devices.spinel.driver.SpinelRadio`
    and the hub's radio thread do for each frame (HDLC-Lite framed Spinel: ``STREAM_RAW`` out,
    one transmission at a time, its ``LAST_STATUS``; ``STREAM_RAW`` in to the node)."""

    def __init__(self, core: HanCore, now: Callable[[], float]) -> None:
        self.core, self.now = core, now
        self.node: Coordinator | None = None
        self.decoder = hdlc_lite.HdlcLiteDecoder()
        self.queue: deque[bytes] = deque()
        self.busy = False
        #: Wall seconds spent in the emulated RCP (its firmware, the air, the meters behind it)
        #: on the hub's writes: the dongle's work, not the host's.
        self.emulator_s = 0.0
        #: PSDU length of every frame sent.
        self.sent: list[int] = []
        self._tid = 0
        for prop, value in (
            (Prop.PHY_CHAN, CHANNEL),
            (Prop.MAC_15_4_PANID, PAN),
            (Prop.MAC_15_4_SADDR, 0),
            (Prop.MAC_RAW_STREAM_ENABLED, True),
            (Prop.MAC_SRC_MATCH_ENABLED, True),
            (Prop.PHY_ENABLED, True),
        ):
            self._write(Command.PROP_VALUE_SET, prop, prop.encode(value))

    def _write(self, command: int, prop: Property, value: bytes) -> None:
        self._tid = self._tid % 15 + 1
        wire = hdlc_lite.encode(prop_frame(command, prop.id, value, self._tid).encode())
        start = perf_counter()
        self.core.receive(wire, self.now())
        self.emulator_s += perf_counter() - start

    def transmit(self, mac_frame: bytes) -> None:
        self.sent.append(len(mac_frame) + 2)
        self.queue.append(mac_frame)
        self._next()

    def _next(self) -> None:
        if self.busy or not self.queue:
            return
        self.busy = True
        request = TxRequest(self.queue.popleft() + b"\0\0", CHANNEL)
        self._write(Command.PROP_VALUE_SET, Prop.STREAM_RAW, request.encode())

    def add_pending(self, address: int | bytes) -> None:
        self._source_match(Command.PROP_VALUE_INSERT, address)

    def clear_pending(self, address: int | bytes) -> None:
        self._source_match(Command.PROP_VALUE_REMOVE, address)

    def _source_match(self, command: int, address: int | bytes) -> None:
        if isinstance(address, int):
            self._write(command, Prop.MAC_SRC_MATCH_SHORT_ADDRESSES, address.to_bytes(2, "little"))
        else:  # the frame's byte order (docs/han.md "Radio (Spinel)")
            self._write(command, Prop.MAC_SRC_MATCH_EXTENDED_ADDRESSES, address[::-1])

    def feed(self, chunks: list[bytes]) -> None:
        """What the RCP sent up the serial line."""
        for item in self.decoder.feed(b"".join(chunks)):
            if isinstance(item, hdlc_lite.HdlcError):
                raise RuntimeError(f"the emulated RCP sent a bad frame: {item}")
            frame = SpinelFrame.decode(item)
            prop, value = split_prop(frame.payload)
            if prop == Prop.STREAM_RAW.id and frame.tid == 0:
                if self.node is not None:
                    self.node.receive(RxFrame.decode(value).mac_frame)
            elif prop == Prop.LAST_STATUS.id and self.busy and frame.tid == self._tid:
                TxDone.decode(value)
                self.busy = False
                self._next()


class Echo:
    """An ESME firmware stand-in for Figure A: every GBCS frame goes straight back."""

    def handle(self, frame: bytes, now: float) -> Output:
        return [(0.0, frame)]

    def tick(self, now: float) -> Output:
        return []


@dataclass(frozen=True)
class Pki:
    """The HANs' test PKI: one CA; the hub's credentials (every emulated HAN's rig RCP has the
    same EUI-64)."""

    ca: CertificateAuthority
    hub: Credentials

    @classmethod
    def make(cls) -> Pki:
        ca = CertificateAuthority.generate(b"BENCHCA1")
        return cls(ca, secured.issue(ca, HUB, 1))


class SecuredHan:
    """One HAN: the emulated HAN with one ESME (``farm_euis(n).esme``) and the rig's secured
    coordinator, each on its own clock, run together by :meth:`run`."""

    def __init__(
        self, n: int, pki: Pki, folder: Path, firmware: Callable[[MeterSpec], Firmware] | None
    ) -> None:
        self.esme = farm_euis(n).esme
        install_code = with_crc(n.to_bytes(16, "big"))
        meter = MeterSpec(
            self.esme, "esme", install_code, 0.002, secured.issue(pki.ca, self.esme.raw, n + 2)
        )
        spec = HanSpec(
            channel=CHANNEL,
            extended_pan_id=EXT_PAN,
            air=AirConfig(),
            keys=(FARM_KEYS, RTDS_KEYS),
            meters=(meter,),
        )
        start = time.monotonic()
        self.han = Han(spec, now=start, firmware=firmware)
        self.core = HanCore(self.han)
        self.clock = VirtualClock(start)
        self.radio = HostRadio(self.core, self.clock.now)
        trust_center = secured.TrustCenterConfig(
            HUB, PAN, EXT_PAN, NETWORK_KEY, {self.esme.raw: install_code}, pki.hub,
            counters=folder / f"hub-{n}.json",
        )  # fmt: skip
        self.hub = secured.coordinator(trust_center, self.clock, self.radio)
        self.radio.node = self.hub
        self.received: list[bytes] = []
        self.hub.on_event = self._event
        #: Wall seconds of the emulator's calls in :meth:`run` (the RCP's handling of the hub's
        #: writes is in ``radio.emulator_s``).
        self._emulator_s = 0.0

    def _event(self, event: Event) -> None:
        if event.kind == "transfer-data":
            self.received.append(event.data)
        elif event.kind in ("refused", "aps-failed"):
            raise RuntimeError(f"the secured HAN failed: {event}")

    def now(self) -> float:
        return self.clock.now()

    @property
    def emulator_s(self) -> float:
        """Wall seconds so far in the emulator's calls: the HAN's events and RCP output, and
        its RCP's handling of the hub's writes. The rest of :meth:`run` is the rig's side."""
        return self._emulator_s + self.radio.emulator_s

    def run(self, until: float) -> None:
        """Both sides up to ``until`` (simulated), instant by instant: at each, the hub's timers
        and the HAN's events run and what the RCP sends up goes to the hub, again until nothing
        more comes at that instant. Both clocks then step to the next float, past every event of
        that instant (a timer set for it meanwhile too). The emulator's calls are timed apart
        (:attr:`emulator_s`)."""
        clock, han_clock, core, feed = self.clock, self.han.clock, self.core, self.radio.feed
        emulator = 0.0
        at = clock.now()
        while True:
            while True:
                clock.run(at)
                start = perf_counter()
                frames = core.pop_due(at)
                emulator += perf_counter() - start
                if not frames:
                    break
                feed(frames)
            after = math.nextafter(at, math.inf)
            clock.run(after)
            start = perf_counter()
            han_clock.run(after)
            due = earliest(clock.next_due(), core.next_due())
            emulator += perf_counter() - start
            if due is None or due > until:
                break
            at = due
        clock.run(until)
        self._emulator_s += emulator

    def establish(self) -> None:
        """Run until the ESME has joined, established its key and opened its tunnel."""
        limit = self.now() + _JOIN_LIMIT_S
        child = None
        while child is None or child.tunnel_id is None:
            if self.now() > limit:
                raise RuntimeError(
                    f"no secured tunnel within {_JOIN_LIMIT_S:g} s: {self.hub.events}"
                )
            self.run(self.now() + 0.1)
            child = self.hub.children.get(self.esme.raw)


@contextmanager
def _folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="rig-han-bench-") as name:
        yield Path(name)


def _cpu() -> float:
    return time.process_time()


@dataclass(frozen=True)
class FrameFigure:
    """Figure A: MAC frames through the emulated RCP and air, secured both ends."""

    messages: int
    gbcs_bytes: int
    #: MAC frames on the air (TransferData blocks and their APS acks), every one NWK-secured.
    frames: int
    #: Of which APS-secured TransferData blocks.
    aps_secured: int
    psdu_bytes: float
    cpu_s: float
    #: What the 250 kbit/s air carries of the same frames, each with its MAC ACK.
    air_frames_per_s: float
    #: The bare AES-CCM calls the same frames need, with one precomputed AESCCM per key.
    ccm_frames_per_cpu_s: float
    #: The unsecured path without a stack: ``rig benchmark spinel`` (the emulated RCPs and air
    #: alone) on frames of the same size.
    unsecured_frames_per_cpu_s: float

    @property
    def frames_per_cpu_s(self) -> float:
        return self.frames / self.cpu_s

    @property
    def ratio(self) -> float:
        """Frames per CPU-second against the air's frames per second (goal >= 10)."""
        return self.frames_per_cpu_s / self.air_frames_per_s

    def text(self) -> str:
        return (
            f"secured HAN frames: {self.frames} frames ({self.aps_secured} APS-secured "
            f"TransferData blocks of {self.messages} x {self.gbcs_bytes}-byte GBCS echoed, and "
            f"their APS acks; NWK level 5 on each; mean PSDU {self.psdu_bytes:.0f} bytes) through "
            f"both stacks, Spinel, the emulated RCPs and air: {self.frames_per_cpu_s:,.0f} "
            f"frames/CPU-s; the 250 kbit/s air carries {self.air_frames_per_s:,.0f} frames/s: "
            f"ratio {self.ratio:.1f}x per core (goal >= 10x). Against: the emulated RCPs and air "
            f"alone, unsecured, no stack (rig benchmark spinel) "
            f"{self.unsecured_frames_per_cpu_s:,.0f} frames/CPU-s "
            f"({self.unsecured_frames_per_cpu_s / self.frames_per_cpu_s:.1f}x ours); the bare "
            f"AES-CCM calls of these frames {self.ccm_frames_per_cpu_s:,.0f} frames/CPU-s "
            f"({self.ccm_frames_per_cpu_s / self.frames_per_cpu_s:.0f}x ours)"
        )


def _air_frames_per_s(psdus: list[int]) -> float:
    ack = mac.TURNAROUND_US + mac.air_time_us(mac.ACK_PSDU_BYTES)
    return len(psdus) / (sum(mac.air_time_us(n) + ack for n in psdus) * 1e-6)


#: Bytes around a NWK-secured payload in a frame of the secured HAN: FCS 2, MAC header 9, NWK
#: header with the extended source 16 (the associated data with the auxiliary header 14), MIC 4;
#: around an APS-secured one inside it: APS header with a fragment's extended header 11 and its
#: auxiliary header 13 (associated data), MIC 4 (docs/han.md "Frame size").
_NWK_AROUND, _NWK_AAD = 2 + 9 + 16 + 14 + 4, 16 + 14
_APS_AROUND, _APS_AAD = 11 + 13 + 4, 11 + 13


def _ccm_frames_per_cpu_s(psdus: list[int], aps_secured: int, repeat: int = 20) -> float:
    """Frames per CPU-second if the frames cost only their AES-CCM* calls (level 5 = CCM with a
    4-byte tag): a NWK seal and open per frame, an APS seal and open per APS-secured frame
    (the largest ``aps_secured``: the TransferData blocks and their acks, which go secured as
    the blocks do), on those payload sizes."""
    nwk, aps = AESCCM(NETWORK_KEY, 4), AESCCM(bytes(16), 4)
    nonce = bytes(13)
    calls = [(nwk, n - _NWK_AROUND, _NWK_AAD) for n in psdus]
    calls += [(aps, n - _NWK_AROUND - _APS_AROUND, _APS_AAD) for n in sorted(psdus)[-aps_secured:]]
    work = [(ccm, bytes(max(size, 0)), bytes(aad)) for ccm, size, aad in calls]
    start = _cpu()
    for _ in range(repeat):
        for ccm, payload, aad in work:
            ccm.decrypt(nonce, ccm.encrypt(nonce, payload, aad), aad)
    return repeat * len(psdus) / (_cpu() - start)


def _ecs45(n: int = 0, counter: int = 1 << 32) -> bytes:
    """A supplier's ECS45 (Read Supply Status) to ESME ``farm_euis(n)``, with its real MAC."""
    make_farm_keys(FARM_KEYS, n + 1)
    codec = RemotePartyCodec(KeyStore([FARM_KEYS, RTDS_KEYS]))
    return read_supply_status(codec, farm_euis(n).esme, counter, gas=False)


def measure_frames(seconds: float = 2.0, gbcs: bytes | None = None) -> FrameFigure:
    """Echo ``gbcs`` (default: an ECS45 command) through a key-established HAN for about
    ``seconds`` of CPU time (the join and Key Establishment before it are not counted)."""
    data = _ecs45() if gbcs is None else gbcs
    with _folder() as folder:
        han = SecuredHan(0, Pki.make(), folder, lambda _meter: Echo())
        han.establish()
        meter_radio = han.han.host.radios[0]
        hub_before, meter_before = len(han.radio.sent), len(meter_radio.sent)
        messages, cpu = 0, 0.0
        while cpu < seconds:
            start = _cpu()
            han.hub.send_transfer_data(han.esme.raw, data)
            while len(han.received) <= messages:
                han.run(han.now() + 0.05)
            cpu += _cpu() - start
            messages += 1
        if han.received != [data] * messages:
            raise RuntimeError("the echoed GBCS came back altered")
        psdus = han.radio.sent[hub_before:] + [len(f) + 2 for f in meter_radio.sent[meter_before:]]
    blocks = _blocks(data) * 2 * messages
    return FrameFigure(
        messages,
        len(data),
        len(psdus),
        blocks,
        sum(psdus) / len(psdus),
        cpu,
        _air_frames_per_s(psdus),
        _ccm_frames_per_cpu_s(psdus, 2 * blocks),  # each block and its ack
        spinel.measure(
            max(0.05, seconds / 4), round(sum(psdus) / len(psdus)) - 11
        ).emulation_frames_per_cpu_s,
    )


def _blocks(gbcs: bytes) -> int:
    """The APS blocks of one TransferData carrying ``gbcs`` (ZCL header 3, tunnel id 2)."""
    return len(fragments(bytes(5) + gbcs, MAX_ASDU, MAX_BLOCK))


@dataclass(frozen=True)
class HubFigure:
    """Figure B: secured HANs, each sent one GBCS request per second."""

    hans: int
    seconds: int
    sent: int
    answered: int
    cpu_s: float
    #: CPU of one join + Key Establishment (the set-up), the mean over the HANs.
    setup_cpu_s: float
    frames: int
    #: Of the measured wall time, the share outside the emulator's calls: the rig's side (its
    #: ZigBee stack, its host side of Spinel and HDLC-Lite, the stepping), as on a bench where
    #: the RCP is a dongle and the meters are physical or an emulator process of their own.
    rig_share: float

    @property
    def cpu_per_request(self) -> float:
        return self.cpu_s / max(self.answered, 1)

    @property
    def hubs_per_core(self) -> float:
        """The whole emulated HAN (the rig's side, the RCPs, air, ESME) on one core."""
        return 1.0 / self.cpu_per_request

    @property
    def rig_cpu_per_request(self) -> float:
        return self.cpu_per_request * self.rig_share

    @property
    def rig_hubs_per_core(self) -> float:
        """The rig as Comms Hub: its side of each HAN on one core (the goal's figure)."""
        return 1.0 / self.rig_cpu_per_request

    def text(self) -> str:
        return (
            f"secured HAN hubs: {self.hans} HANs (Comms Hub stack + ESME, NWK and APS security "
            f"on) offered 1 ECS45 request/s each for {self.seconds} s: "
            f"{self.answered}/{self.sent} answered, {self.frames / max(self.sent, 1):.0f} frames "
            f"each; the rig's side (its ZigBee stack as Comms Hub, Spinel and HDLC-Lite host "
            f"side) {self.rig_cpu_per_request * 1e3:.2f} ms CPU per request: one core serves "
            f"{self.rig_hubs_per_core:,.0f} hubs at 1 request/s each (goal >= 2,000); the whole "
            f"emulated HAN on the same core (with the emulated RCPs and air, ESME stack and "
            f"firmware) {self.cpu_per_request * 1e3:.2f} ms: {self.hubs_per_core:,.0f} hubs; "
            f"set-up (join + Key Establishment, not counted) {self.setup_cpu_s * 1e3:.0f} ms "
            f"CPU per HAN"
        )


def measure_hubs(hans: int = 4, seconds: int = 10) -> HubFigure:
    """``hans`` secured HANs, set up, then offered one ECS45 per second each for ``seconds``."""
    make_farm_keys(FARM_KEYS, hans)
    codec = RemotePartyCodec(KeyStore([FARM_KEYS, RTDS_KEYS]))
    pki = Pki.make()
    setup = cpu = wall = emulator = 0.0
    sent = answered = frames = 0
    with _folder() as folder:
        for n in range(hans):
            han = SecuredHan(n, pki, folder, None)
            start = _cpu()
            han.establish()
            setup += _cpu() - start
            warm_up = [
                read_supply_status(codec, han.esme, (s + 1) << 32, gas=False) for s in (0, 1)
            ]
            requests = [
                read_supply_status(codec, han.esme, (s + 1) << 32, gas=False)
                for s in range(2, seconds + 2)
            ]
            for frame in warm_up:
                han.hub.send_transfer_data(han.esme.raw, frame)
            han.run(han.now() + _DRAIN_S)
            before = len(han.received), len(han.radio.sent) + len(han.han.host.radios[0].sent)
            t0 = han.now()
            for k, frame in enumerate(requests):
                han.clock.call_at(t0 + k, han.hub.send_transfer_data, han.esme.raw, frame)
            start, started, emulated = _cpu(), perf_counter(), han.emulator_s
            han.run(t0 + seconds + _DRAIN_S)
            cpu += _cpu() - start
            wall += perf_counter() - started
            emulator += han.emulator_s - emulated
            sent += len(requests)
            answered += _answers(han.received[before[0] :], han.esme, requests)
            frames += len(han.radio.sent) + len(han.han.host.radios[0].sent) - before[1]
    rig_share = 1.0 - emulator / wall if wall > 0 else 1.0
    return HubFigure(hans, seconds, sent, answered, cpu, setup / hans, frames, rig_share)


def _answers(received: list[bytes], esme: object, requests: list[bytes]) -> int:
    """How many of ``requests`` the ESME answered (its response carries the request's counter)."""
    asked = {decode(r).signing.counter for r in requests}
    answered = set()
    for frame in received:
        signing = decode(frame).signing
        if signing.originator == esme and signing.counter in asked:
            answered.add(signing.counter)
    return len(answered)


def han_options(command: Callable[..., None]) -> Callable[..., None]:
    """The secured HAN's options of ``rig benchmark devices`` (passed on to :func:`report`)."""
    options = (
        click.option(
            "--han-frame-seconds",
            type=click.FloatRange(0.0, 60.0),
            default=2.0,
            show_default=True,
            help="CPU seconds of secured frames through the emulated RCP and air; 0 skips it.",
        ),
        click.option(
            "--han-hubs",
            type=click.IntRange(0, 64),
            default=4,
            show_default=True,
            help="Secured HANs (hub stack + ESME) offered 1 request/s each; 0 skips them.",
        ),
        click.option(
            "--han-seconds",
            type=click.IntRange(1, 600),
            default=10,
            show_default=True,
            help="Simulated seconds of requests per secured HAN.",
        ),
    )
    for option in reversed(options):
        command = option(command)
    return command


def report(han_frame_seconds: float, han_hubs: int, han_seconds: int) -> None:
    """Print Figure A and Figure B, one line each (what was skipped says so)."""
    if han_frame_seconds:
        click.echo(measure_frames(han_frame_seconds).text())
    else:
        click.echo("secured HAN frames: not measured (--han-frame-seconds 0)")
    if han_hubs:
        click.echo(measure_hubs(han_hubs, han_seconds).text())
    else:
        click.echo("secured HAN hubs: not measured (--han-hubs 0)")
