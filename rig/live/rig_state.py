"""What the mixins of :class:`~rig.live.orchestrator.Rig` share: the state ``Rig.__init__``
sets and the methods one mixin calls on another, declared once for the type checker (no
runtime attributes: ``Rig`` defines them all)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import asyncio
    import threading
    from collections import deque
    from collections.abc import Callable, Coroutine

    from devices.api import Device
    from devices.benchio.module import BenchIOModule
    from rig.config.bench import Bench
    from rig.dsp.alerts import DeviceAlert
    from rig.dsp.model import Dsp, DspRequest
    from rig.dsp.tmm import TrafficManagementDocument
    from rig.duis.counter import OriginatorCounter
    from rig.gbcs.codec import RemotePartyCodec
    from rig.gbcs.eui import Eui64
    from rig.keys.keystore import KeyStore
    from rig.live.counter_state import CounterState
    from rig.live.inflight import DccEvent, InFlight, Key
    from rig.live.orchestrator import _User
    from rig.results.background import Item, OffLoopSink

T = TypeVar("T")


class RigState:
    """The live rig's shared state and cross-mixin methods (``Rig`` provides them)."""

    if TYPE_CHECKING:
        bench: Bench
        devices: dict[str, Device]
        results: OffLoopSink
        bench_io: BenchIOModule | None
        cpu_slice_refused: str | None
        alert_relay: Callable[[DeviceAlert], None] | None
        dcc_alert_relay: Callable[[DccEvent], None] | None
        _keys: KeyStore
        _tmm: TrafficManagementDocument
        _codec: RemotePartyCodec
        _users: dict[str, _User]
        _user_names: dict[bytes, str]
        _in_flight: dict[Key, InFlight]
        _record: Callable[[Item], None]
        _ticker: asyncio.TimerHandle | None
        _alerts: deque[dict[str, Any]]
        _dcc_counter: OriginatorCounter
        _physical: dict[bytes, Eui64]
        _kept: CounterState | None
        _down: dict[str, str]
        _heard: set[str]
        _loop: asyncio.AbstractEventLoop
        _thread: threading.Thread
        _dsp: Dsp | None

        def call(self, function: Callable[..., T], *args: Any) -> T: ...

        def _call(self, coro: Coroutine[Any, Any, T]) -> T: ...

        def _tick(self) -> None: ...

        def _dispatch(self, dsp_request: DspRequest) -> None: ...

        def _deliver(self, item: object) -> None: ...

        def _finish(self, entry: InFlight, failure: str | None) -> None: ...

        def _silence(self, name: str) -> str: ...

        def _where(self, device: Device) -> str: ...

        # The devices' Receiver (devices/api.py), which Northbound is: LoopThread hands them self.
        def frame_received(self, device: Device, frame: bytes, at: float) -> None: ...

        def send_failed(self, device: Device, frame: bytes, reason: str) -> None: ...

        def link_lost(self, device: Device, reason: str) -> None: ...
