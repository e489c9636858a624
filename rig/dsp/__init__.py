"""The DSP model: TMM document, the clock-injected queue, throttling, alert storms, the CSP
(domain.md §1-§6; docs/dsp-model.md)."""

from rig.dsp.alerts import AlertStormFilter, DeviceAlert
from rig.dsp.csp import Csp
from rig.dsp.distributions import Distribution, Empirical, Exponential, Fixed, LogNormal
from rig.dsp.model import (
    ACK_CODE,
    Ack,
    Dsp,
    DspCounters,
    DspRequest,
    ServiceTime,
    UserCounters,
)
from rig.dsp.tmm import (
    KNOWN_SRVS,
    AlertStormPolicy,
    CapRule,
    Mode,
    OutageReleasePolicy,
    ReleasePolicy,
    ThrottleAction,
    ThrottlingPolicy,
    TmmError,
    TrafficManagementDocument,
    default_tmm,
    load_tmm,
)

__all__ = [
    "ACK_CODE",
    "KNOWN_SRVS",
    "Ack",
    "AlertStormFilter",
    "AlertStormPolicy",
    "CapRule",
    "Csp",
    "DeviceAlert",
    "Distribution",
    "Dsp",
    "DspCounters",
    "DspRequest",
    "Empirical",
    "Exponential",
    "Fixed",
    "LogNormal",
    "Mode",
    "OutageReleasePolicy",
    "ReleasePolicy",
    "ServiceTime",
    "ThrottleAction",
    "ThrottlingPolicy",
    "TmmError",
    "TrafficManagementDocument",
    "UserCounters",
    "default_tmm",
    "load_tmm",
]
