"""The live bench: the DSP model in real time between the test plan and the devices.

One asyncio loop, on its own thread, owns everything that moves: the DSP scheduler (under an
:class:`~rig.clock.AsyncioClock`), the device links and the timers. Test plans call the blocking
methods (:meth:`Rig.top_up`, :meth:`Rig.read_supply_status`) or :meth:`Rig.submit` for many
requests at once; every call crosses to the loop thread, and every result is written to the
results file the moment it is known.

The journey and its timestamps (docs/architecture.md): submitted → I99 acknowledged → DSP
dequeue → frame on the wire → device response → delivered northbound.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from devices.api import Device, LinkDown
from rig.bench import Bench
from rig.clock import AsyncioClock
from rig.dsp.model import ACK_CODE, Dsp, DspRequest, Fixed
from rig.dsp.tmm import Mode, TrafficManagementDocument, default_tmm, load_tmm
from rig.duis.access import Device as InventoryDevice
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
from rig.gbcs.codec import RemotePartyCodec
from rig.gbcs.crypto import sign
from rig.gbcs.errors import GbcsError
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import Cra, GeneralSigning, Message
from rig.gbcs.utrn import ValueClass, make_utrn
from rig.keys.keystore import KeyNotFound, KeyStore
from rig.results.record import RequestRecord
from rig.results.store import Sink

T = TypeVar("T")

#: Alert codes a device raises when it refuses a command outright (firmware_stubs/esme.py).
REFUSAL_ALERTS = frozenset({0x8F30})

Mangle = Callable[[bytes], bytes]


@dataclass
class _InFlight:
    record: RequestRecord
    request: ServiceRequest
    signing: GeneralSigning
    critical: bool
    device: Device
    future: concurrent.futures.Future[RequestRecord]
    mangle: Mangle | None
    timer: asyncio.TimerHandle | None = None

    @property
    def key(self) -> tuple[Eui64, int]:
        """How the device's response is matched: its originator and the command's counter."""
        return self.signing.recipient, self.signing.counter


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
        results: Sink,
        *,
        tmm: TrafficManagementDocument | None = None,
    ) -> None:
        self.bench = bench
        self.devices = devices
        self.results = results
        self._keys = keys
        self._tmm = tmm or (load_tmm(bench.dsp.tmm) if bench.dsp.tmm else default_tmm())
        self._codec = RemotePartyCodec(keys)
        self._counter = OriginatorCounter(bench.user.counter_start)
        self._in_flight: dict[tuple[Eui64, int], _InFlight] = {}
        self._by_eui = {device.eui: device for device in devices.values()}
        #: The DSP's Smart Metering Inventory: the bench's devices by EUI.
        self._inventory = {
            config.eui: InventoryDevice(config.eui, DeviceType(config.kind.upper()))
            for config in bench.devices.values()
        }
        #: The DCC's own originator counter, for the use cases it originates (CCS01/02).
        self._dcc_counter = OriginatorCounter(1)
        self._down: dict[str, str] = {}
        self._seq = itertools.count(1)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="rig-loop", daemon=True)
        self._dsp: Dsp | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> Rig:
        """Start the loop thread and every device; on failure, undo what was started."""
        self._thread.start()
        try:
            self._call(self._open())
        except BaseException:
            self.close()
            raise
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
        )
        for device in self.devices.values():
            await device.open(self._loop, self)

    def close(self) -> None:
        if self._thread.is_alive():
            self._call(self._close())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop.close()
        self.results.close()

    async def _close(self) -> None:
        for entry in list(self._in_flight.values()):
            self._finish(entry, "rig closed before the device answered")
        for device in self.devices.values():
            await device.close()

    def __enter__(self) -> Rig:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    # -- the User's side: DUIS-level requests ----------------------------------------------

    def top_up(
        self,
        device: str,
        *,
        pence: int | None = None,
        pounds: int | None = None,
        utrn_target: Eui64 | None = None,
        mangle: Mangle | None = None,
        timeout: float | None = None,
    ) -> RequestRecord:
        """SRV 2.2 Top Up Device; blocks until the response is delivered or the request fails.

        Give exactly one of ``pence`` (up to 8191) or ``pounds`` (up to 8191). ``utrn_target``
        makes the UTRN for another device (a bad-input case); ``mangle`` alters the frame on its
        way to the wire (fault injection).
        """
        future = self.submit_top_up(
            device, pence=pence, pounds=pounds, utrn_target=utrn_target, mangle=mangle
        )
        return future.result(timeout)

    def read_supply_status(
        self,
        device: str,
        *,
        counter: int | None = None,
        mangle: Mangle | None = None,
        timeout: float | None = None,
    ) -> RequestRecord:
        """SRV 7.4 Read Supply Status; ``counter`` forces a RequestID counter (replay tests)."""
        return self.submit_read_supply_status(device, counter=counter, mangle=mangle).result(
            timeout
        )

    def submit_top_up(
        self,
        device: str,
        *,
        pence: int | None = None,
        pounds: int | None = None,
        utrn_target: Eui64 | None = None,
        mangle: Mangle | None = None,
    ) -> concurrent.futures.Future[RequestRecord]:
        """Non-blocking SRV 2.2: returns a future of the completed record."""
        if (pence is None) == (pounds is None):
            raise ValueError("top_up needs exactly one of pence= or pounds=")
        value, value_class = (
            (pence, ValueClass.PENNIES) if pence is not None else (pounds, ValueClass.POUNDS)
        )
        target = self.bench.device(device).eui
        originator = self.bench.user.eui

        def build(counter: int) -> TopUpDevice:
            utrn = make_utrn(
                self._keys.ka_private(originator, prepayment=True),
                self._keys.ka_public(utrn_target or target),
                originator,
                utrn_target or target,
                counter,
                value,
                value_class,
            )
            return TopUpDevice(utrn)

        return self._submit(device, build, utrn=True, counter=None, mangle=mangle)

    def submit_read_supply_status(
        self, device: str, *, counter: int | None = None, mangle: Mangle | None = None
    ) -> concurrent.futures.Future[RequestRecord]:
        """Non-blocking SRV 7.4: returns a future of the completed record."""
        return self._submit(
            device, lambda _: ReadSupplyStatus(), utrn=False, counter=counter, mangle=mangle
        )

    def request(
        self,
        device: str,
        body: Body,
        *,
        mangle: Mangle | None = None,
        timeout: float | None = None,
    ) -> RequestRecord:
        """Any SRV the transform supports, from the bench's User; blocks until it completes.

        ``rig.request("esme", DisableSupply())`` runs SRV 7.2 (critical: signed by the User's
        DS key, then MAC'd by the ACB).
        """
        return self.submit_srv(device, body, mangle=mangle).result(timeout)

    def submit_srv(
        self, device: str, body: Body, *, mangle: Mangle | None = None
    ) -> concurrent.futures.Future[RequestRecord]:
        """Non-blocking :meth:`request`: returns a future of the completed record."""
        return self._submit(device, lambda _: body, utrn=False, counter=None, mangle=mangle)

    def submit(
        self, request: ServiceRequest, *, mangle: Mangle | None = None
    ) -> concurrent.futures.Future[RequestRecord]:
        """Any DUIS-level request, with its own RequestID (a replayed User's, for example);
        the target must be a device of the bench. Returns a future of the completed record."""
        future: concurrent.futures.Future[RequestRecord] = concurrent.futures.Future()
        self._loop.call_soon_threadsafe(self._on_loop, future, lambda: request, mangle)
        return future

    def note(self, record: dict[str, Any]) -> None:
        """Add a record of the caller's to the results (written on the loop, the one writer)."""
        self._loop.call_soon_threadsafe(self.results.write, record)

    def _submit(
        self,
        device_name: str,
        build: Callable[[int], Body],
        *,
        utrn: bool,
        counter: int | None,
        mangle: Mangle | None,
    ) -> concurrent.futures.Future[RequestRecord]:
        """A request from the bench's User: its counter is allocated on the loop, in order."""
        target = self.bench.device(device_name).eui

        def make() -> ServiceRequest:
            if counter is not None:
                chosen = counter
            else:
                chosen = self._counter.next_for_utrn() if utrn else self._counter.next()
            body = build(chosen)
            variant = (
                CommandVariant.CRITICAL_TRANSFORM
                if SRV_MATRIX[body.srv].critical
                else CommandVariant.NON_CRITICAL_WAN
            )
            return ServiceRequest(RequestId(self.bench.user.eui, target, chosen), body, variant)

        future: concurrent.futures.Future[RequestRecord] = concurrent.futures.Future()
        self._loop.call_soon_threadsafe(self._on_loop, future, make, mangle)
        return future

    def _on_loop(
        self,
        future: concurrent.futures.Future[RequestRecord],
        make: Callable[[], ServiceRequest],
        mangle: Mangle | None,
    ) -> None:
        try:
            self._enqueue(make(), future, mangle)
        except Exception as exc:  # surfaced to the caller, never lost in the loop
            future.set_exception(exc)

    def _enqueue(
        self,
        request: ServiceRequest,
        future: concurrent.futures.Future[RequestRecord],
        mangle: Mangle | None,
    ) -> None:
        """Validate and transform (DUIS → GBCS, domain.md §7), then queue in the DSP."""
        assert self._dsp is not None
        rid = request.request_id
        record = RequestRecord(
            request_id=str(rid), srv=request.srv, target=str(rid.target), user=self.bench.user.name
        )
        now = self._loop.time()
        record.stamp("submitted", now)
        device = self._by_eui.get(rid.target)
        try:
            command = to_gbcs(request, self._inventory)
            dcc_counter = (
                self._dcc_counter.next() if command.message_code in DCC_ORIGINATED else None
            )
            signing = command_signing(request, command, dcc_counter=dcc_counter)
        except DuisError as exc:
            record.fail(str(exc))
            future.set_result(record)
            self.results.write({"kind": "request", **record.to_json()})
            return
        assert device is not None  # to_gbcs answers E19 for a target not in the inventory
        entry = _InFlight(record, request, signing, command.critical, device, future, mangle)
        if entry.key in self._in_flight:
            record.fail(f"GBCS counter {entry.key[1]} already in flight to {entry.key[0]}")
            self._write(entry)
            return
        self._in_flight[entry.key] = entry
        dsp_request = DspRequest(
            request_id=record.request_id,
            srv=request.srv,
            mode=Mode.FUTURE_DATED if request.execution_date_time else Mode.ON_DEMAND,
            user=self.bench.user.name,
            target=record.target,
            payload=entry.key,
        )
        record.priority = self._tmm.level_of(request.srv)
        ack = self._dsp.submit(dsp_request)
        record.ack_code = ack.code
        if ack.code != ACK_CODE:  # refused at the door (e.g. SECMP0067 throttling)
            del self._in_flight[entry.key]
            record.fail(f"DSP refused the request: {ack.code}")
            self._write(entry)
            return
        record.stamp("acknowledged", ack.at)

    # -- southbound: DSP dispatch → codec → wire ------------------------------------------

    def _dispatch(self, dsp_request: DspRequest) -> None:
        entry = self._in_flight.get(dsp_request.payload)  # type: ignore[arg-type]
        if entry is None:
            return
        assert dsp_request.dequeued_at is not None
        entry.record.stamp("dequeued", dsp_request.dequeued_at)
        frame = self._frame(entry)
        if entry.mangle is not None:
            frame = entry.mangle(frame)
        device = entry.device
        try:
            if device.name in self._down:
                raise LinkDown(f"{device.name}: {self._down[device.name]}")
            on_wire = device.send(frame)
        except (LinkDown, OSError) as exc:
            self._finish(entry, f"could not send to {device.name}: {exc}")
            return
        entry.record.stamp("on_wire", on_wire)
        timeout = self.bench.device(device.name).response_timeout_s
        entry.timer = self._loop.call_at(
            on_wire + timeout,
            lambda: self._finish(entry, f"no response from {device.name} within {timeout:g} s"),
        )

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
        try:
            message = self._codec.open_response(frame)
        except (GbcsError, KeyNotFound) as exc:
            self.results.write(
                {
                    "kind": "error",
                    "device": device.name,
                    "at": at,
                    "error": str(exc),
                    "frame": frame.hex(),
                }
            )
            return
        signing = message.signing
        if signing.cra is Cra.RESPONSE:
            entry = self._in_flight.get((signing.originator, signing.counter))
            if entry is not None:
                entry.record.stamp("device_response", at)
        assert self._dsp is not None
        self._dsp.respond(_Northbound(device, message, at))

    def link_lost(self, device: Device, reason: str) -> None:
        """Fail what is on the wire to the device; refuse new sends until it is restored."""
        self._down[device.name] = f"link lost: {reason}"
        self.results.write(
            {"kind": "link", "device": device.name, "at": self._loop.time(), "event": reason}
        )
        for entry in list(self._in_flight.values()):
            if entry.device is device and "on_wire" in entry.record.stamps:
                self._finish(entry, f"link to {device.name} lost: {reason}")

    def link_restored(self, device: Device) -> None:
        """A reconnecting link is back: requests to the device are sent again."""
        self._down.pop(device.name, None)
        self.results.write(
            {"kind": "link", "device": device.name, "at": self._loop.time(), "event": "restored"}
        )

    def _deliver(self, item: object) -> None:
        assert isinstance(item, _Northbound)
        signing = item.message.signing
        try:
            body = usecases.decode_payload(signing.message_code, signing.payload, signing.cra)
        except GbcsError as exc:
            body, undecodable = None, f"response payload undecodable: {exc}"
        else:
            undecodable = None
        if signing.cra is Cra.ALERT:
            self._on_alert(item, body)
            return
        entry = self._in_flight.get((signing.originator, signing.counter))
        if entry is None:
            self.results.write(
                {
                    "kind": "late_response",
                    "device": item.device.name,
                    "counter": signing.counter,
                    "at": item.received_at,
                    "response": _describe(body),
                }
            )
            return
        entry.record.response = _describe(body)
        entry.record.stamp("delivered", self._loop.time())
        result = getattr(body, "result", 0)
        if undecodable:
            self._finish(entry, undecodable)
        elif result:
            alerts = ", ".join(f"0x{a['code']:04X} {a['name']}" for a in entry.record.alerts)
            why = f"device rejected the command (result {result})"
            self._finish(entry, f"{why}; alert {alerts}" if alerts else why)
        else:
            self._finish(entry, None)

    def _on_alert(self, item: _Northbound, body: object) -> None:
        code = getattr(body, "alert_code", None)
        alert = {
            "code": code,
            "name": usecases.ALERT_CODES.get(code, "unknown") if code is not None else "unknown",
            "at": item.received_at,
            "device": item.device.name,
        }
        self.results.write({"kind": "alert", **alert})
        waiting = [
            e
            for e in self._in_flight.values()
            if e.device is item.device and "on_wire" in e.record.stamps
        ]
        if not waiting:
            return
        oldest = min(waiting, key=lambda e: e.record.stamps["on_wire"])
        oldest.record.alerts.append(alert)
        if code in REFUSAL_ALERTS:
            self._finish(oldest, f"device refused the command: alert 0x{code:04X} {alert['name']}")

    def _finish(self, entry: _InFlight, failure: str | None) -> None:
        """Complete a request exactly once: write it and resolve the caller's future."""
        if self._in_flight.get(entry.key) is not entry:
            return
        del self._in_flight[entry.key]
        if entry.timer is not None:
            entry.timer.cancel()
        if failure is None:
            entry.record.outcome = "ok"
        else:
            entry.record.fail(failure)
        self._write(entry)

    def _write(self, entry: _InFlight) -> None:
        self.results.write({"kind": "request", **entry.record.to_json()})
        entry.future.set_result(entry.record)


def _describe(body: object) -> dict[str, Any] | None:
    """A JSON-ready view of a decoded payload (None for one that did not decode)."""
    if body is None:
        return None
    fields = getattr(body, "__dict__", None) or {
        name: getattr(body, name) for name in getattr(body, "__slots__", ())
    }
    view: dict[str, Any] = {"type": type(body).__name__}
    for name, value in fields.items():
        view[name] = value.hex() if isinstance(value, bytes) else value
    return view
