"""Future-dated commands: answered at once, executed at their date-time with an alert (§1.6).

A future-dated command gets its response at once, as an immediate one does (the RTDS responses
of the future-dated forms are those of the immediate forms). Its effect waits for the device
clock to reach the execution date-time; then the device applies it and sends the future-dated
execution alert, critical (signed, as every RTDS 8F66 alert), to the command's originator:
alert code **0x8F66** (executed; **0x8F67** when the held change could no longer be applied
[ASSUMED]), one alert per dated instruction as the RTDS shows:

* **DLMS** (message code **0x00CC**): a command SETting an activation date-time attribute
  (:data:`ACTIVATION_ATTRIBUTES`) to a moment ahead of the device clock. The activation
  attribute is stored at once (it is the schedule); every other SET of the command waits.
  The alert is ``{0x8F66, execution date-time, octet-string(message code, originator counter,
  class id, logical name, attribute)}`` (the RTDS 0x00CC layout).
* **GBZ** (message code **0x00CD**): a component with a from-date-time header, or a ZSE command
  whose start / implementation time (:data:`START_TIME`) is ahead of the device clock. A Write
  Attributes component's values wait; the alert names the instruction (message code,
  originator counter, cluster, frame control, command: ``FutureDatedExecution``). A start time
  of 0xFFFFFFFE / 0xFFFFFFFF cancels the waiting instruction of the same cluster and command
  (ZSE 1.4 cancellation, as the RTDS CANCELLATION forms send).
* **ASN.1** CS06 Activate Firmware with an ``execution_date_time`` (message code **0x00CA**,
  FDFA): ``{alert code, execution date-time, originator counter, {0, firmware version}}``, the
  firmware version that of the device's CS06 exemplar [ASSUMED]; the image itself is not
  modelled. (CS02g's future-dated 0x0124 alert is not sent: see docs/devices.md.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from rig.gbcs import usecases
from rig.gbcs.asn1 import Asn1Payload, Der
from rig.gbcs.cosem.payload import DlmsRequest
from rig.gbcs.dlms import AccessKind, Data, cosem_datetime, parse_cosem_datetime
from rig.gbcs.errors import DecodeError
from rig.gbcs.eui import Eui64
from rig.gbcs.gbz import GbzComponent, gbz_time, parse_gbz_time
from rig.gbcs.gbz_message import FutureDatedExecution, GbzAlert

EXECUTED, NOT_EXECUTED = 0x8F66, 0x8F67
FUTURE_DATED_FIRMWARE, FUTURE_DATED_DLMS, FUTURE_DATED_GBZ = 0x00CA, 0x00CC, 0x00CD
#: ASN.1 tags (X.690): INTEGER, OCTET STRING, GeneralizedTime, SEQUENCE.
_INTEGER, _OCTETS, _TIME, _SEQUENCE = 0x02, 0x04, 0x18, 0x30
#: (class id, attribute) of the activation date-times a future-dated DLMS command sets
#: (IEC 62056-6-2: activity calendar activate_passive_calendar_time, account and charge
#: activation times; GBCS class 9000 attribute 6). [ASSUMED] from every RTDS 4.5.0 future-dated
#: DLMS command (ECS01a/c, ECS02, ECS08, ECS28a, ECS46c).
ACTIVATION_ATTRIBUTES = frozenset({(20, 10), (111, 13), (113, 7), (9000, 6)})
#: ZSE 1.4 commands with a start / implementation time (little-endian UTC seconds since 2000):
#: (cluster, command id) -> its offset in the command payload. Price: Publish Tariff
#: Information, Price Matrix, Block Thresholds; Calendar: Publish Calendar, Special Days;
#: Prepayment: Emergency Credit Setup, Change Payment Mode, Set Maximum Credit Limit, Set
#: Overall Debt Cap.
START_TIME = {
    (0x0700, 0x04): 12,
    (0x0700, 0x05): 8,
    (0x0700, 0x06): 8,
    (0x0707, 0x00): 12,
    (0x0707, 0x04): 12,
    (0x0705, 0x03): 4,
    (0x0705, 0x06): 8,
    (0x0705, 0x0B): 8,
    (0x0705, 0x0C): 8,
}
#: ZSE start times meaning "cancel the scheduled instruction".
CANCEL = 0xFFFFFFFE


@dataclass
class Execution:
    """An instruction waiting for its date-time: what to apply, and the alert that reports it."""

    due: float  # wall-clock seconds (UTC)
    recipient: Eui64
    message_code: int  # of the alert: 0x00CC or 0x00CD
    alert: Callable[[int], usecases.Payload]  # alert code -> the alert body
    apply: list[Callable[[], bool]] = field(default_factory=list)
    #: (cluster, command) of a GBZ instruction, for cancellation.
    instruction: tuple[int, int] | None = None

    def run(self) -> tuple[int, usecases.Payload]:
        """Apply the held changes; the alert code of the outcome and the alert."""
        code = EXECUTED if all([change() for change in self.apply]) else NOT_EXECUTED
        return code, self.alert(code)


def _seconds(moment: datetime) -> float:
    return moment.timestamp()


def dlms_activations(request: DlmsRequest, wall_now: float) -> list[tuple[float, int]]:
    """(execution time, access index) of each activation date-time ahead of ``wall_now``."""
    out = []
    for i, access in enumerate(request.accesses):
        s = access.spec
        if s.kind is not AccessKind.SET or (s.class_id, s.index) not in ACTIVATION_ATTRIBUTES:
            continue
        value = access.to_data().value
        if not isinstance(value, bytes):
            continue
        try:
            due = _seconds(parse_cosem_datetime(value))
        except DecodeError:
            continue
        if due > wall_now:
            out.append((due, i))
    return out


def dlms_alert(
    request: DlmsRequest, counter: int, index: int, due: float
) -> Callable[[int], usecases.Payload]:
    """The 0x00CC alert body of activation ``index`` of ``request`` (RTDS layout)."""
    s = request.accesses[index].spec
    named = (
        request.message_code.to_bytes(2, "big")
        + counter.to_bytes(8, "big")
        + s.class_id.to_bytes(2, "big")
        + s.obis
        + bytes([s.index])
    )
    stamp = cosem_datetime(datetime.fromtimestamp(due, UTC))
    return lambda code: usecases.DlmsAlert(code, stamp, (Data.octet_string(named),))


def gbz_start(component: GbzComponent) -> int | None:
    """The GBZ time a component is dated to (its from-date-time header, else its ZSE start
    time field); None for an undated one or a start time of "now" (0)."""
    if component.from_date_time is not None:
        return component.from_date_time
    frame = component.frame
    at = START_TIME.get((component.cluster, frame.command)) if frame.cluster_specific else None
    if at is None or len(frame.payload) < at + 4:
        return None
    return int.from_bytes(frame.payload[at : at + 4], "little") or None


def gbz_due(component: GbzComponent, wall_now: float) -> float | None:
    """The wall-clock time a component executes at, if it is ahead of ``wall_now``."""
    start = gbz_start(component)
    if start is None or start >= CANCEL:
        return None
    due = _seconds(parse_gbz_time(start))
    return due if due > wall_now else None


def gbz_alert(
    message_code: int, counter: int, component: GbzComponent, due: float, frame_control: int
) -> Callable[[int], usecases.Payload]:
    """The 0x00CD alert body of a dated GBZ component. ``frame_control`` is that of the
    command's first component ([ASSUMED]: so is every RTDS 4.5.0 0x00CD alert's, e.g. GCS05's
    Publish Calendar reported with the Prepayment components' 0x01, not its own 0x09)."""
    executed = FutureDatedExecution(
        message_code, counter, component.cluster, frame_control, component.frame.command
    )
    stamp = gbz_time(datetime.fromtimestamp(due, UTC))
    return lambda code: GbzAlert(code, stamp, (), executed)


def cancels(component: GbzComponent) -> bool:
    """Whether the component cancels a scheduled instruction (start time 0xFFFFFFFE/F)."""
    start = gbz_start(component)
    return start is not None and start >= CANCEL


def asn1_due(payload: Asn1Payload, wall_now: float) -> tuple[float, Der] | None:
    """The execution time of an ASN.1 command with an ``execution_date_time`` ahead of
    ``wall_now`` (GeneralizedTime ``YYYYMMDDHHMMSSZ``), and that element; else None."""
    if "execution_date_time" not in payload.names:
        return None
    element = payload.field("execution_date_time")
    if element is None or element.tag != _TIME or not isinstance(element.value, bytes):
        return None
    try:
        moment = datetime.strptime(element.value.decode("ascii"), "%Y%m%d%H%M%SZ")
    except (UnicodeDecodeError, ValueError):
        return None
    due = moment.replace(tzinfo=UTC).timestamp()
    return (due, element) if due > wall_now else None


def firmware_alert(
    payload: Asn1Payload, executed: Der, version: bytes
) -> Callable[[int], usecases.Payload]:
    """The 0x00CA (FDFA) alert body of a future-dated CS06."""
    counter = payload.field("originator_counter")
    count = counter.value if counter is not None and isinstance(counter.value, int) else 0
    outcome = Der(_SEQUENCE, (Der(_INTEGER, 0), Der(_OCTETS, version)))
    return lambda code: Asn1Payload(
        Der(_SEQUENCE, (Der(_INTEGER, code), executed, Der(_INTEGER, count), outcome))
    )
