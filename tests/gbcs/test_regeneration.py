"""Byte-for-byte regeneration of every RTDS vector from the typed model (reference/gbcs.md §1.3,
§1.4, §1.10): non-critical commands, responses and alerts with their MACs, critical pre-commands
through the DUIS flow, critical commands from the signed pre-command, and the encrypted parts.

ECDH is symmetric, so the remote party's private KA key reproduces a device's MAC and encryption
keys for devices whose private keys are not public.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from gbcs_testdata import ACB, VECTORS

from rig.gbcs import crypto
from rig.gbcs.codec import RemotePartyCodec, sign_precommand
from rig.gbcs.codes import HAN_ONLY_CODES
from rig.gbcs.frame import Cra, GeneralSigning, Message, decode, encode_mac_frame, encode_signed
from rig.gbcs.usecases import (
    TYPED_USE_CASES,
    RawPayload,
    decode_payload,
    encode_payload,
)
from rig.keys.keystore import KeyStore

pytestmark = pytest.mark.shared


def _retyped(s: GeneralSigning) -> GeneralSigning:
    """``s`` with its payload rebuilt from the typed object."""
    typed = decode_payload(s.message_code, s.payload, s.cra)
    payload = encode_payload(typed, s.counter)
    return GeneralSigning(
        s.cra,
        s.counter,
        s.originator,
        s.recipient,
        s.message_code,
        payload,
        s.date_time,
        s.supplementary_remote_party_id,
        s.supplementary_remote_party_counter,
        s.supplementary_originator_counter,
        s.supplementary_remote_party_ka_certificate,
    )


def _mac_key(keys: KeyStore, s: GeneralSigning) -> bytes:
    """Commands: ACB x device; responses and alerts: recipient x device (symmetric ECDH)."""
    private = keys.ka_private(ACB if s.cra is Cra.COMMAND else s.recipient)
    device = s.recipient if s.cra is Cra.COMMAND else s.originator
    return crypto.kdf(private, keys.ka_public(device), s.originator, s.cra, s.counter, s.recipient)


def test_vector_regenerates(vector_bytes: bytes, rtds_keys: KeyStore, rtds_vector: Path) -> None:
    message = decode(vector_bytes)
    s = _retyped(message.signing)
    codec = RemotePartyCodec(rtds_keys)
    if "PRECOMMAND" in rtds_vector.name:
        rtds_form = codec.transform(
            s.originator, s.recipient, s.counter, s.message_code, s.payload, null_signature=False
        )
        assert rtds_form == vector_bytes
        signed = sign_precommand(rtds_form, rtds_keys.ds_private(s.originator))
        sealed = decode(codec.send_signed_precommand(signed))
        sig = sealed.signing.signature or b""
        crypto.verify_signature(rtds_keys.ds_public(s.originator), s.signed_data(), sig)
        crypto.check_mac(_mac_key(rtds_keys, s), s.originator, sealed.signing.encode(), sealed.mac)
        return
    original = message.signing
    if original.signature is not None and message.mac is not None:
        # A critical command: the RTDS signed pre-command through CommandVariant 5.
        signed = encode_signed(s.with_signature(original.signature))
        assert codec.send_signed_precommand(signed) == vector_bytes
    elif original.signature is not None:
        # A device-signed response or alert, or a signed command without a MAC header (CS02a's
        # signature form, CS02b by Recovery): ECDSA is randomised, so re-attach and re-verify.
        frame = encode_signed(s.with_signature(original.signature))
        assert frame == vector_bytes
        if s.cra is Cra.COMMAND:
            public = rtds_keys.ds_public(s.originator)
            crypto.verify_signature(public, s.signed_data(), original.signature)
        else:
            codec.open_response(frame)
    elif s.message_code in HAN_ONLY_CODES:
        # PPMID to GSME (PCS01): MAC'd by the two devices, whose private keys the RTDS lacks
        # (test_han_only_mac.py), so the MAC is re-attached, not recomputed.
        assert Message(s, message.mac).encode() == vector_bytes
    else:
        assert encode_mac_frame(s, _mac_key(rtds_keys, s)) == vector_bytes


def test_every_typed_use_case_vector_has_a_typed_model() -> None:
    """No RTDS payload of a typed use case falls back to RawPayload (ECS01a / GCS01a included,
    SRV 1.1.1), and every shared vector's use case is a typed one."""
    untyped = []
    for path in VECTORS:
        s = decode(bytes.fromhex(path.read_text().strip())).signing
        is_raw = isinstance(decode_payload(s.message_code, s.payload, s.cra), RawPayload)
        if is_raw or (s.message_code, s.cra) not in TYPED_USE_CASES:
            untyped.append(path.name)
    assert untyped == []
