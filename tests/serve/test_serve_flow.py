"""``rig serve`` end to end over loopback sockets: a top-up (2.2), a read (7.4) and a critical
command (7.2 through the Transform Service, then CV 5), each acknowledged (I99) and answered
(I0) at the adapter's endpoint, every DSP signature verified (docs/dcc-boxed.md)."""

from __future__ import annotations

from serve_adapter import ESME, SUPPLIER, Served, record_of, rid, utrn

from rig.duis.codes import ResponseCode
from rig.duis.dsig import CertificateStore
from rig.duis.messages import PreCommand, ResponseMessage, parse_response
from rig.duis.request import (
    CommandVariant,
    DisableSupply,
    ReadSupplyStatus,
    ServiceRequest,
    SignedPreCommand,
    TopUpDevice,
)
from rig.gbcs.codec import sign_precommand
from rig.gbcs.frame import decode
from rig.keys import RTDS_KEYS
from rig.keys.keystore import KeyStore

TOP_UP_COUNTER = 5 << 32
READ_COUNTER = TOP_UP_COUNTER + 1
DISABLE_COUNTER = TOP_UP_COUNTER + 2


def _acknowledged(status: int, body: bytes, certificates: CertificateStore) -> None:
    from rig.duis.dsig import verify

    assert status == 200, body
    verify(body, certificates)
    assert parse_response(body).code == ResponseCode.ACKNOWLEDGEMENT


def test_top_up_and_read_are_acknowledged_then_answered_at_the_users_endpoint(
    served: Served, certificates: CertificateStore
) -> None:
    top_up = ServiceRequest(
        rid(TOP_UP_COUNTER),
        TopUpDevice(utrn(served.run_dir, TOP_UP_COUNTER, 500)),
        CommandVariant.NON_CRITICAL_WAN,
    )
    _acknowledged(*served.adapter.post("serviceS", served.adapter.signed(top_up)), certificates)
    read = ServiceRequest(rid(READ_COUNTER), ReadSupplyStatus(), CommandVariant.NON_CRITICAL_WAN)
    _acknowledged(*served.adapter.post("serviceS", served.adapter.signed(read)), certificates)
    answers = {}
    for _ in range(2):
        response = served.receiver.next(certificates)
        answers[response.request_id] = response
    for request in (top_up, read):
        response = answers[request.request_id]
        assert response.code == ResponseCode.SUCCESS
        assert isinstance(response.body, ResponseMessage)
        assert response.body.srv == request.srv
        assert isinstance(response.body.content, bytes)
        signing = decode(response.body.content).signing
        assert (signing.originator, signing.recipient) == (ESME, SUPPLIER)
    for counter in (TOP_UP_COUNTER, READ_COUNTER):
        record = record_of(served.server, counter)
        assert record.ok, record.reason
        hops = record.latencies()
        assert {"http_in", "http_out", "adapter", "total"} <= hops.keys()
        assert hops["adapter"] >= hops["total"]


def test_a_critical_command_goes_through_the_transform_service_then_cv5(
    served: Served, certificates: CertificateStore
) -> None:
    adapter = served.adapter
    request = ServiceRequest(
        rid(DISABLE_COUNTER), DisableSupply(), CommandVariant.CRITICAL_TRANSFORM
    )
    status, body = adapter.post("serviceT", adapter.signed(request))
    assert status == 200, body
    from rig.duis.dsig import verify

    verify(body, certificates)
    answer = parse_response(body)
    assert answer.code == ResponseCode.SUCCESS
    assert isinstance(answer.body, ResponseMessage)
    assert isinstance(answer.body.content, PreCommand)
    pre_command = answer.body.content.gbcs_payload
    assert decode(pre_command).signing.counter == DISABLE_COUNTER
    # Sent to serviceS by mistake, the CV 4 request is the wrong type for the URL.
    status, body = adapter.post("serviceS", adapter.signed(request))
    assert parse_response(body).code == ResponseCode.INVALID_REQUEST_TYPE_FOR_URL
    supplier_keys = KeyStore([RTDS_KEYS])
    signed = sign_precommand(pre_command, supplier_keys.ds_private(SUPPLIER))
    cv5 = ServiceRequest(
        request.request_id,
        SignedPreCommand("7.2", signed),
        CommandVariant(5),
    )
    _acknowledged(*adapter.post("serviceS", adapter.signed(cv5)), certificates)
    response = served.receiver.next(certificates)
    assert response.request_id == request.request_id
    assert response.code == ResponseCode.SUCCESS
    # The same signed pre-command again is a replay.
    status, body = adapter.post("serviceS", adapter.signed(cv5))
    assert status == 409 and body.startswith(b"RIG-COUNTER-NOT-INCREASING"), body
