"""Several meters behind one link, each its own device to the rig (devices/hub_link.py): the
routing on its own; the live rig over a pty served by a stand-in (tests/e2e/esme_hub.py, two
ESME stubs) described as a physical comms_hub; and an emulated premises (devices/emulated/
hub.py) from a bench file."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import pytest

from devices.emulated.host import spawn_emulator
from devices.hub_link import HubLink, HubMember, originator
from rig.config.bench import BenchError, load_bench
from rig.duis.request import DisableSupply, EnableSupply
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import Cra, GeneralSigning, encode_signed
from rig.gbcs.usecases import SupplyState
from rig.keys.pki import generate_pki
from rig.live.launch import launch

HUB = Eui64.parse("00-DB-12-34-56-78-90-00")
METER_1 = Eui64.parse("00-DB-12-34-56-78-91-01")
METER_2 = Eui64.parse("00-DB-12-34-56-78-91-02")
STAND_IN = Path(__file__).with_name("esme_hub.py")


class FakeLink:
    """The hub's link: records what is sent and who opened it."""

    name = "hub-link"
    eui = HUB

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.receiver: object = None
        self.opened = self.closed = 0

    async def open(self, loop: asyncio.AbstractEventLoop, receiver: object) -> None:
        self.receiver = receiver
        self.opened += 1

    def send(self, frame: bytes) -> float:
        self.sent.append(frame)
        return 1.0

    async def close(self) -> None:
        self.closed += 1


class Heard:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, object]] = []

    def frame_received(self, device: HubMember, frame: bytes, at: float) -> None:
        self.events.append(("frame", device.name, frame))

    def send_failed(self, device: HubMember, frame: bytes, reason: str) -> None:
        self.events.append(("failed", device.name, reason))

    def link_lost(self, device: HubMember, reason: str) -> None:
        self.events.append(("lost", device.name, reason))

    def link_restored(self, device: HubMember) -> None:
        self.events.append(("restored", device.name, None))


def test_routing_by_originator_and_one_link_for_all() -> None:
    fake = FakeLink()
    hub = HubLink(fake, [("hub", HUB), ("m1", METER_1), ("m2", METER_2)], own="hub")
    heard = Heard()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for member in hub.members.values():
            await member.open(loop, heard)
        assert fake.opened == 1 and fake.receiver is hub
        assert hub.members["m2"].send(b"to m2") == 1.0 and fake.sent == [b"to m2"]
        frame = response_from(METER_2)
        hub.frame_received(fake, frame, 2.0)
        hub.frame_received(fake, b"not gbcs", 3.0)
        hub.send_failed(fake, command_to(METER_1), "not delivered")
        hub.send_failed(fake, b"not gbcs", "not delivered either")
        hub.link_lost(fake, "gone")
        hub.link_restored(fake)
        for member in hub.members.values():
            await member.close()
            await member.close()
        assert fake.closed == 1

    asyncio.run(main())
    assert heard.events[:4] == [
        ("frame", "m2", response_from(METER_2)),
        ("frame", "hub", b"not gbcs"),
        ("failed", "m1", "not delivered"),  # to the member the frame was for
        ("failed", "hub", "not delivered either"),
    ]
    assert {e[1] for e in heard.events if e[0] == "lost"} == {"hub", "m1", "m2"}
    assert {e[1] for e in heard.events if e[0] == "restored"} == {"hub", "m1", "m2"}
    with pytest.raises(ValueError, match="share an EUI"):
        HubLink(fake, [("a", HUB), ("b", HUB)], own="a")
    with pytest.raises(ValueError, match="own member 'x'"):
        HubLink(fake, [("a", HUB)], own="x")


class HeardBeforeSendFailed:
    """A receiver written before ``send_failed`` existed: it still wants ``link_restored``."""

    def __init__(self) -> None:
        self.restored: list[str] = []

    def frame_received(self, device: HubMember, frame: bytes, at: float) -> None: ...

    def link_lost(self, device: HubMember, reason: str) -> None: ...

    def link_restored(self, device: HubMember) -> None:
        self.restored.append(device.name)


def test_a_receiver_without_send_failed_still_hears_link_restored() -> None:
    """The check for ``link_restored`` (devices/serial_device.py ``RestoringReceiver``) asks
    for that method only, not for every method of ``Receiver``."""
    fake = FakeLink()
    hub = HubLink(fake, [("hub", HUB), ("m1", METER_1)], own="hub")
    heard = HeardBeforeSendFailed()

    async def main() -> None:
        for member in hub.members.values():
            await member.open(asyncio.get_running_loop(), heard)  # type: ignore[arg-type]
        hub.link_restored(fake)

    asyncio.run(main())
    assert sorted(heard.restored) == ["hub", "m1"]


def command_to(eui: Eui64) -> bytes:
    """A well-formed GBCS command whose header names ``eui`` as the recipient."""
    signing = GeneralSigning(
        cra=Cra.COMMAND,
        originator=Eui64.parse("90-B3-D5-1F-30-01-00-00"),
        recipient=eui,
        counter=2,
        message_code=0x0052,
        payload=b"\x01",
    )
    return encode_signed(signing)


def response_from(eui: Eui64) -> bytes:
    """A well-formed GBCS frame whose header names ``eui`` as the originator."""
    signing = GeneralSigning(
        cra=Cra.RESPONSE,
        originator=eui,
        recipient=Eui64.parse("90-B3-D5-1F-30-01-00-00"),
        counter=1,
        message_code=0x0052,
        payload=b"\x01",
    )
    frame = encode_signed(signing)
    assert originator(frame) == eui
    return frame


BENCH = """
[bench]
name = "hub"
[keys]
dirs = ["keys", "@rtds"]
[user]
eui = "90-B3-D5-1F-30-01-00-00"
[[device]]
name = "hub"
kind = "comms_hub"
eui = "{hub}"
port = "{port}"
[[device]]
name = "meter1"
kind = "esme"
eui = "{meter1}"
hub = "hub"
[[device]]
name = "meter2"
kind = "esme"
eui = "{meter2}"
hub = "hub"
"""


def test_two_meters_behind_one_link_in_the_live_rig(tmp_path: Path) -> None:
    generate_pki(tmp_path / "keys", remote_parties=(), devices=[METER_1, METER_2])
    argv = [sys.executable, str(STAND_IN), "--keys", str(tmp_path / "keys")]
    argv += ["--keys", str(Path(__file__).parents[2] / "rig" / "keys" / "rtds")]
    with spawn_emulator([*argv, str(METER_1), str(METER_2)]) as stand_in:
        path = tmp_path / "bench.toml"
        path.write_text(BENCH.format(hub=HUB, port=stand_in.port, meter1=METER_1, meter2=METER_2))
        bench = load_bench(path)
        assert bench.device("meter1").hub == "hub" and not bench.device("meter1").emulated
        with launch(bench, tmp_path / "run") as rig:
            assert isinstance(rig.devices["meter1"], HubMember)
            assert rig.devices["meter1"].hub is rig.devices["meter2"].hub  # type: ignore[attr-defined]
            assert rig.top_up("meter1", pounds=2, timeout=10).ok
            assert rig.request("meter2", DisableSupply(), timeout=10).ok
            one = rig.read_supply_status("meter1", timeout=10)
            two = rig.read_supply_status("meter2", timeout=10)
            assert one.ok and two.ok, (one.reason, two.reason)
            assert one.response is not None and two.response is not None
            assert one.response["control_state"] == SupplyState.CONNECTED
            assert two.response["control_state"] == SupplyState.DISCONNECTED
            assert rig.request("meter2", EnableSupply(), timeout=10).ok


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('hub = "meter1"', r"device\[2\]\.hub: expected a comms_hub listed before it \(hub\)"),
        ('hub = "hub"\nport = "/dev/x"', r"device\[2\]\.port: expected not set on a device"),
        ('hub = "hub"\nemulated = true', r"device\[2\]\.emulated: expected as its hub's"),
    ],
)
def test_joined_devices_are_checked(tmp_path: Path, extra: str, message: str) -> None:
    text = BENCH.format(hub=HUB, port="/dev/ttyUSB0", meter1=METER_1, meter2=METER_2)
    text = text.rsplit('hub = "hub"', 1)[0] + extra + "\n"
    (tmp_path / "keys").mkdir()
    path = tmp_path / "bench.toml"
    path.write_text(text)
    with pytest.raises(BenchError, match=message):
        load_bench(path)


EMULATED = """
[bench]
name = "premises"
[keys]
dirs = ["@rtds"]
[user]
eui = "90-B3-D5-1F-30-01-00-00"
[[device]]
name = "hub"
kind = "comms_hub"
eui = "{hub}"
emulated = true
processing_time_s = 0.001
[[device]]
name = "esme"
kind = "esme"
eui = "{meter1}"
hub = "hub"
processing_time_s = 0.001
[[device]]
name = "gsme"
kind = "gsme"
eui = "00-DB-12-34-56-78-92-01"
hub = "hub"
[bench_io]
meter = "esme"
emulated = true
"""


def test_an_emulated_premises_behind_one_link(tmp_path: Path) -> None:
    """devices/emulated/hub.py serves the hub and its meters; each is a device of the rig, the
    ESME's contactor reaches the bench I/O module, and its relay power-cycles the premises."""
    path = tmp_path / "bench.toml"
    path.write_text(EMULATED.format(hub=HUB, meter1=METER_1))
    with launch(load_bench(path), tmp_path / "run") as rig:
        members = [rig.devices[name] for name in ("hub", "esme", "gsme")]
        assert all(isinstance(m, HubMember) for m in members)
        assert len({m.hub for m in members}) == 1  # type: ignore[attr-defined]
        assert rig.top_up("esme", pounds=2, timeout=10).ok
        assert rig.bench_io is not None and rig.bench_io.contactor_closed()
        disable = rig.request("esme", DisableSupply(), timeout=10)
        assert disable.ok, disable.reason
        rig.bench_io.wait_for_contactor(False, 5.0, since=disable.stamps["on_wire"])
        hub_link = rig.devices["esme"].hub.link  # type: ignore[attr-defined]
        first = hub_link.process.pid
        rig.bench_io.power_cycle("esme", off_seconds=0.1)
        deadline = time.monotonic() + 20
        while not rig.read_supply_status("esme", timeout=10).ok:
            assert time.monotonic() < deadline, "the premises did not come back"
            time.sleep(0.05)
        assert hub_link.process.pid != first
    description = json.loads((tmp_path / "run" / "premises" / "hub.json").read_text())
    assert description["chf"] == str(HUB) and description["esme"]["eui"] == str(METER_1)
    assert set(description) >= {"keys", "hub", "esme", "gsme"}
