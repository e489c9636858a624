"""Several devices behind one link (a Comms Hub and the meters joined to it), each its own
:class:`~devices.api.Device` to the rig.

The hub's link is one device (a :class:`~devices.serial_device.SerialDevice`, emulated or
physical); :class:`HubLink` is its receiver and hands out a :class:`HubMember` per device behind
it. Southbound, a member writes on the shared link (the hub routes by the frame's recipient).
Northbound, each frame goes to the member whose EUI the frame names as its originator (GBCS
General Signing header, reference/gbcs.md §3); a frame from no member, or one whose header does
not parse, goes to the hub's own member if it has one (the CHF answers for the hub), where the
rig's codec reports it like any bad frame. A link lost or restored reaches every member. The
rig and its orchestrator see only ordinary devices.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from devices.api import Device, LinkDown, Receiver
from devices.serial_device import RestoringReceiver
from rig.gbcs.errors import GbcsError
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import GeneralSigning, decode


def originator(frame: bytes) -> Eui64 | None:
    """The EUI a GBCS frame names as its originator (None if its header does not parse)."""
    signing = _signing(frame)
    return None if signing is None else signing.originator


def _signing(frame: bytes) -> GeneralSigning | None:
    try:
        return decode(frame).signing
    except (GbcsError, ValueError):
        return None


class HubMember:
    """One device behind a hub: its name and EUI; frames go out on the hub's link."""

    def __init__(self, hub: HubLink, name: str, eui: Eui64) -> None:
        self.name = name
        self.eui = eui
        self.hub = hub
        self.receiver: Receiver | None = None

    async def open(self, loop: asyncio.AbstractEventLoop, receiver: Receiver) -> None:
        """Join: the first member to open opens the hub's link."""
        self.receiver = receiver
        await self.hub.joined(self)

    def send(self, frame: bytes) -> float:
        if self.receiver is None:
            raise LinkDown(f"{self.name}: not open")
        return self.hub.link.send(frame)

    async def close(self) -> None:
        """Leave: the last member to close closes the hub's link. Safe to call twice."""
        if self.receiver is not None:
            self.receiver = None
            await self.hub.left(self)


class HubLink:
    """The receiver of one hub link, routing what it hears to the members by EUI.

    ``own`` names the member that is the hub itself (its CHF), which also gets the frames no
    member claims.
    """

    def __init__(self, link: Device, members: Iterable[tuple[str, Eui64]], *, own: str) -> None:
        self.link = link
        self.members = {name: HubMember(self, name, eui) for name, eui in members}
        if own not in self.members:
            raise ValueError(f"the hub's own member {own!r} is not among its members")
        self.own = self.members[own]
        self._by_eui = {member.eui: member for member in self.members.values()}
        if len(self._by_eui) != len(self.members):
            raise ValueError("two members of a hub share an EUI")
        self._open: set[HubMember] = set()
        self._lock = asyncio.Lock()
        #: Frames no member claimed and the hub had nobody to give them to.
        self.unrouted = 0

    async def joined(self, member: HubMember) -> None:
        async with self._lock:
            if not self._open:
                await self.link.open(asyncio.get_running_loop(), self)
            self._open.add(member)

    async def left(self, member: HubMember) -> None:
        async with self._lock:
            self._open.discard(member)
            if not self._open:
                await self.link.close()

    # -- the Receiver of the shared link (on the loop's thread) ----------------------------

    def frame_received(self, device: Device, frame: bytes, at: float) -> None:
        eui = originator(frame)
        member = self._by_eui.get(eui, self.own) if eui is not None else self.own
        if member.receiver is None:
            self.unrouted += 1
            return
        member.receiver.frame_received(member, frame, at)

    def send_failed(self, device: Device, frame: bytes, reason: str) -> None:
        """To the member the frame was for (its recipient), else the hub's own."""
        signing = _signing(frame)
        member = self._by_eui.get(signing.recipient, self.own) if signing else self.own
        if member.receiver is not None:
            member.receiver.send_failed(member, frame, reason)

    def link_lost(self, device: Device, reason: str) -> None:
        for member in list(self._open):
            if member.receiver is not None:
                member.receiver.link_lost(member, reason)

    def link_restored(self, device: Device) -> None:
        for member in list(self._open):
            if isinstance(member.receiver, RestoringReceiver):
                member.receiver.link_restored(member)
