"""Every GBZ payload typed both ways: components with ZCL cluster and command names and typed
bodies, and GBZ alerts (reference/gbcs.md §1.6-1.7).

:class:`GbzPayload` is the generic typed layer that no GBZ message, even of a use case with no
class of its own, falls below: each component's ZCL payload is decoded through the declarative
layouts of :mod:`rig.gbcs.zcl_clusters` (profile-wide commands by command id, cluster-specific
ones by cluster, direction and command id). A command the tables do not know, or a payload that
does not fill a known layout, keeps its bytes as :class:`Opaque` (never seen in the RTDS: see
tests/gbcs/test_gbz_typed.py). An encrypted component keeps its ``31 00000000 …`` block as
:class:`Ciphered`; :func:`decode_plaintext` types the decrypted ZCL payload (the decryption
itself is rig.gbcs.codec's). Decoding is strict: the typed object re-encodes to the same bytes.

A GBZ alert is ``01 09``, a component count, the alert code and a UTC time (both big-endian),
then the components. The future-dated execution alert (0x00CD, GBZ) carries instead a length
byte and the instruction it executed: message code, originator counter, cluster, frame control
and command id, big-endian ([ASSUMED] from the layout of every RTDS 4.5.0 0x00CD alert).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Self

from rig.gbcs.codes import MESSAGE_CODE_TABLE
from rig.gbcs.errors import DecodeError
from rig.gbcs.frame import Cra
from rig.gbcs.gbz import (
    CLUSTER_SPECIFIC,
    PROFILE,
    SERVER_TO_CLIENT,
    AttributeRecord,
    Gbz,
    GbzComponent,
    ZclFrame,
    decode_gbz,
    read_components,
)
from rig.gbcs.wire import Reader, require_canonical
from rig.gbcs.zcl import U8, Int, struct
from rig.gbcs.zcl_clusters import (
    COMMANDS,
    GENERAL,
    GENERAL_NAMES,
    DefaultResponse,
    cluster_name,
)

_FUTURE_DATED_GBZ = 0x00CD
_FUTURE_DATED_SIZE = 14


@dataclass(frozen=True)
class Opaque:
    """A ZCL payload with no layout in :mod:`rig.gbcs.zcl_clusters`, kept as bytes."""

    payload: bytes

    def encode(self) -> bytes:
        """The bytes."""
        return self.payload


@dataclass(frozen=True)
class Ciphered:
    """An encrypted component's ``31 00000000 …`` block and its additional header."""

    block: bytes
    additional_header_control: int = 0
    additional_frame_counter: int = 0

    def encode(self) -> bytes:
        """The block."""
        return self.block


def body_layout(cluster: int, frame_control: int, command: int) -> Any:
    """The structure of a ZCL payload, or None where the tables have none."""
    if frame_control & 0x03 == CLUSTER_SPECIFIC:
        return COMMANDS.get((cluster, bool(frame_control & SERVER_TO_CLIENT), command))
    return GENERAL.get(command)


def decode_body(cluster: int, frame_control: int, command: int, payload: bytes) -> Any:
    """The typed body of a clear ZCL payload (:class:`Opaque` if it has no layout or does not
    fill its layout exactly)."""
    layout = body_layout(cluster, frame_control, command)
    if layout is not None:
        try:
            body = layout.parse(payload)
            if body.encode() == payload:
                return body
        except (DecodeError, ValueError):
            pass
    return Opaque(payload)


@dataclass(frozen=True)
class ZclComponent:
    """One GBZ component: its cluster, ZCL header and typed body (:class:`Ciphered` if
    encrypted)."""

    cluster: int
    command: int
    body: Any
    frame_control: int = CLUSTER_SPECIFIC
    sequence: int = 0
    from_date_time: int | None = None

    @classmethod
    def description_hints(cls, values: dict[str, Any]) -> dict[str, Any]:
        """The type of :attr:`body` for the cluster and command in ``values``: the command's
        layout where the tables have one, else ciphered or opaque (rig.gbcs.describe)."""
        layout = body_layout(values["cluster"], values["frame_control"], values["command"])
        return {"body": Ciphered | Opaque if layout is None else layout | Ciphered | Opaque}

    @property
    def encrypted(self) -> bool:
        """Whether the ZCL payload travels encrypted."""
        return isinstance(self.body, Ciphered)

    @property
    def cluster_name(self) -> str:
        """The ZCL cluster's name."""
        return cluster_name(self.cluster)

    @property
    def command_name(self) -> str:
        """The ZCL command's name (the body's structure), or its id in hex."""
        layout = body_layout(self.cluster, self.frame_control, self.command)
        if self.frame_control & 0x03 != CLUSTER_SPECIFIC:
            return GENERAL_NAMES.get(self.command, f"general command 0x{self.command:02X}")
        return f"command 0x{self.command:02X}" if layout is None else layout.__name__

    def component(self) -> GbzComponent:
        """The untyped component (its ZCL payload encoded)."""
        frame = ZclFrame(self.frame_control, self.sequence, self.command, self.body.encode())
        if isinstance(self.body, Ciphered):
            head = (self.body.additional_header_control, self.body.additional_frame_counter)
            return GbzComponent(self.cluster, frame, True, None, *head)
        return GbzComponent(self.cluster, frame, False, self.from_date_time)

    @classmethod
    def of_body(
        cls, cluster: int, body: Any, server_to_client: bool = False, sequence: int = 0
    ) -> ZclComponent:
        """The component carrying ``body`` (a structure of :mod:`rig.gbcs.zcl_clusters`): its
        command id and frame control from the tables, so a plan names the command by its class.
        ValueError if the tables do not hold ``type(body)``."""
        layout = type(body)
        general = [c for c, g in GENERAL.items() if g is layout]
        specific = [
            k for k, c in COMMANDS.items() if c is layout and k[:2] == (cluster, server_to_client)
        ]
        direction = SERVER_TO_CLIENT if server_to_client else 0
        if general:
            return cls(cluster, general[0], body, direction, sequence)
        if specific:
            return cls(cluster, specific[0][2], body, CLUSTER_SPECIFIC | direction, sequence)
        raise ValueError(f"{layout.__name__} is not a command of {cluster_name(cluster)}")

    @classmethod
    def typed(cls, component: GbzComponent) -> ZclComponent:
        """The typed form of an untyped component."""
        frame = component.frame
        if component.encrypted:
            body: Any = Ciphered(
                frame.payload,
                component.additional_header_control,
                component.additional_frame_counter,
            )
        else:
            body = decode_body(component.cluster, frame.frame_control, frame.command, frame.payload)
        return cls(
            component.cluster,
            frame.command,
            body,
            frame.frame_control,
            frame.sequence,
            component.from_date_time,
        )


def decode_plaintext(component: ZclComponent, plaintext: bytes) -> ZclComponent:
    """``component`` with its decrypted ZCL payload typed in place of the ciphered block (the
    hook for rig.gbcs.codec's decryption; the plaintext is the ZCL payload after the clear
    header)."""
    body = decode_body(component.cluster, component.frame_control, component.command, plaintext)
    return replace(component, body=body)


@dataclass(frozen=True)
class GbzPayload:
    """A typed GBZ payload: its components in order."""

    components: tuple[ZclComponent, ...]

    @property
    def gbz(self) -> Gbz:
        """The untyped GBZ (frames with byte payloads)."""
        return Gbz(tuple(c.component() for c in self.components))

    def encode(self, invoke_counter: int = 0) -> bytes:
        """The GBZ bytes (no invoke id in GBZ)."""
        return self.gbz.encode()

    @classmethod
    def of(cls, gbz: Gbz) -> Self:
        """The typed form of an untyped GBZ (what a device stub builds)."""
        return cls(tuple(ZclComponent.typed(c) for c in gbz.components))

    @classmethod
    def decode(cls, payload: bytes) -> Self:
        """Every component typed; DecodeError if malformed or not canonical."""
        obj = cls.of(decode_gbz(payload))
        require_canonical(cls.__name__, payload, obj.encode)
        return obj

    def records(self, index: int) -> tuple[AttributeRecord, ...]:
        """Attribute records of component ``index`` (empty if it is something else)."""
        return getattr(self.components[index].body, "records", ()) if self._read(index) else ()

    def _read(self, index: int) -> bool:
        component = self.components[index]
        return component.frame_control & 0x03 != CLUSTER_SPECIFIC and component.command == 0x01

    def default_response(self, index: int) -> Any:
        """The Default Response of component ``index`` (command and status), if it is one."""
        body = self.components[index].body
        return body if isinstance(body, DefaultResponse) else None


@dataclass(frozen=True)
class GbzCommand(GbzPayload):
    """A GBZ command of a use case with no class of its own."""


@dataclass(frozen=True)
class GbzResponse(GbzPayload):
    """A GSME / GBZ response: attribute reports, default responses, cluster responses and
    encrypted parts, each component typed."""


_BE16, _BE64 = Int(2, big=True), Int(8, big=True)
FutureDatedExecution = struct(
    "FutureDatedExecution",
    "The instruction a future-dated GBZ alert (0x00CD) reports as executed.",
    ("message_code", _BE16),
    ("originator_counter", _BE64),
    ("cluster", _BE16),
    ("frame_control", U8),
    ("command", U8),
)


@dataclass(frozen=True)
class GbzAlert:
    """A GBZ (ZigBee) alert: ``01 09 <count> <code> <UTC seconds since 2000>`` then its
    components, or (future-dated, 0x00CD) the executed instruction."""

    alert_code: int
    timestamp: int
    components: tuple[ZclComponent, ...] = ()
    executed: FutureDatedExecution | None = None  # type: ignore[valid-type]

    def encode(self, invoke_counter: int = 0) -> bytes:
        """GBZ alert bytes (no invoke id: ``invoke_counter`` is unused)."""
        if self.executed is not None and self.components:
            raise ValueError("a GBZ alert has components or an executed instruction, not both")
        head = self.alert_code.to_bytes(2, "big") + self.timestamp.to_bytes(4, "big")
        if self.executed is not None:
            body = self.executed.encode()
            return PROFILE + b"\x01" + head + bytes([len(body)]) + body
        gbz = Gbz(tuple(c.component() for c in self.components))
        parts = gbz.encode()[3:] if self.components else b""
        return PROFILE + bytes([len(self.components)]) + head + parts

    @classmethod
    def decode(cls, payload: bytes) -> GbzAlert:
        """Inverse of :meth:`encode`."""
        reader = Reader(payload)
        reader.expect(PROFILE[0], "GBZ profile id (high)")
        reader.expect(PROFILE[1], "GBZ profile id (low)")
        count = reader.byte("GBZ component count")
        code = reader.uint(2, "alert code")
        timestamp = reader.uint(4, "alert timestamp")
        components = read_components(reader, count)
        reader.expect_end("the GBZ alert")
        obj = cls(code, timestamp, tuple(ZclComponent.typed(c) for c in components))
        require_canonical("GBZ alert", payload, obj.encode)
        return obj

    @classmethod
    def decode_future_dated(cls, payload: bytes) -> GbzAlert:
        """The 0x00CD form: one executed instruction after a length byte."""
        reader = Reader(payload)
        for expected, what in ((PROFILE[0], "GBZ profile id"), (PROFILE[1], "GBZ profile id")):
            reader.expect(expected, what)
        reader.expect(1, "future-dated alert count")
        code = reader.uint(2, "alert code")
        timestamp = reader.uint(4, "alert timestamp")
        reader.expect(_FUTURE_DATED_SIZE, "executed instruction length")
        executed = FutureDatedExecution.read(reader)
        reader.expect_end("the future-dated alert")
        return cls(code, timestamp, (), executed)


def _decoders(code: int) -> dict[tuple[int, Cra], Callable[[bytes], Any]]:
    if code == _FUTURE_DATED_GBZ:
        return {(code, Cra.ALERT): GbzAlert.decode_future_dated}
    return {
        (code, Cra.COMMAND): GbzCommand.decode,
        (code, Cra.RESPONSE): GbzResponse.decode,
        (code, Cra.ALERT): GbzAlert.decode,
    }


def _is_gbz(name: str) -> bool:
    """The ZigBee (GSME, PPMID, GPF) use cases of the code table; GCS28/59/62 are ASN.1."""
    if name in ("GCS28", "GCS59", "GCS62"):
        return False
    return name.startswith(("GCS", "PCS")) or name in (
        "CS01b",
        "CS10a",
        "CS10b",
        "CS11",
        "FD-GBZ",
        "FDR-GSME",
    )


#: (message code, CRA) -> decoder for every GBZ use case of the code table (the generic typed
#: layer; use cases with a class of their own come first in rig.gbcs.usecases).
GBZ_USE_CASES: dict[tuple[int, Cra], Callable[[bytes], Any]] = {
    key: decoder
    for code, row in MESSAGE_CODE_TABLE.items()
    if _is_gbz(row.name)
    for key, decoder in _decoders(code).items()
}
