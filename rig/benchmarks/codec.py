"""``rig benchmark codec``: codec throughput against the bare cryptography it needs
(reference/gbcs.md §1.4).

Five operations on freshly generated P-256 keys: decode + verify + type of a non-critical ECS45
response (``RemotePartyCodec.open_typed``: the verified Message and its typed payload), twice:
steady state, as a load run sees it (the typed-payload memo holds the payload, which differs
from frame to frame only in its invoke-id), and cold (the memo emptied before every frame, so
the payload is decoded from its bytes); encode + MAC of the ECS45 command, signing a critical
ECS43 pre-command and a device verifying the critical command. Each runs over :data:`FRAMES`
frames with distinct counters (no MAC key repeats) and is timed against exactly the
cryptography calls the design needs per frame, with their inputs precomputed:

* MAC'd frames: the KDF (one SHA-256; GBCS derives a key per message because OtherInfo holds the
  transaction id) and the GMAC (one AES-GCM with a fresh key). The ECDH shared secret Z is per
  pair of KA keys, so both the codec and a real device or remote party compute it once per pair.
* Signatures: ECDSA P-256 sign or verify, with pyca's DER <-> ``r, s`` conversion the raw
  ``r || s`` form requires.

The ratio codec time / bare time is the framing overhead over the physical limit of this design.
Times are CPU time of this process (best of five), so other processes disturb them less.

The codec runs as :mod:`rig.gbcs.accel` chose at import (the C accelerator or pure Python); when
that is the accelerator, the same rows are also measured for pure Python in a child process
with ``RIG_PURE_PYTHON=1``, so that both are visible. Each row names its implementation.

For instruction counts, stable under any load, run one operation a fixed number of times under
callgrind (``python -m rig.benchmarks.codec --help``; docs/gbcs-codec.md).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from rig.gbcs import accel, crypto
from rig.gbcs.codec import DeviceCodec, RemotePartyCodec, sign_precommand
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import Message, decode
from rig.gbcs.usecases import (
    ChangeSupplyEsme,
    Payload,
    ReadSupplyStatusEsme,
    ReadSupplyStatusEsmeResponse,
    SupplyState,
    decoded_memo,
)
from rig.keys.keystore import KeyStore
from rig.keys.pki import generate_pki

SUPPLIER = Eui64.parse("90-B3-D5-1F-30-01-00-00")
ACB = Eui64.parse("90-B3-D5-1F-30-00-00-02")
ESME = Eui64.parse("00-DB-12-34-56-78-90-A0")
COUNTER = 1000
#: Frames per operation, each with its own counter, cycled through while timing.
FRAMES = 128
ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
BARE_MAC = "SHA-256 KDF + AES-GCM GMAC"


@dataclass(frozen=True)
class Case:
    """One operation: the codec call and the bare crypto calls, each with its inputs."""

    name: str
    baseline: str
    codec: Callable[[Any], object]
    codec_inputs: Sequence[Any]
    bare: Callable[[Any], object]
    bare_inputs: Sequence[Any]


@dataclass(frozen=True)
class BenchResult:
    """Operations per CPU second through the codec and through the bare crypto calls."""

    name: str
    baseline: str
    codec_rate: float
    bare_rate: float
    implementation: str = accel.DESCRIPTION

    @property
    def ratio(self) -> float:
        """Codec time over bare crypto time (1.0 is the physical limit)."""
        return self.bare_rate / self.codec_rate

    def to_json(self) -> dict[str, float | str]:
        """For ``--json``."""
        return {
            "name": self.name,
            "baseline": self.baseline,
            "codec_per_s": round(self.codec_rate),
            "bare_per_s": round(self.bare_rate),
            "ratio": round(self.ratio, 3),
            "implementation": self.implementation,
        }

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> BenchResult:
        """Inverse of :meth:`to_json` (rates rounded)."""
        return cls(
            row["name"],
            row["baseline"],
            row["codec_per_s"],
            row["bare_per_s"],
            row["implementation"],
        )


def table(results: Sequence[BenchResult]) -> str:
    """The results as text: a table per implementation, each row naming its baseline."""
    lines: list[str] = []
    for implementation in dict.fromkeys(r.implementation for r in results):
        lines += [
            *([""] if lines else []),
            f"codec: {implementation}",
            f"{'operation':<34}{'frames/s':>10}{'bare/s':>10}{'ratio':>7}  baseline (bare calls)",
        ]
        lines += [
            f"{r.name:<34}{r.codec_rate:>10,.0f}{r.bare_rate:>10,.0f}{r.ratio:>7.2f}  {r.baseline}"
            for r in results
            if r.implementation == implementation
        ]
    return "\n".join(lines)


def _pass(operation: Callable[[Any], object], inputs: Sequence[Any]) -> None:
    for item in inputs:
        operation(item)


def _rate(operation: Callable[[Any], object], inputs: Sequence[Any], seconds: float) -> float:
    done, start = 0, time.process_time()
    while (elapsed := time.process_time() - start) < seconds:
        _pass(operation, inputs)
        done += len(inputs)
    return done / elapsed


def measure(case: Case, seconds: float) -> BenchResult:
    """Five rounds of codec then bare, ``seconds / 10`` each; the best rate of each side."""
    _pass(case.codec, case.codec_inputs)
    _pass(case.bare, case.bare_inputs)
    codec = bare = 0.0
    for _ in range(5):
        codec = max(codec, _rate(case.codec, case.codec_inputs, seconds / 10))
        bare = max(bare, _rate(case.bare, case.bare_inputs, seconds / 10))
    return BenchResult(case.name, case.baseline, codec, bare)


def run_benchmarks(seconds: float = 1.0) -> list[BenchResult]:
    """Measure the five operations, each for about ``seconds``, as this process runs the codec;
    then, if that is the C accelerator, again for pure Python (:func:`pure_python_benchmarks`)."""
    with tempfile.TemporaryDirectory() as tmp:
        results = [measure(case, seconds) for case in cases(_keys(Path(tmp)))]
    if accel.WIRE is not None:
        results += pure_python_benchmarks(seconds)
    return results


def pure_python_benchmarks(seconds: float) -> list[BenchResult]:
    """The five rows measured in a child process with ``RIG_PURE_PYTHON=1``."""
    out = subprocess.run(
        [sys.executable, "-m", "rig.benchmarks.codec", "--json-seconds", str(seconds)],
        env={**os.environ, "RIG_PURE_PYTHON": "1"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [BenchResult.from_json(row) for row in json.loads(out)]


def _keys(directory: Path) -> KeyStore:
    generate_pki(directory, [SUPPLIER, ACB], [ESME], [SUPPLIER])
    return KeyStore([directory])


def _bare_mac(item: tuple[bytes, bytes, bytes]) -> bytes:
    kdf_input, iv, aad = item
    return AESGCM(hashlib.sha256(kdf_input).digest()[:16]).encrypt(iv, b"", aad)[:12]


def bare_mac_check(item: tuple[bytes, bytes, bytes, bytes]) -> bool:
    kdf_input, iv, aad, mac = item
    tag = AESGCM(hashlib.sha256(kdf_input).digest()[:16]).encrypt(iv, b"", aad)
    return hmac.compare_digest(tag[:12], mac)


def mac_inputs(message: Message, z: bytes) -> tuple[bytes, bytes, bytes, bytes]:
    """KDF input, IV, AAD and MAC of a MAC'd frame, as the bare calls take them (§1.4)."""
    s = message.signing
    other_info = s.originator.raw + bytes([9, s.cra]) + s.counter.to_bytes(8, "big")
    return (
        crypto.kdf_prefix(z) + other_info + s.recipient.raw,
        s.originator.raw + bytes(4),
        crypto.MAC_AAD_PREFIX + s.encode(),
        message.mac or b"",
    )


def cold(open_typed: Callable[[bytes], tuple[Message, Payload]]) -> Callable[[bytes], object]:
    """``open_typed`` with the typed-payload memo emptied first, so every payload is decoded
    from its bytes (emptying a dict costs ~40 ns, charged to the codec)."""
    memo = decoded_memo()

    def opened(frame: bytes) -> tuple[Message, Payload]:
        memo.clear()
        return open_typed(frame)

    return opened


def cases(keys: KeyStore, frames: int = FRAMES) -> list[Case]:
    """The five operations over ``frames`` frames each, checked to compute what the codec does."""
    dcc = RemotePartyCodec(keys, acb=ACB)
    device = DeviceCodec(
        ESME, ka_private=keys.ka_private(ESME), ds_private=keys.ds_private(ESME), keys=keys
    )
    supplier_ds = keys.ds_private(SUPPLIER)
    supplier_ds_public = keys.ds_public(SUPPLIER)
    counters = range(COUNTER, COUNTER + frames)
    code = ReadSupplyStatusEsme.MESSAGE_CODE
    requests = [(c, ReadSupplyStatusEsme().encode(c)) for c in counters]
    commands = [dcc.build_command(SUPPLIER, ESME, c, code, request) for c, request in requests]
    answer = ReadSupplyStatusEsmeResponse(SupplyState.CONNECTED)
    responses = [
        device.build_response(command, answer.encode(command.signing.counter))
        for command in map(device.open_command, commands)
    ]
    critical = ChangeSupplyEsme(SupplyState.DISCONNECTED)
    precommands = [
        dcc.transform(SUPPLIER, ESME, c, critical.message_code, critical.encode(c))
        for c in counters
    ]
    critical_commands = [
        dcc.send_signed_precommand(sign_precommand(p, supplier_ds)) for p in precommands
    ]

    z_commands = crypto.shared_secret(keys.ka_private(ACB), keys.ka_public(ESME))
    z_responses = crypto.shared_secret(keys.ka_private(SUPPLIER), keys.ka_public(ESME))
    response_macs = [mac_inputs(decode(f), z_responses) for f in responses]
    command_macs = [mac_inputs(decode(f), z_commands)[:3] for f in commands]
    critical_verifies = []
    for frame in critical_commands:
        message = decode(frame)
        signature = message.signing.signature or b""
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        signed_data = message.signing.signed_data()
        critical_verifies.append((mac_inputs(message, z_commands), r, s, signed_data))
    to_sign = [decode(p).signing.signed_data() for p in precommands]

    def verify_critical(item: tuple[tuple[bytes, bytes, bytes, bytes], int, int, bytes]) -> None:
        mac, r, s, signed_data = item
        bare_mac_check(mac)
        supplier_ds_public.verify(encode_dss_signature(r, s), signed_data, ECDSA_SHA256)

    if not all(map(bare_mac_check, response_macs + [v[0] for v in critical_verifies])) or [
        _bare_mac(m) for m in command_macs
    ] != [f[-12:] for f in commands]:
        raise RuntimeError("the bare calls do not compute the codec's MACs")
    if any(dcc.open_typed(f)[1] != answer for f in responses):
        raise RuntimeError("the codec does not type the ECS45 response")
    return [
        Case(
            "decode+verify+type (ECS45)",
            f"{BARE_MAC} check",
            dcc.open_typed,
            responses,
            bare_mac_check,
            response_macs,
        ),
        Case(
            "  the same, cold (memo emptied)",
            f"{BARE_MAC} check",
            cold(dcc.open_typed),
            responses,
            bare_mac_check,
            response_macs,
        ),
        Case(
            "encode+MAC (non-critical)",
            BARE_MAC,
            lambda item: dcc.build_command(SUPPLIER, ESME, item[0], code, item[1]),
            requests,
            _bare_mac,
            command_macs,
        ),
        Case(
            "sign (critical pre-command)",
            "ECDSA sign, DER -> r,s",
            lambda precommand: sign_precommand(precommand, supplier_ds),
            precommands,
            lambda data: decode_dss_signature(supplier_ds.sign(data, ECDSA_SHA256)),
            to_sign,
        ),
        Case(
            "verify (critical command, device)",
            f"{BARE_MAC} check, r,s -> DER, ECDSA verify",
            device.open_command,
            critical_commands,
            verify_critical,
            critical_verifies,
        ),
    ]


def main(argv: Sequence[str] | None = None) -> None:
    """Run one operation a fixed number of times, untimed: for instruction counts; or, with
    ``--json-seconds``, measure this process's rows and print them as JSON."""
    parser = argparse.ArgumentParser(
        prog="python -m rig.benchmarks.codec",
        description="Run one benchmark operation COUNT times over its frames, for callgrind: "
        "instructions per operation = (Ir at COUNT - Ir at 0) / COUNT. RIG_PURE_PYTHON=1 "
        "runs the pure-Python codec.",
    )
    parser.add_argument(
        "operation", type=int, nargs="?", choices=range(5), help="row of rig benchmark codec"
    )
    parser.add_argument("count", type=int, nargs="?", help="operations (a multiple of FRAMES)")
    parser.add_argument("--bare", action="store_true", help="the bare crypto calls instead")
    parser.add_argument(
        "--json-seconds",
        type=float,
        metavar="S",
        help="measure every row for S seconds with this process's codec; print JSON",
    )
    args = parser.parse_args(argv)
    if args.json_seconds is not None:
        with tempfile.TemporaryDirectory() as tmp:
            rows = [measure(c, args.json_seconds) for c in cases(_keys(Path(tmp)))]
        print(json.dumps([r.to_json() for r in rows]))
        return
    if args.operation is None or args.count is None:
        parser.error("OPERATION and COUNT are required (or --json-seconds)")
    with tempfile.TemporaryDirectory() as tmp:
        case = cases(_keys(Path(tmp)))[args.operation]
        operation, inputs = (
            (case.bare, case.bare_inputs) if args.bare else (case.codec, case.codec_inputs)
        )
        for _ in range(args.count // len(inputs)):
            _pass(operation, inputs)


if __name__ == "__main__":
    main()
