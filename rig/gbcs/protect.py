"""Encrypted payload parts: find, decrypt and encrypt them (reference/gbcs.md §1.4).

GBCS encrypts sensitive data inside a payload, never the whole payload. A part is the block
``31 00000000 || ciphertext || 12-byte tag`` (AES-128-GCM, AAD ``31``, IV = originator system
title || ``00000000``) and sits in one of two places (§1.4, §1.7):

* **DLMS**: a Get Protected Attributes response, i.e. an octet-string right after the
  protection-parameters array in the same structure, in an ACCESS-Response (ECS17b/d/e, ECS19,
  ECS20b/c, ECS21a/b, ECS66, …) or a Data-Notification alert (ECS68);
* **GBZ**: a component whose control field has bit ``0x02`` set, in a response (GCS13a, GCS14,
  GCS17, GCS18, …) or after the header of a GBZ alert (GCS53).

Parts are found from the payload's structure alone, so any use case, typed or not, is covered.
The key is the KDF's with CRA ``04``: ECDH between the originator's KA key and the remote party's
(the Supplementary Remote Party ID if present, else the recipient), with the Supplementary
Originator Counter if present, else the originator counter. The DLMS protection parameters repeat
a counter and titles but do not key the part: the RTDS URP response ECS21b (whose parameters name
the ACB and the counter 1302) decrypts only under the header's supplementary party and counter
(2002). ECDH is symmetric, so either side's private key is enough.

Typed-payload decoders get the plaintext through :func:`decrypt_part` (bytes in, bytes out) and
may register a plaintext type with :func:`register_plaintext`; ``rig decode`` shows it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rig.gbcs import crypto
from rig.gbcs.crypto import (
    CRA_ENCRYPTION,
    ENCRYPTED_PART_HEADER,
    MAC_LENGTH,
    kdf_from_secret,
    shared_secret,
)
from rig.gbcs.dlms import AccessResponse, Data, DataNotification, Tag, decode_apdu
from rig.gbcs.errors import DecodeError, GbcsError, VerifyError
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import Cra, GeneralSigning, Message, decode
from rig.gbcs.gbz import PROFILE, decode_gbz
from rig.keys.keystore import KeyStore

#: ``01 09 <count> <alert code 2> <time 4>``: the GBZ alert header before its components.
_GBZ_ALERT_HEADER = 9
#: A GBZ component's control, cluster and length, then (encrypted) additional header control,
#: frame counter, ZCL frame control, sequence, command and ciphered length: 12 bytes.
_ENCRYPTED_COMPONENT_HEAD = 12
_MINIMUM_BLOCK = len(ENCRYPTED_PART_HEADER) + MAC_LENGTH

VALID = "valid"
INVALID = "INVALID"


class KeyUnavailable(GbcsError, KeyError):
    """Neither side's KA private key of a key pair (MAC or encrypted part) is in the store."""

    def __init__(self, device: Eui64, party: Eui64) -> None:
        super().__init__(device, party)
        self.device, self.party = device, party

    def __str__(self) -> str:
        return f"key not available: needs the KA private key of {self.party} or {self.device}"


@dataclass(frozen=True)
class EncryptedPart:
    """One ``31 00000000 …`` block of a payload: where it is and what it belongs to.

    ``offset`` is the block's first byte in the payload. For a GBZ component, ``cluster`` and
    ``zcl_header`` (frame control, sequence number, command id: clear on the wire) say how to
    read the plaintext, which is that ZCL command's payload; for DLMS they are None and the
    plaintext is A-XDR data.
    """

    label: str
    offset: int
    block: bytes
    cluster: int | None = None
    zcl_header: bytes | None = None

    @property
    def gbz(self) -> bool:
        """A GBZ component (else a DLMS protected-attributes octet-string)."""
        return self.cluster is not None


@dataclass(frozen=True)
class Decryption:
    """The outcome for one part: ``plaintext`` (None unless the tag held) and ``verdict``:
    ``valid``, ``INVALID`` (the GCM tag fails) or ``not checked (key not available: …)``."""

    part: EncryptedPart
    plaintext: bytes | None
    verdict: str


def _is_block(item: Data) -> bool:
    value = item.value
    return (
        item.tag is Tag.OCTET_STRING
        and isinstance(value, bytes)
        and len(value) >= _MINIMUM_BLOCK
        and value.startswith(ENCRYPTED_PART_HEADER)
    )


def _dlms_blocks(item: Data, found: list[bytes]) -> None:
    """Octet-strings that follow a protection-parameters array in the same sequence."""
    if not isinstance(item.value, tuple):
        return
    previous: Data | None = None
    for child in item.value:
        if _is_block(child) and previous is not None and previous.tag is Tag.ARRAY:
            found.append(child.value)  # type: ignore[arg-type]
        else:
            _dlms_blocks(child, found)
        previous = child


def _dlms_parts(payload: bytes) -> tuple[EncryptedPart, ...]:
    if ENCRYPTED_PART_HEADER not in payload:  # every block is a slice of the payload
        return ()
    try:
        apdu = decode_apdu(payload)
    except DecodeError:
        return ()
    if isinstance(apdu, AccessResponse):
        top = Data(Tag.STRUCTURE, apdu.data)
    elif isinstance(apdu, DataNotification):
        top = apdu.body
    else:
        return ()
    blocks: list[bytes] = []
    _dlms_blocks(top, blocks)
    parts, start = [], 0
    for i, block in enumerate(blocks):
        offset = payload.index(block, start)
        start = offset + len(block)
        parts.append(EncryptedPart(f"protected attributes {i}", offset, block))
    return tuple(parts)


def _gbz_parts(payload: bytes, alert: bool) -> tuple[EncryptedPart, ...]:
    skip = _GBZ_ALERT_HEADER - 3 if alert else 0
    if alert:
        if len(payload) < _GBZ_ALERT_HEADER or payload[2] == 0:
            return ()
        body = payload[:3] + payload[_GBZ_ALERT_HEADER:]
    else:
        body = payload
    try:
        gbz = decode_gbz(body)
    except DecodeError:
        return ()
    parts, at = [], 3 + skip
    for i, component in enumerate(gbz.components):
        size = len(component.encode(i == len(gbz.components) - 1))
        if component.encrypted:
            label = f"component {i} (cluster 0x{component.cluster:04X})"
            block = component.frame.payload
            header = component.frame.header()
            offset = at + _ENCRYPTED_COMPONENT_HEAD
            parts.append(EncryptedPart(label, offset, block, component.cluster, header))
        at += size
    return tuple(parts)


def find_parts(signing: GeneralSigning) -> tuple[EncryptedPart, ...]:
    """Every encrypted part of ``signing``'s payload, in order (empty if none or malformed)."""
    payload = signing.payload
    if payload[:2] == PROFILE:
        return _gbz_parts(payload, signing.cra is Cra.ALERT)
    return _dlms_parts(payload)


def remote_party(signing: GeneralSigning) -> Eui64:
    """The KDF recipient of an encrypted part: the Supplementary Remote Party ID if present."""
    return signing.supplementary_remote_party_id or signing.recipient


def part_counter(signing: GeneralSigning) -> int:
    """The KDF counter of an encrypted part: the Supplementary Originator Counter if present."""
    counter = signing.supplementary_originator_counter
    return signing.counter if counter is None else counter


def pair_secret(keys: KeyStore, a: Eui64, b: Eui64) -> bytes:
    """The ECDH secret of the KA keys of ``a`` and ``b``, from whichever side's private key
    ``keys`` holds (ECDH is symmetric); :class:`KeyUnavailable` if neither."""
    for private, public in ((a, b), (b, a)):
        try:
            pair = keys.ka_private(private), keys.ka_public(public)
        except (KeyError, ValueError):
            continue
        return shared_secret(*pair)
    raise KeyUnavailable(b, a)


def part_key(signing: GeneralSigning, keys: KeyStore) -> bytes:
    """The AES key of ``signing``'s encrypted parts (KDF mode 04); :class:`KeyUnavailable` if
    ``keys`` holds neither side's private KA key."""
    party = remote_party(signing)
    z = pair_secret(keys, party, signing.originator)
    return kdf_from_secret(z, signing.originator, CRA_ENCRYPTION, part_counter(signing), party)


def decrypt_part(signing: GeneralSigning, block: bytes, keys: KeyStore) -> bytes:
    """The plaintext of one ``31 00000000 …`` block of ``signing``'s payload: the hook for typed
    decoders. :class:`KeyUnavailable`, ``DecodeError`` (malformed block) or ``VerifyError``
    (tag fails)."""
    return crypto.decrypt_part(part_key(signing, keys), signing.originator, block)


def encrypt_part(signing: GeneralSigning, plaintext: bytes, keys: KeyStore) -> bytes:
    """The block that carries ``plaintext`` in ``signing``'s payload (deterministic: the same
    inputs give the same bytes, as GCM under one key and IV does)."""
    return crypto.encrypt_part(part_key(signing, keys), signing.originator, plaintext)


def decrypt_parts(signing: GeneralSigning, keys: KeyStore | None) -> tuple[Decryption, ...]:
    """Every part of ``signing`` with its plaintext and verdict; never raises."""
    out = []
    for part in find_parts(signing):
        if keys is None:
            out.append(Decryption(part, None, "not checked (no keys)"))
            continue
        try:
            out.append(Decryption(part, decrypt_part(signing, part.block, keys), VALID))
        except KeyUnavailable as exc:
            out.append(Decryption(part, None, f"not checked ({exc})"))
        except (VerifyError, DecodeError):
            out.append(Decryption(part, None, INVALID))
    return tuple(out)


def decrypt_message(frame: bytes | Message, keys: KeyStore | None) -> tuple[Decryption, ...]:
    """The pure API: a whole frame (or a decoded :class:`Message`) and keys -> each encrypted
    part's plaintext and verdict. ``DecodeError`` only if the frame itself is malformed."""
    message = frame if isinstance(frame, Message) else decode(bytes(frame))
    return decrypt_parts(message.signing, keys)


def overall_verdict(results: tuple[Decryption, ...]) -> str:
    """One verdict for a message: INVALID if any tag fails, else the first not-checked reason,
    else valid."""
    verdicts = [r.verdict for r in results]
    if INVALID in verdicts:
        return INVALID
    return next((v for v in verdicts if v != VALID), VALID)


def reencrypt(signing: GeneralSigning, plaintexts: tuple[bytes, ...], keys: KeyStore) -> bytes:
    """``signing``'s payload with each part replaced by the encryption of the plaintext at the
    same index (each plaintext as long as its part's, so no length field moves)."""
    payload = bytearray(signing.payload)
    parts = find_parts(signing)
    if len(parts) != len(plaintexts):
        raise ValueError(f"{len(plaintexts)} plaintexts for {len(parts)} encrypted parts")
    for part, plaintext in zip(parts, plaintexts, strict=True):
        block = encrypt_part(signing, plaintext, keys)
        if len(block) != len(part.block):
            raise ValueError(f"{part.label}: {len(plaintext)} bytes of plaintext change its size")
        payload[part.offset : part.offset + len(block)] = block
    return bytes(payload)


#: Typed plaintext decoders by message code (see :func:`register_plaintext`).
PlaintextDecoder = Callable[[EncryptedPart, bytes], object]
_PLAINTEXT_TYPES: dict[int, PlaintextDecoder] = {}


def register_plaintext(message_code: int, decoder: PlaintextDecoder) -> None:
    """Let ``rig decode`` show the plaintext of ``message_code``'s parts as ``decoder(part,
    plaintext)``'s typed object (a DLMS protected-attributes body, or a GBZ component's ZCL
    payload read by the part's cluster and ZCL header); the typed-payload modules call this
    (:mod:`rig.gbcs.plaintexts`). A decoder that raises ``DecodeError`` falls back to the
    generic view."""
    _PLAINTEXT_TYPES[message_code] = decoder


def plaintext_decoder(message_code: int) -> PlaintextDecoder | None:
    """The decoder registered for ``message_code``, if any."""
    return _PLAINTEXT_TYPES.get(message_code)
