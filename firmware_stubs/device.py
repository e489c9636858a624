"""What every emulated smart device shares: the command checks, answers and alerts.

Command checks, in the order a device applies them (reference/gbcs.md §1.3, §1.4, §2):

1. the frame parses and is a command addressed to this device, else it is discarded;
2. the Access Control Broker's MAC (and the supplier's signature on a critical command)
   verifies, and the originator counter is greater than the last one accepted from that remote
   party (anti-replay), else the command is discarded and a critical alert 0x8F30 "Source Does
   not have Authority for Command" goes to the claimed originator, if it is a known party;
3. the payload decodes as its message code's use case, else the authenticated command is
   discarded with a logged rejection, as for a use case the stub does not model (its counter
   stays used: it was authentic and fresh). A malformed payload is never an exception out of
   ``handle`` (issue 13).

Answers to a command are MAC'd, or signed when the command was signed (critical); alerts carry
the device's own counter. Every output leaves after a delay drawn from the device's seeded
processing-time model.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import NamedTuple

from cryptography.hazmat.primitives.asymmetric import ec

from firmware_stubs import future_dated as fd
from firmware_stubs.answers import CosemStore, ZclStore, dlms_answer, gbz_answer
from firmware_stubs.exemplars import (
    command_shape,
    exemplar,
    firmware_version,
    placeholder_plaintext,
)
from firmware_stubs.future_dated import Execution
from firmware_stubs.object_model import CosemKey, CosemModel, ZclKey, ZclModel
from firmware_stubs.timing import ProcessingModel, ProcessingTime
from rig.gbcs import protect, usecases
from rig.gbcs.asn1 import Asn1Payload
from rig.gbcs.codec import DeviceCodec
from rig.gbcs.codes import MESSAGE_CODE_TABLE
from rig.gbcs.cosem.payload import DLMS_TAGS, DlmsRequest
from rig.gbcs.dlms import ACCESS_REQUEST, Data, cosem_datetime
from rig.gbcs.dlms_usecases import ProtectionParameters
from rig.gbcs.errors import DecodeError, VerifyError
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import Cra, GeneralSigning, Message
from rig.gbcs.gbz import PROFILE, GbzComponent, ZclValue, decode_gbz, gbz_time
from rig.keys.keystore import KeyNotFound, KeyStore

ALERT_NO_AUTHORITY = 0x8F30
#: First bytes of DLMS (ACCESS-Request, -Response, Data-Notification) and GBZ payloads; any
#: other payload is ASN.1 (reference/gbcs.md §1.7).
_DLMS_OR_GBZ = frozenset(bytes([b]) for b in (*DLMS_TAGS, PROFILE[0]))

Output = list[tuple[float, bytes]]

_log = logging.getLogger(__name__)


@dataclass
class DeviceState:
    """What any device remembers between commands."""

    last_command_counter: dict[Eui64, int] = field(default_factory=dict)
    alert_counter: int = 0
    #: The remote party that last sent an accepted command: unsolicited alerts go there
    #: unless a recipient is configured.
    last_originator: Eui64 | None = None
    #: Future-dated instructions waiting for their date-time (firmware_stubs.future_dated).
    scheduled: list[Execution] = field(default_factory=list)


class Accepted(NamedTuple):
    """A command that passed every check, and its payload typed."""

    command: Message
    body: usecases.Payload


class SmartDevice:
    """Base of the ESME and GSME stubs: bind keys, check commands, build answers and alerts."""

    #: Whose RTDS exemplars the device answers from (firmware_stubs.exemplars): esme or gsme.
    exemplar_device = ""

    def __init__(
        self,
        eui: Eui64,
        *,
        ka_private: ec.EllipticCurvePrivateKey,
        ds_private: ec.EllipticCurvePrivateKey | None,
        keys: KeyStore,
        processing: ProcessingTime,
        seed: int,
        wall_clock_offset: float,
        alert_recipient: Eui64 | None,
        device_state: DeviceState,
    ) -> None:
        self.eui = eui
        self._keys = keys
        self._ka_private = ka_private
        self._codec = DeviceCodec(eui, ka_private=ka_private, ds_private=ds_private, keys=keys)
        self._processing = ProcessingModel(processing, seed)
        self._delay = processing.base
        self._wall_clock_offset = wall_clock_offset
        self._alert_recipient = alert_recipient
        self._device_state = device_state
        #: Why recent frames were discarded or rejected, newest last (for the host's log).
        self.events: deque[str] = deque(maxlen=256)

    def _note(self, event: str) -> None:
        self.events.append(event)
        _log.info("%s: %s", self.eui, event)

    def _accept(self, frame: bytes, now: float) -> Accepted | Output:
        """The verified, fresh command in ``frame`` and its typed payload; else what the device
        sends instead."""
        self._delay = self._processing.draw()
        try:
            command = self._codec.open_command(frame)
        except DecodeError as exc:
            self._note(f"discarded frame: {exc}")
            return []
        except VerifyError as exc:
            return self._refuse(frame, now, f"MAC or signature check failed: {exc}")
        except KeyNotFound as exc:
            return self._refuse(frame, now, f"unknown originator: {exc}")
        signing = command.signing
        state = self._device_state
        last = state.last_command_counter.get(signing.originator, 0)
        if signing.counter <= last:
            return self._refuse(
                frame, now, f"replayed counter {signing.counter} <= last accepted {last}"
            )
        state.last_command_counter[signing.originator] = signing.counter
        state.last_originator = signing.originator
        try:
            body = usecases.decode_payload(signing.message_code, signing.payload, signing.cra)
        except DecodeError as exc:
            code = signing.message_code
            self._note(f"command 0x{code:04X} from {signing.originator} discarded: payload {exc}")
            return []
        return Accepted(command, body)

    def _refuse(self, frame: bytes, now: float, why: str) -> Output:
        """Discard a command that failed authentication; tell its claimed originator."""
        self._note(f"command discarded: {why}")
        try:
            originator = self._codec.peek_originator(frame)
            self._keys.ka_public(originator)
        except (DecodeError, KeyNotFound):
            return []
        alert = self._alert_payload(ALERT_NO_AUTHORITY, now)
        return [self._alert(originator, alert, usecases.GENERIC_CRITICAL_ALERT, critical=True)]

    def _alert_payload(self, code: int, now: float) -> usecases.Payload:
        """The alert body in this device's payload format (DLMS; a GSME overrides it: GBZ)."""
        return usecases.DlmsAlert(code, self._device_time(now))

    # -- output ---------------------------------------------------------------------------

    def wall_time(self, now: float) -> float:
        """Seconds since the epoch (UTC) at monotonic ``now``."""
        return now + self._wall_clock_offset

    def _device_time(self, now: float) -> bytes:
        moment = datetime.fromtimestamp(0, UTC) + timedelta(seconds=self.wall_time(now))
        return cosem_datetime(moment)

    def _gbz_time(self, now: float) -> int:
        return gbz_time(datetime.fromtimestamp(self.wall_time(now), UTC))

    def _respond(
        self, command: Message, reply: usecases.Payload, now: float | None = None
    ) -> tuple[float, bytes]:
        """A response to ``command``; stamped with the device time when ``now`` is given."""
        payload = usecases.encode_payload(reply, command.signing.counter)
        stamp = None if now is None else self._device_time(now)
        return self._delay, self._codec.build_response(command, payload, date_time=stamp)

    def _response_signing(self, command: Message) -> GeneralSigning:
        """The transaction a response to ``command`` belongs to (for encrypted parts): with the
        command's supplementary remote party and counters, which key the part (§1.4) and which
        the response carries (``DeviceCodec.build_response``)."""
        c = command.signing
        return GeneralSigning(
            Cra.RESPONSE,
            c.counter,
            self.eui,
            c.originator,
            c.message_code,
            b"",
            supplementary_remote_party_id=c.supplementary_remote_party_id,
            supplementary_remote_party_counter=c.supplementary_remote_party_counter,
            supplementary_originator_counter=c.supplementary_originator_counter,
        )

    def _models(self) -> tuple[CosemModel | None, ZclModel | None]:
        """The device's COSEM and ZCL object models (None where it has none)."""
        return None, None

    def object_models(self) -> tuple[CosemModel | None, ZclModel | None]:
        """The device's COSEM and ZCL object models, live attributes bound (a GPF mirrors its
        GSME's)."""
        return self._models()

    def _answer(self, command: Message, now: float) -> Output:
        """The general answer (:mod:`firmware_stubs.answers`) to a use case the stub does not
        model by hand: from the object models and the use case's RTDS exemplar; a use case
        with neither is noted and not answered."""
        s = command.signing
        code, payload = s.message_code, s.payload
        ex = exemplar(code, command_shape(code, payload), self.exemplar_device)
        cosem, zcl = self._models()
        try:
            if payload[:1] == bytes([ACCESS_REQUEST]) and cosem is not None:
                request = DlmsRequest.decode(code, payload)
                protection = ProtectionParameters(s.counter, self.eui, s.originator)
                store, dated = self._dlms_dated(command, request, cosem, now)
                clear = dlms_answer(cosem, request, ex, protection, store).encode(s.counter)
            elif payload[:2] == PROFILE and zcl is not None:
                gbz_store, dated = self._gbz_dated(command, zcl, now)
                name = MESSAGE_CODE_TABLE[code].name
                clear = gbz_answer(zcl, payload, ex, name, gbz_store).encode()
            elif ex is not None and payload[:1] not in _DLMS_OR_GBZ:
                clear = ex.response  # ASN.1: the exemplar's response [ASSUMED]
                dated = self._asn1_dated(command, now)
            else:
                self._note(f"message code 0x{code:04X} not supported by this stub")
                return []
        except (DecodeError, ValueError) as exc:
            self._note(f"command 0x{code:04X} from {s.originator} not answered: {exc}")
            return []
        stamp = self._device_time(now) if ex is None or ex.dated else None
        try:
            sealed = self._seal_parts(command, clear)
            response = self._codec.build_response(command, sealed, date_time=stamp)
        except KeyNotFound as exc:  # a recipient (or supplementary party) it has no key of
            self._note(f"command 0x{code:04X} from {s.originator} not answered: {exc}")
            return []
        self._device_state.scheduled.extend(dated)
        for execution in dated:
            self._note(f"0x{code:04X} from {s.originator}: executes at {execution.due:.0f}")
        return [(self._delay, response)]

    def _dlms_dated(
        self, command: Message, request: DlmsRequest, model: CosemModel, now: float
    ) -> tuple[CosemStore | None, list[Execution]]:
        """A future-dated DLMS command's executions (one per activation date-time ahead), and
        the store that holds its other SETs until the first of them; (None, []) if undated."""
        s = command.signing
        dated = fd.dlms_activations(request, self.wall_time(now))
        if not dated:
            return None, []
        first = min(due for due, _ in dated)
        executions = [
            fd.Execution(
                due, s.originator, fd.FUTURE_DATED_DLMS, fd.dlms_alert(request, s.counter, i, due)
            )
            for due, i in sorted(dated)
        ]
        schedule = {
            (a.spec.class_id, a.spec.obis, a.spec.index)
            for a in (request.accesses[i] for _, i in dated)
        }
        held = next(e for e in executions if e.due == first).apply

        def store(key: CosemKey, value: Data, source: str) -> bool:
            if key in model.live:
                return False
            if key in schedule:
                return model.set(key, value, source)
            held.append(partial(model.set, key, value, source))
            return True

        return store, executions

    def _gbz_dated(
        self, command: Message, model: ZclModel, now: float
    ) -> tuple[ZclStore | None, list[Execution]]:
        """A GBZ command's dated components' executions, and the store that holds their
        written values; a cancelling component drops the waiting instruction it names."""
        s = command.signing
        components = decode_gbz(s.payload).components
        state = self._device_state
        cancelled = {(c.cluster, c.frame.command) for c in components if fd.cancels(c)}
        if cancelled:
            state.scheduled = [e for e in state.scheduled if e.instruction not in cancelled]
        wall = self.wall_time(now)
        executions: dict[GbzComponent, Execution] = {}
        for c in components:
            due = fd.gbz_due(c, wall)
            if due is not None:
                control = components[0].frame.frame_control
                alert = fd.gbz_alert(s.message_code, s.counter, c, due, control)
                instruction = (c.cluster, c.frame.command)
                executions[c] = fd.Execution(
                    due, s.originator, fd.FUTURE_DATED_GBZ, alert, instruction=instruction
                )
        if not executions:
            return None, []

        def store(
            component: GbzComponent, key: ZclKey, data_type: int, value: ZclValue, source: str
        ) -> bool:
            execution = executions.get(component)
            if execution is None or key in model.live:
                return model.set(key, data_type, value, source)
            execution.apply.append(partial(model.set, key, data_type, value, source))
            return True

        return store, list(executions.values())

    def _asn1_dated(self, command: Message, now: float) -> list[Execution]:
        """A future-dated CS06's execution (the firmware alert), if it is one."""
        s = command.signing
        body = usecases.decode_payload(s.message_code, s.payload, s.cra)
        if not isinstance(body, Asn1Payload):
            return []
        found = fd.asn1_due(body, self.wall_time(now))
        if found is None:
            return []
        due, executed = found
        version = firmware_version(self.exemplar_device)
        alert = fd.firmware_alert(body, executed, version)
        return [fd.Execution(due, s.originator, fd.FUTURE_DATED_FIRMWARE, alert)]

    def _execute_due(self, now: float) -> Output:
        """Apply the future-dated instructions whose date-time has come; their alerts."""
        state = self._device_state
        wall = self.wall_time(now)
        due = sorted((e for e in state.scheduled if e.due <= wall), key=lambda e: e.due)
        if not due:
            return []
        state.scheduled = [e for e in state.scheduled if e.due > wall]
        out: Output = []
        for execution in due:
            code, alert = execution.run()
            self._note(f"future-dated instruction executed: alert 0x{code:04X}")
            kind = execution.message_code
            out.append(self._alert(execution.recipient, alert, kind, critical=True))
        return out

    def _seal_parts(self, command: Message, clear: bytes) -> bytes:
        """``clear`` with each placeholder part encrypted for the command's originator."""
        payload = bytearray(clear)
        for part in protect.find_parts(replace(self._response_signing(command), payload=clear)):
            block = self._encrypt(command, placeholder_plaintext(part.block))
            payload[part.offset : part.offset + len(block)] = block
        return bytes(payload)

    def _encrypt(self, command: Message, plaintext: bytes) -> bytes:
        """A ``31 00000000 …`` part for the command's originator (KDF mode 04, §1.4)."""
        return self._codec.encrypt_part(self._response_signing(command), plaintext)

    def _alert(
        self, recipient: Eui64, alert: usecases.Payload, message_code: int, *, critical: bool
    ) -> tuple[float, bytes]:
        self._device_state.alert_counter += 1
        counter = self._device_state.alert_counter
        payload = usecases.encode_payload(alert, counter)
        frame = self._codec.build_alert(
            recipient, counter, message_code, payload, critical=critical
        )
        return self._delay, frame

    @property
    def alert_recipient(self) -> Eui64 | None:
        """Where unsolicited alerts go: the configured recipient, else the last remote party
        that sent an accepted command (None before any)."""
        return self._alert_recipient or self._device_state.last_originator

    def _unsolicited(
        self,
        alert: usecases.Payload,
        why: str,
        message_code: int = usecases.GENERIC_NON_CRITICAL_ALERT,
        *,
        critical: bool = False,
    ) -> Output:
        """An alert to :attr:`alert_recipient` (dropped, and noted, if none is known)."""
        self._note(why)
        if self.alert_recipient is None:
            self._note("no alert recipient known yet: alert dropped")
            return []
        return [self._alert(self.alert_recipient, alert, message_code, critical=critical)]
