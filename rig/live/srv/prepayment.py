"""Prepayment SRVs: 2.2 Top Up Device (a UTRN made with the User's prepayment KA key,
GBCS §14, for the counter allocated to the request)."""

from __future__ import annotations

import concurrent.futures

from rig.duis.request import TopUpDevice
from rig.gbcs.eui import Eui64
from rig.gbcs.utrn import ValueClass, make_utrn
from rig.live.srv import Builder, Mangle, SrvCalls
from rig.results.record import RequestRecord


class Prepayment(SrvCalls):
    """SRV 2.2 on the rig: ``rig.top_up(...)``, ``rig.submit_top_up(...)``."""

    def top_up_builder(
        self,
        device: str,
        *,
        pence: int | None = None,
        pounds: int | None = None,
        utrn_target: Eui64 | None = None,
    ) -> Builder:
        """How to build an SRV 2.2 body for ``device`` once the User's counter is allocated."""
        if (pence is None) == (pounds is None):
            raise ValueError("top_up needs exactly one of pence= or pounds=")
        value, value_class = (
            (pence, ValueClass.PENNIES) if pence is not None else (pounds, ValueClass.POUNDS)
        )
        assert value is not None  # exactly one of them is, checked above
        target = utrn_target or self.bench.device(device).eui

        def build(originator: Eui64, counter: int) -> TopUpDevice:
            utrn = make_utrn(
                self._keys.ka_private(originator, prepayment=True),
                self._keys.ka_public(target),
                originator,
                target,
                counter,
                value,
                value_class,
            )
            return TopUpDevice(utrn)

        build.utrn = True  # type: ignore[attr-defined]
        return build

    def submit_top_up(
        self,
        device: str,
        *,
        pence: int | None = None,
        pounds: int | None = None,
        utrn_target: Eui64 | None = None,
        user: str | None = None,
        mangle: Mangle | None = None,
    ) -> concurrent.futures.Future[RequestRecord]:
        """Non-blocking SRV 2.2: returns a future of the completed record."""
        build = self.top_up_builder(device, pence=pence, pounds=pounds, utrn_target=utrn_target)
        return self._submit(device, "2.2", build, user, mangle=mangle)

    def top_up(
        self,
        device: str,
        *,
        pence: int | None = None,
        pounds: int | None = None,
        utrn_target: Eui64 | None = None,
        user: str | None = None,
        mangle: Mangle | None = None,
        timeout: float | None = None,
    ) -> RequestRecord:
        """SRV 2.2 Top Up Device; blocks until the response is delivered or the request fails.

        Give exactly one of ``pence`` (up to 8191) or ``pounds`` (up to 8191). ``utrn_target``
        makes the UTRN for another device (a bad-input case); ``user`` names the bench User
        (default: the first); ``mangle`` alters the frame on its way to the wire (fault
        injection).
        """
        future = self.submit_top_up(
            device, pence=pence, pounds=pounds, utrn_target=utrn_target, user=user, mangle=mangle
        )
        return future.result(timeout)
