"""The DSP's controls on the live rig, a mixin of :class:`~rig.live.orchestrator.Rig`: outages
(DP100), TMM hot reload (issue 3), counters, and alerts injected at the DSP (SECMP0062).

Each blocking call crosses to the loop thread with ``Rig.call``; its ``*_now`` twin runs on the
loop (load drivers call those from their schedule).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rig.dsp.alerts import DeviceAlert
from rig.dsp.model import DspCounters, UserCounters
from rig.dsp.tmm import TmmError, TrafficManagementDocument
from rig.live.rig_state import RigState


class DspControls(RigState):
    """Outages, TMM reload, counters and injected alerts (``Rig`` provides what they use)."""

    def begin_outage(self) -> None:
        """DCC systems restricted: responses and alerts are held northbound (DP100)."""
        self.call(self.outage_now, "begin")

    def end_outage(self) -> float:
        """Restored: what was held is released by the TMM's ``outage_release`` policy (DP100).
        Returns the loop time of restoration (the clock of every record's stamps)."""
        return self.call(self.outage_now, "end")

    def outage_now(self, event: str) -> float:
        """:meth:`begin_outage` (``"begin"``) or :meth:`end_outage` (``"end"``) on the loop."""
        assert self._dsp is not None
        if event == "begin":
            self._dsp.begin_outage()
        else:
            self._dsp.end_outage()
        policy = self._dsp.tmm.outage_release.policy
        now = self._loop.time()
        self._record({"kind": "outage", "event": event, "at": now, "policy": str(policy)})
        return now

    def reload_tmm(self, path: Path) -> TmmError | None:
        """Hot-reload the TMM document from ``path`` while traffic flows (issue 3); an invalid
        file keeps the document in force and is returned. Either way it is recorded."""
        return self.call(self.reload_now, path)

    def reload_now(self, path: Path) -> TmmError | None:
        """:meth:`reload_tmm` on the loop thread."""
        assert self._dsp is not None
        error = self._dsp.reload_file(path)
        self._record(
            {
                "kind": "tmm_reload",
                "at": self._loop.time(),
                "path": str(path),
                "version": self._dsp.tmm.version,
                "error": None if error is None else str(error),
            }
        )
        return error

    @property
    def tmm(self) -> TrafficManagementDocument:
        """The TMM document in force."""
        return self._tmm if self._dsp is None else self._dsp.tmm

    def counters(self) -> DspCounters:
        """The DSP's totals now (read on the loop thread)."""
        dsp = self._dsp
        assert dsp is not None
        return self.call(lambda: dsp.counters)

    def user_counters(self, user: str) -> UserCounters:
        """One User's SECMP0067 totals now (admitted, throttled, rejected)."""
        assert self._dsp is not None
        return self.call(self._dsp.user_counters, user)

    def northbound_depth(self) -> int:
        """Responses and alerts waiting northbound now (queued, or held by an outage)."""
        dsp = self._dsp
        assert dsp is not None
        return self.call(lambda: dsp.northbound_depth)

    def alerts(self) -> list[dict[str, Any]]:
        """Alerts delivered to their Users so far (the latest :data:`ALERTS_KEPT`), oldest
        first; storm summaries carry ``throttled_sequence_id`` and ``throttled_count``."""
        return self.call(list, self._alerts)

    def inject_alert(self, device: str, code: int, *, user: str | None = None) -> None:
        """An alert from ``device`` for ``user`` (default: the first User), injected at the DSP
        as if the device had sent it: storm protection (SECMP0062) and delivery apply."""
        self.bench.device(device)
        name = self.bench.user_named(user).name
        self._loop.call_soon_threadsafe(self.alert_now, device, code, name)

    def alert_now(self, device: str, code: int, user: str) -> None:
        """:meth:`inject_alert` on the loop thread (load drivers)."""
        assert self._dsp is not None
        self._dsp.alert(DeviceAlert(user, device, code, self._loop.time()))
