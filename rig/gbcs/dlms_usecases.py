"""Typed ESME and CHF use cases carried as DLMS (reference/gbcs.md §1.4, §1.6, §1.7; domain.md §5).

ECS17b / ECS19 protected register reads (with the encrypted response part), ECS82 meter balance,
CCS01 / CCS02 HAN device log (SMETS2 install codes of 16 bytes), and the multi-result ACCESS
responses (ECS01a's too; its command is :mod:`rig.gbcs.esme_tariff`). Decoders are strict: a
payload decodes only if the typed object re-encodes to the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from rig.gbcs.dlms import (
    AccessKind,
    AccessRequest,
    AccessResponse,
    AccessResult,
    AccessSpec,
    Data,
    Tag,
    decode_apdu,
    decode_data,
    invoke_id,
    with_invoke_id,
)
from rig.gbcs.errors import DecodeError
from rig.gbcs.eui import Eui64
from rig.gbcs.wire import Reader, require_canonical

#: Data protection (class 30) ACTION ``get_protected_attributes`` (§1.4).
_DATA_PROTECTION_CLASS = 30
#: Protection type 2 and its key info, as every RTDS protected read uses them.
_PROTECTION_TYPE = 2
_KEY_INFO = Data.structure(
    Data.enum(2), Data.structure(Data.octet_string(b"\x02"), Data.octet_string(b""))
)
_RESTRICTION = Data.structure(Data.enum(0), Data.null())
#: KDF / transaction-id CRA of payload encryption (§1.4).
_CRA_ENCRYPTION = 4


def _canonical(obj: object, payload: bytes, counter: int) -> None:
    encode = obj.encode  # type: ignore[attr-defined]
    require_canonical(type(obj).__name__, payload, lambda: encode(counter))


def _request_of(payload: bytes, what: str) -> AccessRequest:
    apdu = decode_apdu(payload)
    if not isinstance(apdu, AccessRequest) or apdu.date_time:
        raise DecodeError(0, f"{what}: expected an ACCESS-Request without date-time")
    return apdu


def _response_of(payload: bytes, what: str) -> AccessResponse:
    apdu = decode_apdu(payload)
    if not isinstance(apdu, AccessResponse) or apdu.date_time:
        raise DecodeError(0, f"{what}: expected an ACCESS-Response without date-time")
    return apdu


def _octets(data: Data, what: str) -> bytes:
    if data.tag is not Tag.OCTET_STRING or not isinstance(data.value, bytes):
        raise DecodeError(0, f"{what}: expected an octet-string")
    return data.value


def _items(data: Data, tag: Tag, n: int, what: str) -> tuple[Data, ...]:
    if data.tag is not tag or not isinstance(data.value, tuple) or len(data.value) != n:
        raise DecodeError(0, f"{what}: expected {tag.name.lower()} of {n}")
    return data.value


@dataclass(frozen=True)
class ProtectionParameters:
    """The protection parameters of a protected read: transaction id (CRA 04 and counter) and
    the two system titles (§1.4)."""

    counter: int
    originator: Eui64
    recipient: Eui64

    def to_data(self) -> Data:
        """``array(1) { structure { enum 2, structure(5) { … } } }``."""
        options = Data.structure(
            Data.octet_string(bytes([_CRA_ENCRYPTION]) + self.counter.to_bytes(8, "big")),
            Data.octet_string(self.originator.raw),
            Data.octet_string(self.recipient.raw),
            Data.octet_string(b""),
            _KEY_INFO,
        )
        return Data(Tag.ARRAY, (Data.structure(Data.enum(_PROTECTION_TYPE), options),))

    @classmethod
    def from_data(cls, data: Data) -> ProtectionParameters:
        """Inverse of :meth:`to_data`."""
        (entry,) = _items(data, Tag.ARRAY, 1, "protection parameters")
        _, options = _items(entry, Tag.STRUCTURE, 2, "protection parameter")
        tid, originator, recipient, _, _ = _items(options, Tag.STRUCTURE, 5, "protection options")
        tid_bytes = _octets(tid, "transaction id")
        titles = [_octets(t, "system title") for t in (originator, recipient)]
        if len(tid_bytes) != 9 or any(len(t) != 8 for t in titles):
            raise DecodeError(0, "protection options: bad transaction id or system title")
        obj = cls(int.from_bytes(tid_bytes[1:], "big"), Eui64(titles[0]), Eui64(titles[1]))
        if obj.to_data() != data:
            raise DecodeError(0, "protection parameters not in the GBCS form")
        return obj


@dataclass(frozen=True)
class ProtectedRead:
    """Base of ECS17b / ECS19: ``get_protected_attributes`` of one register (§1.4).

    The protection parameters name the command's own counter and system titles.
    """

    MESSAGE_CODE: ClassVar[int]
    DATA_PROTECTION: ClassVar[bytes]
    REGISTER: ClassVar[bytes]
    protection: ProtectionParameters

    def encode(self, invoke_counter: int) -> bytes:
        """ACCESS-Request ACTION data-protection method 1."""
        spec = AccessSpec(AccessKind.ACTION, _DATA_PROTECTION_CLASS, self.DATA_PROTECTION, 1)
        target = Data.structure(
            Data.long_unsigned(1),
            Data.octet_string(self.REGISTER),
            Data(Tag.INTEGER, 2),
            Data.long_unsigned(0),
            _RESTRICTION,
        )
        body = Data.structure(Data(Tag.ARRAY, (target,)), self.protection.to_data())
        return AccessRequest(invoke_id(invoke_counter), (spec,), (body,)).encode()

    @classmethod
    def decode(cls, payload: bytes) -> Self:
        """Inverse of :meth:`encode`."""
        apdu = _request_of(payload, cls.__name__)
        if len(apdu.data) != 1:
            raise DecodeError(0, f"{cls.__name__}: expected one data item")
        _, params = _items(apdu.data[0], Tag.STRUCTURE, 2, cls.__name__)
        obj = cls(ProtectionParameters.from_data(params))
        _canonical(obj, payload, apdu.invoke_id)
        return obj


@dataclass(frozen=True)
class ReadImportRegistersEsme(ProtectedRead):
    """ECS17b Read ESME Energy Registers (Import Energy)."""

    MESSAGE_CODE: ClassVar[int] = 0x0027
    DATA_PROTECTION: ClassVar[bytes] = bytes.fromhex("00002B0208FF")
    REGISTER: ClassVar[bytes] = bytes.fromhex("00005E2C220A")


@dataclass(frozen=True)
class ReadPrepaymentRegistersEsme(ProtectedRead):
    """ECS19 Read ESME Prepayment Registers."""

    MESSAGE_CODE: ClassVar[int] = 0x002D
    DATA_PROTECTION: ClassVar[bytes] = bytes.fromhex("00002B0201FF")
    REGISTER: ClassVar[bytes] = bytes.fromhex("00005E2C221E")


@dataclass(frozen=True)
class ProtectedReadResponse:
    """ECS17b / ECS19 response: protection parameters and the encrypted register part, or
    null data and a failed result. :meth:`registers` decrypts the part."""

    protection: ProtectionParameters | None
    encrypted: bytes | None
    result: int = 0

    def encode(self, invoke_counter: int) -> bytes:
        """ACCESS-Response with one ACTION result."""
        if self.protection is None or self.encrypted is None:
            data = Data.null()
        else:
            data = Data.structure(self.protection.to_data(), Data.octet_string(self.encrypted))
        result = (AccessResult(AccessKind.ACTION, self.result),)
        return AccessResponse(invoke_id(invoke_counter), (data,), result).encode()

    @classmethod
    def decode(cls, payload: bytes) -> ProtectedReadResponse:
        """Inverse of :meth:`encode`."""
        apdu = _response_of(payload, "protected read response")
        if len(apdu.data) != 1 or len(apdu.results) != 1:
            raise DecodeError(0, "protected read response: expected one data item and result")
        (data,), (result,) = apdu.data, apdu.results
        if data.tag is Tag.NULL:
            obj = cls(None, None, result.result)
        else:
            params, block = _items(data, Tag.STRUCTURE, 2, "protected read response")
            obj = cls(ProtectionParameters.from_data(params), _octets(block, "part"), result.result)
        _canonical(obj, payload, apdu.invoke_id)
        return obj

    @staticmethod
    def registers(plaintext: bytes) -> Data:
        """The A-XDR register data of a decrypted part (see ``RemotePartyCodec.decrypt_part``)."""
        reader = Reader(plaintext)
        data = decode_data(reader)
        reader.expect_end("the register data")
        return data


#: Account (class 112) 0-0:19.10.0.255 attribute 2, the meter balance (ECS82).
METER_BALANCE = AccessSpec(AccessKind.GET, 112, bytes.fromhex("0000130A00FF"), 2)


#: Each single-attribute read's request, with invoke-id 0, by class.
_GET_APDUS: dict[type, bytes] = {}


@dataclass(frozen=True)
class GetAttribute:
    """Base of the single-attribute reads: ACCESS-Request GET of ``SPEC`` with null data."""

    MESSAGE_CODE: ClassVar[int]
    SPEC: ClassVar[AccessSpec]

    def encode(self, invoke_counter: int) -> bytes:
        """ACCESS-Request GET with null data (encoded once per class: only the invoke-id
        changes)."""
        apdu = _GET_APDUS.get(type(self))
        if apdu is None:
            apdu = AccessRequest(invoke_id(0), (self.SPEC,), (Data.null(),)).encode()
            _GET_APDUS[type(self)] = apdu
        return with_invoke_id(apdu, invoke_counter)

    @classmethod
    def decode(cls, payload: bytes) -> Self:
        """Inverse of :meth:`encode`."""
        obj = cls()
        _canonical(obj, payload, _request_of(payload, cls.__name__).invoke_id)
        return obj


@dataclass(frozen=True)
class ReadMeterBalanceEsme(GetAttribute):
    """ECS82 Read Meter Balance: GET account attribute 2."""

    MESSAGE_CODE: ClassVar[int] = 0x0069
    SPEC: ClassVar[AccessSpec] = METER_BALANCE


@dataclass(frozen=True)
class MeterBalanceResponse:
    """ECS82 response: the balance (double-long, in the meter's currency unit) or None."""

    balance: int | None
    result: int = 0

    def encode(self, invoke_counter: int) -> bytes:
        """ACCESS-Response with one GET result."""
        data = Data.null() if self.balance is None else Data(Tag.DOUBLE_LONG, self.balance)
        result = (AccessResult(AccessKind.GET, self.result),)
        return AccessResponse(invoke_id(invoke_counter), (data,), result).encode()

    @classmethod
    def decode(cls, payload: bytes) -> MeterBalanceResponse:
        """Inverse of :meth:`encode`."""
        apdu = _response_of(payload, "ECS82 response")
        if len(apdu.data) != 1 or len(apdu.results) != 1:
            raise DecodeError(0, "ECS82 response: expected one data item and result")
        value = apdu.data[0].value
        obj = cls(value if isinstance(value, int) else None, apdu.results[0].result)
        _canonical(obj, payload, apdu.invoke_id)
        return obj


@dataclass(frozen=True)
class AccessResults:
    """A multi-entry ACCESS-Response (ECS01a, CCS01, CCS02): data and one result per entry."""

    data: tuple[Data, ...]
    results: tuple[AccessResult, ...]

    @property
    def ok(self) -> bool:
        """Every entry succeeded."""
        return all(r.result == 0 for r in self.results)

    def encode(self, invoke_counter: int) -> bytes:
        """ACCESS-Response bytes."""
        return AccessResponse(invoke_id(invoke_counter), self.data, self.results).encode()

    @classmethod
    def decode(cls, payload: bytes) -> AccessResults:
        """Inverse of :meth:`encode`."""
        apdu = _response_of(payload, "ACCESS-Response")
        obj = cls(apdu.data, apdu.results)
        _canonical(obj, payload, apdu.invoke_id)
        return obj


#: ZigBee HAN device log (class 104) 0-0:30.3.0.255 (CCS01 / CCS02, §1.6).
_HAN_LOG = (104, bytes.fromhex("00001E0300FF"))
SMETS2_INSTALL_CODE_LENGTH = 16
#: DLMS action / data-access results used in the install-code rejection.
TYPE_UNMATCHED = 12
OTHER_REASON = 250


class InstallCodeError(ValueError):
    """An install code a SMETS2 device must refuse (domain.md §5: 16 bytes required)."""

    def __init__(self, length: int) -> None:
        super().__init__(
            f"install code of {length} bytes: a SMETS2 device needs "
            f"{SMETS2_INSTALL_CODE_LENGTH} (SRV 8.11)"
        )
        self.length = length


@dataclass(frozen=True)
class AddHanDevice:
    """CCS01 (SRV 8.11 add): register a device on the CHF's HAN device log.

    The rig may send any install code (to test a device's refusal); :meth:`check` is the
    SMETS2 rule and :data:`INSTALL_CODE_REJECTED` the consistent response to a short code.
    ``device_type`` and ``entry_option`` are the two enums of the RTDS entry (1 and 0).
    """

    MESSAGE_CODE: ClassVar[int] = 0x0001
    device: Eui64
    install_code: bytes
    join_time_period: int = 90
    join_enabled: bool = True
    device_type: int = 1
    entry_option: int = 0

    def check(self, smets2: bool = True) -> None:
        """Raise :class:`InstallCodeError` if a SMETS2 device must refuse the install code."""
        if smets2 and len(self.install_code) != SMETS2_INSTALL_CODE_LENGTH:
            raise InstallCodeError(len(self.install_code))

    def encode(self, invoke_counter: int) -> bytes:
        """ACTION register-device, SET attribute 3 (join time), SET attribute 2 (enable)."""
        cls_id, obis = _HAN_LOG
        specs = (
            AccessSpec(AccessKind.ACTION, cls_id, obis, 1),
            AccessSpec(AccessKind.SET, cls_id, obis, 3),
            AccessSpec(AccessKind.SET, cls_id, obis, 2),
        )
        entry = Data.structure(
            Data.octet_string(self.device.raw),
            Data.enum(self.device_type),
            Data.octet_string(self.install_code),
            Data.enum(self.entry_option),
        )
        data = (
            entry,
            Data.long_unsigned(self.join_time_period),
            Data(Tag.BOOLEAN, 0xFF if self.join_enabled else 0),
        )
        return AccessRequest(invoke_id(invoke_counter), specs, data).encode()

    @classmethod
    def decode(cls, payload: bytes) -> AddHanDevice:
        """Inverse of :meth:`encode` (any install-code length: see :meth:`check`)."""
        apdu = _request_of(payload, "CCS01")
        if len(apdu.data) != 3:
            raise DecodeError(0, "CCS01: expected three data items")
        entry, join_time, enabled = apdu.data
        device, device_type, code, option = _items(entry, Tag.STRUCTURE, 4, "CCS01 entry")
        eui = _octets(device, "device id")
        if len(eui) != 8 or not all(
            isinstance(d.value, int) for d in (device_type, option, join_time, enabled)
        ):
            raise DecodeError(0, "CCS01: malformed device entry")
        obj = cls(
            Eui64(eui),
            _octets(code, "install code"),
            join_time.value,  # type: ignore[arg-type]
            bool(enabled.value),
            device_type.value,  # type: ignore[arg-type]
            option.value,  # type: ignore[arg-type]
        )
        _canonical(obj, payload, apdu.invoke_id)
        return obj


#: The consistent response of a SMETS2 device to a CCS01 whose install code is not 16 bytes:
#: nothing is applied; the entry is type-unmatched, the two SETs fail with other-reason.
INSTALL_CODE_REJECTED = AccessResults(
    (Data.null(),) * 3,
    (
        AccessResult(AccessKind.ACTION, TYPE_UNMATCHED),
        AccessResult(AccessKind.SET, OTHER_REASON),
        AccessResult(AccessKind.SET, OTHER_REASON),
    ),
)


@dataclass(frozen=True)
class RemoveHanDevice:
    """CCS02 (SRV 8.11 remove): unregister a device from the CHF's HAN device log."""

    MESSAGE_CODE: ClassVar[int] = 0x0002
    device: Eui64

    def encode(self, invoke_counter: int) -> bytes:
        """ACTION unregister-device (method 2) with the device id."""
        spec = AccessSpec(AccessKind.ACTION, *_HAN_LOG, 2)
        data = (Data.octet_string(self.device.raw),)
        return AccessRequest(invoke_id(invoke_counter), (spec,), data).encode()

    @classmethod
    def decode(cls, payload: bytes) -> RemoveHanDevice:
        """Inverse of :meth:`encode`."""
        apdu = _request_of(payload, "CCS02")
        eui = _octets(apdu.data[0], "device id") if len(apdu.data) == 1 else b""
        if len(eui) != 8:
            raise DecodeError(0, "CCS02: expected one 8-byte device id")
        obj = cls(Eui64(eui))
        _canonical(obj, payload, apdu.invoke_id)
        return obj
