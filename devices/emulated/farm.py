"""A hub farm: many emulated premises in one process, behind one loopback TCP listener.

For load tests: ``python -m devices.emulated.farm --hubs 1000 --keys DIR [--make-keys]``
serves ``--hubs`` premises (a Comms Hub with an ESME and a GSME each, EUIs from
:func:`farm_euis`) on ``127.0.0.1:--port``. It prints the emulator host's JSON ready line with
``"port": "socket://127.0.0.1:N"``. Frames use the serial framing (docs/serial-framing.md) over
TCP; each is routed to its premises by the GBCS recipient EUI, then inside it by the hub
(:mod:`firmware_stubs.comms_hub`). Answers go back on the connection the command came in on;
unsolicited alerts go to the newest connection (dropped, and counted, when there is none).

One asyncio loop, one listener: the limit is CPU, measured by ``rig benchmark devices``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import click
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from devices.emulated.host import EmulatorCore, announce_ready, stdin_is_parent_pipe
from devices.transports.loopback import check_loopback, parse_loopback
from firmware_stubs.device import Output
from firmware_stubs.premises import Premises, PremisesSpec
from rig.gbcs.errors import DecodeError
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import decode
from rig.keys import RTDS_KEYS
from rig.keys.keystore import KeyStore, Role, key_file_name

_log = logging.getLogger(__name__)

#: Farm EUIs: 00-DB-FA-<hub number, 3 bytes>-00-<role>; roles as the RTDS devices (A0 ESME...).
_ESME, _GSME, _CHF = 0xA0, 0xA1, 0xA2
MAX_HUBS = 1 << 24


@dataclass(frozen=True)
class FarmEuis:
    """The EUIs of farm premises number ``n``."""

    chf: Eui64
    esme: Eui64
    gsme: Eui64


def farm_euis(n: int) -> FarmEuis:
    """EUIs of hub ``n`` (0-based)."""
    if not 0 <= n < MAX_HUBS:
        raise ValueError(f"hub number {n} outside 0..{MAX_HUBS - 1}")
    prefix = bytes([0x00, 0xDB, 0xFA]) + n.to_bytes(3, "big") + b"\x00"
    return FarmEuis(*(Eui64(prefix + bytes([role])) for role in (_CHF, _ESME, _GSME)))


def make_farm_keys(folder: Path, hubs: int) -> None:
    """KA and DS private keys for every farm device in ``folder`` (the remote parties come from
    RTDS); keys already there are kept, so a folder serves run after run. Private key files
    only: the key store derives public keys from them, and a farm needs no certificates."""
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(hubs):
        for eui in vars(farm_euis(n)).values():
            for role in Role:
                path = folder / key_file_name(eui, role, private=True)
                if path.exists():
                    continue
                key = ec.generate_private_key(ec.SECP256R1())
                pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
                path.write_bytes(pem)
                path.chmod(0o600)


def farm_spec(n: int, keys: Sequence[Path], seed: int = 0) -> PremisesSpec:
    """The description of farm premises ``n``: hub, ESME and GSME, seeds from ``seed``."""
    e = farm_euis(n)
    return PremisesSpec.parse(
        {
            "chf": str(e.chf),
            "keys": [str(k) for k in keys],
            "seed": seed + 10 * n,
            "esme": {"eui": str(e.esme)},
            "gsme": {"eui": str(e.gsme)},
        },
        f"farm premises {n}",
    )


class HubFarm:
    """Premises addressed by the recipient EUI of each frame: a pure firmware."""

    def __init__(self, premises: Sequence[Premises]) -> None:
        self.premises = tuple(premises)
        self._by_eui = {eui: p for p in self.premises for eui in p.euis}
        self.unrouted = 0

    def handle(self, frame: bytes, now: float) -> Output:
        """Hand ``frame`` to the premises holding its recipient."""
        try:
            recipient = decode(frame).signing.recipient
        except DecodeError:
            recipient = None
        target = self._by_eui.get(recipient) if recipient else None
        if target is None:
            self.unrouted += 1
            return []
        return target.handle(frame, now)

    def summary(self) -> str:
        """Totals over every hub: what was routed, and what was discarded and why."""
        stats = [p.hub.stats for p in self.premises]
        return (
            f"{len(self.premises)} hubs: routed {sum(s.routed for s in stats)}, discarded"
            f" {sum(s.discarded for s in stats)} (over the in-flight limit"
            f" {sum(s.over_limit for s in stats)}), unrouted {self.unrouted}, held for a wake"
            f" {sum(s.held_for_wake for s in stats)}"
        )

    def tick(self, now: float) -> Output:
        """Every premises' unsolicited output."""
        out: Output = []
        for premises in self.premises:
            out += premises.tick(now)
        return out


class _Connection(asyncio.Protocol):
    """One client: its own framing decoder and output schedule around the shared farm."""

    def __init__(self, server: _FarmServer) -> None:
        self.server = server
        self.core = EmulatorCore(server.farm)
        self.transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.server.connections.append(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.remove(self)
        if self._timer is not None:
            self._timer.cancel()

    def data_received(self, data: bytes) -> None:
        now = self.server.loop.time()
        for error in self.core.receive(data, now):
            _log.warning("rejected %s", error)
        self.send_due()

    def send_due(self) -> None:
        loop = self.server.loop
        due = self.core.pop_due(loop.time())
        if due and self.transport is not None:
            self.transport.write(b"".join(due))
        if self._timer is not None:
            self._timer.cancel()
        at = self.core.next_due()
        coalesce = self.server.coalesce
        self._timer = None if at is None else loop.call_at(at + coalesce, self.send_due)


class _FarmServer:
    def __init__(self, farm: HubFarm, tick_interval: float, coalesce: float) -> None:
        self.farm = farm
        self.tick_interval = tick_interval
        self.coalesce = coalesce
        self.loop = asyncio.get_running_loop()
        self.connections: list[_Connection] = []
        self.dropped_alerts = 0

    def tick(self) -> None:
        now = self.loop.time()
        if self.connections:
            newest = self.connections[-1]
            newest.core.tick(now)
            newest.send_due()
        else:
            self.dropped_alerts += len(self.farm.tick(now))
        self.loop.call_later(self.tick_interval, self.tick)


async def serve_farm(
    farm: HubFarm, host: str, port: int, tick_interval: float, coalesce: float
) -> None:
    """Serve ``farm`` on ``host:port`` until SIGTERM/SIGINT or the parent's stdin closes.

    Outputs due within ``coalesce`` seconds of each other leave in one write: each write is a
    system call costing more than routing a frame, so a busy farm batches them.
    """
    check_loopback(host)
    server_state = _FarmServer(farm, tick_interval, coalesce)
    loop = server_state.loop
    server = await loop.create_server(lambda: _Connection(server_state), host, port)
    bound = server.sockets[0].getsockname()
    stop = loop.create_future()

    def stopping() -> None:
        if not stop.done():
            stop.set_result(None)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping)
    if stdin_is_parent_pipe():
        fd = sys.stdin.fileno()

        def on_stdin() -> None:
            if not os.read(fd, 4096) and not stop.done():
                stop.set_result(None)

        loop.add_reader(fd, on_stdin)
    loop.call_later(tick_interval, server_state.tick)
    announce_ready(f"socket://{bound[0]}:{bound[1]}")
    async with server:
        await stop
    _log.warning(
        "%s; unsolicited frames dropped (no client) %d", farm.summary(), server_state.dropped_alerts
    )


@click.command()
@click.option("--hubs", type=click.IntRange(1, MAX_HUBS), default=1000, show_default=True)
@click.option(
    "--keys",
    "keys_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the farm devices' keys (see --make-keys).",
)
@click.option("--make-keys", is_flag=True, help="Generate the farm's device keys in --keys first.")
@click.option("--listen", default="127.0.0.1:0", show_default=True, help="Loopback HOST:PORT.")
@click.option("--tick-interval", type=float, default=1.0, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--coalesce",
    type=click.FloatRange(0.0, 1.0),
    default=0.005,
    show_default=True,
    help="Seconds an answer may wait to share a write with others ([ASSUMED] bench default).",
)
def main(
    hubs: int,
    keys_dir: Path,
    make_keys: bool,
    listen: str,
    tick_interval: float,
    seed: int,
    coalesce: float,
) -> None:
    """Serve HUBS emulated premises (Comms Hub + ESME + GSME each) on one loopback TCP port.

    \b
    Example:
      python -m devices.emulated.farm --hubs 1000 --keys /tmp/farm-keys --make-keys
    """
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    try:
        host, port_number = parse_loopback(listen)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--listen") from None
    if make_keys:
        make_farm_keys(keys_dir, hubs)
    offset = time.time() - time.monotonic()
    dirs = (keys_dir, RTDS_KEYS)
    keys = KeyStore(dirs)
    farm = HubFarm(
        [
            Premises(farm_spec(n, dirs, seed), wall_clock_offset=offset, keys=keys)
            for n in range(hubs)
        ]
    )
    asyncio.run(serve_farm(farm, host, port_number, tick_interval, coalesce))


if __name__ == "__main__":
    main()
