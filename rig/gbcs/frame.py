"""GBCS frames: the MAC Header and the General-Signing APDU (reference/gbcs.md §1.1-1.3).

:func:`decode` checks structure only (no cryptography). It is strict and canonical: a frame
decodes only if re-encoding the result gives the same bytes, so a MAC or signature can be
checked over the re-encoded APDU.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import IntEnum

from rig.gbcs.crypto import MAC_LENGTH, SIGNATURE_LENGTH, check_mac, gmac
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


class Cra(IntEnum):
    """Command, Response or Alert: the first byte of the transaction id (§1.2)."""

    COMMAND = 1
    RESPONSE = 2
    ALERT = 3


@dataclass(frozen=True)
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
        if not 0 <= self.counter < _UINT64:
            raise ValueError(f"originator counter {self.counter} does not fit in 64 bits")
        if not 0 <= self.message_code <= 0xFFFF:
            raise ValueError(f"message code {self.message_code} does not fit in 16 bits")
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
        parts = [self.message_code.to_bytes(2, "big")]
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

    def signed_data(self) -> bytes:
        """The ECDSA input: from the transaction-id length through the payload (§1.4)."""
        if self._raw is not None:
            tail = 0 if not self.has_signature_field else 1 + len(self.signature or b"")
            return self._raw[1 : len(self._raw) - tail]
        other = self.other_information()
        date_time = b"\x00" if self.date_time is None else b"\x0c" + self.date_time
        return b"".join(
            (
                bytes([_TRANSACTION_ID_LENGTH]),
                self.transaction_id,
                b"\x08",
                self.originator.raw,
                b"\x08",
                self.recipient.raw,
                date_time,
                encode_length(len(other)),
                other,
                encode_length(len(self.payload)),
                self.payload,
            )
        )

    def encode(self) -> bytes:
        """The APDU from ``DF`` through the signature field."""
        if self._raw is not None:
            return self._raw
        if not self.has_signature_field:
            signature = b""
        elif self.signature is None:
            signature = b"\x00"
        else:
            signature = bytes([SIGNATURE_LENGTH]) + self.signature
        return bytes([GENERAL_SIGNING]) + self.signed_data() + signature

    def with_signature(self, signature: bytes | None) -> GeneralSigning:
        """A copy carrying ``signature`` (and a signature field)."""
        return dataclasses.replace(self, signature=signature, has_signature_field=True)

    def without_signature_field(self) -> GeneralSigning:
        """A copy without any signature field (the RTDS 4.5.0 pre-command form, §1.3)."""
        return dataclasses.replace(self, signature=None, has_signature_field=False)


@dataclass(frozen=True)
class Message:
    """A decoded frame: the APDU and the MAC of its MAC Header, or None for a bare ``DF`` frame."""

    signing: GeneralSigning
    mac: bytes | None

    def encode(self) -> bytes:
        """The frame's bytes."""
        apdu = self.signing.encode()
        if self.mac is None:
            return apdu
        return _mac_header(len(apdu)) + apdu + self.mac


def _mac_header(apdu_length: int) -> bytes:
    content_length = len(_SECURITY_HEADER) + apdu_length + MAC_LENGTH
    return (
        bytes([GENERAL_CIPHERING, 0, 0, 0, 0, 0, 0])
        + encode_length(content_length)
        + _SECURITY_HEADER
    )


def encode_mac_frame(signing: GeneralSigning, key: bytes) -> bytes:
    """MAC Header + APDU + 12-byte GMAC under ``key`` (§1.2, §1.4)."""
    apdu = signing.encode()
    return _mac_header(len(apdu)) + apdu + gmac(key, signing.originator, apdu)


def encode_signed(signing: GeneralSigning) -> bytes:
    """A bare ``DF`` frame (pre-command, critical response or critical alert)."""
    return signing.encode()


def verify_mac(message: Message, key: bytes) -> None:
    """Raise :class:`VerifyError` unless the frame's MAC verifies under ``key``."""
    if message.mac is None:
        raise VerifyError("frame has no MAC header")
    check_mac(key, message.signing.originator, message.signing.encode(), message.mac)


def decode(data: bytes) -> Message:
    """Parse a frame (structure only). Any bad input raises :class:`DecodeError`."""
    if not isinstance(data, bytes | bytearray | memoryview):
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


_MAC_PREFIX = bytes([GENERAL_CIPHERING, 0, 0, 0, 0, 0, 0])
_SIGNING_PREFIX = bytes([GENERAL_SIGNING, _TRANSACTION_ID_LENGTH])
#: DF, transaction id, two system titles, date-time, message code, payload and signature lengths.
_SHORTEST_APDU = 35


def _decode_common(data: bytes) -> Message | None:
    """The common shape, read by slicing: a MAC Header with a short length (or a bare ``DF``),
    no supplementary fields, a short payload length and a null or 64-byte signature. None for
    anything else, which the general decoder then handles (and reports)."""
    if len(data) < _SHORTEST_APDU:
        return None
    if data[:7] == _MAC_PREFIX:
        end = len(data) - MAC_LENGTH
        # A short (single-byte, < 0x80) ciphered-content length only: 0x80 and above is the
        # long form, which the general decoder reads (and rejects when not minimal).
        if data[7] >= 0x80 or data[7] != len(data) - 8 or data[8:13] != _SECURITY_HEADER:
            return None
        start = 13
    elif data[:1] == bytes([GENERAL_SIGNING]):
        start, end = 0, len(data)
    else:
        return None
    if end - start < _SHORTEST_APDU or data[start : start + 2] != _SIGNING_PREFIX:
        return None
    at = start + 11
    if not 1 <= data[start + 2] <= 3 or data[at] != 8 or data[at + 9] != 8:
        return None
    dt_length = data[at + 18]
    if dt_length not in (0, _DATE_TIME_LENGTH):
        return None
    at += 19 + dt_length
    if data[at : at + 1] != b"\x02" or at + 4 > end or data[at + 3] >= 0x80:
        return None
    payload_end = at + 4 + data[at + 3]
    tail = data[payload_end:end]
    if not (tail == b"\x00" or (len(tail) == 65 and tail[0] == SIGNATURE_LENGTH)):
        return None
    signing = GeneralSigning(
        Cra(data[start + 2]),
        int.from_bytes(data[start + 3 : start + 11], "big"),
        Eui64(data[start + 12 : start + 20]),
        Eui64(data[start + 21 : start + 29]),
        int.from_bytes(data[at + 1 : at + 3], "big"),
        data[at + 4 : payload_end],
        data[start + 30 : start + 42] if dt_length else None,
        signature=tail[1:] if len(tail) == 65 else None,
    )
    object.__setattr__(signing, "_raw", data[start:end])
    return Message(signing, data[end:] if start else None)


def _system_title(reader: Reader, what: str) -> Eui64:
    at = reader.offset
    length = reader.byte(f"{what} length")
    if length != 8:
        raise DecodeError(at, f"{what} length {length}, expected 8")
    return Eui64(reader.take(8, what))
