"""``rig benchmark spinel``: frames per CPU-second through the emulated RCP and air (issue 15's
goal: at least 10 times what the 250 kbit/s air itself carries, so the emulation is never the
bottleneck).

One frame is the whole path the emulator process runs for it, in process on a virtual clock and
without the pty: the sender's :class:`~devices.spinel.emulated.RcpCore` decodes the host's
HDLC-Lite ``SET(STREAM_RAW)``, the air carries the frame and its ACK, the receiver's core frames
the ``STREAM_RAW`` it hears and the sender's core frames the TX-done ``LAST_STATUS``. The host's
side (encoding the request, decoding both answers with the driver's codec) is timed apart.
The air's own rate is one frame and its ACK back to back: 1 / (air time of the frame +
aTurnaroundTime + air time of the ACK).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass

import click

from devices.spinel import hdlc_lite, mac
from devices.spinel.codec import Command, SpinelFrame, prop_frame, split_prop
from devices.spinel.emulated import RcpCore, make_radios
from devices.spinel.properties import Prop, RxFrame, TxDone, TxRequest
from devices.spinel.rcp import AirConfig

PAN = 0x4742


@dataclass(frozen=True)
class SpinelFigure:
    frames: int
    psdu_bytes: int
    emulation_frames_per_cpu_s: float
    host_codec_frames_per_cpu_s: float
    air_frames_per_s: float

    @property
    def ratio(self) -> float:
        return self.emulation_frames_per_cpu_s / self.air_frames_per_s


def _configure(core: RcpCore, short: int) -> None:
    for tid, (prop, value) in enumerate(
        (
            (Prop.PHY_CHAN, 15),
            (Prop.MAC_15_4_PANID, PAN),
            (Prop.MAC_15_4_SADDR, short),
            (Prop.MAC_RAW_STREAM_ENABLED, True),
            (Prop.PHY_ENABLED, True),
        ),
        start=1,
    ):
        frame = prop_frame(Command.PROP_VALUE_SET, prop.id, prop.encode(value), tid)
        core.receive(hdlc_lite.encode(frame.encode()), 0.0)
    core.pop_due(0.0)


def measure(seconds: float = 2.0, payload: int = 60) -> SpinelFigure:
    """Run frames from one emulated RCP to another for about ``seconds`` of CPU time."""
    _, rcps = make_radios(2, AirConfig())
    sender, receiver = RcpCore(rcps[0]), RcpCore(rcps[1])
    _configure(sender, 0x0000)
    _configure(receiver, 0x0001)
    fc = 0x0001 | 0x20 | 0x40 | 2 << 10 | 2 << 14
    head = fc.to_bytes(2, "little") + b"\x00" + PAN.to_bytes(2, "little") + b"\x01\x00\x00\x00"
    mac_frame = head + bytes(payload)
    psdu_bytes = len(mac_frame) + 2
    exchange_s = (
        mac.air_time_us(psdu_bytes) + mac.TURNAROUND_US + mac.air_time_us(mac.ACK_PSDU_BYTES)
    ) * 1e-6
    host = hdlc_lite.HdlcLiteDecoder()
    clock = cpu_emulation = cpu_host = 0.0
    frames = 0
    cpu = time.process_time
    while cpu_emulation + cpu_host < seconds:
        for _ in range(100):
            t0 = cpu()
            request = TxRequest(mac_frame + b"\0\0", 15).encode()
            wire = hdlc_lite.encode(
                prop_frame(Command.PROP_VALUE_SET, Prop.STREAM_RAW.id, request, 1).encode()
            )
            t1 = cpu()
            sender.receive(wire, clock)
            clock += exchange_s
            # 1 µs of slack: the air adds up its own float times, which may round a hair later
            due = clock + 1e-6
            answers = receiver.pop_due(due) + sender.pop_due(due)
            t2 = cpu()
            for item in host.feed(b"".join(answers)):
                prop, value = split_prop(SpinelFrame.decode(item).payload)  # type: ignore[arg-type]
                (TxDone if prop == Prop.LAST_STATUS.id else RxFrame).decode(value)
            t3 = cpu()
            cpu_host += (t1 - t0) + (t3 - t2)
            cpu_emulation += t2 - t1
            frames += 1
    if len(answers) != 2:
        raise RuntimeError(f"the emulated air answered {len(answers)} frames, not 2")
    return SpinelFigure(
        frames, psdu_bytes, frames / cpu_emulation, frames / cpu_host, 1.0 / exchange_s
    )


@click.command("spinel")
@click.option(
    "--seconds",
    type=click.FloatRange(0.1, 60.0),
    default=2.0,
    show_default=True,
    help="CPU seconds to measure for.",
)
@click.option(
    "--payload",
    type=click.IntRange(0, 100),
    default=60,
    show_default=True,
    help="MAC payload bytes of each frame.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figure as JSON.")
def benchmark_spinel(seconds: float, payload: int, as_json: bool) -> None:
    """Frames per CPU-second through the emulated RCP and air, against the 250 kbit/s air."""
    figure = measure(seconds, payload)
    if as_json:
        click.echo(json.dumps({**asdict(figure), "ratio": figure.ratio}))
        return
    click.echo(
        f"{figure.frames} frames of {figure.psdu_bytes} bytes (PSDU), each ACKed: emulated RCP "
        f"and air {figure.emulation_frames_per_cpu_s:,.0f} frames/CPU-s; the 250 kbit/s air "
        f"carries {figure.air_frames_per_s:,.0f} frames/s: ratio {figure.ratio:.1f}x per core "
        f"(goal >= 10x). Host codec: {figure.host_codec_frames_per_cpu_s:,.0f} frames/CPU-s."
    )
