"""Helpers shared by the transport tests (imported by module name: pytest puts this folder on
sys.path, as it has no ``__init__.py``)."""

from __future__ import annotations

import asyncio

from devices.transports.hdlc import Frame, FrameError
from devices.transports.serial_link import SerialLink

#: Upper bound for any single wait in these tests (they never assert on durations).
TIMEOUT = 10.0


class Recorder:
    """Collects what a SerialLink reports; every wait is bounded by TIMEOUT."""

    def __init__(self) -> None:
        self.frames: asyncio.Queue[tuple[Frame, float]] = asyncio.Queue()
        self.errors: list[FrameError | Exception] = []
        self.closed: list[str] = []
        self._closed_event = asyncio.Event()

    def link(self, url: str, **options: object) -> SerialLink:
        return SerialLink(
            url,
            on_frame=lambda frame, at: self.frames.put_nowait((frame, at)),
            on_error=self.errors.append,
            on_closed=self._on_closed,
            **options,  # type: ignore[arg-type]
        )

    def _on_closed(self, reason: str) -> None:
        self.closed.append(reason)
        self._closed_event.set()

    async def frame(self) -> tuple[Frame, float]:
        return await asyncio.wait_for(self.frames.get(), TIMEOUT)

    async def payload(self) -> bytes:
        return (await self.frame())[0].payload

    async def closed_reason(self) -> str:
        await asyncio.wait_for(self._closed_event.wait(), TIMEOUT)
        return self.closed[0]
