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
import heapq
import itertools
import logging
import selectors
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from devices.api import Device, LinkDown
from rig.config.bench import Bench, UserConfig
from rig.dsp.alerts import DeviceAlert
from rig.dsp.model import ACK_CODE, Dsp, DspRequest
from rig.dsp.tmm import Mode, TrafficManagementDocument, default_tmm, load_tmm
from rig.duis.access import Device as InventoryDevice
from rig.duis.access import check_seed_002
from rig.duis.codes import DuisError
from rig.duis.counter import OriginatorCounter
from rig.duis.request import (
    Body,
    CommandVariant,
    RequestId,
    ServiceRequest,
    SignedPreCommand,
)
from rig.duis.srv_matrix import SRV_MATRIX, DeviceType, FutureDated
from rig.duis.transform import DCC_ORIGINATED, command_signing, to_gbcs
from rig.gbcs.codec import RemotePartyCodec
from rig.gbcs.crypto import sign
from rig.host.busy_poll import PollingSelector
from rig.keys.keystore import KeyStore
from rig.live.counter_state import CounterState, counters_location
from rig.live.dsp_controls import DspControls
from rig.live.inflight import DccEvent, Done, InFlight, Key, Relay
from rig.live.loop_thread import LoopThread, exception_text
from rig.live.northbound import Northbound
from rig.live.srv import Builder, Mangle
from rig.live.srv.prepayment import Prepayment
from rig.live.srv.supply import Supply
from rig.results.background import BackgroundWriter, OffLoopSink
from rig.results.record import RequestRecord
from rig.results.store import Sink

if TYPE_CHECKING:
    from devices.benchio.module import BenchIOModule
    from devices.transports.capture import Captures

T = TypeVar("T")

_log = logging.getLogger(__name__)

#: How often the loop fails requests past their response timeout: one periodic scan instead of
#: a timer per request. A timeout fires up to this late. [ASSUMED]
TICK_S = 0.05

#: Delivered alerts the rig keeps in memory for :meth:`Rig.alerts` (all are in the results).
ALERTS_KEPT = 100_000


class _User:
    """A bench User on the live rig: its configuration and originator counter."""

    __slots__ = ("config", "counter")

    def __init__(self, config: UserConfig) -> None:
        self.config = config
        self.counter = OriginatorCounter(config.counter_start)


def _release_at(request: ServiceRequest, now: float) -> float | None:
    """When the DSP releases a request it holds (an SRV whose future-dated pattern is "DSP",
    domain.md §7.3, with an ExecutionDateTime), on the loop's clock (``now`` is the loop's
    time, the date-time is the wall clock's); None for any other request: on demand, or
    future-dated for the device to hold (pattern "Device": sent at once, GBCS §1.6)."""
    moment = request.execution_date_time
    if moment is None or SRV_MATRIX[request.srv].future_dated is not FutureDated.DSP:
        return None
    return now + max(0.0, moment.timestamp() - time.time())


class Rig(LoopThread, Northbound, DspControls, Prepayment, Supply):
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
        #: The per-test pcap switch the devices write to (docs/reading-the-report.md).
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
        self._in_flight: dict[Key, InFlight] = {}
        #: Response deadlines of requests on the wire: (deadline, seq, key), scanned per tick.
        #: Keys, not entries: a request answered long before its deadline is not kept alive
        #: (at 2,000 requests/s and 5 s, 10,000 requests' objects for the collector to scan).
        self._deadlines: list[tuple[float, int, Key]] = []
        self._timeouts = {name: config.response_timeout_s for name, config in bench.devices.items()}
        self._record = self.results.write
        self._ticker: asyncio.TimerHandle | None = None
        self._alerts: deque[dict[str, Any]] = deque(maxlen=ALERTS_KEPT)
        #: Called on the loop with every device alert delivered to a User (``rig serve``
        #: POSTs them to the User's endpoint: rig/serve).
        self.alert_relay: Callable[[DeviceAlert], None] | None = None
        #: Called on the loop with every DCC alert's event delivered to a User (rig/serve).
        self.dcc_alert_relay: Callable[[DccEvent], None] | None = None
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
        self._kept = CounterState(counters_location(bench)) if self._physical else None
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

    # -- the User's side: DUIS-level requests ----------------------------------------------

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

    def note(self, record: dict[str, Any] | RequestRecord) -> None:
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
                unbuilt.fail(f"the request could not be built: {exception_text(exc)}")
                self._record(unbuilt)
                done(unbuilt)
                return
            self.enqueue(request, done, mangle)
        except Exception as exc:  # surfaced to the caller, never lost in the loop
            future.set_exception(exc)

    def enqueue(
        self,
        request: ServiceRequest,
        done: Done,
        mangle: Mangle | None = None,
        *,
        relay: Relay | None = None,
        received: float | None = None,
    ) -> RequestRecord:
        """On the loop thread: validate and transform (DUIS → GBCS, domain.md §7), then queue
        in the DSP as its User's request; ``done`` gets the completed record. Returns the
        record (``ack_code`` set, or failed already).

        ``relay`` takes over the completed request of an acknowledged one instead (``rig serve``
        POSTs its response to the User, then writes it); ``received`` stamps when its HTTP
        request began."""
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
        if received is not None:
            record.stamps["received"] = received
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
            record.fail(str(exc) if isinstance(exc, DuisError) else exception_text(exc))
            self._record(record)
            done(record)
            return record
        device = self._by_eui[target.raw]  # to_gbcs answers E19 for a target not in the inventory
        key = (signing.recipient.raw, signing.originator.raw, signing.counter)
        entry = InFlight(record, request, signing, command.critical, device, done, mangle, key)
        if key in self._in_flight:
            record.fail(
                f"GBCS counter {key[2]} from {signing.originator} already in flight to {target}"
            )
            self._write(entry)
            return record
        self._in_flight[key] = entry
        tmm = self._dsp.tmm
        entry.dsp = dsp_request = DspRequest(
            record.request_id,
            request.srv,
            Mode.FUTURE_DATED if request.execution_date_time else Mode.ON_DEMAND,
            user,
            record.target,
            key,
            release_at=_release_at(request, now),
        )
        record.priority = tmm.level_of(request.srv)
        ack = self._dsp.submit(dsp_request)
        record.ack_code = ack.code
        if ack.code != ACK_CODE:  # refused at the door (e.g. SECMP0067 throttling)
            del self._in_flight[key]
            record.fail(f"DSP refused the request: {ack.code}")
            self._write(entry)
            return record
        record.stamps["acknowledged"] = ack.at
        entry.relay = relay
        return record

    # -- southbound: DSP dispatch → codec → wire ------------------------------------------

    def _dispatch(self, dsp_request: DspRequest) -> None:
        entry = self._in_flight.get(dsp_request.payload)
        if entry is None:
            return
        stamps = entry.record.stamps
        if dsp_request.release_at is not None:
            stamps["released"] = dsp_request.admitted_at  # type: ignore[assignment]
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
                self._finish(entry, f"the plan's mangle hook raised {exception_text(exc)}")
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
            self._finish(entry, f"could not send to {self._where(device)}: {exc}")
            return
        stamps["on_wire"] = on_wire
        deadline = on_wire + self._timeouts[device.name]
        entry.deadline_seq = seq = next(self._seq)
        heapq.heappush(self._deadlines, (deadline, seq, entry.key))

    def _frame(self, entry: InFlight) -> bytes:
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

    def _finish(self, entry: InFlight, failure: str | None) -> None:
        """Complete a request exactly once: record it and tell its caller."""
        if self._in_flight.get(entry.key) is not entry:
            return
        del self._in_flight[entry.key]
        if failure is None:
            entry.record.outcome = "ok"
        else:
            entry.record.fail(failure)
        self._write(entry)
        if failure is not None and entry.frame is None and entry.request.execution_date_time:
            # A DSP future-dated command that failed delivery: its User hears by a DCC alert
            # (CommandFailure), through the DSP's northbound like any alert.
            assert self._dsp is not None
            event = DccEvent(
                entry.record.user,
                "command_failure",
                entry.request.request_id,
                entry.device.name,
                self._loop.time(),
            )
            self._dsp.respond(event, user=event.user)

    def _write(self, entry: InFlight) -> None:
        if entry.relay is not None:  # its User hears of it first; the relay writes it
            entry.relay(entry)
            return
        self._record(entry.record)
        entry.done(entry.record)
