"""Queueing theory checks: the DSP matches M/M/1, M/M/c (Erlang C) and non-preemptive
priority M/M/1 (Cobham) mean waits, within tolerances the run lengths justify."""

from __future__ import annotations

import bisect
import itertools
import math
import random
import statistics

import pytest

from rig.clock import VirtualClock
from rig.dsp.model import Dsp, DspRequest, Exponential
from rig.dsp.tmm import Mode, TrafficManagementDocument, default_tmm


def test_mm1_mean_wait_in_queue() -> None:
    """Poisson arrivals (rate lam) and exponential service (rate mu) on one server.

    Theory: Wq = rho / (mu - lam). Tolerance: the sample mean of n successive waits has
    asymptotic variance sigma2 / n with sigma2 = rho (2 + 5 rho - 4 rho^2 + rho^3) / (mu^2
    (1 - rho)^4) (Daley 1968, the M/M/1 waiting-time sum); at rho = 0.5 that is 29 / n. With
    n ~ 2e5 one standard error is ~1.2 % of Wq; we allow 4 of them (a correct model fails for
    ~6e-5 of seeds). The first 1000 waits (start-up from empty) are dropped. The mean wait is
    the same for any work-conserving order, so this checks service sampling, server occupancy
    and the clock together; ordering is tested elsewhere.
    """
    lam, mu, n, warm_up = 0.5, 1.0, 200_000, 1_000
    rho = lam / mu
    clock = VirtualClock()
    waits: list[float] = []

    def on_dispatch(request: DspRequest) -> None:
        assert request.dequeued_at is not None
        waits.append(request.dequeued_at - request.submitted_at)

    dsp = Dsp(
        clock,
        default_tmm(),
        service_time=Exponential(1.0 / mu),
        on_dispatch=on_dispatch,
        on_deliver=id,
        seed=20241107,
    )
    arrivals = random.Random(1)
    remaining = n

    def arrive() -> None:
        nonlocal remaining
        dsp.submit(DspRequest("r", "4.1.1", Mode.ON_DEMAND, "u", "t", None))
        remaining -= 1
        if remaining:
            clock.call_at(clock.now() + arrivals.expovariate(lam), arrive)

    clock.call_at(0.0, arrive)
    clock.run()

    assert len(waits) == n
    observed = statistics.fmean(waits[warm_up:])
    expected = rho / (mu - lam)
    sigma2 = rho * (2 + 5 * rho - 4 * rho**2 + rho**3) / (mu**2 * (1 - rho) ** 4)
    std_error = math.sqrt(sigma2 / (n - warm_up))
    assert abs(observed - expected) < 4 * std_error, (observed, expected, std_error)


def simulate_waits(
    *,
    rates: dict[str, float],
    mean_service: float,
    servers: int,
    n: int,
    batches: int,
    levels: dict[str, int],
    seed: int,
) -> dict[str, list[float]]:
    """Poisson arrivals per SRV (all On Demand), exponential service: per-SRV batch means of
    the wait in queue (dequeued - submitted), the first batch discarded as warm-up.

    Batch means (Law & Kelton, ch. 9): with batches of ~n/B successive waits, long compared
    with the queue's correlation time, the batch means are nearly independent, so their spread
    gives the standard error of the overall mean without storing every wait.
    """
    clock = VirtualClock()
    tmm = TrafficManagementDocument(version="theory", levels=levels)
    per_batch = n // (batches + 1)
    sums: dict[str, list[float]] = {srv: [0.0] * (batches + 1) for srv in rates}
    counts: dict[str, list[int]] = {srv: [0] * (batches + 1) for srv in rates}
    done = 0

    def on_dispatch(request: DspRequest) -> None:
        nonlocal done
        b = min(done // per_batch, batches)
        done += 1
        sums[request.srv][b] += request.dequeued_at - request.submitted_at  # type: ignore[operator]
        counts[request.srv][b] += 1

    dsp = Dsp(
        clock,
        tmm,
        servers=servers,
        service_time=Exponential(mean_service),
        on_dispatch=on_dispatch,
        on_deliver=id,
        seed=seed,
    )
    total = sum(rates.values())
    srvs = list(rates)
    cumulative = list(itertools.accumulate(rates[s] / total for s in srvs))
    arrivals = random.Random(seed + 1)
    remaining = n

    def arrive() -> None:
        nonlocal remaining
        srv = srvs[bisect.bisect(cumulative, arrivals.random() * cumulative[-1])]
        dsp.submit(DspRequest("r", srv, Mode.ON_DEMAND, "u", "t", None))
        remaining -= 1
        if remaining:
            clock.call_at(clock.now() + arrivals.expovariate(total), arrive)

    clock.call_at(0.0, arrive)
    clock.run()
    return {
        srv: [s / c for s, c in zip(sums[srv][1:], counts[srv][1:], strict=True)] for srv in rates
    }


def assert_matches(batch_means: list[float], expected: float, max_rel_se: float) -> None:
    """Within 4.5 standard errors (t with B-1 = 19 dof: a correct model fails ~2e-4 of
    seeds), and the run long enough that one standard error is under ``max_rel_se``."""
    mean = statistics.fmean(batch_means)
    se = statistics.stdev(batch_means) / math.sqrt(len(batch_means))
    assert se < max_rel_se * expected, (mean, expected, se)
    assert abs(mean - expected) < 4.5 * se, (mean, expected, se)


def erlang_c_wait(lam: float, mu: float, c: int) -> float:
    """M/M/c mean wait in queue: Erlang C probability of waiting over (c mu - lambda)."""
    a = lam / mu
    rho = a / c
    tail = a**c / math.factorial(c) / (1 - rho)
    p_wait = tail / (sum(a**k / math.factorial(k) for k in range(c)) + tail)
    return p_wait / (c * mu - lam)


def test_mmc_mean_wait_matches_erlang_c() -> None:
    """4 servers at rho = 0.75: Wq = C(4, 3) / (4 mu - lambda) = 0.5094 / 1 s."""
    lam, mu, c = 3.0, 1.0, 4
    means = simulate_waits(
        rates={"4.1.1": lam},
        mean_service=1 / mu,
        servers=c,
        n=210_000,
        batches=20,
        levels={},
        seed=7,
    )
    assert_matches(means["4.1.1"], erlang_c_wait(lam, mu, c), max_rel_se=0.03)


@pytest.mark.slow
def test_non_preemptive_priority_mean_waits_match_cobham() -> None:
    """Three levels on one server (SECMP0028 order), rho = 0.8, common exponential service.

    Cobham (1954): W_k = W0 / ((1 - s_{k-1})(1 - s_k)), s_k = sum of rho_i over levels <= k,
    W0 = sum lambda_i E[S^2] / 2 = lambda / mu^2 for exponential service. Here W = 1, 2, 8 s.
    """
    mu = 1.0
    rates = {"7.4": 0.2, "7.2": 0.3, "4.1.1": 0.3}
    levels = {"7.4": 1, "7.2": 2}
    means = simulate_waits(
        rates=rates, mean_service=1 / mu, servers=1, n=840_000, batches=20, levels=levels, seed=11
    )
    w0 = sum(rates.values()) / mu**2
    sigma = 0.0
    for srv, lam in rates.items():
        before, sigma = sigma, sigma + lam / mu
        assert_matches(means[srv], w0 / ((1 - before) * (1 - sigma)), max_rel_se=0.04)
