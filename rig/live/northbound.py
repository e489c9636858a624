"""The device side of the live rig, a mixin of :class:`~rig.live.orchestrator.Rig`: frames
from devices matched to the command in flight, link events, and delivery to the User (responses
verified and decoded, alerts through the DSP's storm protection, refusals named).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from devices.api import Device
from rig.dsp.alerts import DeviceAlert
from rig.gbcs import usecases
from rig.gbcs.codes import message_code_name
from rig.gbcs.errors import GbcsError, VerifyError
from rig.gbcs.frame import Cra, GeneralSigning, decode
from rig.keys.keystore import KeyNotFound, Role
from rig.live.inflight import DccEvent, InFlight, VerifiedFrame
from rig.live.response_view import describe, failed_result
from rig.live.rig_state import RigState

#: How a lost link's reason starts (devices/transports/serial_link.py LINK_LOST starts so too).
_LINK_LOST = "link lost"

#: Alert codes a device raises when it refuses a command outright (firmware_stubs/esme.py).
REFUSAL_ALERTS = frozenset({0x8F30})


class Northbound(RigState):
    """What comes back from the devices (``Rig`` provides the state it reads)."""

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
            self._dsp.respond(VerifiedFrame(device, message, at, frame))
            return
        stamps = entry.record.stamps
        if stamps.get("on_wire", at) > at:
            # A reader thread (RFC 2217, TCP) read the answer before the loop thread resumed
            # from the write to note its end: the command was on the wire by then.
            stamps["on_wire"] = at
        entry.record.stamp("device_response", at)
        self._dsp.respond(VerifiedFrame(device, message, at, frame), request=entry.dsp)

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

    def _oldest_on_wire(self, device: Hashable) -> InFlight | None:
        """The request to the device named ``device`` longest on the wire, if any (an alert
        names its device as a ``Hashable``: rig/dsp/alerts.py)."""
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

    def send_failed(self, device: Device, frame: bytes, reason: str) -> None:
        """A frame sent to ``device`` was not delivered: the request that sent it fails now
        with ``reason`` rather than by its response timeout. The request is the one the frame's
        header names (recipient, originator, counter), or for a frame whose header does not
        parse (a plan's mangle hook) the one longest on the wire to the device."""
        try:
            signing = decode(frame).signing
        except (GbcsError, ValueError):
            entry = self._oldest_on_wire(device.name)
        else:
            entry = self._in_flight.get(
                (signing.recipient.raw, signing.originator.raw, signing.counter)
            )
        if entry is not None and entry.device is device:
            self._finish(entry, reason)

    def link_lost(self, device: Device, reason: str) -> None:
        """Fail what is on the wire to the device; refuse new sends until it is restored.
        The link's reason may say "link lost" itself: it is said once. A device a labgrid place
        serves is named with the place and its exporter (``esme on place bench_b (exporter
        host-b): link lost (…)``), from the place's resources (rig/lab/mapping.py)."""
        detail = reason.removeprefix(_LINK_LOST)
        detail = detail if detail.startswith((" (", ": ")) else f": {detail}"
        self._down[device.name] = f"{_LINK_LOST}{detail}"
        self._record(
            {"kind": "link", "device": device.name, "at": self._loop.time(), "event": reason}
        )
        for entry in list(self._in_flight.values()):
            if entry.device is device and "on_wire" in entry.record.stamps:
                self._finish(entry, f"{self._where(device)}: {self._down[device.name]}")

    def _where(self, device: Device) -> str:
        """The device's name, with the labgrid place and exporter that serve it if one does."""
        config = self.bench.devices.get(device.name)
        return f"{device.name} on {config.place}" if config and config.place else device.name

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
        if isinstance(item, DccEvent):
            self._record(
                {
                    "kind": "dcc_alert",
                    "event": item.event,
                    "user": item.user,
                    "request_id": str(item.request_id),
                    "device": item.device,
                    "at": item.raised_at,
                    "delivered_at": self._loop.time(),
                }
            )
            if self.dcc_alert_relay is not None:  # rig serve: POSTed to the User's endpoint
                self.dcc_alert_relay(item)
            return
        assert isinstance(item, VerifiedFrame)
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
        entry.frame = item.frame
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
        if self.alert_relay is not None:  # rig serve: POSTed to the User's endpoint too
            self.alert_relay(item)
        oldest = self._oldest_on_wire(item.device)
        if oldest is None:
            return
        oldest.record.alerts.append(alert)
        if code in REFUSAL_ALERTS:
            self._finish(oldest, self._refused(oldest, f"alert 0x{code:04X} {alert['name']}"))

    def _refused(self, entry: InFlight, alert: str) -> str:
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
            f"{why}; counters resume above those kept in {self._kept.where}: if the meter "
            "has seen higher ones, raise the User's counter_start above them"
        )
