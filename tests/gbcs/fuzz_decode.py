"""Counted random-mutation fuzzing of the GBCS decoder without keys (reference/gbcs.md §1; not a
pytest module). The keyed fuzz of both codec sides and the firmware stubs is ``rig benchmark fuzz``
(:mod:`rig.benchmarks.fuzz`); this one is its unkeyed, inspect-only predecessor.

Every input goes through :func:`rig.gbcs.tree.inspect` (frame or GBT block, General-Signing,
typed payload, decode tree). The contract: a :class:`~rig.gbcs.tree.Report` or a
:class:`~rig.gbcs.errors.DecodeError` naming an offset inside the input; never another
exception, never longer than ``--max-ms`` per input. Seeds are every RTDS vector (if found) and
GBT blocks of each; mutations are :func:`rig.gbcs.mutate.mutate`'s.

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
from rig.gbcs.mutate import mutate, vectors
from rig.gbcs.mutate import seeds as mutation_seeds
from rig.gbcs.tree import inspect


def seeds() -> list[bytes]:
    """Every RTDS vector (from $RIG_SHARED_DIR or ../shared) plus GBT blocks of each."""
    shared = Path(
        os.environ.get("RIG_SHARED_DIR") or Path(__file__).resolve().parents[3] / "shared"
    )
    return mutation_seeds(vectors(shared))


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
