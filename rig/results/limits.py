"""Limits shared by the shipped test plans, each with where its number comes from.

Plans declare their own limits; the ones several plans use live here so one [ASSUMED] value
has one home (change it here, or override it in a plan).
"""

from __future__ import annotations

from rig.results.measure import Limit

#: Target Response Time for On Demand device requests: about 30 s is a recollection, not a
#: published figure [ASSUMED, shared/reference/domain.md §6]. Marginal from 80 % of it.
TRT_ON_DEMAND = Limit(high=30_000, marginal_high=24_000, units="ms")
