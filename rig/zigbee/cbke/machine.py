"""The Key Establishment cluster (0x0800) of SE 1.2a (§C.3 and Annex C.4), crypto suite 2, one
side at a time: pure state machines that take and give the cluster's command payloads.

Commands (cluster-specific, the same ids both ways; SE 1.2a C.3.1.2/C.3.2.2):

======== ===================================== ===========================================
id       client to server (initiator)           server to client (responder)
======== ===================================== ===========================================
0x00     Initiate Key Establishment Request    Initiate Key Establishment Response
0x01     Ephemeral Data Request (QEU)          Ephemeral Data Response (QEV)
0x02     Confirm Key Data Request (MACU)       Confirm Key Data Response (MACV)
0x03     Terminate Key Establishment           Terminate Key Establishment
======== ===================================== ===========================================

Payloads: Initiate = suite (uint16 LE, 0x0002), Ephemeral Data Generate Time and Confirm Key
Generate Time (uint8 seconds each), the 74-byte certificate; Ephemeral Data = the 37-byte
compressed point; Confirm = the 16-byte MAC; Terminate = status, wait time (uint8 seconds),
suite (uint16 LE). The ZCL header (frame control with its direction bit, sequence number,
command id) is the ZCL layer's; a :class:`Frame` is its command id and payload.

Each side waits for the peer's next message at most the time the peer announced for producing
it (its Initiate message's generate times) plus :data:`MARGIN_S`, and the initiator waits
:data:`RESPONSE_TIMEOUT_S` for the Initiate response; the clock decides (``check_timeout``). A
timed-out side fails locally and sends nothing. [ASSUMED] the margin and the response timeout
(the SE text leaves them to the implementation).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import Final

from rig.clock import Clock
from rig.zigbee.cbke import agreement, curve
from rig.zigbee.cbke.agreement import M_U, M_V, AgreementError
from rig.zigbee.cbke.curve import G, Point, PointError
from rig.zigbee.cbke.ecqv import KEY_AGREEMENT, Certificate, CertificateError, Random, random_scalar

CLUSTER: Final = 0x0800
SUITE_2: Final = 0x0002
#: [ASSUMED] seconds added to the peer's announced generate time before giving up on it.
MARGIN_S: Final = 5.0
#: [ASSUMED] seconds the initiator waits for the Initiate Key Establishment Response.
RESPONSE_TIMEOUT_S: Final = 10.0
#: [ASSUMED] our own generate times (seconds) and the wait time we ask for when busy.
GENERATE_TIME_S: Final = 10
WAIT_TIME_S: Final = 10


class Command(IntEnum):
    INITIATE = 0x00
    EPHEMERAL_DATA = 0x01
    CONFIRM_KEY = 0x02
    TERMINATE = 0x03


class Status(IntEnum):
    """Terminate Key Establishment status (SE 1.2a Table C-11)."""

    UNKNOWN_ISSUER = 0x01
    BAD_KEY_CONFIRM = 0x02
    BAD_MESSAGE = 0x03
    NO_RESOURCES = 0x04
    UNSUPPORTED_SUITE = 0x05
    INVALID_CERTIFICATE = 0x06


class State(Enum):
    IDLE = "idle"
    AWAIT_INITIATE = "awaiting Initiate Key Establishment"
    AWAIT_EPHEMERAL = "awaiting Ephemeral Data"
    AWAIT_CONFIRM = "awaiting Confirm Key Data"
    DONE = "key established"
    FAILED = "failed"


@dataclass(frozen=True)
class Frame:
    """One Key Establishment command: its id and its payload."""

    command: Command
    payload: bytes


@dataclass(frozen=True)
class Identity:
    """What a device brings to CBKE: its EUI-64 (most significant byte first), its static
    private key and certificate, and the CA it trusts (issuer id and public key)."""

    eui: bytes
    private: int
    certificate: Certificate
    ca_issuer: bytes
    ca_public: Point


class _Refusal(Exception):
    """A received message that ends the exchange with a Terminate of ``status``."""

    def __init__(self, status: Status, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def terminate_payload(status: Status, wait_time: int = WAIT_TIME_S) -> bytes:
    return bytes((status, wait_time)) + SUITE_2.to_bytes(2, "little")


def _initiate_payload(certificate: Certificate) -> bytes:
    times = bytes((GENERATE_TIME_S, GENERATE_TIME_S))
    return SUITE_2.to_bytes(2, "little") + times + certificate.encode()


class _Side:
    """What both sides share: the peer's checks, the keys, the timeouts, the outcome."""

    def __init__(
        self, identity: Identity, peer_eui: bytes, clock: Clock, rng: Random = secrets.token_bytes
    ) -> None:
        self.identity = identity
        self.peer_eui = peer_eui
        self.clock = clock
        self.rng = rng
        self.state = State.IDLE
        self.deadline: float | None = None
        #: KeyData, the APS link key, once the peer's MAC checked out.
        self.key: bytes | None = None
        #: One line saying why the exchange failed (who refused, the status, the cause).
        self.failure: str | None = None
        self._peer_static: Point = None
        self._peer_times = (0, 0)
        self._ephemeral = 0
        self._own_e = b""
        self._peer_e = b""
        self._mac_key = b""
        self._key_data = b""

    def receive(self, frame: Frame) -> list[Frame]:
        """The frames to send in answer to ``frame`` from the peer (perhaps none)."""
        if self.state in (State.DONE, State.FAILED):
            return []
        if frame.command == Command.TERMINATE:
            self._fail(f"peer terminated: {_describe_terminate(frame.payload)}")
            return []
        try:
            return self._handle(frame)
        except _Refusal as refusal:
            self._fail(f"refused the peer: {refusal.status.name}: {refusal}")
            return [Frame(Command.TERMINATE, terminate_payload(refusal.status))]

    def check_timeout(self) -> bool:
        """Whether the exchange has just timed out (it then fails, sending nothing)."""
        if self.deadline is None or self.state in (State.DONE, State.FAILED):
            return False
        if self.clock.now() < self.deadline:
            return False
        self._fail(f"timed out {self.state.value}")
        return True

    def _handle(self, frame: Frame) -> list[Frame]:
        raise NotImplementedError

    def _fail(self, reason: str) -> None:
        self.state, self.failure, self.deadline = State.FAILED, reason, None

    def _await(self, state: State, seconds: float) -> None:
        self.state, self.deadline = state, self.clock.now() + seconds

    def _expect(self, frame: Frame, state: State, command: Command, length: int) -> None:
        if self.state != state or frame.command != command:
            raise _Refusal(
                Status.BAD_MESSAGE, f"{frame.command.name} is not expected while {self.state.value}"
            )
        if len(frame.payload) != length:
            raise _Refusal(
                Status.BAD_MESSAGE,
                f"{command.name} payload is {len(frame.payload)} bytes, not {length}",
            )

    def _accept_initiate(self, payload: bytes) -> None:
        """The peer's Initiate message: suite, times, certificate (SE C.4.2.1 checks)."""
        suite = int.from_bytes(payload[:2], "little")
        if suite != SUITE_2:
            raise _Refusal(Status.UNSUPPORTED_SUITE, f"suite 0x{suite:04X} is not suite 2")
        try:
            cert = Certificate.decode(payload[4:])
        except CertificateError as error:
            raise _Refusal(Status.BAD_MESSAGE, str(error)) from None
        if cert.issuer != self.identity.ca_issuer:
            raise _Refusal(
                Status.UNKNOWN_ISSUER, f"certificate issuer {cert.issuer.hex().upper()} unknown"
            )
        if cert.subject != self.peer_eui:
            raise _Refusal(
                Status.INVALID_CERTIFICATE,
                f"certificate subject {cert.subject.hex().upper()} is not the peer "
                f"{self.peer_eui.hex().upper()}",
            )
        if not cert.key_usage & KEY_AGREEMENT:
            raise _Refusal(Status.INVALID_CERTIFICATE, "certificate not for key agreement")
        try:
            self._peer_static = cert.public_key(self.identity.ca_public)
        except CertificateError as error:
            raise _Refusal(Status.INVALID_CERTIFICATE, str(error)) from None
        self._peer_times = (payload[2], payload[3])

    def _new_ephemeral(self) -> bytes:
        self._ephemeral = random_scalar(self.rng)
        self._own_e = curve.encode(curve.multiply(self._ephemeral, G))
        return self._own_e

    def _agree(self, peer_e: bytes) -> None:
        """Z from the peer's ephemeral key, then MacKey and KeyData (kept until confirmed)."""
        try:
            peer_ephemeral = curve.validate(curve.decode(peer_e))
            z = agreement.ecmqv(
                self.identity.private,
                self._ephemeral,
                curve.decode(self._own_e),
                self._peer_static,
                peer_ephemeral,
            )
        except (PointError, AgreementError) as error:
            raise _Refusal(Status.BAD_MESSAGE, f"ephemeral key: {error}") from None
        self._peer_e = peer_e
        self._mac_key, self._key_data = agreement.kdf(z)

    def _mac(self, tag: int) -> bytes:
        ours = tag == (M_U if isinstance(self, Initiator) else M_V)
        ids = (self.identity.eui, self.peer_eui) if ours else (self.peer_eui, self.identity.eui)
        es = (self._own_e, self._peer_e) if ours else (self._peer_e, self._own_e)
        return agreement.mac(self._mac_key, tag, ids[0], ids[1], es[0], es[1])

    def _confirm(self, tag: int, received: bytes) -> None:
        if not hmac.compare_digest(self._mac(tag), received):
            raise _Refusal(Status.BAD_KEY_CONFIRM, f"MAC{'U' if tag == M_U else 'V'} mismatch")
        self.state, self.deadline, self.key = State.DONE, None, self._key_data


class Initiator(_Side):
    """The client side (a device after joining, or the hub): it starts the exchange."""

    def start(self) -> list[Frame]:
        """The Initiate Key Establishment Request."""
        self._await(State.AWAIT_INITIATE, RESPONSE_TIMEOUT_S)
        return [Frame(Command.INITIATE, _initiate_payload(self.identity.certificate))]

    def _handle(self, frame: Frame) -> list[Frame]:
        if self.state == State.AWAIT_INITIATE:
            self._expect(frame, State.AWAIT_INITIATE, Command.INITIATE, 78)
            self._accept_initiate(frame.payload)
            self._await(State.AWAIT_EPHEMERAL, self._peer_times[0] + MARGIN_S)
            return [Frame(Command.EPHEMERAL_DATA, self._new_ephemeral())]
        if self.state == State.AWAIT_EPHEMERAL:
            self._expect(frame, State.AWAIT_EPHEMERAL, Command.EPHEMERAL_DATA, 37)
            self._agree(frame.payload)
            self._await(State.AWAIT_CONFIRM, self._peer_times[1] + MARGIN_S)
            return [Frame(Command.CONFIRM_KEY, self._mac(M_U))]
        self._expect(frame, State.AWAIT_CONFIRM, Command.CONFIRM_KEY, 16)
        self._confirm(M_V, frame.payload)
        return []


class Responder(_Side):
    """The server side: it answers an initiator, one exchange at a time."""

    def _handle(self, frame: Frame) -> list[Frame]:
        if frame.command == Command.INITIATE and self.state != State.IDLE:
            return [Frame(Command.TERMINATE, terminate_payload(Status.NO_RESOURCES))]
        if self.state == State.IDLE:
            self._expect(frame, State.IDLE, Command.INITIATE, 78)
            self._accept_initiate(frame.payload)
            self._await(State.AWAIT_EPHEMERAL, self._peer_times[0] + MARGIN_S)
            return [Frame(Command.INITIATE, _initiate_payload(self.identity.certificate))]
        if self.state == State.AWAIT_EPHEMERAL:
            self._expect(frame, State.AWAIT_EPHEMERAL, Command.EPHEMERAL_DATA, 37)
            self._new_ephemeral()
            self._agree(frame.payload)
            self._await(State.AWAIT_CONFIRM, self._peer_times[1] + MARGIN_S)
            return [Frame(Command.EPHEMERAL_DATA, self._own_e)]
        self._expect(frame, State.AWAIT_CONFIRM, Command.CONFIRM_KEY, 16)
        self._confirm(M_U, frame.payload)
        return [Frame(Command.CONFIRM_KEY, self._mac(M_V))]


def _describe_terminate(payload: bytes) -> str:
    if len(payload) != 4:
        return f"Terminate of {len(payload)} bytes (not 4)"
    try:
        status = Status(payload[0]).name
    except ValueError:
        status = f"status 0x{payload[0]:02X}"
    return f"{status}, wait {payload[1]} s"


def frame_from(command: int, payload: bytes) -> Frame:
    """A :class:`Frame` from a received command id; ValueError naming an unknown id."""
    try:
        return Frame(Command(command), payload)
    except ValueError:
        raise ValueError(f"0x{command:02X} is not a Key Establishment command") from None
