"""The live bench: the DSP model in real time between the test plan and the devices.

One asyncio loop, on its own thread, owns everything that moves: the DSP scheduler (under an
:class:`~rig.clock.AsyncioClock`), the device links and the timers. Test plans call the blocking
methods (:meth:`Rig.top_up`, :meth:`Rig.read_supply_status`) or :meth:`Rig.submit` for many
requests at once; every call crosses to the loop thread. Results are serialised and written by
a writer thread in batches (:mod:`rig.results.background`), never on the loop; a blocking
caller is told once its record is written (docs/load.md "The hot path").

Every request comes from one of the bench's Users (``user=``; default the first): its own
originator counter, SECMP0067 allocation and northbound adapter. Device alerts reach their User
through the DSP's SECMP0062 storm protection; :meth:`Rig.begin_outage`/:meth:`Rig.end_outage`
hold and release northbound traffic (DP100) and :meth:`Rig.reload_tmm` swaps the TMM document
while traffic flows.

The journey and its timestamps (docs/architecture.md): submitted → I99 acknowledged → DSP
dequeue → frame on the wire → device response → delivered northbound.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import heapq
import itertools
import logging
import selectors
import threading
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from devices.api import Device, LinkDown
from rig.clock import AsyncioClock
from rig.config.bench import Bench, BenchError, UserConfig
from rig.dsp.alerts import DeviceAlert
from rig.dsp.model import ACK_CODE, Dsp, DspCounters, DspRequest, Fixed, UserCounters
from rig.dsp.tmm import Mode, TmmError, TrafficManagementDocument, default_tmm, load_tmm
from rig.duis.access import Device as InventoryDevice
from rig.duis.access import check_seed_002
from rig.duis.codes import DuisError
from rig.duis.counter import OriginatorCounter
from rig.duis.request import (
    Body,
    CommandVariant,
    ReadSupplyStatus,
    RequestId,
    ServiceRequest,
    SignedPreCommand,
    TopUpDevice,
)
from rig.duis.srv_matrix import SRV_MATRIX, DeviceType
from rig.duis.transform import DCC_ORIGINATED, command_signing, to_gbcs
from rig.gbcs import usecases
from rig.gbcs.codec import DEFAULT_ACB, RemotePartyCodec
from rig.gbcs.codes import message_code_name
from rig.gbcs.crypto import sign
from rig.gbcs.errors import GbcsError, VerifyError
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import Cra, GeneralSigning, Message, decode
from rig.gbcs.utrn import ValueClass, make_utrn
from rig.host import cpu_slice, timer_slack
from rig.host.busy_poll import PollingSelector
from rig.keys.keystore import KeyNotFound, KeyStore, Role
from rig.live.counter_state import CounterState, CounterStateError, state_path
from rig.live.response_view import describe, failed_result
from rig.results.background import BackgroundWriter, OffLoopSink
from rig.results.record import RequestRecord
from rig.results.store import Sink

if TYPE_CHECKING:
    from devices.benchio.module import BenchIOModule
    from devices.transports.capture import Captures

T = TypeVar("T")

_log = logging.getLogger(__name__)

#: How a lost link's reason starts (devices/transports/serial_link.py LINK_LOST starts so too).
_LINK_LOST = "link lost"

#: Alert codes a device raises when it refuses a command outright (firmware_stubs/esme.py).
REFUSAL_ALERTS = frozenset({0x8F30})

#: How often the loop fails requests past their response timeout: one periodic scan instead of
#: a timer per request. A timeout fires up to this late. [ASSUMED]
TICK_S = 0.05

#: Delivered alerts the rig keeps in memory for :meth:`Rig.alerts` (all are in the results).
ALERTS_KEPT = 100_000

Mangle = Callable[[bytes], bytes]
#: Builds a request body from the User's originator EUI and the counter allocated to it.
Builder = Callable[[Eui64, int], Body]
#: A command in flight: (device, remote party, GBCS counter), as its response names them.
#: The EUIs as their raw bytes: hashed in C (an Eui64 hashes in Python, several times per request).
_Key = tuple[bytes, bytes, int]
#: Called on the loop thread with the completed record of a request.
Done = Callable[[RequestRecord], None]


#: How long the rig watches a physical device's network port (``socket://``, ``rfc2217://``)
#: once opened before the session starts: a loopback forward (``ssh -L``) accepts, then closes
#: when its target is unreachable or refuses. [ASSUMED] long enough for a refusal on a LAN.
SETTLE_S = 0.3


class BenchUnavailable(BenchError):
    """Devices that could not be reached when the session started: one line each, naming the
    bench file, the device, its port and the cause."""


@dataclass(slots=True, eq=False)
class _InFlight:
    record: RequestRecord
    request: ServiceRequest
    signing: GeneralSigning
    critical: bool
    device: Device
    done: Done
    mangle: Mangle | None
    key: _Key  # how the response is matched: device, remote party and counter
    dsp: DspRequest | None = None
    deadline_seq: int = 0  # its entry in the deadline heap, once on the wire


class _User:
    """A bench User on the live rig: its configuration and originator counter."""

    __slots__ = ("config", "counter")

    def __init__(self, config: UserConfig) -> None:
        self.config = config
        self.counter = OriginatorCounter(config.counter_start)


@dataclass(frozen=True)
class _Northbound:
    """A verified frame from a device on its way back to the User."""

    device: Device
    message: Message
    received_at: float


class Rig:
    """A running bench. Use as a context manager, or call :meth:`start` and :meth:`close`."""

    def __init__(
        self,
        bench: Bench,
        devices: dict[str, Device],
        keys: KeyStore,
        results: Sink | OffLoopSink,
        *,
        tmm: TrafficManagementDocument | None = None,
        bench_io: BenchIOModule | None = None,
        captures: Captures | None = None,
    ) -> None:
        self.bench = bench
        self.devices = devices
        #: Where records go, never written on the loop: ``results`` itself if it writes off
        #: the loop (launch() gives a writer process), else ``results`` behind a writer thread.
        self.results = results if isinstance(results, OffLoopSink) else BackgroundWriter(results)
        #: The Modbus bench I/O module (contactor sense, power relay), started before the
        #: devices; ``rig.bench_io.wait_for_contactor(False, 5.0)`` (docs/bench-io.md).
        self.bench_io = bench_io
        #: The per-test pcap switch the devices write to (docs/zigbee-bridge.md, Captures).
        self.captures = captures
        #: The node id of the test running now (set by ``capture_test``): each request's
        #: record names the test that sent it.
        self.test: str | None = None
        self._keys = keys
        self._tmm = tmm or (load_tmm(bench.dsp.tmm) if bench.dsp.tmm else default_tmm())
        self._codec = RemotePartyCodec(keys)
        self._users = {
            name: _User(config)
            for name, config in (bench.users or {bench.user.name: bench.user}).items()
        }
        self._user_names = {user.config.eui.raw: name for name, user in self._users.items()}
        #: The text form of the bench's EUIs (Users and devices), by their bytes.
        self._texts = {
            eui.raw: str(eui)
            for eui in [u.config.eui for u in self._users.values()]
            + [c.eui for c in bench.devices.values()]
        }
        self._in_flight: dict[_Key, _InFlight] = {}
        #: Response deadlines of requests on the wire: (deadline, seq, key), scanned per tick.
        #: Keys, not entries: a request answered long before its deadline is not kept alive
        #: (at 2,000 requests/s and 5 s, 10,000 requests' objects for the collector to scan).
        self._deadlines: list[tuple[float, int, _Key]] = []
        self._timeouts = {name: config.response_timeout_s for name, config in bench.devices.items()}
        self._record = self.results.write
        self._ticker: asyncio.TimerHandle | None = None
        self._alerts: deque[dict[str, Any]] = deque(maxlen=ALERTS_KEPT)
        self._by_eui = {device.eui.raw: device for device in devices.values()}
        #: The DSP's Smart Metering Inventory: the bench's devices by EUI.
        self._inventory = {
            config.eui: InventoryDevice(config.eui, DeviceType(config.inventory_type))
            for config in bench.devices.values()
        }
        #: The DCC's own originator counter, for the use cases it originates (CCS01/02).
        self._dcc_counter = OriginatorCounter(1)
        #: The bench's physical devices by EUI bytes: their counters are kept between runs.
        self._physical = {c.eui.raw: c.eui for c in bench.devices.values() if not c.emulated}
        self._kept = CounterState(state_path(bench.path)) if self._physical else None
        self._down: dict[str, str] = {}
        #: The devices that have sent anything this session.
        self._heard: set[str] = set()
        self._seq = itertools.count(1)
        # select(2) takes its timeout in microseconds where epoll rounds it up to a whole
        # millisecond: that rounding was the DSP service hop's ~1 ms of timer slop. The rig
        # watches a handful of descriptors, well inside select's limit (docs/load.md). With
        # [host] busy_poll_us it polls that long before sleeping (rig/host/busy_poll.py).
        window = bench.busy_poll_s
        self._loop = asyncio.SelectorEventLoop(
            PollingSelector(window) if window else selectors.SelectSelector()
        )
        self._thread = threading.Thread(target=self._run_loop, name="rig-loop", daemon=True)
        self._dsp: Dsp | None = None
        #: Why the loop thread runs on the OS's default CPU slice instead of the bench's
        #: ``[host] cpu_slice_us`` (None: it has the bench's, or the bench asks for none).
        self.cpu_slice_refused: str | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def _run_loop(self) -> None:
        """The loop thread. It asks for the bench's short CPU slice first, so that its wake-ups
        preempt longer-sliced work, and for timers without slack (the DSP's service time fires
        when due); the device processes and threads it starts inherit both (rig/host/cpu_slice.py,
        rig/host/timer_slack.py, docs/load.md "Short CPU slices", "Timer slack")."""
        if self.bench.cpu_slice_s is not None:
            self.cpu_slice_refused = cpu_slice.request(self.bench.cpu_slice_s)
            if self.cpu_slice_refused is not None:
                _log.warning("[host] cpu_slice_us not applied: %s", self.cpu_slice_refused)
        refused = timer_slack.tighten()
        if refused is not None:
            _log.warning("timers may fire up to the OS's timer slack late: %s", refused)
        self._loop.run_forever()

    def start(self) -> Rig:
        """Start the loop thread and every device; on failure, undo what was started.

        Once started, what the process holds is frozen out of the garbage collector's reach
        (``gc.freeze``, undone by :meth:`close`): a full collection scanned the whole heap of
        start-up objects, a 43 ms stall of the loop in a 4 s ladder at 2,000 requests/s
        (docs/load.md "The hot path")."""
        self._thread.start()
        try:
            self._call(self._open())
        except BaseException:
            self.close()
            raise
        gc.collect()
        gc.freeze()
        return self

    async def _open(self) -> None:
        self._dsp = Dsp(
            AsyncioClock(self._loop),
            self._tmm,
            servers=self.bench.dsp.servers,
            service_time=Fixed(self.bench.dsp.service_time_s),
            on_dispatch=self._dispatch,
            on_deliver=self._deliver,
            northbound_rate=self.bench.dsp.northbound_rate,
            portfolios={name: user.config.portfolio for name, user in self._users.items()},
        )
        self._tick()
        if self._kept is not None:
            try:
                self._resume_counters(self._kept)
            except CounterStateError as exc:
                raise BenchUnavailable(str(exc)) from None
        if self.bench_io is not None:
            await self.bench_io.start()
        failures, opened = [], []
        for device in self.devices.values():  # every port tried: all that fail are named
            try:
                await device.open(self._loop, self)
            except Exception as exc:
                text = _exception_text(exc)
                failures.append(
                    text if text.startswith(f"{device.name}: ") else f"{device.name}: {text}"
                )
            else:
                opened.append(device.name)
        networked = {
            name: config.port
            for name, config in self.bench.devices.items()
            if name in opened
            and not config.emulated
            and config.port is not None
            and "://" in config.port
        }
        if networked:
            await asyncio.sleep(SETTLE_S)
            failures += [
                f"{name}: {port} was closed by the far end as soon as it opened (a loopback "
                "forward does this when its target is unreachable or refuses)"
                for name, port in networked.items()
                if name in self._down
            ]
        if failures:
            raise BenchUnavailable("\n".join(f"{self.bench.path}: {line}" for line in failures))

    def _resume_counters(self, kept: CounterState) -> None:
        """Each originator's counter resumes above the last a physical device of the bench was
        sent (a meter never accepts an old one): rig/live/counter_state.py."""
        devices = list(self._physical.values())
        for user in self._users.values():
            last = kept.resume_after(user.config.eui, devices)
            if last >= user.config.counter_start:
                user.counter = OriginatorCounter(last + 1)
        last = kept.resume_after(DEFAULT_ACB, devices)
        self._dcc_counter = OriginatorCounter(last + 1)

    def close(self) -> None:
        if self._thread.is_alive():
            self._call(self._close())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop.close()
        self.results.close()
        gc.unfreeze()
        if self._kept is not None:
            try:
                self._kept.close()
            except CounterStateError as exc:  # the claims stay on file: counters skipped
                _log.warning("%s", exc)

    async def _close(self) -> None:
        for entry in list(self._in_flight.values()):
            self._finish(entry, "rig closed before the device answered")
        for device in self.devices.values():
            await device.close()
        if self.bench_io is not None:
            await self.bench_io.close()
        if self._ticker is not None:
            self._ticker.cancel()

    def __enter__(self) -> Rig:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def call(self, function: Callable[..., T], *args: Any) -> T:
        """Run ``function(*args)`` on the loop thread and return its result (blocking)."""

        async def run() -> T:
            return function(*args)

        return self._call(run())

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The rig's event loop (for drivers that run on it, such as :mod:`rig.load`)."""
        return self._loop

    def _tick(self) -> None:
        """Every :data:`TICK_S`: fail overdue requests."""
        now = self._loop.time()
        # Rescheduled first: a failure below must not stop timeouts for the run.
        self._ticker = self._loop.call_at(now + TICK_S, self._tick)
        deadlines = self._deadlines
        while deadlines and deadlines[0][0] <= now:
            _, seq, key = heapq.heappop(deadlines)
            entry = self._in_flight.get(key)
            if entry is not None and entry.deadline_seq == seq:  # not a later request's key
                name = entry.device.name
                timeout = self._timeouts[name]
                why = f"no response from {name} within {timeout:g} s{self._silence(name)}"
                self._finish(entry, why)

    # -- the DSP's controls: outages, TMM hot reload, counters -------------------------------

    def begin_outage(self) -> None:
        """DCC systems restricted: responses and alerts are held northbound (DP100)."""
        self.call(self.outage_now, "begin")

    def end_outage(self) -> float:
        """Restored: what was held is released by the TMM's ``outage_release`` policy (DP100).
        Returns the loop time of restoration (the clock of every record's stamps)."""
        return self.call(self.outage_now, "end")

    def outage_now(self, event: str) -> float:
        """:meth:`begin_outage` (``"begin"``) or :meth:`end_outage` (``"end"``) on the loop."""
        assert self._dsp is not None
        if event == "begin":
            self._dsp.begin_outage()
        else:
            self._dsp.end_outage()
        policy = self._dsp.tmm.outage_release.policy
        now = self._loop.time()
        self._record({"kind": "outage", "event": event, "at": now, "policy": str(policy)})
        return now

    def reload_tmm(self, path: Path) -> TmmError | None:
        """Hot-reload the TMM document from ``path`` while traffic flows (issue 3); an invalid
        file keeps the document in force and is returned. Either way it is recorded."""
        return self.call(self.reload_now, path)

    def reload_now(self, path: Path) -> TmmError | None:
        """:meth:`reload_tmm` on the loop thread."""
        assert self._dsp is not None
        error = self._dsp.reload_file(path)
        self._record(
            {
                "kind": "tmm_reload",
                "at": self._loop.time(),
                "path": str(path),
                "version": self._dsp.tmm.version,
                "error": None if error is None else str(error),
            }
        )
        return error

    @property
    def tmm(self) -> TrafficManagementDocument:
        """The TMM document in force."""
        return self._tmm if self._dsp is None else self._dsp.tmm

    def counters(self) -> DspCounters:
        """The DSP's totals now (read on the loop thread)."""
        assert self._dsp is not None
        return self.call(lambda: self._dsp.counters)  # type: ignore[union-attr]

    def user_counters(self, user: str) -> UserCounters:
        """One User's SECMP0067 totals now (admitted, throttled, rejected)."""
        assert self._dsp is not None
        return self.call(self._dsp.user_counters, user)

    def northbound_depth(self) -> int:
        """Responses and alerts waiting northbound now (queued, or held by an outage)."""
        assert self._dsp is not None
        return self.call(lambda: self._dsp.northbound_depth)  # type: ignore[union-attr]

    def alerts(self) -> list[dict[str, Any]]:
        """Alerts delivered to their Users so far (the latest :data:`ALERTS_KEPT`), oldest
        first; storm summaries carry ``throttled_sequence_id`` and ``throttled_count``."""
        return self.call(list, self._alerts)

    def inject_alert(self, device: str, code: int, *, user: str | None = None) -> None:
        """An alert from ``device`` for ``user`` (default: the first User), injected at the DSP
        as if the device had sent it: storm protection (SECMP0062) and delivery apply."""
        self.bench.device(device)
        name = self.bench.user_named(user).name
        self._loop.call_soon_threadsafe(self.alert_now, device, code, name)

    def alert_now(self, device: str, code: int, user: str) -> None:
        """:meth:`inject_alert` on the loop thread (load drivers)."""
        assert self._dsp is not None
        self._dsp.alert(DeviceAlert(user, device, code, self._loop.time()))

    # -- the User's side: DUIS-level requests ----------------------------------------------

    def top_up(
        self,
        device: str,
        *,
        pence: int | None = None,
        pounds: int | None = None,
        utrn_target: Eui64 | None = None,
        user: str | None = None,
        mangle: Mangle | None = None,
        timeout: float | None = None,
    ) -> RequestRecord:
        """SRV 2.2 Top Up Device; blocks until the response is delivered or the request fails.

        Give exactly one of ``pence`` (up to 8191) or ``pounds`` (up to 8191). ``utrn_target``
        makes the UTRN for another device (a bad-input case); ``user`` names the bench User
        (default: the first); ``mangle`` alters the frame on its way to the wire (fault
        injection).
        """
        future = self.submit_top_up(
            device, pence=pence, pounds=pounds, utrn_target=utrn_target, user=user, mangle=mangle
        )
        return future.result(timeout)

    def read_supply_status(
        self,
        device: str,
        *,
        counter: int | None = None,
        user: str | None = None,
        mangle: Mangle | None = None,
        timeout: float | None = None,
    ) -> RequestRecord:
        """SRV 7.4 Read Supply Status; ``counter`` forces a RequestID counter (replay tests)."""
        future = self.submit_read_supply_status(device, counter=counter, user=user, mangle=mangle)
        return future.result(timeout)

    def submit_top_up(
        self,
        device: str,
        *,
        pence: int | None = None,
        pounds: int | None = None,
        utrn_target: Eui64 | None = None,
        user: str | None = None,
        mangle: Mangle | None = None,
    ) -> concurrent.futures.Future[RequestRecord]:
        """Non-blocking SRV 2.2: returns a future of the completed record."""
        build = self.top_up_builder(device, pence=pence, pounds=pounds, utrn_target=utrn_target)
        return self._submit(device, "2.2", build, user, mangle=mangle)

    def top_up_builder(
        self,
        device: str,
        *,
        pence: int | None = None,
        pounds: int | None = None,
        utrn_target: Eui64 | None = None,
    ) -> Builder:
        """How to build an SRV 2.2 body for ``device`` once the User's counter is allocated."""
        if (pence is None) == (pounds is None):
            raise ValueError("top_up needs exactly one of pence= or pounds=")
        value, value_class = (
            (pence, ValueClass.PENNIES) if pence is not None else (pounds, ValueClass.POUNDS)
        )
        target = utrn_target or self.bench.device(device).eui

        def build(originator: Eui64, counter: int) -> TopUpDevice:
            utrn = make_utrn(
                self._keys.ka_private(originator, prepayment=True),
                self._keys.ka_public(target),
                originator,
                target,
                counter,
                value,
                value_class,
            )
            return TopUpDevice(utrn)

        build.utrn = True  # type: ignore[attr-defined]
        return build

    def submit_read_supply_status(
        self,
        device: str,
        *,
        counter: int | None = None,
        user: str | None = None,
        mangle: Mangle | None = None,
    ) -> concurrent.futures.Future[RequestRecord]:
        """Non-blocking SRV 7.4: returns a future of the completed record."""
        return self._submit(
            device, "7.4", lambda _o, _c: ReadSupplyStatus(), user, counter=counter, mangle=mangle
        )

    def request(
        self,
        device: str,
        body: Body,
        *,
        user: str | None = None,
        mangle: Mangle | None = None,
        timeout: float | None = None,
    ) -> RequestRecord:
        """Any SRV the transform supports, from a bench User; blocks until it completes.

        ``rig.request("esme", DisableSupply())`` runs SRV 7.2 (critical: signed by the User's
        DS key, then MAC'd by the ACB).
        """
        return self.submit_srv(device, body, user=user, mangle=mangle).result(timeout)

    def submit_srv(
        self, device: str, body: Body, *, user: str | None = None, mangle: Mangle | None = None
    ) -> concurrent.futures.Future[RequestRecord]:
        """Non-blocking :meth:`request`: returns a future of the completed record."""
        return self._submit(device, body.srv, lambda _o, _c: body, user, mangle=mangle)

    def submit(
        self, request: ServiceRequest, *, mangle: Mangle | None = None
    ) -> concurrent.futures.Future[RequestRecord]:
        """Any DUIS-level request, with its own RequestID (a replayed User's, for example);
        the target must be a device of the bench. Returns a future of the completed record."""
        future: concurrent.futures.Future[RequestRecord] = concurrent.futures.Future()
        self._loop.call_soon_threadsafe(self._on_loop, future, lambda: request, mangle, None)
        return future

    def note(self, record: dict[str, Any]) -> None:
        """Add a record of the caller's to the results (from any thread)."""
        self._record(record)

    def _submit(
        self,
        device: str,
        srv: str,
        build: Builder,
        user: str | None,
        *,
        counter: int | None = None,
        mangle: Mangle | None = None,
    ) -> concurrent.futures.Future[RequestRecord]:
        """A request of SRV ``srv`` from a bench User: its counter is allocated on the loop, in
        order; a body that cannot be built (a key file that does not load) fails the request."""
        make = self.request_maker(device, build, user, counter=counter)
        origin, target = self.bench.user_named(user), self.bench.device(device).eui
        unbuilt = RequestRecord(f"{origin.eui}:{target}:-", srv, str(target), origin.name)
        future: concurrent.futures.Future[RequestRecord] = concurrent.futures.Future()
        self._loop.call_soon_threadsafe(self._on_loop, future, make, mangle, unbuilt)
        return future

    def request_maker(
        self, device: str, build: Builder, user: str | None = None, *, counter: int | None = None
    ) -> Callable[[], ServiceRequest]:
        """A function, to be called on the loop thread, that allocates the User's next counter
        (or uses ``counter``) and returns the request for ``device`` with ``build``'s body."""
        target = self.bench.device(device).eui
        origin = self._users[self.bench.user_named(user).name]
        originator = origin.config.eui
        utrn = getattr(build, "utrn", False)

        def make() -> ServiceRequest:
            if counter is not None:
                chosen = counter
            else:
                chosen = origin.counter.next_for_utrn() if utrn else origin.counter.next()
            body = build(originator, chosen)
            variant = (
                CommandVariant.CRITICAL_TRANSFORM
                if SRV_MATRIX[body.srv].critical
                else CommandVariant.NON_CRITICAL_WAN
            )
            return ServiceRequest(RequestId(originator, target, chosen), body, variant)

        return make

    def _on_loop(
        self,
        future: concurrent.futures.Future[RequestRecord],
        make: Callable[[], ServiceRequest],
        mangle: Mangle | None,
        unbuilt: RequestRecord | None,
    ) -> None:
        """Queue the request ``make`` builds; if it cannot be built, the record ``unbuilt``
        fails with the reason. Either way the caller is told."""

        def done(record: RequestRecord) -> None:
            # A caller on another thread finds its result on disk when told.
            self.results.after(lambda: future.set_result(record))

        try:
            try:
                request = make()
            except Exception as exc:
                if unbuilt is None:
                    raise
                unbuilt.stamps["submitted"] = self._loop.time()
                unbuilt.fail(f"the request could not be built: {_exception_text(exc)}")
                self._record(unbuilt)
                done(unbuilt)
                return
            self.enqueue(request, done, mangle)
        except Exception as exc:  # surfaced to the caller, never lost in the loop
            future.set_exception(exc)

    def enqueue(self, request: ServiceRequest, done: Done, mangle: Mangle | None = None) -> None:
        """On the loop thread: validate and transform (DUIS → GBCS, domain.md §7), then queue
        in the DSP as its User's request; ``done`` gets the completed record."""
        assert self._dsp is not None
        rid = request.request_id
        originator, target = rid.originator, rid.target
        texts = self._texts
        user = self._user_names.get(originator.raw) or str(originator)
        target_text = texts.get(target.raw) or str(target)
        record = RequestRecord(
            f"{texts.get(originator.raw) or originator}:{target_text}:{rid.counter}",
            request.srv,
            target_text,
            user,
            test=self.test,
        )
        now = self._loop.time()
        record.stamps["submitted"] = now
        try:
            inventoried = self._inventory.get(target)
            if inventoried is not None:  # else to_gbcs answers E19
                check_seed_002(request, inventoried, self._inventory)
            command = to_gbcs(request, self._inventory)
            dcc_counter = (
                self._dcc_counter.next() if command.message_code in DCC_ORIGINATED else None
            )
            signing = command_signing(request, command, dcc_counter=dcc_counter)
        except Exception as exc:  # a DUIS error code, or a payload the codec cannot encode
            record.fail(str(exc) if isinstance(exc, DuisError) else _exception_text(exc))
            self._record(record)
            done(record)
            return
        device = self._by_eui[target.raw]  # to_gbcs answers E19 for a target not in the inventory
        key = (signing.recipient.raw, signing.originator.raw, signing.counter)
        entry = _InFlight(record, request, signing, command.critical, device, done, mangle, key)
        if key in self._in_flight:
            record.fail(
                f"GBCS counter {key[2]} from {signing.originator} already in flight to {target}"
            )
            self._write(entry)
            return
        self._in_flight[key] = entry
        tmm = self._dsp.tmm
        entry.dsp = dsp_request = DspRequest(
            record.request_id,
            request.srv,
            Mode.FUTURE_DATED if request.execution_date_time else Mode.ON_DEMAND,
            user,
            record.target,
            key,
        )
        record.priority = tmm.level_of(request.srv)
        ack = self._dsp.submit(dsp_request)
        record.ack_code = ack.code
        if ack.code != ACK_CODE:  # refused at the door (e.g. SECMP0067 throttling)
            del self._in_flight[key]
            record.fail(f"DSP refused the request: {ack.code}")
            self._write(entry)
            return
        record.stamps["acknowledged"] = ack.at

    # -- southbound: DSP dispatch → codec → wire ------------------------------------------

    def _dispatch(self, dsp_request: DspRequest) -> None:
        entry = self._in_flight.get(dsp_request.payload)  # type: ignore[arg-type]
        if entry is None:
            return
        stamps = entry.record.stamps
        stamps["dequeued"] = dsp_request.dequeued_at  # type: ignore[assignment]
        # Called by the DSP's service timer: whatever fails here fails this request alone
        # (a raise would leave it unfinished and its caller waiting for ever).
        try:
            frame = self._frame(entry)
        except Exception as exc:  # a CV 5 whose User signature fails, a corrupt key file, …
            self._finish(entry, f"DSP could not frame the command for {entry.device.name}: {exc}")
            return
        if entry.mangle is not None:
            try:
                frame = entry.mangle(frame)
            except Exception as exc:
                self._finish(entry, f"the plan's mangle hook raised {_exception_text(exc)}")
                return
        device = entry.device
        try:
            if device.name in self._down:
                raise LinkDown(self._down[device.name])
            if self._kept is not None and device.eui.raw in self._physical:
                signing = entry.signing  # kept before it is sent: a meter may take it
                self._kept.use(signing.originator, device.eui, signing.counter)
            on_wire = device.send(frame)
        except Exception as exc:  # the link down, a write failed, a frame too long for it
            self._finish(entry, f"could not send to {device.name}: {exc}")
            return
        stamps["on_wire"] = on_wire
        deadline = on_wire + self._timeouts[device.name]
        entry.deadline_seq = seq = next(self._seq)
        heapq.heappush(self._deadlines, (deadline, seq, entry.key))

    def _frame(self, entry: _InFlight) -> bytes:
        """The bytes on the wire: MAC'd by the ACB; a critical command signed by its originator
        first (the rig plays the User's signing step of CV 4 → 5), or as the User signed it."""
        body = entry.request.body
        if isinstance(body, SignedPreCommand):
            return self._codec.send_signed_precommand(body.gbcs_payload)
        if entry.critical:
            signature = sign(
                self._keys.ds_private(entry.signing.originator), entry.signing.signed_data()
            )
            return self._codec.seal_command(entry.signing.with_signature(signature))
        return self._codec.seal_command(entry.signing)

    # -- northbound: wire → codec → DSP → User --------------------------------------------

    def frame_received(self, device: Device, frame: bytes, at: float) -> None:
        self._heard.add(device.name)
        try:
            message = self._codec.open_response(frame)
        except (GbcsError, KeyNotFound) as exc:
            self._unopened(device, at, frame, exc)
            return
        signing = message.signing
        assert self._dsp is not None
        if signing.cra is Cra.ALERT:
            try:
                body = usecases.decode_payload(signing.message_code, signing.payload, signing.cra)
            except GbcsError as exc:
                self._error(device, at, f"alert payload undecodable: {exc}", frame)
                return
            code = getattr(body, "alert_code", None)
            if code is None:  # a use case whose alerts are not typed yet (issue 17)
                name = message_code_name(signing.message_code)
                self._error(device, at, f"alert of an untyped use case ({name}) not read", frame)
                return
            user = self._user_names.get(signing.recipient.raw) or str(signing.recipient)
            self._dsp.alert(DeviceAlert(user, device.name, code, at, payload=message))
            return
        entry = self._in_flight.get(
            (signing.originator.raw, signing.recipient.raw, signing.counter)
        )
        if entry is None:
            self._dsp.respond(_Northbound(device, message, at))
            return
        entry.record.stamp("device_response", at)
        self._dsp.respond(_Northbound(device, message, at), request=entry.dsp)

    def _unopened(
        self, device: Device, at: float, frame: bytes, exc: GbcsError | KeyNotFound
    ) -> None:
        """A frame from ``device`` that does not verify: recorded; if it is the answer to a
        request on the wire (or an alert while one waits), that request fails now with why,
        naming the key file the check used, instead of waiting for its timeout."""
        error = str(exc)
        try:
            signing = decode(frame).signing
        except GbcsError:
            self._error(device, at, error, frame)
            return
        what = "alert" if signing.cra is Cra.ALERT else "response"
        if isinstance(exc, VerifyError):
            mac = "MAC" in error
            role = Role.KA if mac else Role.DS
            used = self._keys.public_file(signing.originator, role)
            error = (
                f"{'MAC' if mac else 'signature'} of the {what} from {device.name} does not "
                f"verify with {used} (are the bench's keys for {device.name} the device's?)"
            )
        self._error(device, at, error, frame)
        if signing.cra is Cra.ALERT:
            entry = self._oldest_on_wire(device.name)
        else:
            entry = self._in_flight.get(
                (signing.originator.raw, signing.recipient.raw, signing.counter)
            )
        if entry is not None:
            self._finish(entry, error)

    def _oldest_on_wire(self, device: str) -> _InFlight | None:
        """The request to ``device`` longest on the wire, if any."""
        waiting = [
            e
            for e in self._in_flight.values()
            if e.device.name == device and "on_wire" in e.record.stamps
        ]
        return min(waiting, key=lambda e: e.record.stamps["on_wire"]) if waiting else None

    def _silence(self, name: str) -> str:
        """Why a physical device that has sent nothing this session may be silent (empty for
        an emulated one, or one heard from): the rig cannot tell a dead port from a meter
        that ignores a command whose MAC it cannot verify."""
        config = self.bench.devices.get(name)
        if name in self._heard or config is None or config.emulated:
            return ""
        used = self._keys.public_file(config.eui, Role.KA)
        return (
            f"; nothing has come from {name} since the session started (is it powered and on "
            f"{config.port}? a meter also ignores a command whose MAC it cannot verify: is "
            f"{used} its key?)"
        )

    def _error(self, device: Device, at: float, error: str, frame: bytes) -> None:
        self._record(
            {"kind": "error", "device": device.name, "at": at, "error": error, "frame": frame.hex()}
        )

    def link_lost(self, device: Device, reason: str) -> None:
        """Fail what is on the wire to the device; refuse new sends until it is restored.
        The link's reason may say "link lost" itself: it is said once."""
        detail = reason.removeprefix(_LINK_LOST)
        detail = detail if detail.startswith((" (", ": ")) else f": {detail}"
        self._down[device.name] = f"{_LINK_LOST}{detail}"
        self._record(
            {"kind": "link", "device": device.name, "at": self._loop.time(), "event": reason}
        )
        for entry in list(self._in_flight.values()):
            if entry.device is device and "on_wire" in entry.record.stamps:
                self._finish(entry, f"{device.name}: {self._down[device.name]}")

    def link_restored(self, device: Device) -> None:
        """A reconnecting link is back: requests to the device are sent again."""
        self._down.pop(device.name, None)
        self._record(
            {"kind": "link", "device": device.name, "at": self._loop.time(), "event": "restored"}
        )

    def _deliver(self, item: object) -> None:
        if isinstance(item, DeviceAlert):
            self._on_alert(item)
            return
        assert isinstance(item, _Northbound)
        signing = item.message.signing
        response, result, undecodable = self._read_response(signing)
        entry = self._in_flight.get(
            (signing.originator.raw, signing.recipient.raw, signing.counter)
        )
        if entry is None:
            self._record(
                {
                    "kind": "late_response",
                    "device": item.device.name,
                    "counter": signing.counter,
                    "at": item.received_at,
                    "response": response,
                }
            )
            return
        entry.record.response = response
        entry.record.stamp("delivered", self._loop.time())
        if undecodable:
            self._finish(entry, undecodable)
        elif result:
            alerts = ", ".join(f"0x{a['code']:04X} {a['name']}" for a in entry.record.alerts)
            why = f"device rejected the command (result {result})"
            self._finish(entry, f"{why}; alert {alerts}" if alerts else why)
        else:
            self._finish(entry, None)

    @staticmethod
    def _read_response(signing: GeneralSigning) -> tuple[dict[str, Any] | None, int, str]:
        """A response payload's JSON view and the first failed result in it (0: none), or why
        it does not decode."""
        try:
            body = usecases.decode_payload(signing.message_code, signing.payload, signing.cra)
        except GbcsError as exc:
            return None, 0, f"response payload undecodable: {exc}"
        return describe(body), failed_result(body), ""

    def _on_alert(self, item: DeviceAlert) -> None:
        """An alert delivered to its User (after SECMP0062 storm protection): recorded, with
        ``throttled_sequence_id``/``throttled_count`` when it stands for a storm's discards."""
        code = item.code
        alert = {
            "code": code,
            "name": usecases.ALERT_CODES.get(code, "unknown"),
            "at": item.raised_at,
            "device": item.device,
            "user": item.user,
            "delivered_at": self._loop.time(),
            "injected": item.payload is None,
            "throttled_sequence_id": item.throttled_sequence_id,
            "throttled_count": item.throttled_count,
        }
        self._record({"kind": "alert", **alert})
        self._alerts.append(alert)
        oldest = self._oldest_on_wire(item.device)
        if oldest is None:
            return
        oldest.record.alerts.append(alert)
        if code in REFUSAL_ALERTS:
            self._finish(oldest, self._refused(oldest, f"alert 0x{code:04X} {alert['name']}"))

    def _refused(self, entry: _InFlight, alert: str) -> str:
        """A refusal alert in plain words: the two checks a meter refuses a command for."""
        signing = entry.signing
        why = (
            f"device refused the command: {alert} (a meter refuses a command whose counter, "
            f"{signing.counter}, is not above the last it accepted from {signing.originator}, "
            "or whose MAC or signature does not verify)"
        )
        if self._kept is None or entry.device.eui.raw not in self._physical:
            return why
        return (
            f"{why}; counters resume above those kept in {self._kept.path}: if the meter "
            "has seen higher ones, raise the User's counter_start above them"
        )

    def _finish(self, entry: _InFlight, failure: str | None) -> None:
        """Complete a request exactly once: record it and tell its caller."""
        if self._in_flight.get(entry.key) is not entry:
            return
        del self._in_flight[entry.key]
        if failure is None:
            entry.record.outcome = "ok"
        else:
            entry.record.fail(failure)
        self._write(entry)

    def _write(self, entry: _InFlight) -> None:
        self._record(entry.record)
        entry.done(entry.record)


def _exception_text(exc: Exception) -> str:
    """One line for an exception: the rig's own errors say what failed; a built-in one (a
    plan's bug, say) is named by its type too."""
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if type(exc).__module__ == "builtins" else text
