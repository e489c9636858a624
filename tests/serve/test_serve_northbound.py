"""Northbound over HTTP: device alerts reach the User's endpoint signed by the DSP; an endpoint
that is down gets its retries, then the message is kept in the results with why, with one log
line for the outage and one for the recovery (docs/dcc-boxed.md "Northbound")."""

from __future__ import annotations

import logging
import time

import pytest
from serve_adapter import ESME, SUPPLIER, Served, record_of, rid

from rig.duis.dsig import CertificateStore
from rig.duis.messages import DeviceAlert, ResponseMessage
from rig.duis.request import CommandVariant, ReadSupplyStatus, ServiceRequest

BASE = 9 << 32


def test_a_device_alert_is_posted_to_its_user(
    served: Served, certificates: CertificateStore
) -> None:
    served.rig.inject_alert("esme", 0x8F84, user="supplier")
    response = served.receiver.next(certificates)
    assert isinstance(response.body, DeviceAlert)
    assert response.body.alert_code == 0x8F84
    assert response.response_id is not None
    assert (response.response_id.originator, response.response_id.target) == (ESME, SUPPLIER)


def test_a_down_endpoint_is_retried_then_the_response_kept_with_its_reason(
    served: Served, certificates: CertificateStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="rig.serve")
    served.receiver.status = 503
    posts = served.receiver.posts
    for counter in (BASE + 1, BASE + 2):
        read = ServiceRequest(rid(counter), ReadSupplyStatus(), CommandVariant.NON_CRITICAL_WAN)
        assert served.adapter.post("serviceS", served.adapter.signed(read))[0] == 200
    for counter in (BASE + 1, BASE + 2):
        record = record_of(served.server, counter)
        assert not record.ok
        assert "not delivered" in (record.reason or "") and "HTTP 503" in (record.reason or "")
        assert "posted" not in record.stamps
    assert served.receiver.posts - posts == 6  # retry_attempts = 3 per message
    failing = [r for r in caplog.records if "failed" in r.getMessage()]
    assert len(failing) == 1, [r.getMessage() for r in caplog.records]
    served.receiver.status = 204
    read = ServiceRequest(rid(BASE + 3), ReadSupplyStatus(), CommandVariant.NON_CRITICAL_WAN)
    served.adapter.post("serviceS", served.adapter.signed(read))
    answer = served.receiver.next(certificates)
    assert isinstance(answer.body, ResponseMessage)
    assert record_of(served.server, BASE + 3).ok
    deadline = time.monotonic() + 5
    while not any("answers again" in r.getMessage() for r in caplog.records):
        assert time.monotonic() < deadline, "no recovery line logged"
        time.sleep(0.01)
