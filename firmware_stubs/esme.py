"""The electricity meter (ESME) as a pure state machine: bytes and a time in, bytes out.

No I/O and no wall clock: the host (``devices/emulated``) feeds it frames with the current time
and writes back what it returns, after the processing delay it asks for. The same object runs
behind a pty, in a simulation, or directly in a unit test.

Command checks, in the order a meter applies them (reference/gbcs.md §1.3, §1.4, §2):

1. the frame parses and is addressed to this device, else it is discarded;
2. the Access Control Broker's MAC verifies, and the originator counter is greater than the last
   one accepted from that remote party (anti-replay), else the command is discarded and a
   critical alert 0x8F30 "Source Does not have Authority for Command" goes to the originator;
3. for CS01a top-ups, the UTRN (GBCS §14): check digit (else 0x8F63 "UTRN not Authentic"), not
   seen before (else 0x8F51 "Duplicate UTRN entered"), MAC for this device and counter (else
   0x8F64 "UTRN not for this Device": a UTRN whose check digit holds but whose MAC fails was
   transcribed correctly and made for another device or counter), counter above the last
   accepted UTRN counter (else 0x8F51), credit within the maximum credit threshold (else 0x8F5B).
   A rejected top-up gets a response with a failed action result and a non-critical alert.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric import ec

from rig.gbcs import usecases
from rig.gbcs.codec import DeviceCodec
from rig.gbcs.dlms import cosem_datetime
from rig.gbcs.errors import DecodeError, VerifyError
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import Cra, Message
from rig.gbcs.usecases import SupplyState
from rig.gbcs.utrn import UtrnRejection, pence, verify_utrn
from rig.keys.keystore import KeyNotFound, KeyStore

#: Alert codes the ESME raises (names from reference/gbcs.md §1.6).
ALERT_NO_AUTHORITY = 0x8F30
ALERT_UTRN_NOT_AUTHENTIC = 0x8F63
ALERT_UTRN_NOT_FOR_DEVICE = 0x8F64
ALERT_UTRN_DUPLICATE = 0x8F51
ALERT_UTRN_OVER_MAX_CREDIT = 0x8F5B

#: DLMS action-result for a rejected top-up, as in the RTDS CS01a ERROR response.
RESULT_FAILED = 0x01

_log = logging.getLogger(__name__)

_UTRN_ALERTS = {
    UtrnRejection.NOT_AUTHENTIC: ALERT_UTRN_NOT_AUTHENTIC,
    UtrnRejection.NOT_FOR_DEVICE: ALERT_UTRN_NOT_FOR_DEVICE,
    UtrnRejection.DUPLICATE: ALERT_UTRN_DUPLICATE,
}


@dataclass(frozen=True)
class EsmeSettings:
    """Behaviour knobs, each a setting rather than a constant in the code."""

    #: Maximum credit threshold in pence. [ASSUMED] a bench default; a real meter has it set by
    #: SRV 2.1 (Update Prepay Configuration).
    max_credit_pence: int = 50_000
    #: Seconds the meter takes to process a command before it answers. [ASSUMED] bench default.
    processing_time: float = 0.002
    #: How many accepted UTRNs the meter remembers for duplicate detection. [ASSUMED]
    utrn_memory: int = 64


@dataclass
class EsmeState:
    """What the meter remembers between commands."""

    credit_pence: int = 0
    supply: SupplyState = SupplyState.CONNECTED
    last_command_counter: dict[Eui64, int] = field(default_factory=dict)
    last_utrn_counter: dict[Eui64, int] = field(default_factory=dict)
    alert_counter: int = 0
    accepted_utrns: deque[str] = field(default_factory=lambda: deque(maxlen=64))


Output = list[tuple[float, bytes]]


class Esme:
    """An ESME answering CS01a (SRV 2.2 top-up), ECS42/43/44 (SRV 7.1/7.2/7.3 enable, disable,
    arm) and ECS45 (SRV 7.4 read supply status)."""

    def __init__(
        self,
        eui: Eui64,
        *,
        ka_private: ec.EllipticCurvePrivateKey,
        ds_private: ec.EllipticCurvePrivateKey,
        keys: KeyStore,
        settings: EsmeSettings | None = None,
        state: EsmeState | None = None,
        wall_clock_offset: float = 0.0,
    ) -> None:
        self.eui = eui
        self.settings = settings or EsmeSettings()
        self.state = state or EsmeState(accepted_utrns=deque(maxlen=self.settings.utrn_memory))
        self._keys = keys
        self._ka_private = ka_private
        self._codec = DeviceCodec(eui, ka_private=ka_private, ds_private=ds_private, keys=keys)
        self._wall_clock_offset = wall_clock_offset
        #: Why recent frames were discarded or rejected, newest last (for the host's log).
        self.events: deque[str] = deque(maxlen=256)

    def _note(self, event: str) -> None:
        self.events.append(event)
        _log.info("%s: %s", self.eui, event)

    # -- the firmware protocol ------------------------------------------------------------

    def handle(self, frame: bytes, now: float) -> Output:
        """Process one GBCS frame received at ``now``; return (delay, frame) pairs to send."""
        try:
            command = self._codec.open_command(frame)
        except DecodeError as exc:
            self._note(f"discarded malformed frame: {exc}")
            return []
        except VerifyError as exc:
            return self._refuse(frame, now, f"MAC check failed: {exc}")
        except KeyNotFound as exc:
            return self._refuse(frame, now, f"unknown originator: {exc}")
        signing = command.signing
        if signing.cra is not Cra.COMMAND or signing.recipient != self.eui:
            self._note(f"discarded frame for {signing.recipient} (cra {signing.cra})")
            return []
        last = self.state.last_command_counter.get(signing.originator, 0)
        if signing.counter <= last:
            return self._refuse(
                frame, now, f"replayed counter {signing.counter} <= last accepted {last}"
            )
        self.state.last_command_counter[signing.originator] = signing.counter
        body = usecases.decode_payload(signing.message_code, signing.payload, signing.cra)
        if isinstance(body, usecases.TopUpEsme):
            return self._top_up(command, body, now)
        if isinstance(body, usecases.ReadSupplyStatusEsme):
            reply = usecases.ReadSupplyStatusEsmeResponse(control_state=self.state.supply)
            return [self._respond(command, reply)]
        if isinstance(body, usecases.ChangeSupplyEsme):
            # ECS42/43/44 (SRV 7.1/7.2/7.3) are critical: open_command verified the supplier's
            # signature, and the response is signed by the meter (reference/gbcs.md §1.3).
            self.state.supply = body.target
            return [self._respond(command, usecases.ChangeSupplyEsmeResponse(result=0))]
        self._note(f"message code 0x{signing.message_code:04X} not supported by this stub")
        return []

    # -- use cases ------------------------------------------------------------------------

    def _top_up(self, command: Message, body: usecases.TopUpEsme, now: float) -> Output:
        signing = command.signing
        if body.utrn in self.state.accepted_utrns:
            return self._reject_top_up(command, now, ALERT_UTRN_DUPLICATE, "UTRN already used")
        try:
            utrn = verify_utrn(
                body.utrn,
                self._keys.ka_public(signing.originator, prepayment=True),
                self._ka_private,
                signing.originator,
                self.eui,
                signing.counter,
            )
        except VerifyError as exc:
            rejection = getattr(exc, "rejection", UtrnRejection.NOT_AUTHENTIC)
            return self._reject_top_up(command, now, _UTRN_ALERTS[rejection], str(exc))
        if signing.counter <= self.state.last_utrn_counter.get(signing.originator, 0):
            return self._reject_top_up(
                command, now, ALERT_UTRN_DUPLICATE, "UTRN counter not above the last accepted"
            )
        value = pence(utrn)
        if self.state.credit_pence + value > self.settings.max_credit_pence:
            return self._reject_top_up(
                command, now, ALERT_UTRN_OVER_MAX_CREDIT, "credit would exceed the maximum"
            )
        self.state.credit_pence += value
        self.state.last_utrn_counter[signing.originator] = signing.counter
        self.state.accepted_utrns.append(body.utrn)
        if self.state.supply is SupplyState.DISCONNECTED and self.state.credit_pence > 0:
            self.state.supply = SupplyState.ARMED
        return [self._respond(command, usecases.TopUpEsmeResponse(result=0), now)]

    def _reject_top_up(self, command: Message, now: float, code: int, why: str) -> Output:
        self._note(f"top-up rejected (alert 0x{code:04X}): {why}")
        response = self._respond(command, usecases.TopUpEsmeResponse(result=RESULT_FAILED), now)
        alert = self._alert(command.signing.originator, code, now, critical=False)
        return [alert, response]  # the alert first, so the User has it when the response lands

    def _refuse(self, frame: bytes, now: float, why: str) -> Output:
        """Discard a command that failed authentication; tell its claimed originator."""
        self._note(f"command discarded: {why}")
        try:
            originator = self._codec.peek_originator(frame)
            self._keys.ka_public(originator)
        except (DecodeError, KeyNotFound):
            return []
        return [self._alert(originator, ALERT_NO_AUTHORITY, now, critical=True)]

    # -- output ---------------------------------------------------------------------------

    def _device_time(self, now: float) -> bytes:
        moment = datetime.fromtimestamp(0, UTC) + timedelta(seconds=now + self._wall_clock_offset)
        return cosem_datetime(moment)

    def _respond(
        self, command: Message, reply: object, now: float | None = None
    ) -> tuple[float, bytes]:
        """A response to ``command``; stamped with the device time when ``now`` is given
        (RTDS: CS01a responses carry a date-time, ECS45 responses none)."""
        payload = usecases.encode_payload(reply, command.signing.counter)
        stamp = None if now is None else self._device_time(now)
        frame = self._codec.build_response(command, payload, date_time=stamp)
        return self.settings.processing_time, frame

    def _alert(
        self, recipient: Eui64, code: int, now: float, *, critical: bool
    ) -> tuple[float, bytes]:
        self.state.alert_counter += 1
        counter = self.state.alert_counter
        alert = usecases.DlmsAlert(alert_code=code, date_time=self._device_time(now))
        message_code = (
            usecases.GENERIC_CRITICAL_ALERT if critical else usecases.GENERIC_NON_CRITICAL_ALERT
        )
        payload = usecases.encode_payload(alert, counter)
        frame = self._codec.build_alert(
            recipient, counter, message_code, payload, critical=critical
        )
        return self.settings.processing_time, frame
