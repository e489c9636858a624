"""``rig benchmark emulator``: the CPU an emulated ESME spends per SRV 7.4 request, and what the
rig's payload codec spends on the same request, measured in process with no pty (issue 6).

The commands are what ``rig benchmark load`` sends: ECS45 (SRV 7.4) reads from the RTDS import
supplier to an ESME, MAC'd by the rig's :class:`~rig.gbcs.codec.RemotePartyCodec` and HDLC
framed, each with its own counter. They are built beforehand; the timed part is only the
emulator's: :meth:`EmulatorCore.receive` (HDLC decode, the firmware's checks, dispatch and
answer, the output framed) and :meth:`EmulatorCore.pop_due`, on a virtual clock advancing at
``rate`` requests/s. The rig-side rows time the DLMS payload codec alone: encoding an ECS45
command payload and decoding an ECS45 response payload.

Times are this process's CPU time (``time.process_time``) per request, best of ``repeats``, so
other processes disturb them little.

With ``--pty`` the same commands also go, paced at ``rate``, to a real emulator process
(``python -m devices.emulated.esme``) over its pty, and that process's CPU per request is read
from ``/proc/<pid>/schedstat`` (Linux): what ``rig benchmark load`` counts for the emulators, the
host loop, the system calls and the wake-ups included. It varies with the machine's load.
"""

from __future__ import annotations

import json
import os
import select
import sys
import tempfile
import time
import tty
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import click

from devices.emulated.host import EmulatorCore, spawn_emulator
from devices.transports.hdlc import FrameDecoder, FrameKind, encode_frame
from firmware_stubs.esme import Esme, EsmeSettings
from rig.gbcs import usecases
from rig.gbcs.codec import RemotePartyCodec
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import Cra
from rig.keys import RTDS_KEYS
from rig.keys.keystore import KeyStore
from rig.keys.pki import generate_pki

#: The User of ``rig benchmark load`` (rig/benchmarks/load.py) and its first ESME.
SUPPLIER = Eui64.parse("90-B3-D5-1F-30-01-00-00")
ESME = Eui64.parse("00-DB-12-34-56-78-00-00")
#: First originator counter of the measurement (any start works: each request takes the next).
FIRST_COUNTER = 1_000_000
#: A monotonic clock reading and a wall-clock offset: a fixed, ordinary moment (2026).
START = 1_000.0
WALL_CLOCK_OFFSET = 1_780_000_000.0


@dataclass(frozen=True)
class EmulatorCpu:
    """CPU microseconds per request, best of the repeats."""

    requests: int
    repeats: int
    emulator_us: float
    command_encode_us: float
    response_decode_us: float
    #: The emulator process's CPU per request over a pty (None: not measured, or no schedstat).
    pty_emulator_us: float | None = None


def _commands(codec: RemotePartyCodec, first: int, n: int) -> list[bytes]:
    """``n`` framed ECS45 commands with counters from ``first``, as the rig sends them."""
    code = usecases.ReadSupplyStatusEsme.MESSAGE_CODE
    request = usecases.ReadSupplyStatusEsme()
    return [
        encode_frame(
            FrameKind.GBCS, codec.build_command(SUPPLIER, ESME, c, code, request.encode(c))
        )
        for c in range(first, first + n)
    ]


def _best(repeats: int, n: int, run: Callable[[int], None]) -> float:
    """Best CPU microseconds per item of ``run(repeat)`` over ``repeats`` runs of ``n`` items."""
    best = float("inf")
    for repeat in range(repeats):
        start = time.process_time()
        run(repeat)
        best = min(best, time.process_time() - start)
    return best / n * 1e6


def measure(
    requests: int = 2_000, repeats: int = 5, rate: float = 2_000.0, *, pty: bool = False
) -> EmulatorCpu:
    """Time the emulator and the rig's payload codec on ``requests`` SRV 7.4 requests; with
    ``pty``, also an emulator process over its pty."""
    if requests < 1 or repeats < 1 or rate <= 0:
        raise ValueError("requests, repeats and rate must be positive")
    with tempfile.TemporaryDirectory(prefix="rig-bench-emulator-") as folder:
        # The meter's own keys, generated as ``rig benchmark load`` does (rig/live/launch.py).
        generate_pki(Path(folder), remote_parties=(), devices=[ESME])
        keys = KeyStore([Path(folder), RTDS_KEYS])
        result = _measure(keys, requests, repeats, rate)
        if not pty:
            return result
        pty_us = _measure_pty(keys, [Path(folder), RTDS_KEYS], requests, rate)
        return replace(result, pty_emulator_us=pty_us)


def _measure(keys: KeyStore, requests: int, repeats: int, rate: float) -> EmulatorCpu:
    codec = RemotePartyCodec(keys)
    esme = Esme.from_keys(
        ESME, keys, EsmeSettings(processing_time=0.0005), wall_clock_offset=WALL_CLOCK_OFFSET
    )
    core = EmulatorCore(esme)
    batches = [_commands(codec, FIRST_COUNTER + r * requests, requests) for r in range(repeats)]
    answers: list[bytes] = []
    clock = _clock(rate)

    def emulate(repeat: int) -> None:
        for frame in batches[repeat]:
            now = next(clock)
            core.receive(frame, now)
            answers.extend(core.pop_due(now + 0.001))

    emulator_us = _best(repeats, requests, emulate)
    if len(answers) != requests * repeats:
        raise RuntimeError(f"{len(answers)} answers to {requests * repeats} commands")
    responses = _response_payloads(codec, answers[:requests])
    counters = range(FIRST_COUNTER, FIRST_COUNTER + requests)
    request = usecases.ReadSupplyStatusEsme()
    code = request.MESSAGE_CODE

    def encode(_repeat: int) -> None:
        for counter in counters:
            usecases.encode_payload(request, counter)

    def decode(_repeat: int) -> None:
        for payload in responses:
            usecases.decode_payload(code, payload, Cra.RESPONSE)

    return EmulatorCpu(
        requests,
        repeats,
        emulator_us,
        _best(repeats, requests, encode),
        _best(repeats, requests, decode),
    )


#: Commands sent before the measured ones over a pty (start-up, first-call costs).
_PTY_WARMUP = 200


def _measure_pty(keys: KeyStore, key_dirs: list[Path], requests: int, rate: float) -> float | None:
    """CPU microseconds per request of an emulator process answering ``requests`` commands
    sent over its pty at ``rate``; None without ``/proc/<pid>/schedstat``."""
    frames = _commands(RemotePartyCodec(keys), FIRST_COUNTER, _PTY_WARMUP + requests)
    argv = [sys.executable, "-m", "devices.emulated.esme", "--eui", str(ESME)]
    argv += ["--processing-time", "0.0005"]
    for folder in key_dirs:
        argv += ["--keys", str(folder)]
    with spawn_emulator(argv) as emulator:
        schedstat = Path(f"/proc/{emulator.pid}/schedstat")
        if not schedstat.exists():
            return None
        fd = os.open(emulator.port, os.O_RDWR | os.O_NOCTTY)
        try:
            tty.setraw(fd)
            _exchange(fd, frames[:_PTY_WARMUP], rate)
            before = int(schedstat.read_text().split()[0])
            _exchange(fd, frames[_PTY_WARMUP:], rate)
            spent_ns = int(schedstat.read_text().split()[0]) - before
        finally:
            os.close(fd)
    return spent_ns / requests / 1e3


def _exchange(fd: int, frames: list[bytes], rate: float, timeout: float = 10.0) -> None:
    """Write ``frames`` to ``fd`` at ``rate`` and read until every one is answered."""
    decoder = FrameDecoder()
    answered = 0
    start = time.monotonic()
    for i, frame in enumerate(frames):
        while (wait := start + i / rate - time.monotonic()) > 0:
            if select.select([fd], [], [], wait)[0]:
                answered += len(decoder.feed(os.read(fd, 65536)))
        os.write(fd, frame)
    deadline = time.monotonic() + timeout
    while answered < len(frames):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{answered} answers to {len(frames)} commands over the pty")
        if select.select([fd], [], [], 0.05)[0]:
            answered += len(decoder.feed(os.read(fd, 65536)))


def _clock(rate: float) -> Iterator[float]:
    """Monotonic readings ``1 / rate`` apart."""
    n = 0
    while True:
        yield START + n / rate
        n += 1


def _response_payloads(codec: RemotePartyCodec, wires: list[bytes]) -> list[bytes]:
    """The GBCS payloads of the emulator's framed answers, checked to be ECS45 responses."""
    decoder = FrameDecoder()
    payloads = []
    for item in decoder.feed(b"".join(wires)):
        message = codec.open_response(item.payload)  # type: ignore[union-attr]
        body = usecases.decode_payload(
            message.signing.message_code, message.signing.payload, message.signing.cra
        )
        if not isinstance(body, usecases.ReadSupplyStatusEsmeResponse):
            raise RuntimeError(f"unexpected answer {body!r}")
        payloads.append(message.signing.payload)
    return payloads


@click.command("emulator")
@click.option("--requests", default=2_000, show_default=True, help="SRV 7.4 requests per run.")
@click.option("--repeats", default=5, show_default=True, help="Runs; the best is reported.")
@click.option(
    "--rate", default=2_000.0, show_default=True, help="Virtual request rate, requests/s."
)
@click.option(
    "--pty", "over_pty", is_flag=True, help="Also an emulator process over its pty (Linux)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def benchmark_emulator(
    requests: int, repeats: int, rate: float, over_pty: bool, as_json: bool
) -> None:
    """CPU per SRV 7.4 request in an emulated ESME and in the rig's payload codec, in process
    (no pty); with --pty also in an emulator process answering over its pty.

    \b
    Examples:
      rig benchmark emulator
      rig benchmark emulator --requests 500 --repeats 3 --pty --json
    """
    try:
        result = measure(requests, repeats, rate, pty=over_pty)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if as_json:
        click.echo(json.dumps(asdict(result)))
        return
    click.echo(
        f"SRV 7.4, {requests} requests, CPU per request (best of {repeats}):\n"
        f"  emulated ESME (receive + answer)   {result.emulator_us:8.1f} us\n"
        f"  rig: ECS45 command payload encode  {result.command_encode_us:8.2f} us\n"
        f"  rig: ECS45 response payload decode {result.response_decode_us:8.2f} us"
    )
    if over_pty:
        figure = result.pty_emulator_us
        shown = "n/a (no /proc/<pid>/schedstat)" if figure is None else f"{figure:8.1f} us"
        click.echo(f"  emulator process over its pty       {shown} (at {rate:g}/s)")
