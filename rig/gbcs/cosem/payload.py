"""Typed DLMS payloads of any use case: every ACCESS-Request, ACCESS-Response and
Data-Notification decodes to named COSEM accesses and back, byte for byte (reference/gbcs.md
§1.6-1.7).

A request is its :class:`CosemAccess` entries: the member each specification names (class,
logical name, attribute or method, :mod:`rig.gbcs.cosem.classes`) with its data typed by that
member's schema (:mod:`rig.gbcs.cosem.schema`). A response's entries get the members of its use
case's request (:mod:`rig.gbcs.cosem.accesses`), so a GET response's data is typed as the
attribute it reads. An alert is its code, COSEM date-time and further items. Data of another
shape than the schema stays an A-XDR :class:`~rig.gbcs.dlms.Data`: nothing is ever lost, and
every decode is checked to re-encode to the same bytes (:func:`~rig.gbcs.wire.require_canonical`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rig.gbcs.codes import message_code_name
from rig.gbcs.cosem.accesses import (
    DLMS_ALERT_CODES,
    PROTECTED_MEMBERS,
    USE_CASE_MEMBERS,
    Member,
)
from rig.gbcs.cosem.classes import CLASSES, RESULTS, class_name, describe, member
from rig.gbcs.cosem.schema import (
    ANY,
    DATE_TIME,
    LONG_UNSIGNED,
    NULL,
    Obis,
    Schema,
    typed,
    typed_hint,
    untyped,
)
from rig.gbcs.dlms import (
    ACCESS_REQUEST,
    ACCESS_RESPONSE,
    DATA_NOTIFICATION,
    AccessKind,
    AccessRequest,
    AccessResponse,
    AccessResult,
    AccessSpec,
    Data,
    DataNotification,
    Tag,
    decode_apdu,
    invoke_id,
)
from rig.gbcs.errors import DecodeError
from rig.gbcs.esme_tariff import CosemDateTime
from rig.gbcs.frame import Cra
from rig.gbcs.wire import require_canonical

#: First bytes of a DLMS payload (§1.7).
DLMS_TAGS = frozenset({ACCESS_REQUEST, ACCESS_RESPONSE, DATA_NOTIFICATION})
_GETS = (AccessKind.GET, AccessKind.GET_WITH_SELECTION)


def _schema(kind: AccessKind, class_id: int, index: int) -> Schema:
    return member(class_id, index, kind is AccessKind.ACTION)[1]


def _spec_schema(spec: AccessSpec) -> Schema:
    """The schema of a request entry's data: null for a GET, else the member's."""
    return NULL if spec.kind in _GETS else _schema(spec.kind, spec.class_id, spec.index)


@functools.lru_cache(maxsize=1024)  # [ASSUMED] bound: far more members than the use cases name
def _label(kind: AccessKind, class_id: int, obis: bytes, index: int) -> str:
    """``Class object.member``, e.g. ``Disconnect control disconnect control (0-0:96.3.10.255)
    .control_state``; a pure function of constant tables, so each is formatted once."""
    name = member(class_id, index, kind is AccessKind.ACTION)[0]
    return f"{class_name(class_id)} {describe(obis)}.{name}"


def protected_names(message_code: int) -> tuple[str, ...]:
    """The COSEM member of each value of a protected read's decrypted response, in order
    (:data:`~rig.gbcs.cosem.accesses.PROTECTED_MEMBERS`); () where the table has none."""
    return tuple(_label(*m) for m in PROTECTED_MEMBERS.get(message_code, ()))


@dataclass(frozen=True)
class CosemAccess:
    """One specification of an ACCESS-Request with its data: None for a GET, else the value of
    the member's schema (a named structure, tuple, int, bytes, date-time …) or :class:`Data`."""

    spec: AccessSpec
    value: Any = None
    name: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        s = self.spec
        object.__setattr__(self, "name", _label(s.kind, s.class_id, s.obis, s.index))

    @property
    def member(self) -> str:
        """The attribute or method name."""
        return self.name.rsplit(".", 1)[1]

    @classmethod
    def named(cls, class_: str, logical_name: str, name: str, value: Any = None) -> CosemAccess:
        """An access from Blue Book names: ``named("Register", "1-0:1.8.0.255", "value")`` is a
        GET; with a ``value`` it is a SET, and a method's name makes an ACTION. ValueError if
        the class or member is unknown (:mod:`rig.gbcs.cosem.classes`)."""
        ids = [i for i, c in CLASSES.items() if c.name == class_]
        if len(ids) != 1:
            raise ValueError(f"no COSEM class named {class_!r}")
        known = CLASSES[ids[0]]
        obis = Obis.parse(logical_name).raw
        for kind, table in ((AccessKind.ACTION, known.methods), (None, known.attributes)):
            for index, (member_name, _) in table.items():
                if member_name == name:
                    kind = kind or (AccessKind.GET if value is None else AccessKind.SET)
                    return cls(AccessSpec(kind, ids[0], obis, index), value)
        raise ValueError(f"{class_} has no attribute or method {name!r}")

    @classmethod
    def of(cls, spec: AccessSpec, data: Data) -> CosemAccess:
        """The access of ``spec`` with ``data`` typed by its member's schema."""
        return cls(spec, typed(_spec_schema(spec), data))

    def to_data(self) -> Data:
        """The A-XDR data of :attr:`value`."""
        return untyped(_spec_schema(self.spec), self.value)

    @classmethod
    def description_hints(cls, values: dict[str, Any]) -> dict[str, Any]:
        """The type of :attr:`value` for the ``spec`` in ``values`` (rig.gbcs.describe)."""
        return {"value": typed_hint(_spec_schema(values["spec"]))}


def _named(entries: Sequence[Any], name: str) -> Any:
    matches = [e.value for e in entries if e.name and e.name.rsplit(".", 1)[1] == name]
    if len(matches) != 1:
        raise KeyError(f"{len(matches)} entries named {name!r}")
    return matches[0]


@dataclass(frozen=True)
class DlmsRequest:
    """An ACCESS-Request of any use case: its accesses in order, and the APDU's own date-time
    (empty in every RTDS command; a future-dated command's execution time is in the GBCS
    header)."""

    message_code: int
    accesses: tuple[CosemAccess, ...]
    date_time: bytes = b""

    @property
    def use_case(self) -> str:
        """The use case's name (e.g. ``ECS23``)."""
        return message_code_name(self.message_code)

    def field(self, name: str) -> Any:
        """The value of the one access to the member ``name``; KeyError if none or several."""
        return _named(self.accesses, name)

    def encode(self, invoke_counter: int) -> bytes:
        """ACCESS-Request bytes."""
        specs = tuple(a.spec for a in self.accesses)
        data = tuple(a.to_data() for a in self.accesses)
        return AccessRequest(invoke_id(invoke_counter), specs, data, self.date_time).encode()

    @classmethod
    def decode(cls, message_code: int, payload: bytes) -> DlmsRequest:
        """Inverse of :meth:`encode`."""
        apdu = decode_apdu(payload)
        if not isinstance(apdu, AccessRequest) or len(apdu.specs) != len(apdu.data):
            raise DecodeError(0, "ACCESS-Request: one data item per specification expected")
        accesses = tuple(CosemAccess.of(s, d) for s, d in zip(apdu.specs, apdu.data, strict=True))
        return _checked(cls(message_code, accesses, apdu.date_time), payload, apdu.invoke_id)

    @classmethod
    def build(cls, message_code: int, *values: Any, form: int = 0) -> DlmsRequest:
        """The command of a use case from its members' values, in request order (None for a
        GET): the members come from :data:`~rig.gbcs.cosem.accesses.USE_CASE_MEMBERS`."""
        forms = USE_CASE_MEMBERS.get(message_code, ())
        if not forms or form >= len(forms):
            raise ValueError(f"no request form {form} of message code 0x{message_code:04X}")
        members = forms[form]
        if len(values) != len(members):
            raise ValueError(f"{message_code_name(message_code)} takes {len(members)} values")
        if any(
            m[0] in (AccessKind.GET_WITH_SELECTION, AccessKind.SET_WITH_SELECTION) for m in members
        ):
            raise ValueError(
                f"{message_code_name(message_code)} needs its selective access: build it"
            )
        return cls(
            message_code,
            tuple(CosemAccess(AccessSpec(*m), v) for m, v in zip(members, values, strict=True)),
        )


@dataclass(frozen=True)
class CosemResult:
    """One entry of an ACCESS-Response: its data (typed as the request's member where the use
    case names it), the kind and the result code with its DLMS name."""

    value: Any
    kind: AccessKind
    result: int
    member: Member | None = None
    name: str = field(init=False, compare=False)
    result_name: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        m = self.member
        object.__setattr__(self, "name", "" if m is None else _label(*m))
        object.__setattr__(self, "result_name", RESULTS.get(self.result, f"result {self.result}"))

    @classmethod
    def of(cls, data: Data, result: AccessResult, m: Member | None) -> CosemResult:
        """The entry of ``data`` and ``result``, typed by the member ``m``."""
        return cls(typed(_result_schema(m), data), result.kind, result.result, m)

    def to_data(self) -> Data:
        """The A-XDR data of :attr:`value`."""
        return untyped(_result_schema(self.member), self.value)

    @classmethod
    def description_hints(cls, values: dict[str, Any]) -> dict[str, Any]:
        """The type of :attr:`value` for the ``member`` in ``values`` (rig.gbcs.describe)."""
        return {"value": typed_hint(_result_schema(values.get("member")))}


def _result_schema(m: Member | None) -> Schema:
    """A GET's data is the attribute's value; SET and ACTION results stay :class:`Data`."""
    return ANY if m is None or m[0] not in _GETS else _schema(m[0], m[1], m[3])


def _members(message_code: int, count: int) -> tuple[Member | None, ...]:
    """The members of the use case's request form of ``count`` entries, if exactly one."""
    forms = [f for f in USE_CASE_MEMBERS.get(message_code, ()) if len(f) == count]
    return forms[0] if len(forms) == 1 else (None,) * count


@dataclass(frozen=True)
class DlmsResponse:
    """An ACCESS-Response of any use case: one :class:`CosemResult` per request entry."""

    message_code: int
    results: tuple[CosemResult, ...]
    date_time: bytes = b""

    @property
    def use_case(self) -> str:
        """The use case's name."""
        return message_code_name(self.message_code)

    @property
    def ok(self) -> bool:
        """Every entry succeeded."""
        return all(r.result == 0 for r in self.results)

    def field(self, name: str) -> Any:
        """The value of the one entry of the member ``name``; KeyError if none or several."""
        return _named(self.results, name)

    def encode(self, invoke_counter: int) -> bytes:
        """ACCESS-Response bytes."""
        data = tuple(r.to_data() for r in self.results)
        results = tuple(AccessResult(r.kind, r.result) for r in self.results)
        return AccessResponse(invoke_id(invoke_counter), data, results, self.date_time).encode()

    @classmethod
    def decode(cls, message_code: int, payload: bytes) -> DlmsResponse:
        """Inverse of :meth:`encode`."""
        apdu = decode_apdu(payload)
        if not isinstance(apdu, AccessResponse) or len(apdu.data) != len(apdu.results):
            raise DecodeError(0, "ACCESS-Response: one data item per result expected")
        members = _members(message_code, len(apdu.data))
        results = tuple(
            CosemResult.of(d, r, m)
            for d, r, m in zip(apdu.data, apdu.results, members, strict=True)
        )
        return _checked(cls(message_code, results, apdu.date_time), payload, apdu.invoke_id)


@dataclass(frozen=True)
class DlmsNotification:
    """A Data-Notification of any use case. An alert (§1.6) has ``alert_code`` and
    ``alert_time`` (its COSEM date-time) and its further items in ``extra``; any other body is
    kept whole in ``body``."""

    message_code: int
    alert_code: int | None
    alert_time: CosemDateTime | Data | None
    extra: tuple[Data, ...] = ()
    body: Data | None = None
    date_time: bytes = b""

    def encode(self, invoke_counter: int) -> bytes:
        """Data-Notification bytes."""
        body = self.body
        if body is None:
            head = (LONG_UNSIGNED.encode(self.alert_code), untyped(DATE_TIME, self.alert_time))
            body = Data.structure(*head, *self.extra)
        return DataNotification(invoke_id(invoke_counter), body, self.date_time).encode()

    @classmethod
    def decode(cls, message_code: int, payload: bytes) -> DlmsNotification:
        """Inverse of :meth:`encode`."""
        apdu = decode_apdu(payload)
        if not isinstance(apdu, DataNotification):
            raise DecodeError(0, "expected a Data-Notification")
        items = apdu.body.value
        if (
            apdu.body.tag is Tag.STRUCTURE
            and isinstance(items, tuple)
            and len(items) >= 2
            and items[0].tag is Tag.LONG_UNSIGNED
            and items[1].tag is Tag.OCTET_STRING
        ):
            code, when = items[0].value, typed(DATE_TIME, items[1])
            obj = cls(message_code, code, when, items[2:], None, apdu.date_time)  # type: ignore[arg-type]
        else:
            obj = cls(message_code, None, None, (), apdu.body, apdu.date_time)
        return _checked(obj, payload, apdu.invoke_id)


DlmsPayload = DlmsRequest | DlmsResponse | DlmsNotification


def _checked(obj: DlmsPayload, payload: bytes, invoke: int) -> Any:
    require_canonical(type(obj).__name__, payload, lambda: obj.encode(invoke))
    return obj


_BY_TAG: dict[int, Callable[[int, bytes], DlmsPayload]] = {
    ACCESS_REQUEST: DlmsRequest.decode,
    ACCESS_RESPONSE: DlmsResponse.decode,
    DATA_NOTIFICATION: DlmsNotification.decode,
}


def decode_dlms(message_code: int, payload: bytes) -> DlmsPayload:
    """The typed object of any DLMS payload, by its first byte (§1.7); DecodeError otherwise."""
    decoder = _BY_TAG.get(payload[0]) if payload else None
    if decoder is None:
        raise DecodeError(0, "not a DLMS payload (D9, DA or 0F)")
    return decoder(message_code, payload)


def dlms_decoder(message_code: int) -> Callable[[bytes], DlmsPayload]:
    """A decoder of ``message_code``'s DLMS payloads, for :mod:`rig.gbcs.usecases`."""
    return lambda payload: decode_dlms(message_code, payload)


#: (message code, CRA) -> decoder, for every DLMS use case of :mod:`rig.gbcs.cosem.accesses`:
#: the registration hook of :func:`rig.gbcs.usecases.decode_payload` (its own typed classes
#: take precedence).
DLMS_USE_CASES: dict[tuple[int, Cra], Callable[[bytes], DlmsPayload]] = {
    **{
        (code, cra): dlms_decoder(code)
        for code in USE_CASE_MEMBERS
        for cra in (Cra.COMMAND, Cra.RESPONSE)
    },
    **{(code, Cra.ALERT): dlms_decoder(code) for code in DLMS_ALERT_CODES},
}
