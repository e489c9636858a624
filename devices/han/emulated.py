"""The emulated HAN, for CI: ``python -m devices.han.emulated DESCRIPTION.json``.

One process holds the emulated air, the rig's emulated RCP (served on a pty, as
``devices.spinel.emulated`` serves one: the rig opens it as it would a dongle) and, per meter,
an emulated RCP on the same air driven by the ZigBee stack's device role
(:class:`rig.zigbee.device.Device`) with the meter's firmware stub behind its tunnel: each
TransferData the meter receives goes to the firmware, and what the firmware answers goes back
as TransferData after its processing time. A meter keeps trying to join (every
``rejoin_interval``) until it has, opens its tunnel once Key Establishment is done, and joins
again after a leave.

The description (JSON, written by the rig's launcher; docs/han.md "On the bench")::

    {"channel": 15, "extended_pan_id": "<16 hex>", "air": {"loss": 0, "delay_s": 0, "seed": 0},
     "faults": [{"kind": "drop", "at_s": 5, "for_s": 1, "device": "<EUI-64>" | null,
                 "direction": "tx" | "rx" | null, "probability": 1, "delay_s": 0.1}, ...],
     "keys": ["<key folder>", ...], "ca": "pki/ca.json",
     "meters": [{"eui": "00-DB-...", "kind": "esme" | "gsme", "install_code": "<hex>",
                 "credentials": "pki/<EUI-64>.json", "processing_time": 0.002}, ...],
     "bench_io": {"meter": "00-DB-...", "report_to": "127.0.0.1:<port>"}}

Paths are relative to the description. The meters are secured devices (rig.zigbee.secured):
they join with their install code (the network key is only the rig's, sent them in Transport
Key), run Key Establishment with their credentials from the CA of ``ca`` (rig/zigbee/pki.py),
and keep their NWK frame counters in the process's memory (:class:`Han`). The air's ``faults``
(devices/spinel/air_faults.py) count ``at_s`` from the process's start; each fault is logged,
one JSON record a line in the serial fault log's format (``FaultRecord.to_json``, the meter
named by its EUI-64), to ``air-faults.jsonl`` beside the description, which the rig reads into
its results (rig/live/han.py).

With ``bench_io`` (optional), the meter it names is wired to the emulated bench I/O module: its
supply state goes to ``report_to`` (the contactor sense input) and the module's relay answers on
the same socket with ``{"power": false | true}``: off, the meter's radio goes dead and its node
keeps what a meter keeps across a power cycle (the network key, the NWK frame counters, its
firmware's state); on, it boots a new node that rejoins securely with that key
(:meth:`HanMeter.power`), or joins afresh with its install code if the rejoin fails
(rig/zigbee/device.py). The firmware's answers the hub has not acknowledged are kept across the
power cut and sent once the tunnel is open again [ASSUMED: as a meter keeps its pending
responses; docs/han.md "Rejoin and the tunnel across it"].

The stack's timers and the air's events run on a :class:`VirtualClock` kept at the host's
monotonic time (:class:`HanCore` runs it to ``now`` whenever anything is due).
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import click

from devices.emulated.host import Firmware, Output, StateReporter, TickingFirmware, serve
from devices.spinel.air_faults import AirFault, AirFaultKind, AirFaults
from devices.spinel.air_radio import AirHost
from devices.spinel.emulated import HWADDR_PREFIX, RcpCore, earliest
from devices.spinel.rcp import Air, AirConfig, EmulatedRcp
from devices.transports.faults import Direction, FaultRecord
from devices.transports.loopback import parse_loopback
from firmware_stubs.esme import Esme, EsmeSettings
from firmware_stubs.gsme import Gsme, GsmeSettings
from rig.clock import VirtualClock
from rig.gbcs.eui import Eui64
from rig.keys.keystore import KeyStore
from rig.util.kept_counters import CounterStore
from rig.zigbee import secured
from rig.zigbee.device import Device, Memory
from rig.zigbee.keyest import Credentials
from rig.zigbee.node import Event
from rig.zigbee.pki import PkiError, read_ca, read_credentials

_log = logging.getLogger(__name__)

#: The air's fault log, beside the description (the run folder's ``han/``).
FAULT_LOG = "air-faults.jsonl"

#: How long a meter that could not join waits before it tries again [ASSUMED: a bench figure].
REJOIN_INTERVAL_S = 1.0
#: How long a meter waits for its RequestTunnel's answer before it asks again [ASSUMED: past
#: the APS retries of a sleepy device, apsAckWaitDuration + macTransactionPersistenceTime].
TUNNEL_RETRY_S = 10.0
#: How many answers a meter keeps for the hub while its tunnel is not open; the oldest goes
#: first [ASSUMED: as the hub's held tunnel traffic, StackConfig.tunnel_queue].
OUTBOX = 256
#: How often the HAN looks for a relay command when nothing else is due [ASSUMED: a bench
#: figure well under a relay's operate time].
RELAY_POLL_S = 0.05
#: The stack events a meter's log records (the rest are routine).
_LOGGED = {
    "associated",
    "joined",
    "rejoined",
    "rejoin-failed",
    "key-established",
    "refused",
    "left",
    "tunnel-open",
    "aps-failed",
}


@dataclass(frozen=True)
class MeterSpec:
    """One meter of the description."""

    eui: Eui64
    kind: str
    install_code: bytes
    processing_time: float
    credentials: Credentials


@dataclass(frozen=True)
class HanSpec:
    """A parsed description."""

    channel: int
    extended_pan_id: bytes
    air: AirConfig
    keys: tuple[Path, ...]
    meters: tuple[MeterSpec, ...]
    faults: tuple[AirFault, ...] = ()
    fault_log: Path | None = None
    #: The meter wired to the bench I/O module and where its supply state goes, if any.
    bench_io: tuple[Eui64, tuple[str, int]] | None = None

    @classmethod
    def load(cls, path: Path) -> HanSpec:
        """Read a description; ValueError naming the file and what is wrong."""
        try:
            data = json.loads(path.read_text())
            ca = read_ca(path.parent / data["ca"])
            meters = tuple(
                MeterSpec(
                    eui,
                    m["kind"],
                    bytes.fromhex(m["install_code"]),
                    float(m.get("processing_time", 0.002)),
                    read_credentials(path.parent / m["credentials"], ca, eui.raw),
                )
                for m in data["meters"]
                for eui in [Eui64.parse(m["eui"])]
            )
            for meter in meters:
                if meter.kind not in ("esme", "gsme"):
                    raise ValueError(f"meter {meter.eui}: kind {meter.kind!r}, not esme or gsme")
            wired = data.get("bench_io")
            bench_io = None
            if wired is not None:
                bench_io = (Eui64.parse(wired["meter"]), parse_loopback(wired["report_to"]))
                if bench_io[0] not in [m.eui for m in meters]:
                    raise ValueError(f"bench_io: meter {bench_io[0]} is not one of the meters")
            return cls(
                channel=int(data["channel"]),
                extended_pan_id=bytes.fromhex(data["extended_pan_id"]),
                air=AirConfig(**data.get("air", {})),
                keys=tuple(path.parent / k for k in data["keys"]),
                meters=meters,
                faults=tuple(_fault(f) for f in data.get("faults", [])),
                fault_log=path.parent / FAULT_LOG,
                bench_io=bench_io,
            )
        except PkiError:
            raise
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: {type(exc).__name__}: {exc}") from None


def _fault(data: dict[str, object]) -> AirFault:
    """One fault of the description (as rig/live/han.py writes it)."""
    device, direction, for_s = data.get("device"), data.get("direction"), data.get("for_s")
    return AirFault(
        AirFaultKind(str(data["kind"])),
        at_s=float(data.get("at_s", 0.0)),  # type: ignore[arg-type]
        for_s=float("inf") if for_s is None else float(for_s),  # type: ignore[arg-type]
        device=None if device is None else Eui64.parse(str(device)).raw,
        direction=None if direction is None else Direction(str(direction)),
        probability=float(data.get("probability", 1.0)),  # type: ignore[arg-type]
        delay_s=float(data.get("delay_s", 0.1)),  # type: ignore[arg-type]
    )


class _Unpowered:
    """The radio of a meter whose mains are cut: what its old node still sends goes nowhere."""

    def transmit(self, mac_frame: bytes) -> None:
        pass

    def add_pending(self, address: int | bytes) -> None:
        pass

    def clear_pending(self, address: int | bytes) -> None:
        pass

    def set_pan(self, pan_id: int, short_address: int) -> None:
        pass


class HanMeter:
    """A meter on the air: the stack's device role and a firmware stub behind its tunnel.
    ``boot(memory)`` makes its node on its radio (with ``memory``: a rejoining node)."""

    def __init__(
        self, boot: Callable[[Memory | None], Device], firmware: Firmware, clock: VirtualClock
    ) -> None:
        self.boot, self.firmware, self.clock = boot, firmware, clock
        self.node = boot(None)
        self.name = self.node.eui64.hex().upper()
        self.node.on_event = self._event
        self.powered = True
        #: What the node kept at the last power cut (None: it had not joined).
        self._kept: Memory | None = None
        #: The firmware's answers not yet acknowledged by the hub, in order.
        self._outbox: dict[int, bytes] = {}
        self._numbers = itertools.count()

    def start(self, at: float) -> None:
        self.clock.call_at(at, self._join)

    def power(self, on: bool) -> None:
        """The bench relay switched the meter's mains (a no-op if already so). Off: the node
        stops (its radio dead, its NWK counters written, 05-3474 §4.3.1) and what a meter keeps
        is kept (:meth:`Device.memory`, the firmware's state). On: a new node boots and rejoins
        securely with the kept network key (§3.6.1.4.2), or joins afresh if it had not joined;
        Key Establishment and the tunnel follow as after any join."""
        if on == self.powered:
            return
        self.powered = on
        node = self.node
        if not on:
            self._kept = node.memory() if node.state == "joined" else None
            node.on_event = lambda _event: None
            node.state = "left"
            node.radio = _Unpowered()
            node.nwk_security.close()  # type: ignore[attr-defined]
            _log.info("meter %s: power off", self.name)
            return
        _log.info("meter %s: power on (%s)", self.name, "rejoin" if self._kept else "join")
        self.node = self.boot(self._kept)
        self.node.on_event = self._event
        if self._kept is not None:
            self.node.rejoin()
            self.clock.call_at(self.clock.now() + REJOIN_INTERVAL_S, self._retry)
        else:
            self._join()

    def _join(self) -> None:
        if not self.powered:
            return
        if self.node.state in ("idle", "refused", "left"):
            self.node.join()
        self.clock.call_at(self.clock.now() + REJOIN_INTERVAL_S, self._retry)

    def _retry(self) -> None:
        """Join again until joined (a failed rejoin falls back to a join on its own)."""
        if not self.powered:
            return
        if self.node.state in ("idle", "refused", "left"):
            self._join()
        elif self.node.state != "joined":
            self.clock.call_at(self.clock.now() + REJOIN_INTERVAL_S, self._retry)

    def _event(self, event: Event) -> None:
        if event.kind in _LOGGED:
            _log.info("meter %s: %s %s", self.name, event.kind, event.detail)
        if event.kind == "key-established":
            # The hub takes Tunneling only from a device that announced itself, under the link
            # key Key Establishment set up (SE 1.2a §5.4.7), which follows every (re)join.
            self.clock.call_at(self.clock.now(), self._open_tunnel)
        elif event.kind == "tunnel-open":
            for number in list(self._outbox):  # what the hub has not acknowledged, again
                self._transmit(number)
        elif event.kind == "left":
            self.clock.call_at(self.clock.now() + REJOIN_INTERVAL_S, self._join)
        elif event.kind == "transfer-data":
            self.output(self.firmware.handle(event.data, self.clock.now()))

    def _open_tunnel(self) -> None:
        """RequestTunnel, asked again until answered (a lost one, a hub not ready)."""
        if self.node.state == "joined" and self.node.tunnel_id is None:
            self.node.open_tunnel()
            self.clock.call_at(self.clock.now() + TUNNEL_RETRY_S, self._open_tunnel)

    def output(self, frames: Output) -> None:
        """Send what the firmware answered, each after its delay."""
        for delay, frame in frames:
            self.clock.call_at(self.clock.now() + delay, self._send, frame)

    def _send(self, frame: bytes) -> None:
        """An answer goes into the outbox, and through the tunnel if it is open."""
        if len(self._outbox) >= OUTBOX:
            oldest = next(iter(self._outbox))
            _log.warning("meter %s: outbox full, dropped an answer", self.name)
            del self._outbox[oldest]
        number = next(self._numbers)
        self._outbox[number] = frame
        self._transmit(number)

    def _transmit(self, number: int) -> None:
        if not self.powered or self.node.tunnel_id is None:
            return
        self.node.send_transfer_data(self._outbox[number], on_acked=partial(self._acked, number))

    def _acked(self, number: int) -> None:
        """The hub acknowledged the answer: the meter need keep it no longer."""
        self._outbox.pop(number, None)


class Han:
    """The air, the rig's RCP and the meters: the firmware the emulator host serves (it ticks
    the meters' firmware; frames on the rig's pty are the rig RCP's, see :class:`HanCore`)."""

    def __init__(
        self,
        spec: HanSpec,
        *,
        now: float | None = None,
        firmware: Callable[[MeterSpec], Firmware] | None = None,
    ) -> None:
        start = time.monotonic() if now is None else now
        self.clock = VirtualClock(start)
        #: The meters' kept NWK frame counters: the emulator's memory is their NVM, and a power
        #: cycle boots a new node in this process, so they need no file [ASSUMED: an emulated
        #: HAN lives and dies with its run; docs/han.md "Speed of the secured HAN"].
        self.counters: CounterStore = {}
        hub = HWADDR_PREFIX + b"\x01"
        self.faults = AirFaults(
            spec.faults, hub=hub, seed=spec.air.seed, start=start, on_record=self._fault_noted
        )
        self._fault_log = spec.fault_log
        self.air = Air(spec.air, self.faults)
        self.rig_rcp = EmulatedRcp(self.air, hub)
        self.host = AirHost(self.air, self.clock, spec.channel)
        make = firmware or _stub_maker(spec)
        self.meters: list[HanMeter] = []
        for index, meter in enumerate(spec.meters):
            self.meters.append(HanMeter(self._booter(spec, meter), make(meter), self.clock))
            # Staggered, so the first beacon requests do not all go at once [ASSUMED].
            self.meters[-1].start(start + 0.05 * index)
        #: The meter the bench I/O module is wired to, and its wires (the supply reported,
        #: the relay's commands taken).
        self.wired: tuple[HanMeter, StateReporter] | None = None
        if spec.bench_io is not None:
            eui, address = spec.bench_io
            wired = self.meters[[m.eui for m in spec.meters].index(eui)]
            self.wired = wired, StateReporter(_supply_of(eui, wired.firmware), address)

    def _booter(self, spec: HanSpec, meter: MeterSpec) -> Callable[[Memory | None], Device]:
        """A meter's node maker on its radio: the node a power-up boots."""
        radio = self.host.radio(meter.eui.raw)
        config = secured.DeviceConfig(
            eui64=meter.eui.raw,
            install_code=meter.install_code,
            credentials=meter.credentials,
            sleepy=meter.kind == "gsme",
            extended_pan_id=spec.extended_pan_id,
            counters=self.counters,
        )

        def boot(memory: Memory | None) -> Device:
            node = secured.device(config, self.clock, radio, memory)
            radio.node = node
            return node

        return boot

    def _fault_noted(self, record: FaultRecord) -> None:
        _log.info("air fault: %s %s", record.fault.value, record.detail)
        if self._fault_log is not None:
            with self._fault_log.open("a") as log:
                log.write(json.dumps(record.to_json()) + "\n")

    def handle(self, frame: bytes, now: float) -> Output:
        """Unused: the rig's pty carries Spinel for the rig's RCP (:class:`HanCore`)."""
        return []

    def tick(self, now: float) -> Output:
        for meter in self.meters:
            if meter.powered and isinstance(meter.firmware, TickingFirmware):
                meter.output(meter.firmware.tick(now))
        return []

    def next_due(self) -> float | None:
        due = self.clock.next_due()
        for radio in self.host.radios:
            due = earliest(due, radio.rcp.outbox_due())
        if self.wired is not None:
            due = earliest(due, self.clock.now() + RELAY_POLL_S)
        return due

    def run(self, now: float) -> None:
        """Everything on the air and in the meters up to ``now``."""
        self.clock.run(now)
        self.host.pump()
        self.clock.run(now)
        if self.wired is not None:
            meter, wires = self.wired
            for command in wires.commands():
                if isinstance(command.get("power"), bool):
                    meter.power(bool(command["power"]))
            wires.poll(now)


def _supply_of(eui: Eui64, firmware: Firmware) -> Callable[[], dict[str, object]]:
    """What the bench I/O module senses of a meter: its supply contactor's state."""

    def observe() -> dict[str, object]:
        state = getattr(firmware, "state", None)
        supply = getattr(state, "supply", None)
        return {"device": str(eui), "supply": supply.name.lower() if supply else "unknown"}

    return observe


def _stub_maker(spec: HanSpec) -> Callable[[MeterSpec], Firmware]:
    keys = KeyStore(spec.keys)
    offset = time.time() - time.monotonic()

    def make(meter: MeterSpec) -> Firmware:
        if meter.kind == "esme":
            settings = EsmeSettings(processing_time=meter.processing_time)
            return Esme.from_keys(meter.eui, keys, settings, wall_clock_offset=offset)
        gas = GsmeSettings(processing_time=meter.processing_time)
        return Gsme.from_keys(meter.eui, keys, gas, wall_clock_offset=offset)

    return make


class HanCore(RcpCore):
    """The emulator core of the rig's RCP (Spinel over HDLC-Lite on the pty) with the rest of
    the HAN run whenever something is due."""

    def __init__(self, firmware: Firmware) -> None:
        if not isinstance(firmware, Han):
            raise TypeError("HanCore serves a Han")
        super().__init__(firmware.rig_rcp)
        self.han = firmware
        self.firmware = firmware  # the host ticks the meters through it

    def next_due(self) -> float | None:
        return earliest(super().next_due(), self.han.next_due())

    def pop_due(self, now: float) -> list[bytes]:
        self.han.run(now)
        return super().pop_due(now)


@click.command()
@click.argument("description", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def main(description: Path) -> None:
    """Serve an emulated HAN: the rig's RCP on a new pty, the meters on the same air."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    try:
        spec = HanSpec.load(description)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="DESCRIPTION") from None
    serve(Han(spec), make_core=HanCore)


if __name__ == "__main__":
    main()
