"""``rig benchmark fuzz``: keyed fuzzing of both sides of the GBCS codec and of every firmware stub
(issue 13; reference/gbcs.md §1, §1.3-1.4, §1.8).

The contract: every input gives a decoded message or a :class:`~rig.gbcs.errors.GbcsError`
subclass from the codec, and a firmware stub's ``handle`` never raises (it answers, alerts or
notes a discard). Each input is one of four cases, seeded from every shared RTDS vector:

* ``raw``: a vector or a GBT block of one, mutated at random or in a frame length field, to
  :func:`~rig.gbcs.tree.inspect` with keys (MAC, signature and decryption checked), a device's
  ``open_command``, the remote party's ``open_response`` and a GBT reassembler;
* ``command``: a command vector's payload, unchanged or mutated (tags and lengths rewritten, or
  random bytes), sealed again by the ACB's key (and signed by its originator when critical), so
  it passes the MAC check, to a device chosen in turn (a standalone ESME and GSME, and the CHF,
  ESME, GSME, PPMID and SAPC of a premises behind its hub); also to ``inspect`` with keys; what
  the device sends back must open with ``open_response``;
* ``response``: a response or alert vector's payload, mutated likewise and MAC'd again by a
  device key, to ``open_response``, the typed payload decoders and ``inspect`` with keys;
* ``gbt``: a sealed command cut into GBT blocks, one of them mutated, dropped, repeated or moved,
  to the hub's ``handle`` and to :func:`~rig.gbcs.tree.inspect_blocks`;
* ``plaintext`` (a quarter of the ``raw`` inputs): a vector with encrypted parts whose
  plaintexts are mutated (same length) and encrypted again under its keys, so the typed
  plaintext decoders (:mod:`rig.gbcs.plaintexts`) read them, to ``inspect`` with keys and to
  the frame's description
  (:func:`rig.gbcs.describe.describe`).

The fair alternative it is compared with is the unkeyed fuzz of ``inspect`` alone (the one
before issue 13, ``tests/gbcs/fuzz_decode.py``), timed on the same machine after the run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import random
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import click

from firmware_stubs.esme import Esme
from firmware_stubs.gsme import Gsme
from firmware_stubs.premises import Premises, PremisesSpec
from rig.gbcs import gbt
from rig.gbcs.codec import DeviceCodec, RemotePartyCodec
from rig.gbcs.codes import CRITICAL_CODES
from rig.gbcs.commands import SHARED_KEYS
from rig.gbcs.crypto import kdf_prefix, shared_secret, sign
from rig.gbcs.describe import describe
from rig.gbcs.errors import GbcsError
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import Cra, GeneralSigning, decode, mac_frame
from rig.gbcs.mutate import (
    FALLBACK,
    INTERESTING,
    frame_length_fields,
    mutate,
    mutate_fields,
    payload_fields,
    seeds,
    vectors,
)
from rig.gbcs.protect import decrypt_parts, reencrypt
from rig.gbcs.tree import inspect, inspect_blocks
from rig.gbcs.usecases import RawPayload, decode_payload
from rig.keys import RTDS_KEYS
from rig.keys.keystore import KeyNotFound, KeyStore
from rig.keys.pki import generate_pki

#: The RTDS ESME: the one device whose KA private key the RTDS key store holds (§1.9).
RTDS_ESME = Eui64.parse("00-DB-12-34-56-78-90-A0")
#: The roles of the RTDS devices that vectors address (../shared/gbcs-rtds, premises.py).
_RTDS_ROLES = {
    Eui64.parse(f"00-DB-12-34-56-78-90-{suffix}"): role
    for suffix, role in (("A0", "esme"), ("A1", "gsme"), ("A2", "chf"), ("A4", "ppmid"))
}
_DEVICES = tuple(Eui64.parse(f"00-DB-12-34-56-78-F0-0{i}") for i in range(1, 8))
_CHF, _ESME, _GSME, _PPMID, _SAPC, _HUB_ESME, _HUB_GSME = _DEVICES
#: Originator counters step by 2^32: UTRN counters need their low 32 bits clear (§2).
_STEP = 1 << 32
_KEEP_FAILURES = 5
#: The stubs' clocks: monotonic 0 is this wall-clock time (2026-01-01 UTC).
_WALL_CLOCK = 1_767_225_600.0
_TICK_EVERY = 64

#: Worker processes start fresh: forking the multi-threaded CLI may deadlock (Python 3.12+ warns).
_SPAWN = multiprocessing.get_context("spawn")


@dataclass
class Tally:
    """Outcomes of a fuzz run: per target, GbcsErrors by class and anything else."""

    inputs: int = 0
    workers: int = 1
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    #: The most CPU one input took (a hang would be CPU-bound; wall time counts other load).
    slowest_ms: float = 0.0
    ok: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def merge(self, other: Tally) -> None:
        """Add ``other`` (a worker's tally) to this one."""
        self.inputs += other.inputs
        self.seconds = max(self.seconds, other.seconds)
        self.cpu_seconds += other.cpu_seconds
        self.slowest_ms = max(self.slowest_ms, other.slowest_ms)
        self.ok += other.ok
        self.errors += other.errors
        self.failures += other.failures
        self.examples += other.examples[: _KEEP_FAILURES - len(self.examples)]

    @property
    def failure_count(self) -> int:
        """Exceptions that are not GbcsError (from a stub: any exception)."""
        return sum(self.failures.values())


class KeyedFuzzer:
    """One worker: the keys, the codec ends and the stubs, and the four input cases."""

    def __init__(self, frames: list[bytes], pki: Path, seed: int) -> None:
        generate_pki(pki, remote_parties=(), devices=_DEVICES)
        dirs = [pki, RTDS_KEYS] + ([SHARED_KEYS] if SHARED_KEYS.is_dir() else [])
        self.keys = KeyStore(dirs)
        self.rnd = random.Random(seed)
        self.tally = Tally()
        frames = frames or [FALLBACK]
        self.pool = seeds(frames)
        messages = [decode(f).signing for f in frames]
        self.commands = [s for s in messages if s.cra is Cra.COMMAND]
        #: Commands of the typed use cases, picked half the time: the ones devices act on.
        self.typed = [s for s in self.commands if _typed(s)] or self.commands
        self.answers = [s for s in messages if s.cra is not Cra.COMMAND]
        #: Frames with encrypted parts, and their plaintexts (those the keys decrypt).
        self.encrypted = [
            (f, s, clear)
            for f, s in zip(frames, messages, strict=True)
            if (parts := decrypt_parts(s, self.keys))
            and len(clear := tuple(p.plaintext for p in parts if p.plaintext is not None))
            == len(parts)
        ]
        self.payloads = [s.payload for s in messages if s.payload]
        self.remote = RemotePartyCodec(self.keys)
        #: The RTDS ESME's end, for open_command on raw frames (None without the shared keys).
        self.device: DeviceCodec | None = None
        with contextlib.suppress(KeyNotFound):
            private = self.keys.ka_private(RTDS_ESME)
            self.device = DeviceCodec(
                RTDS_ESME, ka_private=private, ds_private=None, keys=self.keys
            )
        self._answer_prefixes: dict[Eui64, bytes] = {}
        self.esme = Esme.from_keys(_ESME, self.keys, wall_clock_offset=_WALL_CLOCK)
        self.gsme = Gsme.from_keys(_GSME, self.keys, wall_clock_offset=_WALL_CLOCK)
        spec = PremisesSpec.parse(
            {
                "chf": str(_CHF),
                "keys": ["."],
                "esme": {"eui": str(_HUB_ESME), "prepayment": True, "credit_pence": 500},
                "gsme": {"eui": str(_HUB_GSME), "wake_interval": 2.0},
                "ppmid": {"eui": str(_PPMID)},
                "sapc": {"eui": str(_SAPC)},
            },
            "fuzz premises",
        )
        self.premises = Premises(spec, keys=self.keys, wall_clock_offset=_WALL_CLOCK)
        #: (target name, role, EUI, handle); commands go to a stub of their vector's role.
        self.stubs: list[tuple[str, str, Eui64, Callable[[bytes, float], object]]] = [
            ("esme.handle", "esme", _ESME, self.esme.handle),
            ("gsme.handle", "gsme", _GSME, self.gsme.handle),
            *(
                (f"premises.handle ({role})", role, eui, self.premises.handle)
                for role, eui in (
                    ("chf", _CHF),
                    ("esme", _HUB_ESME),
                    ("gsme", _HUB_GSME),
                    ("ppmid", _PPMID),
                    ("sapc", _SAPC),
                )
            ),
        ]
        self.counter = 0
        self.now = 0.0
        self._cases = [self._raw, self._command, self._command, self._response, self._gbt]

    # -- running -------------------------------------------------------------------------

    def run(self, count: int) -> Tally:
        """Fuzz ``count`` inputs; their tally."""
        self.tally = Tally()
        start, cpu = time.perf_counter(), time.process_time()
        for i in range(count):
            case = self._cases[i % len(self._cases)]
            began = time.process_time()
            case()
            self.tally.slowest_ms = max(self.tally.slowest_ms, (time.process_time() - began) * 1e3)
            self.tally.inputs += 1
            self.now += 0.5
            if i % _TICK_EVERY == 0:
                for name, tick in (
                    ("esme.tick", self.esme.tick),
                    ("gsme.tick", self.gsme.tick),
                    ("premises.tick", self.premises.tick),
                ):
                    self._try(name, b"", partial(tick, self.now), stub=True)
        self.tally.seconds = time.perf_counter() - start
        self.tally.cpu_seconds = time.process_time() - cpu
        return self.tally

    def _try(
        self, target: str, data: bytes, call: Callable[[], object], *, stub: bool = False
    ) -> object:
        """Run one target on one input and count the outcome; its result, or None."""
        try:
            result = call()
        except GbcsError as exc:
            if not stub:
                self.tally.errors[f"{target}: {type(exc).__name__}"] += 1
                return None
            self._fail(target, data, exc)
            return None
        except Exception as exc:  # the contract is broken: counted, the input kept
            self._fail(target, data, exc)
            return None
        self.tally.ok[target] += 1
        return result

    def _fail(self, target: str, data: bytes, exc: BaseException) -> None:
        self.tally.failures[f"{target}: {type(exc).__name__}"] += 1
        if len(self.tally.examples) < _KEEP_FAILURES:
            trace = "".join(traceback.format_exception(exc)[-3:])
            self.tally.examples.append(f"{target} on {data.hex().upper()}\n{trace}")

    # -- the cases -----------------------------------------------------------------------

    def _raw(self) -> None:
        rnd = self.rnd
        if self.encrypted and rnd.random() < 0.25:
            self._plaintext()
            return
        data = rnd.choice(self.pool)
        if rnd.random() < 0.25 and not gbt.is_gbt(data):
            buf = bytearray(data)
            buf[rnd.choice(frame_length_fields(data))] = rnd.choice(INTERESTING)
            data = bytes(buf)
        else:
            data = mutate(rnd, data, self.pool)
        self._try("inspect", data, lambda: inspect(data, self.keys))
        if (device := self.device) is not None:
            self._try("open_command", data, lambda: device.open_command(data))
        self._try("open_response", data, lambda: self.remote.open_response(data))
        if gbt.is_gbt(data):
            self._try("gbt.Reassembler", data, lambda: gbt.Reassembler().add(data))

    def _payload(self, payload: bytes) -> bytes:
        """Unchanged (one in eight), tags and lengths rewritten, or random byte mutations."""
        rnd = self.rnd
        roll = rnd.random()
        if roll < 0.125:
            return payload
        if roll < 0.6 and (fields := payload_fields(payload)):
            return mutate_fields(rnd, payload, fields)
        return mutate(rnd, payload, self.payloads)

    def _sealed_command(self, *, hub: bool = False) -> tuple[str, bytes]:
        """A command vector with its payload mutated, MAC'd by the ACB, to a stub of the role
        of the vector's RTDS recipient (any stub for others): the stub's name and the frame."""
        vector = self.rnd.choice(self.typed if self.rnd.random() < 0.5 else self.commands)
        role = _RTDS_ROLES.get(vector.recipient)
        stubs = [t for t in self.stubs if t[0].startswith("premises") or not hub]
        name, _, recipient, _ = self.rnd.choice([t for t in stubs if t[1] == role] or stubs)
        self.counter += _STEP
        signing = dataclasses.replace(
            vector,
            counter=self.counter,
            recipient=recipient,
            payload=self._payload(vector.payload),
            signature=None,
            has_signature_field=True,
        )
        if signing.message_code in CRITICAL_CODES:
            try:
                key = self.keys.ds_private(signing.originator)
                signing = signing.with_signature(sign(key, signing.signed_data()))
            except KeyNotFound:
                pass  # sent unsigned: the device refuses it
        return name, self.remote.seal_command(signing)

    def _command(self) -> None:
        name, frame = self._sealed_command()
        handle = next(t[3] for t in self.stubs if t[0] == name)
        if self.rnd.random() < 0.1:
            frame = mutate(self.rnd, frame, self.pool)  # fails the MAC check: a refusal
        self._try("inspect", frame, lambda: inspect(frame, self.keys))
        self._stub(name, handle, frame)

    def _stub(self, name: str, handle: Callable[[bytes, float], object], frame: bytes) -> None:
        outputs = self._try(name, frame, lambda: handle(frame, self.now), stub=True)
        for _, out in outputs or ():  # type: ignore[attr-defined]
            if not gbt.is_gbt(out):
                self._try("stub output open_response", out, partial(self._open, out))

    def _open(self, frame: bytes) -> object:
        s = self.remote.open_response(frame).signing
        return decode_payload(s.message_code, s.payload, s.cra)

    def _answer_prefix(self, recipient: Eui64) -> bytes:
        prefix = self._answer_prefixes.get(recipient)
        if prefix is None:
            z = shared_secret(self.keys.ka_private(RTDS_ESME), self.keys.ka_public(recipient))
            prefix = self._answer_prefixes[recipient] = kdf_prefix(z)
        return prefix

    def _response(self) -> None:
        if self.device is None or not self.answers:
            self._raw()
            return
        vector = self.rnd.choice(self.answers)
        signing = dataclasses.replace(
            vector,
            originator=RTDS_ESME,
            payload=self._payload(vector.payload),
            signature=None,
            has_signature_field=True,
        )
        try:
            frame = mac_frame(signing.encode(), self._answer_prefix(signing.recipient))
        except KeyNotFound:
            frame = signing.encode()  # no key for this recipient: bare, refused as unsigned
        self._try("open_response + decode_payload", frame, lambda: self._open(frame))
        self._try("inspect", frame, lambda: inspect(frame, self.keys))

    def _gbt(self) -> None:
        rnd = self.rnd
        name, frame = self._sealed_command(hub=True)
        blocks = gbt.segment(frame, rnd.choice((32, 64, 128, 256)))
        at = rnd.randrange(len(blocks))
        roll = rnd.randrange(4)
        if roll == 0:
            blocks[at] = mutate(rnd, blocks[at], self.pool)
        elif roll == 1:
            del blocks[at]
        elif roll == 2:
            blocks.insert(rnd.randrange(len(blocks) + 1), blocks[at])
        else:
            blocks.insert(rnd.randrange(len(blocks)), blocks.pop(at))
        self._try("inspect_blocks", b"".join(blocks), lambda: inspect_blocks(blocks, self.keys))
        for block in blocks:
            self._stub(f"{name.split(' ')[0]} (GBT)", self.premises.handle, block)

    def _plaintext(self) -> None:
        rnd = self.rnd
        frame, signing, plaintexts = rnd.choice(self.encrypted)
        mutated = []
        for plaintext in plaintexts:
            buf = bytearray(plaintext)
            for _ in range(rnd.randint(1, 3) if buf else 0):
                buf[rnd.randrange(len(buf))] = rnd.choice((*INTERESTING, rnd.randrange(256)))
            mutated.append(bytes(buf))
        payload = reencrypt(signing, tuple(mutated), self.keys)
        head = frame[: frame.rindex(signing.payload)]
        frame = head + payload + frame[len(head) + len(payload) :]
        self._try("inspect (plaintexts)", frame, lambda: inspect(frame, self.keys))
        self._try("describe (plaintexts)", frame, lambda: describe(frame, self.keys))


def _typed(signing: GeneralSigning) -> bool:
    """Whether a vector's payload decodes to a typed use case (not a RawPayload)."""
    try:
        body = decode_payload(signing.message_code, signing.payload, signing.cra)
    except GbcsError:
        return False
    return not isinstance(body, RawPayload)


def _worker(frames: list[bytes], count: int, seed: int) -> Tally:
    with tempfile.TemporaryDirectory(prefix="rig-fuzz-") as pki:
        return KeyedFuzzer(frames, Path(pki), seed).run(count)


def fuzz(frames: list[bytes], count: int, seed: int, workers: int = 1) -> Tally:
    """``count`` keyed inputs over ``workers`` processes (seeds ``seed``, ``seed`` + 1, …)."""
    if workers == 1:
        return _worker(frames, count, seed)
    shares = [count // workers + (i < count % workers) for i in range(workers)]
    total = Tally(workers=workers)
    with ProcessPoolExecutor(workers, mp_context=_SPAWN) as pool:
        for tally in pool.map(_worker, [frames] * workers, shares, range(seed, seed + workers)):
            total.merge(tally)
    return total


def unkeyed_rate(frames: list[bytes], seconds: float, seed: int) -> float:
    """Inputs per CPU-second of the unkeyed, inspect-only fuzz (the fair alternative), run for
    ``seconds`` of CPU."""
    rnd = random.Random(seed)
    pool = seeds(frames)
    done = 0
    start = time.process_time()
    while (elapsed := time.process_time() - start) < seconds:
        data = mutate(rnd, rnd.choice(pool), pool)
        with contextlib.suppress(GbcsError):
            inspect(data)
        done += 1
    return done / elapsed


def report(tally: Tally, baseline: float | None) -> str:
    """The figures: inputs, rate, outcomes per target and class, failures."""
    rate = tally.inputs / tally.seconds if tally.seconds else 0.0
    per_cpu = tally.inputs / tally.cpu_seconds if tally.cpu_seconds else 0.0
    lines = [
        f"inputs run: {tally.inputs:,} in {tally.seconds:.0f} s, {rate:,.0f} inputs/s "
        f"({tally.workers} worker{'s' * (tally.workers > 1)}); {per_cpu:,.0f} inputs per "
        f"CPU-second; slowest input {tally.slowest_ms:.1f} ms of CPU",
    ]
    if baseline:
        lines.append(
            f"unkeyed inspect-only fuzz: {baseline:,.0f} inputs per CPU-second; "
            f"keyed / unkeyed: {per_cpu / baseline:.2f}x"
        )
    lines.append("accepted (decoded, or handled by a stub), by target:")
    lines += [f"  {target}: {n:,}" for target, n in sorted(tally.ok.items())]
    lines.append(f"GbcsError by target and class: {sum(tally.errors.values()):,}")
    lines += [f"  {key}: {n:,}" for key, n in sorted(tally.errors.items())]
    lines.append(f"non-GbcsError exceptions (stubs: any exception): {tally.failure_count}")
    lines += [f"  {key}: {n:,}" for key, n in sorted(tally.failures.items())]
    return "\n".join(lines)


@click.command("fuzz")
@click.option("--inputs", "count", default=1_000_000, show_default=True, help="Inputs to run.")
@click.option("--seed", default=2026, show_default=True, help="Random seed (worker i: seed + i).")
@click.option("--workers", default=1, show_default=True, help="Worker processes.")
@click.option(
    "--baseline-seconds",
    default=10.0,
    show_default=True,
    help="CPU-seconds of the unkeyed inspect-only fuzz to compare the rate with (0: skip).",
)
def benchmark_fuzz(count: int, seed: int, workers: int, baseline_seconds: float) -> None:
    """Keyed fuzz of the GBCS codec and the firmware stubs: prints inputs run, inputs/s,
    GbcsErrors by class and non-GbcsError exceptions; exit status 1 if there are any.

    Seeds: every vector in $RIG_SHARED_DIR/gbcs-rtds (default ../shared) and GBT blocks of each.
    A million inputs take minutes (docs/gbcs-codec.md, "Fuzzing").

    \b
    Example:
      nice -n 10 rig benchmark fuzz --inputs 1000000 --seed 2026
    """
    frames = vectors(SHARED_KEYS.parent.parent)
    if not frames:
        click.echo(
            f"warning: no RTDS vectors under {SHARED_KEYS.parent}; one built-in seed", err=True
        )
    baseline = None
    if baseline_seconds > 0:  # in a fresh process, as the unkeyed fuzz runs on its own
        with ProcessPoolExecutor(1, mp_context=_SPAWN) as pool:
            baseline = pool.submit(unkeyed_rate, frames, baseline_seconds, seed).result()
    tally = fuzz(frames, count, seed, workers)
    click.echo(report(tally, baseline))
    for example in tally.examples:
        click.echo(example, err=True)
    if tally.failure_count:
        raise SystemExit(1)
