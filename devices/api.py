"""The one device API: emulated and physical devices differ only in where the bytes go.

The orchestrator sends GBCS frames and is told of frames received, of a frame sent that did not
reach the device, and of a link lost; it never knows whether a process on a pty, a meter on a
USB adapter or a bridge on the network answers (reference/architecture.md, "Device API").
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from rig.gbcs.eui import Eui64


class Receiver(Protocol):
    """Who hears from a device: called on the event loop's thread."""

    def frame_received(self, device: Device, frame: bytes, at: float) -> None: ...

    def send_failed(self, device: Device, frame: bytes, reason: str) -> None:
        """A frame ``send`` took did not reach the device, for ``reason`` (a link that
        acknowledges delivery and gave up, e.g. the HAN's APS retries): what waits on it fails
        now with that reason. A send that fails at once raises :class:`LinkDown` instead."""
        ...

    def link_lost(self, device: Device, reason: str) -> None: ...


class Device(Protocol):
    """A GBCS endpoint on the bench."""

    name: str
    eui: Eui64

    async def open(self, loop: asyncio.AbstractEventLoop, receiver: Receiver) -> None:
        """Connect (starting the emulator first, for an emulated device)."""
        ...

    def send(self, frame: bytes) -> float:
        """Write one GBCS frame; return the loop time at which it was on the wire. A link that
        learns later that the frame was not delivered tells the receiver's ``send_failed``."""
        ...

    async def close(self) -> None:
        """Disconnect and release everything; safe to call twice."""
        ...


class LinkDown(ConnectionError):
    """Raised by ``send`` when the device's link is not up; names the device and why."""
