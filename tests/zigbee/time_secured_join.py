"""Time one secured join + Key Establishment of an ESME over the emulated RCPs and air: the
simulated seconds on the virtual clock, the CPU time, how much of it the sect283k1 scalar
multiplications take, against the same join with no security and no CBKE (the fair
alternative: the same stack, air and harness).

    RIG_SHARED_DIR=/work/shared .venv/bin/python tests/zigbee/time_secured_join.py
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parent.parent)]

from stack_air import SecuredBench  # noqa: E402
from test_stack_air import ESME, EXT_PAN, HUB, ICODE, NETWORK_KEY, PAN, Bench  # noqa: E402

from rig.zigbee.cbke import curve  # noqa: E402
from rig.zigbee.cbke.ecqv import CertificateAuthority  # noqa: E402
from rig.zigbee.secured import DeviceConfig, TrustCenterConfig, issue  # noqa: E402


@dataclass(frozen=True)
class JoinFigures:
    simulated_s: float
    cpu_s: float
    multiplications: int
    multiplication_cpu_s: float
    unsecured_cpu_s: float

    def text(self) -> str:
        share = self.multiplication_cpu_s / self.cpu_s
        return (
            f"secured join + CBKE of an ESME: {self.simulated_s:.2f} s simulated, "
            f"{self.cpu_s * 1e3:.0f} ms CPU\n"
            f"  of which {self.multiplications} sect283k1 scalar multiplications: "
            f"{self.multiplication_cpu_s * 1e3:.0f} ms ({share:.0%}, "
            f"{self.multiplication_cpu_s / self.multiplications * 1e3:.1f} ms each)\n"
            f"unsecured join, no CBKE (same stack and air): {self.unsecured_cpu_s * 1e3:.1f} ms "
            f"CPU; the secured one takes {self.cpu_s / self.unsecured_cpu_s:.0f}x that"
        )


def _counting(calls: list[float]) -> Callable[..., curve.Point]:
    original = curve.multiply

    def multiply(k: int, point: curve.Point) -> curve.Point:
        start = time.process_time()
        try:
            return original(k, point)
        finally:
            calls.append(time.process_time() - start)

    return multiply


def measure() -> JoinFigures:
    """One of each join (credentials issued first, outside the timing)."""
    ca = CertificateAuthority.generate(b"TIMINGCA", random.Random(1).randbytes)
    hub = TrustCenterConfig(HUB, PAN, EXT_PAN, NETWORK_KEY, {ESME: ICODE}, issue(ca, HUB, 1))
    esme = DeviceConfig(ESME, ICODE, issue(ca, ESME, 2), extended_pan_id=EXT_PAN)
    bench = SecuredBench(hub)
    device = bench.device(esme)
    calls: list[float] = []
    original, curve.multiply = curve.multiply, _counting(calls)
    try:
        start = time.process_time()
        device.join()
        while not any(e.kind == "key-established" for e in device.events):
            if bench.clock.now() > 30.0:
                raise RuntimeError(f"no key established: {device.events}")
            bench.clock.step()
        cpu = time.process_time() - start
    finally:
        curve.multiply = original
    simulated = bench.clock.now()
    plain = Bench()
    start = time.process_time()
    plain.device(ESME).join()
    while not any(e.kind == "joined" for e in plain.hub.events):
        plain.clock.step()
    return JoinFigures(simulated, cpu, len(calls), sum(calls), time.process_time() - start)


if __name__ == "__main__":
    print(measure().text())
