"""Counted random-mutation fuzzing of the GBCS decoder (reference/gbcs.md §1; not a pytest module).

Every input goes through :func:`rig.gbcs.tree.inspect` (frame or GBT block, General-Signing,
typed payload, decode tree). The contract: a :class:`~rig.gbcs.tree.Report` or a
:class:`~rig.gbcs.errors.DecodeError` naming an offset inside the input; never another
exception, never longer than ``--max-ms`` per input. Seeds are the RTDS vectors (if found), GBT
blocks of them and frames built with fresh keys; mutations are bit flips, byte writes,
interesting length bytes, insertions, deletions, truncations, splices and random bytes.

    .venv/bin/python tests/gbcs/fuzz_decode.py --count 1000000 --workers 2
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from rig.gbcs.errors import DecodeError
from rig.gbcs.gbt import segment
from rig.gbcs.tree import inspect

_INTERESTING = (0x00, 0x01, 0x02, 0x08, 0x09, 0x0C, 0x40, 0x7F, 0x80, 0x81, 0x82, 0x84, 0xFF)


def seeds() -> list[bytes]:
    """RTDS vectors (from $RIG_SHARED_DIR or ../shared) plus GBT blocks of each."""
    shared = Path(
        os.environ.get("RIG_SHARED_DIR") or Path(__file__).resolve().parents[3] / "shared"
    )
    frames = [
        bytes.fromhex(p.read_text().strip())
        for p in sorted(shared.glob("gbcs-rtds/vectors/*/*.HEX"))
    ]
    if not frames:
        frames = [
            bytes.fromhex(
                "DD000000000000471100000000DF090100000000000003E80890B3D51F300100000800DB1234567890A0"
                "0002005213D9200003E80001010046000060030AFF0301000052E8965230E91EE41782CE42"
            )
        ]
    blocks = [b for f in frames[::7] for b in segment(f, 64)]
    return frames + blocks


def mutate(rnd: random.Random, data: bytes, pool: list[bytes]) -> bytes:
    """One to four random mutations of ``data``."""
    buf = bytearray(data)
    for _ in range(rnd.randint(1, 4)):
        kind = rnd.randrange(9)
        at = rnd.randrange(len(buf) + 1)
        if kind == 0 and buf:
            buf[at % len(buf)] ^= 1 << rnd.randrange(8)
        elif kind == 1 and buf:
            buf[at % len(buf)] = rnd.randrange(256)
        elif kind == 2 and buf:
            buf[at % len(buf)] = rnd.choice(_INTERESTING)
        elif kind == 3:
            buf[at:at] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 8)))
        elif kind == 4:
            del buf[at : at + rnd.randint(1, 16)]
        elif kind == 5:
            del buf[at:]
        elif kind == 6:
            other = rnd.choice(pool)
            start = rnd.randrange(len(other) + 1)
            buf[at:] = other[start : start + rnd.randint(1, 200)]
        elif kind == 7:
            buf = bytearray(rnd.randbytes(rnd.randint(0, 64)))
        else:
            buf[at:at] = rnd.choice(pool)[: rnd.randint(1, 40)]
    return bytes(buf)


def run(count: int, seed: int, max_ms: float) -> tuple[int, int, float, list[str]]:
    """Fuzz ``count`` inputs; (parsed, rejected, slowest ms, failures)."""
    rnd = random.Random(seed)
    pool = seeds()
    parsed = rejected = 0
    slowest = 0.0
    failures: list[str] = []
    for _ in range(count):
        data = mutate(rnd, rnd.choice(pool), pool)
        start = time.perf_counter()
        try:
            inspect(data)
            parsed += 1
        except DecodeError as exc:
            rejected += 1
            if not 0 <= exc.offset <= len(data):
                failures.append(f"offset {exc.offset} outside {len(data)} bytes: {data.hex()}")
        except Exception:  # the contract is broken: record the input
            failures.append(f"{data.hex()}\n{traceback.format_exc()}")
        elapsed = (time.perf_counter() - start) * 1000
        slowest = max(slowest, elapsed)
        if elapsed > max_ms:
            failures.append(f"{elapsed:.1f} ms on {len(data)} bytes: {data.hex()}")
        if len(failures) > 20:
            break
    return parsed, rejected, slowest, failures


def main() -> int:
    """Command line: count, workers, seed; exit 1 on any contract failure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--max-ms", type=float, default=250.0)
    args = parser.parse_args()
    share = [
        args.count // args.workers + (i < args.count % args.workers) for i in range(args.workers)
    ]
    start = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        results = list(
            pool.map(
                run,
                share,
                [args.seed + i for i in range(args.workers)],
                [args.max_ms] * args.workers,
            )
        )
    parsed = sum(r[0] for r in results)
    rejected = sum(r[1] for r in results)
    failures = [f for r in results for f in r[3]]
    print(
        f"inputs {parsed + rejected}: parsed {parsed}, DecodeError {rejected}, "
        f"other failures {len(failures)}, slowest {max(r[2] for r in results):.1f} ms, "
        f"{time.perf_counter() - start:.0f} s"
    )
    for failure in failures[:5]:
        print(failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
