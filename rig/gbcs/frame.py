"""GBCS frames: the MAC Header and the General-Signing APDU (reference/gbcs.md §1.1-1.3).

:func:`decode` checks structure only (no cryptography). It is strict and canonical: a frame
decodes only if re-encoding the result gives the same bytes, so a MAC or signature can be
checked over the re-encoded APDU.
"""

from __future__ import annotations

import dataclasses
import hmac
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from types import ModuleType
from typing import Any

from rig.gbcs.accel import WIRE
from rig.gbcs.crypto import (
    KDF_HASH,
    MAC_AAD_PREFIX,
    MAC_AEAD,
    MAC_LENGTH,
    SIGNATURE_LENGTH,
    check_mac,
    gmac,
    kdf_mac,
)
from rig.gbcs.errors import DecodeError, VerifyError
from rig.gbcs.eui import Eui64
from rig.gbcs.wire import Reader, encode_length

GENERAL_CIPHERING = 0xDD
GENERAL_SIGNING = 0xDF
GENERAL_BLOCK_TRANSFER = 0xE0
#: Security control (authentication only, suite 1) and invocation counter 0 (§1.2).
_SECURITY_HEADER = bytes.fromhex("1100000000")
_TRANSACTION_ID_LENGTH = 9
_DATE_TIME_LENGTH = 12
_MESSAGE_CODE_ONLY = 2
#: Other-information lengths: message code, + remote party id, + its counter, + originator counter.
_OTHER_INFO_STEPS = (2, 10, 18, 26)
_UINT64 = 1 << 64
#: ``DF 09 <CRA> <counter 8> 08 <originator 8> 08 <recipient 8>``: the fixed start of an APDU.
_APDU_HEAD = struct.Struct(">BBBQB8sB8s")
#: The same, then no date-time (``00``) and a message code alone (``02 <code>``).
_COMMON_HEAD = struct.Struct(">BBBQB8sB8sBBH")
_DF = bytes([GENERAL_SIGNING])
_NULL_SIGNATURE = b"\x00"
_SIGNATURE_LENGTH_BYTE = bytes([SIGNATURE_LENGTH])
#: Where the KDF OtherInfo fields sit in an APDU: ``09 CRA counter`` and the two titles (§1.4).
_TRANSACTION_ID = slice(1, 11)
_ORIGINATOR = slice(12, 20)
_RECIPIENT = slice(21, 29)
#: An APDU's originator title, ``08`` and recipient title: what names its pair of KA keys.
TITLES = slice(12, 29)


class Cra(IntEnum):
    """Command, Response or Alert: the first byte of the transaction id (§1.2)."""

    COMMAND = 1
    RESPONSE = 2
    ALERT = 3


@dataclass(frozen=True, slots=True)
class GeneralSigning:
    """A General-Signing APDU, the "Grouping Header" and its payload (§1.2, §1.3).

    The supplementary fields of the other-information are cumulative: each needs the previous one.
    ``signature`` None is the null signature (``00``); ``has_signature_field`` False is an RTDS
    4.5.0 pre-command, which has no signature byte at all.
    """

    cra: Cra
    counter: int
    originator: Eui64
    recipient: Eui64
    message_code: int
    payload: bytes
    date_time: bytes | None = None
    supplementary_remote_party_id: Eui64 | None = None
    supplementary_remote_party_counter: int | None = None
    supplementary_originator_counter: int | None = None
    supplementary_remote_party_ka_certificate: bytes | None = None
    signature: bytes | None = None
    has_signature_field: bool = True
    #: The decoded bytes (DF through the signature field), kept by :func:`decode` so a MAC or
    #: signature check need not re-encode; decoding is canonical, so they equal :meth:`encode`.
    _raw: bytes | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if type(self.cra) is not Cra:
            object.__setattr__(self, "cra", Cra(self.cra))
        _check_numbers(self.counter, self.message_code)
        if self.date_time is not None and len(self.date_time) != _DATE_TIME_LENGTH:
            raise ValueError(f"date-time must be {_DATE_TIME_LENGTH} bytes")
        if self.supplementary_remote_party_id is not None:
            self._check_supplementary()
        elif (
            self.supplementary_remote_party_counter is not None
            or self.supplementary_originator_counter is not None
            or self.supplementary_remote_party_ka_certificate is not None
        ):
            raise ValueError("each supplementary field needs all the ones before it")
        if self.signature is not None:
            if len(self.signature) != SIGNATURE_LENGTH:
                raise ValueError(f"signature must be {SIGNATURE_LENGTH} bytes")
            if not self.has_signature_field:
                raise ValueError("a signature needs the signature field")

    def _check_supplementary(self) -> None:
        chain = (
            self.supplementary_remote_party_id,
            self.supplementary_remote_party_counter,
            self.supplementary_originator_counter,
            self.supplementary_remote_party_ka_certificate,
        )
        present = [item is not None for item in chain]
        if present != sorted(present, reverse=True):
            raise ValueError("each supplementary field needs all the ones before it")
        for counter in chain[1:3]:
            if counter is not None and not 0 <= counter < _UINT64:
                raise ValueError(f"supplementary counter {counter} does not fit in 64 bits")
        if self.supplementary_remote_party_ka_certificate == b"":
            raise ValueError("an empty KA certificate cannot be told from none")

    @property
    def transaction_id(self) -> bytes:
        """CRA flag and the 8-byte originator counter (without the ``09`` length)."""
        return bytes([self.cra]) + self.counter.to_bytes(8, "big")

    def other_information(self) -> bytes:
        """Message code and any supplementary fields, without the length."""
        return self.message_code.to_bytes(2, "big") + self._supplementary()

    def _supplementary(self) -> bytes:
        parts = []
        if self.supplementary_remote_party_id is not None:
            parts.append(self.supplementary_remote_party_id.raw)
        for counter in (
            self.supplementary_remote_party_counter,
            self.supplementary_originator_counter,
        ):
            if counter is not None:
                parts.append(counter.to_bytes(8, "big"))
        if self.supplementary_remote_party_ka_certificate is not None:
            parts.append(self.supplementary_remote_party_ka_certificate)
        return b"".join(parts)

    def _unsigned(self, signature_field: bytes) -> bytes:
        return encode_apdu(
            self.cra,
            self.counter,
            self.originator,
            self.recipient,
            self.message_code,
            self.payload,
            date_time=self.date_time,
            supplementary=self._supplementary(),
            signature_field=signature_field,
        )

    def signed_data(self) -> bytes:
        """The ECDSA input: from the transaction-id length through the payload (§1.4)."""
        if self._raw is not None:
            tail = 0 if not self.has_signature_field else 1 + len(self.signature or b"")
            return self._raw[1 : len(self._raw) - tail]
        return self._unsigned(b"")[1:]

    def encode(self) -> bytes:
        """The APDU from ``DF`` through the signature field."""
        if self._raw is not None:
            return self._raw
        if not self.has_signature_field:
            return self._unsigned(b"")
        if self.signature is None:
            return self._unsigned(_NULL_SIGNATURE)
        return self._unsigned(_SIGNATURE_LENGTH_BYTE + self.signature)

    def with_signature(self, signature: bytes | None) -> GeneralSigning:
        """A copy carrying ``signature`` (and a signature field)."""
        return dataclasses.replace(self, signature=signature, has_signature_field=True)

    def without_signature_field(self) -> GeneralSigning:
        """A copy without any signature field (the RTDS 4.5.0 pre-command form, §1.3)."""
        return dataclasses.replace(self, signature=None, has_signature_field=False)


def _check_numbers(counter: int, message_code: int) -> None:
    if not 0 <= counter < _UINT64:
        raise ValueError(f"originator counter {counter} does not fit in 64 bits")
    if not 0 <= message_code <= 0xFFFF:
        raise ValueError(f"message code {message_code} does not fit in 16 bits")


def encode_apdu(
    cra: Cra,
    counter: int,
    originator: Eui64,
    recipient: Eui64,
    message_code: int,
    payload: bytes,
    *,
    date_time: bytes | None = None,
    supplementary: bytes = b"",
    signature_field: bytes = _NULL_SIGNATURE,
) -> bytes:
    """A General-Signing APDU from its fields, without building a :class:`GeneralSigning` (§1.2).

    ``supplementary`` is the encoded other-information after the message code;
    ``signature_field`` is ``00`` (null, the default), empty (none: an RTDS pre-command) or
    ``40`` and the signature. :meth:`GeneralSigning.encode` is this; non-critical commands call
    it directly. A counter, message code or CRA out of range raises ValueError.
    """
    if not (0 <= counter < _UINT64 and 0 <= message_code <= 0xFFFF and 1 <= cra <= 3):
        _check_numbers(counter, message_code)
        raise ValueError(f"CRA flag {cra}, expected 1, 2 or 3")
    if date_time is None and not supplementary:  # the common shape: one struct to the code
        head = _COMMON_HEAD.pack(
            GENERAL_SIGNING,
            _TRANSACTION_ID_LENGTH,
            cra,
            counter,
            8,
            originator.raw,
            8,
            recipient.raw,
            0,
            _MESSAGE_CODE_ONLY,
            message_code,
        )
        return b"".join((head, encode_length(len(payload)), payload, signature_field))
    if date_time is None:
        date_field = b"\x00"
    elif len(date_time) == _DATE_TIME_LENGTH:
        date_field = b"\x0c" + date_time
    else:
        raise ValueError(f"date-time must be {_DATE_TIME_LENGTH} bytes")
    head = _APDU_HEAD.pack(
        GENERAL_SIGNING, _TRANSACTION_ID_LENGTH, cra, counter, 8, originator.raw, 8, recipient.raw
    )
    return b"".join(
        (
            head,
            date_field,
            encode_length(_MESSAGE_CODE_ONLY + len(supplementary)),
            message_code.to_bytes(2, "big"),
            supplementary,
            encode_length(len(payload)),
            payload,
            signature_field,
        )
    )


def signed_apdu(signed_data: bytes, signature: bytes) -> bytes:
    """``DF``, the ECDSA input, ``40`` and the signature: a signed APDU (§1.3, §1.4)."""
    if len(signature) != SIGNATURE_LENGTH:
        raise ValueError(f"signature must be {SIGNATURE_LENGTH} bytes")
    return _DF + signed_data + _SIGNATURE_LENGTH_BYTE + signature


@dataclass(frozen=True, slots=True)
class Message:
    """A decoded frame: the APDU and the MAC of its MAC Header, or None for a bare ``DF`` frame."""

    signing: GeneralSigning
    mac: bytes | None

    def encode(self) -> bytes:
        """The frame's bytes."""
        apdu = self.signing.encode()
        if self.mac is None:
            return apdu
        return _seal(apdu, self.mac)


_MAC_PREFIX = bytes([GENERAL_CIPHERING, 0, 0, 0, 0, 0, 0])
_MAC_OVERHEAD = len(_SECURITY_HEADER) + MAC_LENGTH
_IV_TAIL = bytes(4)
#: MAC Headers with a one-byte ciphered-content length, by that length.
_SHORT_MAC_HEADERS = tuple(_MAC_PREFIX + bytes([n]) + _SECURITY_HEADER for n in range(0x80))


def _mac_header(apdu_length: int) -> bytes:
    content_length = _MAC_OVERHEAD + apdu_length
    if content_length < 0x80:
        return _SHORT_MAC_HEADERS[content_length]
    return _MAC_PREFIX + encode_length(content_length) + _SECURITY_HEADER


def _py_seal(apdu: bytes, mac: bytes) -> bytes:
    """MAC Header + ``apdu`` + its 12-byte ``mac`` (§1.2)."""
    return _mac_header(len(apdu)) + apdu + mac


def encode_mac_frame(signing: GeneralSigning, key: bytes) -> bytes:
    """MAC Header + APDU + 12-byte GMAC under ``key`` (§1.2, §1.4)."""
    apdu = signing.encode()
    return _seal(apdu, gmac(key, signing.originator, apdu))


def _py_mac_inputs(kdf_prefix: bytes, apdu: bytes) -> tuple[bytes, bytes, bytes]:
    """The KDF input (``kdf_prefix`` then the APDU's originator title, transaction id and
    recipient title, read where they sit), the GCM IV and the GMAC AAD of ``apdu`` (§1.4)."""
    if len(apdu) < _APDU_HEAD.size:
        raise ValueError(f"APDU of {len(apdu)} bytes, too short for its KDF fields")
    originator = apdu[_ORIGINATOR]
    return (
        kdf_prefix + originator + apdu[_TRANSACTION_ID] + apdu[_RECIPIENT],
        originator + _IV_TAIL,
        MAC_AAD_PREFIX + apdu,
    )


def apdu_mac(kdf_prefix: bytes, apdu: bytes) -> bytes:
    """The 12-byte MAC of ``apdu`` for the pair of KA keys with this
    :func:`~rig.gbcs.crypto.kdf_prefix` (§1.4)."""
    return kdf_mac(*_py_mac_inputs(kdf_prefix, apdu))


def mac_frame(apdu: bytes, kdf_prefix: bytes) -> bytes:
    """MAC Header + APDU + :func:`apdu_mac` (§1.2, §1.4)."""
    return _seal(apdu, apdu_mac(kdf_prefix, apdu))


def check_apdu_mac(kdf_prefix: bytes, apdu: bytes, mac: bytes) -> None:
    """Raise :class:`VerifyError` unless ``mac`` is :func:`apdu_mac` of ``apdu``."""
    if not hmac.compare_digest(apdu_mac(kdf_prefix, apdu), mac):
        raise VerifyError(f"MAC does not verify (originator {Eui64(apdu[_ORIGINATOR])})")


def encode_signed(signing: GeneralSigning) -> bytes:
    """A bare ``DF`` frame (pre-command, critical response or critical alert)."""
    return signing.encode()


def verify_mac(message: Message, key: bytes) -> None:
    """Raise :class:`VerifyError` unless the frame's MAC verifies under ``key``."""
    if message.mac is None:
        raise VerifyError("frame has no MAC header")
    check_mac(key, message.signing.originator, message.signing.encode(), message.mac)


def decode(data: bytes) -> Message:
    """Parse a frame (structure only). Any bad input raises :class:`DecodeError`.

    With the C accelerator this name is ``rig.gbcs._wire.decode``, which parses every valid frame
    and hands anything else to this function, so errors are the same."""
    if type(data) is not bytes:
        if not isinstance(data, bytearray | memoryview):
            raise DecodeError(0, f"expected bytes, got {type(data).__name__}")
        data = bytes(data)
    return _decode_common(data) or _decode_general(data)


def _decode_general(data: bytes) -> Message:
    """Any frame, byte by byte through a :class:`Reader`; DecodeError with the offset."""
    reader = Reader(data)
    tag = reader.byte("frame tag")
    if tag == GENERAL_SIGNING:
        return Message(_decode_signing(reader), None)
    if tag == GENERAL_BLOCK_TRANSFER:
        raise DecodeError(0, "a bare GBT APDU; blocks travel behind a routing header (DD 09)")
    if tag != GENERAL_CIPHERING:
        raise DecodeError(0, f"frame tag 0x{tag:02X}, expected DD or DF")
    if data[1:2] == bytes([_TRANSACTION_ID_LENGTH]):
        raise DecodeError(1, "a GBT block, not a frame: decode it with rig.gbcs.gbt.decode_block")
    for what in (
        "MAC header transaction-id length",
        "MAC header originator-system-title length",
        "MAC header recipient-system-title length",
        "MAC header date-time length",
        "MAC header other-information length",
        "MAC header key-info",
    ):
        reader.expect(0, what)
    at = reader.offset
    content_length = reader.length("ciphered-content length")
    if content_length != reader.remaining:
        raise DecodeError(
            at, f"ciphered-content length {content_length}, but {reader.remaining} bytes follow"
        )
    minimum = len(_SECURITY_HEADER) + 1 + MAC_LENGTH
    if content_length < minimum:
        raise DecodeError(at, f"ciphered-content length {content_length}, at least {minimum}")
    reader.expect(_SECURITY_HEADER[0], "security control byte")
    at = reader.offset
    if reader.uint(4, "invocation counter") != 0:
        raise DecodeError(at, "invocation counter not zero")
    apdu = Reader(data, reader.pos, len(data) - MAC_LENGTH)
    apdu.expect(GENERAL_SIGNING, "General-Signing tag")
    signing = _decode_signing(apdu)
    return Message(signing, data[-MAC_LENGTH:])


def _decode_signing(reader: Reader) -> GeneralSigning:
    """The General-Signing APDU after its ``DF`` tag, up to the end of ``reader``'s region."""
    start = reader.pos - 1
    at = reader.offset
    tid_length = reader.byte("transaction-id length")
    if tid_length != _TRANSACTION_ID_LENGTH:
        raise DecodeError(
            at, f"transaction-id length {tid_length}, expected {_TRANSACTION_ID_LENGTH}"
        )
    at = reader.offset
    cra = reader.byte("CRA flag")
    if cra not in Cra._value2member_map_:
        raise DecodeError(at, f"CRA flag 0x{cra:02X}, expected 01, 02 or 03")
    counter = reader.uint(8, "originator counter")
    originator = _system_title(reader, "originator system title")
    recipient = _system_title(reader, "recipient system title")
    at = reader.offset
    dt_length = reader.byte("date-time length")
    if dt_length == 0:
        date_time = None
    elif dt_length == _DATE_TIME_LENGTH:
        date_time = reader.take(_DATE_TIME_LENGTH, "date-time")
    else:
        raise DecodeError(at, f"date-time length {dt_length}, expected 0 or 12")
    at = reader.offset
    other_length = reader.length("other-information length")
    if other_length < _MESSAGE_CODE_ONLY or (
        other_length < _OTHER_INFO_STEPS[-1] and other_length not in _OTHER_INFO_STEPS
    ):
        raise DecodeError(at, f"other-information length {other_length}, expected 2, 10, 18, 26+")
    message_code = reader.uint(2, "message code")
    remote_party_id: Eui64 | None = None
    remote_party_counter: int | None = None
    originator_counter: int | None = None
    certificate: bytes | None = None
    if other_length >= 10:
        remote_party_id = Eui64(reader.take(8, "remote party id"))
    if other_length >= 18:
        remote_party_counter = reader.uint(8, "remote party counter")
    if other_length >= 26:
        originator_counter = reader.uint(8, "originator counter")
    if other_length > 26:
        certificate = reader.take(other_length - 26, "KA certificate")
    payload = reader.take(reader.length("content length"), "content")
    signature: bytes | None = None
    has_signature_field = reader.remaining > 0
    if has_signature_field:
        at = reader.offset
        sig_length = reader.byte("signature length")
        if sig_length == SIGNATURE_LENGTH:
            signature = reader.take(SIGNATURE_LENGTH, "signature")
        elif sig_length != 0:
            raise DecodeError(at, f"signature length {sig_length}, expected 0 or 64")
    reader.expect_end("the signature")
    signing = GeneralSigning(
        cra=Cra(cra),
        counter=counter,
        originator=originator,
        recipient=recipient,
        message_code=message_code,
        payload=payload,
        date_time=date_time,
        supplementary_remote_party_id=remote_party_id,
        supplementary_remote_party_counter=remote_party_counter,
        supplementary_originator_counter=originator_counter,
        supplementary_remote_party_ka_certificate=certificate,
        signature=signature,
        has_signature_field=has_signature_field,
    )
    object.__setattr__(signing, "_raw", reader.since(start))
    return signing


_SIGNING_PREFIX = bytes([GENERAL_SIGNING, _TRANSACTION_ID_LENGTH])
_SIX_ZEROS = bytes(6)
_CRAS = (None, Cra.COMMAND, Cra.RESPONSE, Cra.ALERT)
#: DF, transaction id, two system titles, date-time, message code and payload lengths.
_SHORTEST_APDU = 34


class _BlankSigning:
    """GeneralSigning's slots without its frozen ``__setattr__``. The fast path fills one with
    plain attribute stores from fields it has already checked, then makes it a GeneralSigning by
    ``__class__`` assignment (allowed between classes with the same slots), so that neither
    ``__init__`` nor ``__post_init__`` runs (otherwise most of the decoding time). Its results
    are tested equal to the general decoder's, which does run them."""

    __slots__ = GeneralSigning.__slots__


class _BlankMessage:
    """Message's slots, as :class:`_BlankSigning`."""

    __slots__ = Message.__slots__


_new = object.__new__


def _decode_common(data: bytes) -> Message | None:
    """The common shape, read by slicing: a bare ``DF`` or a MAC Header whose content length is
    one byte or ``81 xx``; no supplementary fields; a payload length of one byte or ``81 xx``; a
    null, 64-byte or absent signature. None for anything else, which the general decoder then
    handles (and reports)."""
    size = len(data)
    if size < _SHORTEST_APDU:
        return None
    if data[0] == GENERAL_CIPHERING:
        if data[1:7] != _SIX_ZEROS:
            return None
        content, start = data[7], 13
        if content >= 0x80:  # only the minimal two-byte long form; the general decoder does more
            if content != 0x81 or data[8] < 0x80:
                return None
            content, start = data[8], 14
        if content != size - start + 5 or data[start - 5 : start] != _SECURITY_HEADER:
            return None
        end = size - MAC_LENGTH
    elif data[0] == GENERAL_SIGNING:
        start, end = 0, size
    else:
        return None
    if end - start < _SHORTEST_APDU or data[start : start + 2] != _SIGNING_PREFIX:
        return None
    cra = data[start + 2]
    if not 1 <= cra <= 3 or data[start + 11] != 8 or data[start + 20] != 8:
        return None
    dt_length = data[start + 29]
    if dt_length not in (0, _DATE_TIME_LENGTH):
        return None
    at = start + 30 + dt_length  # the other-information length: the message code only
    if at + 4 > end or data[at] != _MESSAGE_CODE_ONLY:
        return None
    length, payload_start = data[at + 3], at + 4
    if length >= 0x80:
        if length != 0x81 or payload_start >= end or data[payload_start] < 0x80:
            return None
        length, payload_start = data[payload_start], payload_start + 1
    payload_end = payload_start + length
    tail = end - payload_end
    if not (
        (tail == 1 and data[payload_end] == 0)
        or (tail == 1 + SIGNATURE_LENGTH and data[payload_end] == SIGNATURE_LENGTH)
        or tail == 0
    ):
        return None
    # Any: mypy cannot see slots copied from another class, nor a __class__ assignment.
    s: Any = _new(_BlankSigning)
    s.cra = _CRAS[cra]
    s.counter = int.from_bytes(data[start + 3 : start + 11], "big")
    s.originator = Eui64.of(data[start + 12 : start + 20])
    s.recipient = Eui64.of(data[start + 21 : start + 29])
    s.message_code = data[at + 1] << 8 | data[at + 2]
    s.payload = data[payload_start:payload_end]
    s.date_time = data[start + 30 : start + 42] if dt_length else None
    s.supplementary_remote_party_id = s.supplementary_remote_party_counter = None
    s.supplementary_originator_counter = s.supplementary_remote_party_ka_certificate = None
    s.signature = data[payload_end + 1 : end] if tail > 1 else None
    s.has_signature_field = tail > 0
    s._raw = data[start:end]
    s.__class__ = GeneralSigning
    message: Any = _new(_BlankMessage)
    message.signing = s
    message.mac = data[end:] if start else None
    message.__class__ = Message
    return message


def _system_title(reader: Reader, what: str) -> Eui64:
    at = reader.offset
    length = reader.byte(f"{what} length")
    if length != 8:
        raise DecodeError(at, f"{what} length {length}, expected 8")
    return Eui64(reader.take(8, what))


def bind_accelerator(wire: ModuleType, *, decode_fallback: Callable[[bytes], Message]) -> None:
    """Give the C accelerator the classes it makes, the Eui64 constructor, the Python functions
    that take what it declines (``decode_fallback`` for :func:`decode`) and the crypto calls."""
    wire.bind(
        message=Message,
        signing=GeneralSigning,
        cras=_CRAS[1:],
        eui_of=Eui64.of,
        decode=decode_fallback,
        encode_apdu=py_encode_apdu,
        check_apdu_mac=py_check_apdu_mac,
        kdf_hash=KDF_HASH,
        gcm_class=MAC_AEAD,
    )


#: The hot paths: the C accelerator's functions (rig/gbcs/_wire.c; the same results, tested
#: against the Python ones, to which ``decode``, ``encode_apdu`` and ``check_apdu_mac`` hand
#: what they decline) or the pure-Python ones above (:mod:`rig.gbcs.accel` chooses).
py_decode, py_encode_apdu, py_apdu_mac = decode, encode_apdu, apdu_mac
py_check_apdu_mac = check_apdu_mac
#: The C accelerator's one-call open of a MAC'd unsigned response or alert (``_wire.open_mac``:
#: a Message, or None for the caller's Python checks to decide) and the same with the typed
#: payload (``_wire.open_mac_typed``, ``RemotePartyCodec.open_typed``); None in pure Python.
open_mac: Callable[[bytes, dict[bytes, bytes]], Message | None] | None = None
open_mac_typed: Callable[..., tuple[Message, Any]] | None = None
if WIRE is not None:
    bind_accelerator(WIRE, decode_fallback=py_decode)
    decode, encode_apdu, apdu_mac = WIRE.decode, WIRE.encode_apdu, WIRE.apdu_mac
    check_apdu_mac, _seal = WIRE.check_apdu_mac, WIRE.mac_frame
    open_mac, open_mac_typed = WIRE.open_mac, WIRE.open_mac_typed
else:
    _seal = _py_seal
