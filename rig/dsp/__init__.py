"""The DSP model: TMM document and the clock-injected queue (domain.md §1-§6)."""

from rig.dsp.model import (
    ACK_CODE,
    Ack,
    Dsp,
    DspCounters,
    DspRequest,
    Exponential,
    Fixed,
    ServiceTime,
)
from rig.dsp.tmm import (
    KNOWN_SRVS,
    Mode,
    TmmError,
    TrafficManagementDocument,
    default_tmm,
    load_tmm,
)

__all__ = [
    "ACK_CODE",
    "KNOWN_SRVS",
    "Ack",
    "Dsp",
    "DspCounters",
    "DspRequest",
    "Exponential",
    "Fixed",
    "Mode",
    "ServiceTime",
    "TmmError",
    "TrafficManagementDocument",
    "default_tmm",
    "load_tmm",
]
