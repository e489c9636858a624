"""Load injection on the live rig: pure, seeded schedules (:mod:`rig.load.schedule`) played in
real time by a thin driver on the rig's loop (:mod:`rig.load.driver`); docs/load.md."""

from rig.load.driver import LoadDriver, LoadResult
from rig.load.schedule import (
    Control,
    InjectAlert,
    Schedule,
    ScheduleError,
    Send,
    alert_storm,
    background,
    flood,
    merge,
    outage,
    read_burst,
    reload_tmm,
    requested_rate,
)

__all__ = [
    "Control",
    "InjectAlert",
    "LoadDriver",
    "LoadResult",
    "Schedule",
    "ScheduleError",
    "Send",
    "alert_storm",
    "background",
    "flood",
    "merge",
    "outage",
    "read_burst",
    "reload_tmm",
    "requested_rate",
]
