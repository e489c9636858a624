"""How many emulated Comms Hubs one core serves at one request per second each.

:func:`measure_farm` starts the hub farm (:mod:`devices.emulated.farm`) as its own process,
offers it ``hubs`` requests per second for ``seconds`` (real GBCS commands with real MACs, built
beforehand: ECS45 to each ESME and GCS33 to each GSME in turn), and reads the farm process's
CPU time from ``/proc`` before and after. A first round (two requests to every hub, not
counted) loads each device's keys, as a long load test would long since have done. CPU seconds
per request served give the figure: hubs per core = requests per CPU-second (each hub asking
once a second). CPU time, not wall time, so other processes sharing the machine disturb it
little.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from devices.emulated.farm import farm_euis, make_farm_keys
from devices.emulated.host import spawn_emulator
from devices.transports.hdlc import Frame, FrameDecoder, FrameKind, encode_frame
from rig.gbcs import gbz_usecases, usecases
from rig.gbcs.codec import RemotePartyCodec
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import decode
from rig.keys import RTDS_KEYS
from rig.keys.keystore import KeyStore

_SUPPLIER = Eui64.parse("90-B3-D5-1F-30-01-00-00")
#: Seconds to wait for the last answers: a GSME answers at its next wake (5 s by default).
_DRAIN = 15.0


@dataclass(frozen=True)
class FarmThroughput:
    """One farm measurement."""

    hubs: int
    seconds: float
    sent: int
    answered: int
    farm_cpu: float
    wall: float
    #: Round trip of the ESME requests (the GSME ones wait for wake windows), seconds.
    esme_p50: float
    esme_p99: float

    @property
    def cpu_per_request(self) -> float:
        """Farm CPU seconds per request answered."""
        return self.farm_cpu / max(self.answered, 1)

    @property
    def hubs_per_core(self) -> float:
        """Hubs one core serves at one request per second each (``inf`` when the run was too
        short for the kernel's CPU clock, which counts in ticks of 1/SC_CLK_TCK s)."""
        return 1.0 / self.cpu_per_request if self.farm_cpu > 0 else math.inf

    @property
    def core_share(self) -> float:
        """The share of one core the farm used during the run."""
        return self.farm_cpu / self.wall


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a running process (Linux ``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def build_requests(hubs: int, seconds: int, keys: KeyStore, first: int = 0) -> list[bytes]:
    """``hubs`` requests per second for ``seconds``: ESME and GSME reads in turn.
    Counters (and the ESME / GSME choice) continue from second ``first``."""
    codec = RemotePartyCodec(keys)
    frames = []
    for second in range(first, first + seconds):
        counter = (second + 1) << 32
        for n in range(hubs):
            euis = farm_euis(n)
            gas = bool((n + second) % 2)
            frames.append(
                read_supply_status(codec, euis.gsme if gas else euis.esme, counter, gas=gas)
            )
    return frames


def read_supply_status(codec: RemotePartyCodec, meter: Eui64, counter: int, *, gas: bool) -> bytes:
    """A supplier's Read Supply Status (GCS33 to a GSME, ECS45 to an ESME) with its real MAC."""
    if gas:
        payload = usecases.encode_payload(gbz_usecases.ReadSupplyStatusGsme(), counter)
        return codec.build_command(_SUPPLIER, meter, counter, 0x0082, payload)
    payload = usecases.encode_payload(usecases.ReadSupplyStatusEsme(), counter)
    return codec.build_command(_SUPPLIER, meter, counter, 0x0052, payload)


async def _run(port: str, pid: int, frames: list[bytes], rate: float) -> FarmThroughput:
    host, _, number = port.removeprefix("socket://").rpartition(":")
    reader, writer = await asyncio.open_connection(host, int(number))
    loop = asyncio.get_running_loop()
    sent_at: dict[tuple[Eui64, int], float] = {}
    esme_rtt: list[float] = []
    answered = 0
    done = loop.create_future()

    async def receive() -> None:
        nonlocal answered
        decoder = FrameDecoder()
        while data := await reader.read(65536):
            now = loop.time()
            for item in decoder.feed(data):
                if not isinstance(item, Frame) or item.kind is not FrameKind.GBCS:
                    continue
                s = decode(item.payload).signing
                start = sent_at.pop((s.originator, s.counter), None)
                if start is None:
                    continue  # an alert
                answered += 1
                if s.message_code == 0x0052:
                    esme_rtt.append(now - start)
                if answered == len(frames) and not done.done():
                    done.set_result(None)

    receiving = asyncio.create_task(receive())
    keys = [decode(f).signing for f in frames]
    cpu0, start = process_cpu_seconds(pid), loop.time()
    for i, (frame, s) in enumerate(zip(frames, keys, strict=True)):
        # Always yield, so answers are read as they come even when sending runs late.
        await asyncio.sleep(max(0.0, start + i / rate - loop.time()))
        sent_at[(s.recipient, s.counter)] = loop.time()
        writer.write(encode_frame(FrameKind.GBCS, frame))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done, _DRAIN)
    wall = loop.time() - start
    cpu = process_cpu_seconds(pid) - cpu0
    receiving.cancel()
    writer.close()
    rtt = sorted(esme_rtt) or [float("nan")]
    return FarmThroughput(
        hubs=0,
        seconds=0.0,
        sent=len(frames),
        answered=answered,
        farm_cpu=cpu,
        wall=wall,
        esme_p50=statistics.median(rtt),
        esme_p99=rtt[min(len(rtt) - 1, int(0.99 * len(rtt)))],
    )


#: Where the farm's test keys are kept between runs (generated once; test keys, not secrets).
FARM_KEYS = Path(tempfile.gettempdir()) / "gb-smart-rig-farm-keys"


def measure_farm(hubs: int, seconds: int, keys_dir: Path = FARM_KEYS) -> FarmThroughput:
    """Serve ``hubs`` premises in one farm process and offer one request per hub per second."""
    make_farm_keys(keys_dir, hubs)
    keys = KeyStore([keys_dir, RTDS_KEYS])
    warm_up = build_requests(hubs, 2, keys)
    frames = build_requests(hubs, seconds, keys, first=2)
    argv = [sys.executable, "-m", "devices.emulated.farm", "--hubs", str(hubs)]
    argv += ["--keys", str(keys_dir)]
    with spawn_emulator(argv, timeout=300.0) as farm:
        asyncio.run(_run(farm.port, farm.pid, warm_up, 4.0 * hubs))
        result = asyncio.run(_run(farm.port, farm.pid, frames, float(hubs)))
    return FarmThroughput(**{**vars(result), "hubs": hubs, "seconds": float(seconds)})
