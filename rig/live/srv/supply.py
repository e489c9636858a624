"""Supply SRVs: 7.4 Read Supply Status."""

from __future__ import annotations

import concurrent.futures

from rig.duis.request import ReadSupplyStatus
from rig.live.srv import Mangle, SrvCalls
from rig.results.record import RequestRecord


class Supply(SrvCalls):
    """SRV 7.4 on the rig: ``rig.read_supply_status(...)``, ``rig.submit_read_supply_status``."""

    def submit_read_supply_status(
        self,
        device: str,
        *,
        counter: int | None = None,
        user: str | None = None,
        mangle: Mangle | None = None,
    ) -> concurrent.futures.Future[RequestRecord]:
        """Non-blocking SRV 7.4: returns a future of the completed record."""
        return self._submit(
            device, "7.4", lambda _o, _c: ReadSupplyStatus(), user, counter=counter, mangle=mangle
        )

    def read_supply_status(
        self,
        device: str,
        *,
        counter: int | None = None,
        user: str | None = None,
        mangle: Mangle | None = None,
        timeout: float | None = None,
    ) -> RequestRecord:
        """SRV 7.4 Read Supply Status; ``counter`` forces a RequestID counter (replay tests)."""
        future = self.submit_read_supply_status(device, counter=counter, user=user, mangle=mangle)
        return future.result(timeout)
