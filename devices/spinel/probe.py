"""First contact with a radio: ``rig han probe PORT`` runs :func:`probe`, each step what the HAN
hub will ask of the RCP (devices/han/hub.py ``_open_radio``), then a raw transmission or two, so
a dongle just flashed is known to work before a bench file names it (docs/wiring.md "First
contact with a dongle").

The steps, over :class:`~devices.spinel.driver.SpinelRadio`: reset (the RCP's reset
notification), protocol version (Spinel 4, as the hub requires) and firmware version, the
capabilities (``MAC_RAW`` for the raw 802.15.4 stream), the radio's EUI-64, channel, PAN ID and
addresses set and read back, raw stream and radio on, then two ``STREAM_RAW`` transmissions with
their TX status: a broadcast beacon request (no ACK asked: ``OK`` once it is on the air) and a
data frame to a short address nobody has (ACK asked: ``NO_ACK`` after the radio's retries; a
``CCA_FAILURE`` says the channel is busy), and what is heard for a moment (RSSI, LQI).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from devices.spinel.codec import Cap, Status
from devices.spinel.driver import RadioError, SpinelRadio
from devices.spinel.mac import BROADCAST_PAN, BROADCAST_SHORT
from devices.spinel.properties import Prop

#: The short address the probe's unicast goes to [ASSUMED: no device of a bench takes it].
ABSENT_SHORT = 0x5A5A
#: The PAN ID the probe sets [ASSUMED: a test PAN, not the bench's].
PROBE_PAN = 0x5052


@dataclass(frozen=True)
class Step:
    """One step: what was asked, what the radio said, and whether that is what the rig needs."""

    what: str
    said: str
    ok: bool = True


def beacon_request(seq: int) -> bytes:
    """A MAC beacon request (IEEE 802.15.4-2006 §7.3.7): a command frame, no ACK asked, to the
    broadcast PAN and short address, no source."""
    return bytes([0x03, 0x08, seq]) + _le16(BROADCAST_PAN) + _le16(BROADCAST_SHORT) + b"\x07"


def data_frame(seq: int, pan: int, dst: int, src: int, payload: bytes) -> bytes:
    """A MAC data frame (§7.2.2.2) with an ACK asked, PAN ID compression, short addresses."""
    return bytes([0x61, 0x88, seq]) + _le16(pan) + _le16(dst) + _le16(src) + payload


def _le16(value: int) -> bytes:
    return value.to_bytes(2, "little")


def probe(radio: SpinelRadio, *, channel: int, listen_s: float = 0.5) -> Iterator[Step]:
    """The steps, in order; one with ``ok`` False, or a :class:`RadioError`, ends the probe."""
    reset = radio.reset()
    yield Step("reset", Status.name_of(reset))
    major, minor = radio.protocol_version()
    yield Step("protocol", f"Spinel {major}.{minor}", major == 4)
    yield Step("firmware", radio.ncp_version())
    caps = radio.caps()
    names = ", ".join(_cap_name(cap) for cap in caps)
    raw = Cap.MAC_RAW in caps or Cap.CONFIG_RADIO in caps
    yield Step("capabilities", names if raw else f"{names} (no MAC_RAW: not an RCP build?)", raw)
    (hwaddr,) = radio.get(Prop.HWADDR)
    eui = bytes(hwaddr)  # type: ignore[call-overload]
    yield Step("EUI-64", "-".join(f"{b:02X}" for b in eui))
    radio.configure(channel=channel, pan_id=PROBE_PAN, short_address=0x0000, extended_address=eui)
    back = (radio.get(Prop.PHY_CHAN)[0], radio.get(Prop.MAC_15_4_PANID)[0])
    yield Step(
        "channel, PAN ID",
        f"channel {back[0]}, PAN 0x{back[1]:04X} (set {channel}, 0x{PROBE_PAN:04X})",
        back == (channel, PROBE_PAN),
    )
    radio.enable()
    yield Step("raw stream", "on, radio on")
    done = radio.transmit(beacon_request(1))
    yield Step("transmit beacon request", _tx(done.status, Status.OK), done.status == Status.OK)
    unicast = data_frame(2, PROBE_PAN, ABSENT_SHORT, 0x0000, b"rig probe")
    done = radio.transmit(unicast)
    yield Step(
        f"transmit data to 0x{ABSENT_SHORT:04X}",
        _tx(done.status, Status.NO_ACK),
        done.status in (Status.NO_ACK, Status.OK),
    )
    yield Step(f"listen {listen_s:g} s", _heard(radio, listen_s))


def _tx(status: int, expected: Status) -> str:
    said = Status.name_of(status)
    if status == Status.CCA_FAILURE:
        return f"{said}: the channel is busy (another network, Wi-Fi?): try another channel"
    if status == expected:
        return f"TX status {said}, as expected"
    return f"TX status {said} (expected {expected.name})"


def _heard(radio: SpinelRadio, listen_s: float) -> str:
    frames = []
    deadline = time.monotonic() + listen_s
    while (left := deadline - time.monotonic()) > 0:
        frame = radio.receive(left)
        if frame is not None:
            frames.append(frame)
    if not frames:
        return "no frame heard (a quiet channel)"
    last = frames[-1]
    return f"{len(frames)} frame(s) heard, the last at RSSI {last.rssi} dBm, LQI {last.lqi}"


def _cap_name(cap: int) -> str:
    try:
        return Cap(cap).name
    except ValueError:
        return str(cap)


def run_probe(
    port: str, *, baudrate: int, channel: int, timeout: float, listen_s: float
) -> tuple[list[Step], str | None]:
    """Open ``port`` and probe it: the steps done and, if one failed, why (one line)."""
    steps: list[Step] = []
    try:
        radio = SpinelRadio(port, baudrate=baudrate, timeout=timeout)
    except RadioError as exc:
        return steps, str(exc)
    with radio:
        try:
            for step in probe(radio, channel=channel, listen_s=listen_s):
                steps.append(step)
                if not step.ok:
                    return steps, f"{step.what}: {step.said}"
        except RadioError as exc:
            return steps, str(exc)
    return steps, None
