"""``rig bench codec``: codec throughput against the bare cryptography it needs
(reference/gbcs.md §1.4).

Four operations on freshly generated P-256 keys: decode + verify and encode + MAC of a
non-critical ECS45 response / command, signing a critical ECS43 pre-command and a device
verifying the critical command. Each is timed against the pyca/cryptography calls alone (KDF
SHA-256 + AES-GCM tag, ECDSA sign or verify; ECDH is cached in both, as in the codec), so the
ratio is the framing overhead over the physical limit of this design.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rig.gbcs import crypto
from rig.gbcs.codec import DeviceCodec, RemotePartyCodec, sign_precommand
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import decode
from rig.gbcs.usecases import (
    ChangeSupplyEsme,
    ReadSupplyStatusEsme,
    ReadSupplyStatusEsmeResponse,
    SupplyState,
)
from rig.keys.keystore import KeyStore
from rig.keys.pki import generate_pki

SUPPLIER = Eui64.parse("90-B3-D5-1F-30-01-00-00")
ACB = Eui64.parse("90-B3-D5-1F-30-00-00-02")
ESME = Eui64.parse("00-DB-12-34-56-78-90-A0")
COUNTER = 1000


@dataclass(frozen=True)
class BenchResult:
    """Operations per second through the codec and through the bare crypto calls."""

    name: str
    codec_rate: float
    bare_rate: float

    @property
    def ratio(self) -> float:
        """Codec time over bare crypto time (1.0 is the physical limit)."""
        return self.bare_rate / self.codec_rate

    def to_json(self) -> dict[str, float | str]:
        """For ``--json``."""
        return {
            "name": self.name,
            "codec_per_s": round(self.codec_rate),
            "bare_per_s": round(self.bare_rate),
            "ratio": round(self.ratio, 3),
        }


def rate(operation: Callable[[], object], seconds: float) -> float:
    """Best of five runs of ``seconds / 5`` each, in operations per second."""
    operation()
    batch = 1
    while True:  # size a batch to about 10 ms
        start = time.perf_counter()
        for _ in range(batch):
            operation()
        if time.perf_counter() - start > 0.01:
            break
        batch *= 2
    best = 0.0
    for _ in range(5):
        done, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds / 5:
            for _ in range(batch):
                operation()
            done += batch
        best = max(best, done / elapsed)
    return best


def run_benchmarks(seconds: float = 1.0) -> list[BenchResult]:
    """Measure the four operations, each for about ``2 * seconds``."""
    with tempfile.TemporaryDirectory() as tmp:
        generate_pki(Path(tmp), [SUPPLIER, ACB], [ESME], [SUPPLIER])
        keys = KeyStore([Path(tmp)])
        return _measure(keys, seconds)


def _measure(keys: KeyStore, seconds: float) -> list[BenchResult]:
    dcc = RemotePartyCodec(keys)
    device = DeviceCodec(
        ESME, ka_private=keys.ka_private(ESME), ds_private=keys.ds_private(ESME), keys=keys
    )
    request = ReadSupplyStatusEsme().encode(COUNTER)
    command = dcc.build_command(SUPPLIER, ESME, COUNTER, ReadSupplyStatusEsme.MESSAGE_CODE, request)
    answer = ReadSupplyStatusEsmeResponse(SupplyState.CONNECTED).encode(COUNTER)
    response = device.build_response(device.open_command(command), answer)
    critical = ChangeSupplyEsme(SupplyState.DISCONNECTED)
    precommand = dcc.transform(
        SUPPLIER, ESME, COUNTER, critical.message_code, critical.encode(COUNTER)
    )
    critical_command = dcc.send_signed_precommand(
        sign_precommand(precommand, keys.ds_private(SUPPLIER))
    )

    supplier_ka, esme_ka_public = keys.ka_private(SUPPLIER), keys.ka_public(ESME)
    acb_ka, supplier_ds = keys.ka_private(ACB), keys.ds_private(SUPPLIER)
    supplier_ds_public = keys.ds_public(SUPPLIER)
    response_apdu = decode(response).signing.encode()
    command_apdu = decode(command).signing.encode()
    signed = decode(critical_command).signing
    signed_data, signature, critical_apdu = signed.signed_data(), signed.signature, signed.encode()

    def bare_mac(private: object, apdu: bytes, originator: Eui64, cra: int, recip: Eui64) -> None:
        z = crypto.shared_secret(private, esme_ka_public)  # type: ignore[arg-type]
        key = crypto.kdf_from_secret(z, originator, cra, COUNTER, recip)
        crypto.gmac(key, originator, apdu)

    cases: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
        (
            "decode+verify (non-critical)",
            lambda: dcc.open_response(response),
            lambda: bare_mac(supplier_ka, response_apdu, ESME, 2, SUPPLIER),
        ),
        (
            "encode+MAC (non-critical)",
            lambda: dcc.build_command(SUPPLIER, ESME, COUNTER, 0x0052, request),
            lambda: bare_mac(acb_ka, command_apdu, SUPPLIER, 1, ESME),
        ),
        (
            "sign (critical pre-command)",
            lambda: sign_precommand(precommand, supplier_ds),
            lambda: crypto.sign(supplier_ds, signed_data),
        ),
        (
            "verify (critical command, device)",
            lambda: device.open_command(critical_command),
            lambda: (
                bare_mac(acb_ka, critical_apdu, SUPPLIER, 1, ESME),
                crypto.verify_signature(supplier_ds_public, signed_data, signature or b""),
            ),
        ),
    ]
    return [
        BenchResult(name, rate(codec, seconds), rate(bare, seconds)) for name, codec, bare in cases
    ]
