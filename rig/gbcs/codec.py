"""Key-bound frame building and checking for both ends of GBCS (reference/gbcs.md §1.3, §1.4).

:class:`RemotePartyCodec` is the DCC side (supplier, network operator, the ACB that MACs every
command); :class:`DeviceCodec` is a smart meter or other device. Keys are bound once; callers pass
EUIs, counters and payloads and get bytes, or bytes and get a verified :class:`Message`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric import ec

from rig.gbcs.codes import SIGNATURE_ONLY_COMMANDS
from rig.gbcs.crypto import (
    CRA_ENCRYPTION,
    MAC_LENGTH,
    decrypt_part,
    encrypt_part,
    kdf,
    kdf_prefix,
    shared_secret,
    sign,
    verify_signature,
)
from rig.gbcs.errors import DecodeError, VerifyError
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import (
    TITLES,
    Cra,
    GeneralSigning,
    Message,
    check_apdu_mac,
    decode,
    encode_apdu,
    encode_signed,
    mac_frame,
    open_mac,
    open_mac_typed,
    signed_apdu,
)
from rig.gbcs.protect import part_counter, remote_party
from rig.gbcs.usecases import Payload, decode_payload, decoded_memo
from rig.keys.keystore import KeyStore

#: The DCC Access Control Broker in RTDS and DCC Boxed (§1.5).
DEFAULT_ACB = Eui64.parse("90-B3-D5-1F-30-00-00-02")
#: Offsets inside a General-Signing APDU: CRA flag, recipient system title (§1.2).
_CRA_OFFSET = 2
_RECIPIENT_OFFSET = 21
#: The typed-payload memo that open_typed's C call reads (never rebound, only emptied).
_TYPED_MEMO = decoded_memo()


class _PairPrefixes(dict[bytes, bytes]):
    """KDF prefixes (``00000001 || Z || AlgorithmID``) of MAC keys by the EUI bytes that name the
    pair of KA keys: ECDH once per pair, as a real device or remote party keeps it (§1.4). Only
    keys found are kept, so an unknown party raises KeyNotFound every time."""

    def __init__(
        self, pair: Callable[[bytes], tuple[ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey]]
    ) -> None:
        super().__init__()
        self._pair = pair

    def __missing__(self, titles: bytes) -> bytes:
        prefix = self[titles] = kdf_prefix(shared_secret(*self._pair(titles)))
        return prefix


def _encryption_key(
    private_ka: ec.EllipticCurvePrivateKey, peer_ka: ec.EllipticCurvePublicKey, s: GeneralSigning
) -> bytes:
    """KDF mode 04: supplementary originator counter and remote party if present (§1.4)."""
    return kdf(private_ka, peer_ka, s.originator, CRA_ENCRYPTION, part_counter(s), remote_party(s))


def sign_precommand(precommand: bytes, ds_private: ec.EllipticCurvePrivateKey) -> bytes:
    """The supplier's step of the DUIS critical flow: sign a CommandVariant 4 pre-command.

    Accepts the RTDS form (no signature field) and the DUIS form (null signature) and returns
    the bare ``DF … 40 <r||s>`` signed pre-command to send back with CommandVariant 5.
    """
    message = decode(precommand)
    s = message.signing
    if message.mac is not None or s.cra is not Cra.COMMAND or s.signature is not None:
        raise VerifyError("expected an unsigned pre-command (bare DF command)")
    signed_data = s.signed_data()
    return signed_apdu(signed_data, sign(ds_private, signed_data))


class ReplayError(VerifyError):
    """A command whose counter does not exceed the last one accepted from its remote party."""


class AntiReplay:
    """Device-side anti-replay: per remote party, each accepted counter must be strictly
    greater than the last (reference/gbcs.md §1.2, domain.md §7.1)."""

    def __init__(self) -> None:
        self._last: dict[Eui64, int] = {}

    def last(self, party: Eui64) -> int | None:
        """The last counter accepted from ``party``."""
        return self._last.get(party)

    def accept(self, party: Eui64, counter: int) -> None:
        """Record ``counter``; :class:`ReplayError` if it is not fresh."""
        last = self._last.get(party)
        if last is not None and counter <= last:
            raise ReplayError(f"counter {counter} from {party} not above the last, {last}")
        self._last[party] = counter


def _apdu_offset(frame: bytes, message: Message) -> int:
    return 0 if message.mac is None else len(frame) - MAC_LENGTH - len(message.signing.encode())


class RemotePartyCodec:
    """The remote-party (DCC) end: commands out, responses and alerts in."""

    def __init__(self, keys: KeyStore, acb: Eui64 = DEFAULT_ACB) -> None:
        self.keys = keys
        self.acb = acb
        #: Commands: the ACB's KA key and the target's, by the target's EUI.
        self._command_prefixes = _PairPrefixes(
            lambda target: (keys.ka_private(acb), keys.ka_public(Eui64(target)))
        )
        #: Responses and alerts: the recipient's KA key and the device's, by the APDU's titles.
        self._response_prefixes = _PairPrefixes(
            lambda titles: (keys.ka_private(Eui64(titles[9:])), keys.ka_public(Eui64(titles[:8])))
        )
        if open_mac_typed is not None:  # the method's common case in C (see open_typed)
            python = RemotePartyCodec.open_typed.__get__(self)
            self.open_typed = functools.partial(  # type: ignore[method-assign]
                open_mac_typed, self._response_prefixes, _TYPED_MEMO, python, decode_payload
            )

    def seal_command(self, signing: GeneralSigning) -> bytes:
        """Wrap a command APDU in the MAC Header with the ACB's MAC (ACB KA x device KA)."""
        return mac_frame(signing.encode(), self._command_prefixes[signing.recipient.raw])

    def build_command(
        self, originator: Eui64, target: Eui64, counter: int, message_code: int, payload: bytes
    ) -> bytes:
        """A non-critical command (``SME.C.NC``): null signature, MAC'd by the ACB."""
        apdu = encode_apdu(Cra.COMMAND, counter, originator, target, message_code, payload)
        return mac_frame(apdu, self._command_prefixes[target.raw])

    def transform(
        self,
        originator: Eui64,
        target: Eui64,
        counter: int,
        message_code: int,
        payload: bytes,
        *,
        null_signature: bool = True,
    ) -> bytes:
        """DUIS CommandVariant 4: the pre-command of a critical command, for the supplier to sign.

        ``null_signature`` False gives the RTDS 4.5.0 form without a signature byte (§1.3).
        """
        precommand = GeneralSigning(Cra.COMMAND, counter, originator, target, message_code, payload)
        return encode_signed(precommand if null_signature else precommand.without_signature_field())

    def send_signed_precommand(self, signed: bytes, *, verify: bool = True) -> bytes:
        """DUIS CommandVariant 5: check the supplier's signature, then add the ACB's MAC."""
        message = decode(signed)
        s = message.signing
        if message.mac is not None or s.cra is not Cra.COMMAND or s.signature is None:
            raise VerifyError("expected a signed pre-command (bare DF command with a signature)")
        if verify:
            verify_signature(self.keys.ds_public(s.originator), s.signed_data(), s.signature)
        return self.seal_command(s)

    def build_critical_command(
        self, originator: Eui64, target: Eui64, counter: int, message_code: int, payload: bytes
    ) -> bytes:
        """A critical command (``SME.C.C``): signed by the originator's DS key, then MAC'd."""
        precommand = GeneralSigning(Cra.COMMAND, counter, originator, target, message_code, payload)
        signature = sign(self.keys.ds_private(originator), precommand.signed_data())
        return self.seal_command(precommand.with_signature(signature))

    def open_response(self, frame: bytes) -> Message:
        """Decode a response or alert and verify its MAC and/or device signature."""
        if open_mac is not None:  # the common case in one C call; None: the checks below decide
            opened = open_mac(frame, self._response_prefixes)
            if opened is not None:
                return opened
        message = decode(frame)
        s = message.signing
        if s.cra is Cra.COMMAND:
            raise VerifyError(f"expected a response or alert, got a command from {s.originator}")
        if message.mac is None and s.signature is None:
            raise VerifyError(
                f"{s.cra.name.lower()} from {s.originator} has no MAC and no signature"
            )
        if message.mac is not None:
            apdu = s.encode()
            check_apdu_mac(self._response_prefixes[apdu[TITLES]], apdu, message.mac)
        if s.signature is not None:
            verify_signature(self.keys.ds_public(s.originator), s.signed_data(), s.signature)
        return message

    def open_typed(self, frame: bytes) -> tuple[Message, Payload]:
        """:meth:`open_response`, then the payload's typed object
        (:func:`~rig.gbcs.usecases.decode_payload`): DecodeError if the payload is malformed.

        With the C accelerator, each codec replaces this method by a C call bound to its keys
        (``__init__``): a MAC'd unsigned frame is opened, its MAC checked and its payload looked
        up in the typed-payload memo without a Python frame; anything else comes here."""
        message = self.open_response(frame)
        s = message.signing
        return message, decode_payload(s.message_code, s.payload, s.cra)

    def decrypt_part(self, message: Message, block: bytes) -> bytes:
        """Decrypt an encrypted payload part (``31 00000000 …``) of a device's response."""
        s = message.signing
        private = self.keys.ka_private(remote_party(s))
        key = _encryption_key(private, self.keys.ka_public(s.originator), s)
        return decrypt_part(key, s.originator, block)


class DeviceCodec:
    """The device end: commands in, responses and alerts out.

    ``keys`` supplies public keys only (the ACB's and the remote parties' KA, their DS for
    critical commands). ``ds_private`` may be None for a device whose DS key is unknown (the RTDS
    ESME); it then cannot sign critical responses or alerts.
    """

    def __init__(
        self,
        eui: Eui64,
        *,
        ka_private: ec.EllipticCurvePrivateKey,
        ds_private: ec.EllipticCurvePrivateKey | None,
        keys: KeyStore,
        acb: Eui64 = DEFAULT_ACB,
        replay: AntiReplay | None = None,
    ) -> None:
        self.eui = eui
        self.replay = replay
        self.keys = keys
        self.acb = acb
        self._ka_private = ka_private
        self._ds_private = ds_private
        #: The device's KA key and a remote party's (the ACB's for commands), by its EUI.
        self._prefixes = _PairPrefixes(lambda peer: (ka_private, keys.ka_public(Eui64(peer))))

    def peek_originator(self, frame: bytes) -> Eui64:
        """Who a frame claims to come from, without checking anything but its structure."""
        return decode(frame).signing.originator

    def open_command(self, frame: bytes) -> Message:
        """Decode a command for this device and verify the ACB's MAC and any supplier signature.

        A frame that is not a command addressed to this device raises :class:`DecodeError` (a
        device discards it); a failed MAC or signature, or a missing MAC (allowed only for a
        signed security-credential command, ``SIGNATURE_ONLY_COMMANDS``), raises
        :class:`VerifyError`; with an :class:`AntiReplay`, a stale counter raises
        :class:`ReplayError` (a VerifyError) after the MAC and signature pass.
        """
        message = decode(frame)
        s = message.signing
        if s.cra is not Cra.COMMAND:
            at = _apdu_offset(frame, message) + _CRA_OFFSET
            raise DecodeError(at, f"CRA {s.cra.name}, expected COMMAND")
        if s.recipient.raw != self.eui.raw:
            at = _apdu_offset(frame, message) + _RECIPIENT_OFFSET
            raise DecodeError(at, f"addressed to {s.recipient}, not {self.eui}")
        if message.mac is not None:
            check_apdu_mac(self._prefixes[self.acb.raw], s.encode(), message.mac)
        elif s.signature is None or s.message_code not in SIGNATURE_ONLY_COMMANDS:
            raise VerifyError(f"command from {s.originator} has no MAC header")
        if s.signature is not None:
            verify_signature(self.keys.ds_public(s.originator), s.signed_data(), s.signature)
        if self.replay is not None:
            self.replay.accept(s.originator, s.counter)
        return message

    def build_response(
        self, command: Message, payload: bytes, date_time: bytes | None = None
    ) -> bytes:
        """Answer ``command``: same counter, titles swapped; signed if it was signed, else MAC'd."""
        c = command.signing
        if c.signature is None and c.supplementary_remote_party_id is None:
            # The common shape, MAC'd: the APDU straight from its fields (what GeneralSigning's
            # encode gives, without building one).
            apdu = encode_apdu(
                Cra.RESPONSE,
                c.counter,
                self.eui,
                c.originator,
                c.message_code,
                payload,
                date_time=date_time,
            )
            return mac_frame(apdu, self._prefixes[c.originator.raw])
        signing = GeneralSigning(
            Cra.RESPONSE,
            c.counter,
            self.eui,
            c.originator,
            c.message_code,
            payload,
            date_time,
            supplementary_remote_party_id=c.supplementary_remote_party_id,
            supplementary_remote_party_counter=c.supplementary_remote_party_counter,
            supplementary_originator_counter=c.supplementary_originator_counter,
        )
        return self._seal(signing, critical=c.signature is not None)

    def build_alert(
        self,
        recipient: Eui64,
        counter: int,
        message_code: int,
        payload: bytes,
        critical: bool,
        date_time: bytes | None = None,
    ) -> bytes:
        """An alert with the device's own counter: critical ones signed, others MAC'd."""
        signing = GeneralSigning(
            Cra.ALERT, counter, self.eui, recipient, message_code, payload, date_time
        )
        return self._seal(signing, critical=critical)

    def encrypt_part(self, signing: GeneralSigning, plaintext: bytes) -> bytes:
        """Encrypt a sensitive payload part for the remote party of ``signing`` (KDF mode 04)."""
        key = _encryption_key(self._ka_private, self.keys.ka_public(remote_party(signing)), signing)
        return encrypt_part(key, signing.originator, plaintext)

    def _seal(self, signing: GeneralSigning, *, critical: bool) -> bytes:
        if critical:
            if self._ds_private is None:
                raise ValueError(f"device {self.eui} has no DS private key to sign with")
            return encode_signed(
                signing.with_signature(sign(self._ds_private, signing.signed_data()))
            )
        return mac_frame(signing.encode(), self._prefixes[signing.recipient.raw])
