"""``rig benchmark cbke``: the time of one sect283k1 scalar multiplication and of one whole
Key Establishment (both sides, in memory), against P-256 ECDH in ``cryptography`` (OpenSSL's C)
as the named alternative: a different, 256-bit prime field, so the ratio is the price of a
pure-Python binary curve, not a like-for-like contest."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import click


@dataclass(frozen=True)
class CbkeFigures:
    scalar_multiplication_ms: float
    key_establishment_ms: float
    p256_ecdh_ms: float

    def text(self) -> str:
        ratio = self.scalar_multiplication_ms / self.p256_ecdh_ms
        return (
            f"sect283k1 scalar multiplication: {self.scalar_multiplication_ms:.1f} ms "
            f"(pure Python, Montgomery ladder)\n"
            f"one CBKE, both sides (12 scalar multiplications, 4 of them checks n·Q = O): "
            f"{self.key_establishment_ms:.0f} ms\n"
            f"P-256 ECDH in cryptography (OpenSSL, 256-bit prime field): "
            f"{self.p256_ecdh_ms:.3f} ms; the sect283k1 multiplication takes {ratio:.0f}x that"
        )


def _best(repeat: int, action: Callable[[], object]) -> float:
    """The fastest of ``repeat`` runs of ``action``, in milliseconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times) * 1e3


def run_cbke_bench(repeat: int) -> CbkeFigures:
    """Measure the three figures (test CA and identities made first, outside the timing)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from rig.clock import VirtualClock
    from rig.zigbee.cbke import curve
    from rig.zigbee.cbke.ecqv import CertificateAuthority, random_scalar
    from rig.zigbee.cbke.machine import Identity, Initiator, Responder

    ca = CertificateAuthority.generate(b"BENCHCA1")
    ends = []
    for eui in (bytes.fromhex("0011223344556677"), bytes.fromhex("8899AABBCCDDEEFF")):
        private, cert = ca.issue(eui, bytes(8))
        ends.append(Identity(eui, private, cert, ca.issuer, ca.public))

    def key_establishment() -> None:
        clock = VirtualClock()
        initiator = Initiator(ends[0], ends[1].eui, clock)
        responder = Responder(ends[1], ends[0].eui, clock)
        to_responder = initiator.start()
        while to_responder:
            to_initiator = [out for f in to_responder for out in responder.receive(f)]
            to_responder = [out for f in to_initiator for out in initiator.receive(f)]
        if initiator.key is None or initiator.key != responder.key:
            raise RuntimeError(f"the benchmark's CBKE failed: {initiator.failure}")

    scalar = random_scalar()
    ours = ec.generate_private_key(ec.SECP256R1())
    peer = ec.generate_private_key(ec.SECP256R1()).public_key()
    return CbkeFigures(
        scalar_multiplication_ms=_best(repeat, lambda: curve.multiply(scalar, curve.G)),
        key_establishment_ms=_best(max(1, repeat // 4), key_establishment),
        p256_ecdh_ms=_best(repeat * 20, lambda: ours.exchange(ec.ECDH(), peer)),
    )


@click.command("cbke")
@click.option("--repeat", default=8, show_default=True, help="Runs of each; the best is shown.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def benchmark_cbke(repeat: int, as_json: bool) -> None:
    """Time of one sect283k1 scalar multiplication and of one CBKE (both sides, in memory),
    with its ratio to P-256 ECDH in cryptography.

    \b
    Example:
      rig benchmark cbke --repeat 4
    """
    if repeat < 1:
        raise click.BadParameter("--repeat is at least 1")
    figures = run_cbke_bench(repeat)
    click.echo(json.dumps(asdict(figures), indent=2) if as_json else figures.text())
