"""Test helpers for the firmware stubs: a test PKI and the remote parties' side of GBCS."""

from __future__ import annotations

from pathlib import Path

from rig.gbcs import usecases
from rig.gbcs.codec import DEFAULT_ACB, RemotePartyCodec
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import GeneralSigning, Message
from rig.gbcs.utrn import ValueClass, make_utrn
from rig.keys import RTDS_KEYS
from rig.keys.keystore import KeyStore
from rig.keys.pki import generate_pki

SUPPLIER = Eui64.parse("90-B3-D5-1F-30-01-00-00")
ACB = DEFAULT_ACB
ESME = Eui64.parse("00-DB-12-34-56-78-91-01")
GSME = Eui64.parse("00-DB-12-34-56-78-91-02")
CHF = Eui64.parse("00-DB-12-34-56-78-91-03")
PPMID = Eui64.parse("00-DB-12-34-56-78-91-04")
SAPC = Eui64.parse("00-DB-12-34-56-78-91-05")
OTHER = Eui64.parse("00-DB-12-34-56-78-91-09")
GPF = Eui64.parse("00-DB-12-34-56-78-91-06")
DEVICES = (ESME, GSME, CHF, PPMID, SAPC, OTHER, GPF)
#: UTRN counters need their low 32 bits clear (reference/gbcs.md §2).
STEP = 1 << 32


def make_keys(folder: Path) -> KeyStore:
    """Device keys in ``folder`` (KA and DS pairs), remote parties from the RTDS key store."""
    generate_pki(folder, remote_parties=(), devices=DEVICES)
    return KeyStore([folder, RTDS_KEYS])


class Supplier:
    """The User's side (and the ACB's, for the CHF), building commands as the rig does."""

    def __init__(self, keys: KeyStore, counter: int = 0) -> None:
        self.keys = keys
        self.codec = RemotePartyCodec(keys)
        self.counter = counter

    def next_counter(self) -> int:
        self.counter += STEP
        return self.counter

    def command(
        self,
        target: Eui64,
        body: usecases.Payload,
        code: int,
        *,
        critical: bool = False,
        originator: Eui64 = SUPPLIER,
        counter: int | None = None,
    ) -> bytes:
        counter = self.next_counter() if counter is None else counter
        payload = usecases.encode_payload(body, counter)
        build = self.codec.build_critical_command if critical else self.codec.build_command
        return build(originator, target, counter, code, payload)

    def utrn(self, target: Eui64, pence: int, counter: int) -> str:
        return make_utrn(
            self.keys.ka_private(SUPPLIER, prepayment=True),
            self.keys.ka_public(target),
            SUPPLIER,
            target,
            counter,
            pence,
            ValueClass.PENNIES,
        )

    def top_up(self, target: Eui64, pence: int, *, gas: bool = False) -> bytes:
        counter = self.next_counter()
        utrn = self.utrn(target, pence, counter)
        if gas:
            return self.command(target, usecases.TopUpGsme(utrn), 0x0097, counter=counter)
        return self.command(target, usecases.TopUpEsme(utrn), 0x0007, counter=counter)

    def open(self, frame: bytes) -> tuple[GeneralSigning, object]:
        """Verify a response or alert and type its payload."""
        signing = self.codec.open_response(frame).signing
        return signing, usecases.decode_payload(signing.message_code, signing.payload, signing.cra)

    def message(self, frame: bytes) -> Message:
        return self.codec.open_response(frame)

    def bodies(self, outputs: list[tuple[float, bytes]]) -> list[object]:
        return [self.open(frame)[1] for _, frame in outputs]
