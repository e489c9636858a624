"""``rig benchmark codec --rtds``: frames per second of a whole pass over the shared RTDS
vectors, beside SmartDCC's gbcs-parser measured the same way when node can run it.

Per frame, the rig's pass does what ``rig decode --keys`` reports, without building the tree:
decode the frame, verify its MAC (under :func:`rig.gbcs.tree.mac_key_pair`) and its signature
where the keystore allows, decode the payload to its typed object, and decrypt every encrypted
part (reference/gbcs.md §1.2-1.7), typing the plaintext where a type is registered
(:func:`rig.gbcs.protect.plaintext_decoder`). The typed-payload memo
(:func:`rig.gbcs.usecases.decoded_memo`) is emptied before each timed pass, so every payload is
decoded from its bytes; the ECDH secret of each pair of KA keys is computed once (the first, untimed
pass), as a real remote party keeps it. Times are CPU time of this process, best pass.

gbcs-parser is installed from the npm registry into ``build/gbcs-parser`` at benchmark time
(never committed), and ``gbcs_parser_pass.cjs`` beside this file, run by node, loops over the
same ``.HEX`` files with a keystore callback over the same key files, preloaded; its figure is
its best pass in wall time of a single-threaded node process (``parseGbcsMessage`` is
asynchronous). When node, npm or the package is missing, the column is skipped with the reason.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from rig.benchmarks.codec import BARE_MAC, ECDSA_SHA256, Case, bare_mac_check, cold, mac_inputs
from rig.gbcs import crypto
from rig.gbcs.codec import RemotePartyCodec
from rig.gbcs.crypto import CRA_ENCRYPTION, kdf_from_secret, shared_secret
from rig.gbcs.errors import GbcsError
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import decode
from rig.gbcs.plaintexts import typed_plaintext
from rig.gbcs.protect import (
    EncryptedPart,
    KeyUnavailable,
    find_parts,
    pair_secret,
    part_counter,
    plaintext_decoder,
    remote_party,
)
from rig.gbcs.tree import mac_key_pair
from rig.gbcs.usecases import RawPayload, decode_payload, decoded_memo
from rig.keys.keystore import KeyStore

PACKAGE = "@smartdcc/gbcs-parser"
NODE_SCRIPT = Path(__file__).with_name("gbcs_parser_pass.cjs")
#: [ASSUMED] bound on ``npm install``: a registry that does not answer in this time is "skipped".
NPM_TIMEOUT_S = 180


@dataclass
class PassResult:
    """One whole-RTDS pass: how many frames, the best rate, and what each check concluded."""

    frames: int
    rate: float
    tally: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        """The verdict counts in one line, sorted by name."""
        return ", ".join(f"{name} {n}" for name, n in sorted(self.tally.items()))


class RtdsPass:
    """The rig's per-frame work of a pass, keys bound once."""

    def __init__(self, keys: KeyStore) -> None:
        self.keys = keys
        self._secrets: dict[tuple[Eui64, Eui64], bytes | None] = {}
        self._ds: dict[Eui64, object] = {}

    def _secret(self, a: Eui64, b: Eui64) -> bytes | None:
        """ECDH secret of a pair, once per pair; None if neither private key is in the store."""
        try:
            return self._secrets[a, b]
        except KeyError:
            pass
        try:
            z: bytes | None = pair_secret(self.keys, a, b)
        except KeyUnavailable:
            z = None
        self._secrets[a, b] = z
        return z

    def frame(self, data: bytes, tally: Counter[str]) -> None:
        """Decode, verify, type and decrypt one frame, counting each verdict in ``tally``."""
        try:
            message = decode(data)
        except GbcsError:
            tally["frame malformed"] += 1
            return
        s = message.signing
        if message.mac is not None:
            party, device = mac_key_pair(s)
            z = self._secret(party, device)
            if z is None:
                tally["MAC not checked"] += 1
            else:
                key = kdf_from_secret(z, s.originator, s.cra, s.counter, s.recipient)
                tally[
                    _verdict("MAC", crypto.check_mac, key, s.originator, s.encode(), message.mac)
                ] += 1
        if s.signature is not None:
            try:
                public = self.keys.ds_public(s.originator)
            except (KeyError, ValueError):
                tally["signature not checked"] += 1
            else:
                check = crypto.verify_signature
                tally[_verdict("signature", check, public, s.signed_data(), s.signature)] += 1
        try:
            typed = decode_payload(s.message_code, s.payload, s.cra)
        except GbcsError:
            tally["payload malformed"] += 1
        else:
            tally["payload raw" if isinstance(typed, RawPayload) else "payload typed"] += 1
        parts = find_parts(s)
        if not parts:
            return
        party = remote_party(s)
        z = self._secret(party, s.originator)
        if z is None:
            tally["part not decrypted (no key)"] += len(parts)
            return
        key = kdf_from_secret(z, s.originator, CRA_ENCRYPTION, part_counter(s), party)
        typer = plaintext_decoder(s.message_code) or typed_plaintext
        for part in parts:
            try:
                plaintext = crypto.decrypt_part(key, s.originator, part.block)
            except GbcsError:
                tally["part INVALID"] += 1
                continue
            tally["part decrypted"] += 1
            _type_plaintext(typer, part, plaintext, tally)

    def run(self, frames: list[bytes]) -> Counter[str]:
        """One pass, every payload decoded from its bytes (the typed memo emptied first)."""
        decoded_memo().clear()
        tally: Counter[str] = Counter()
        for data in frames:
            self.frame(data, tally)
        return tally


def _verdict(what: str, check: Callable[..., None], *args: object) -> str:
    try:
        check(*args)
    except GbcsError:
        return f"{what} INVALID"
    return f"{what} valid"


def _type_plaintext(
    typer: Callable[[EncryptedPart, bytes], object],
    part: EncryptedPart,
    plaintext: bytes,
    tally: Counter[str],
) -> None:
    try:
        typer(part, plaintext)
    except GbcsError:
        tally["plaintext untyped"] += 1
    else:
        tally["plaintext typed"] += 1


MixItem = tuple[
    tuple[bytes, bytes, bytes, bytes] | None, ec.EllipticCurvePublicKey | None, bytes, bytes
]


def _bare_open(item: MixItem) -> None:
    """The cryptography a response or alert of the mix needs: the MAC check (KDF + GMAC) and/or
    ECDSA verify with the ``r, s`` -> DER conversion."""
    mac, public, signed_data, signature = item
    if mac is not None:
        bare_mac_check(mac)
    if public is not None:
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        public.verify(encode_dss_signature(r, s), signed_data, ECDSA_SHA256)


def mix_cases(vectors: Path, keystore: Path) -> list[Case]:
    """decode+verify+type over every RTDS response and alert that ``open_response`` verifies
    with the RTDS keystore, steady (memo warm) and cold, against the bare calls of each frame."""
    keys = KeyStore([keystore])
    dcc = RemotePartyCodec(keys)
    frames, bare = [], []
    for path in vector_paths(vectors):
        frame = bytes.fromhex(path.read_text().strip())
        try:
            message = dcc.open_response(frame)
        except (GbcsError, KeyError, ValueError):
            continue  # a command, a HAN-only pair, a key the store lacks
        s = message.signing
        mac = None
        if message.mac is not None:
            z = shared_secret(keys.ka_private(s.recipient), keys.ka_public(s.originator))
            mac = mac_inputs(message, z)
        public = None if s.signature is None else keys.ds_public(s.originator)
        frames.append(frame)
        bare.append((mac, public, s.signed_data(), s.signature or b""))
    baseline = f"per frame: {BARE_MAC} check and/or ECDSA verify"
    name = f"decode+verify+type (RTDS mix, {len(frames)})"
    return [
        Case(name, baseline, dcc.open_typed, frames, _bare_open, bare),
        Case(
            "  the same mix, cold (memo emptied)",
            baseline,
            cold(dcc.open_typed),
            frames,
            _bare_open,
            bare,
        ),
    ]


def vector_paths(vectors: Path) -> list[Path]:
    """Every ``<use case>/*.HEX`` under ``vectors``, sorted (the order both sides read)."""
    return sorted(vectors.glob("*/*.HEX"))


def rig_pass(vectors: Path, keystore: Path, seconds: float) -> PassResult:
    """The rig's best pass over ``vectors`` in about ``seconds`` of CPU (at least two passes:
    the first, untimed, computes each pair's ECDH secret)."""
    frames = [bytes.fromhex(p.read_text().strip()) for p in vector_paths(vectors)]
    runner = RtdsPass(KeyStore([keystore]))
    tally = runner.run(frames)
    best, start = float("inf"), time.process_time()
    while True:
        begin = time.process_time()
        runner.run(frames)
        end = time.process_time()
        best = min(best, end - begin)
        if end - start >= seconds:
            break
    return PassResult(len(frames), len(frames) / best if best > 0 else float("inf"), tally)


@dataclass(frozen=True)
class ParserFigure:
    """gbcs-parser's figure, or why there is none."""

    rate: float | None
    frames: int = 0
    note: str = ""


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def install_gbcs_parser(folder: Path) -> str | None:
    """``npm install`` gbcs-parser into ``folder`` unless it is there; None, or why not."""
    if (folder / "node_modules" / PACKAGE / "package.json").exists():
        return None
    npm = shutil.which("npm")
    if npm is None:
        return "npm not found"
    folder.mkdir(parents=True, exist_ok=True)
    command = [npm, "install", "--prefix", str(folder), "--no-audit", "--no-fund", PACKAGE]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=NPM_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        return f"npm install {PACKAGE} did not finish in {NPM_TIMEOUT_S} s"
    if done.returncode != 0:
        lines = [line.strip() for line in done.stderr.splitlines()]
        found = [line for line in lines if "Not Found" in line or "ETIMEDOUT" in line]
        return f"npm install {PACKAGE} failed: {found[0] if found else _last_line(done.stderr)}"
    return None


def gbcs_parser_pass(folder: Path, vectors: Path, keystore: Path, seconds: float) -> ParserFigure:
    """gbcs-parser's best pass over the same files and keys (installing it if needed)."""
    node = shutil.which("node")
    if node is None:
        return ParserFigure(None, note="node not found")
    why = install_gbcs_parser(folder)
    if why is not None:
        return ParserFigure(None, note=why)
    command = [node, str(NODE_SCRIPT), str(folder), str(vectors), str(keystore), str(seconds)]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=60 + 10 * seconds, check=False
        )
    except subprocess.TimeoutExpired:
        return ParserFigure(None, note="the node pass did not finish in time")
    if done.returncode != 0:
        return ParserFigure(None, note=f"node failed: {_last_line(done.stderr)}")
    try:
        row = json.loads(_last_line(done.stdout))
        return ParserFigure(float(row["frames_per_s"]), int(row["frames"]), str(row["errors"]))
    except (ValueError, KeyError, TypeError):
        return ParserFigure(None, note=f"unexpected node output: {_last_line(done.stdout)}")


def report(ours: PassResult, theirs: ParserFigure) -> str:
    """The pass lines: the rig's rate and verdicts, gbcs-parser's rate (or why not), the ratio."""
    lines = [
        f"whole-RTDS pass (rig): {ours.frames} frames, {ours.rate:,.0f} frames/s "
        "(decode, verify, typed payload, decrypt; CPU time)",
        f"  verdicts: {ours.summary()}",
    ]
    if theirs.rate is None:
        lines.append(f"whole-RTDS pass (gbcs-parser): skipped ({theirs.note})")
    else:
        lines += [
            f"whole-RTDS pass (gbcs-parser): {theirs.frames} frames, {theirs.rate:,.0f} frames/s "
            f"(parseGbcsMessage, node, wall time; {theirs.note} frames threw)",
            f"ratio rig / gbcs-parser: {ours.rate / theirs.rate:.2f}",
        ]
    return "\n".join(lines)


def to_json(ours: PassResult, theirs: ParserFigure) -> dict[str, object]:
    """For ``--json``: both figures, the verdict counts and the ratio (None if not measured)."""
    return {
        "frames": ours.frames,
        "rig_per_s": round(ours.rate),
        "verdicts": dict(sorted(ours.tally.items())),
        "gbcs_parser_per_s": None if theirs.rate is None else round(theirs.rate),
        "gbcs_parser_note": theirs.note,
        "ratio": None if theirs.rate is None else round(ours.rate / theirs.rate, 3),
    }
