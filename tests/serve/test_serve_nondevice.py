"""Non-Device requests at ``/api/v1/serviceD``: SRV 8.2 Read Inventory and SRV 12.2 Device
Pre-notification answered at once from the rig's own state, signed by the DSP, valid against
the DUIS 5.4 schema (``parse_response`` validates), and recorded as requests with their hops."""

from __future__ import annotations

from serve_adapter import ESME, SUPPLIER, Served

from rig.duis.access import DCC
from rig.duis.codes import ResponseCode
from rig.duis.dsig import CertificateStore, sign, signer_eui, verify
from rig.duis.messages import Response, ResponseMessage, build_request, parse_response
from rig.duis.nondevice import DspInventory
from rig.duis.request import (
    CommandVariant,
    DevicePrenotification,
    ReadInventory,
    RequestId,
    ServiceRequest,
)
from rig.gbcs.eui import Eui64
from rig.results.record import RequestRecord

BASE = 21 << 32
NEW_GSME = Eui64.parse("00-DB-12-34-56-78-90-B7")


def _request(counter: int, body: ReadInventory | DevicePrenotification) -> ServiceRequest:
    return ServiceRequest(RequestId(SUPPLIER, DCC, counter), body, CommandVariant.NON_DEVICE)


def _answered(served: Served, request: ServiceRequest, certificates: CertificateStore) -> Response:
    status, body = served.adapter.post("serviceD", served.adapter.signed(request))
    assert status == 200, body
    assert signer_eui(verify(body, certificates)) == Eui64.parse("90-B3-D5-1F-30-00-00-02")
    return parse_response(body)  # validated against the DUIS 5.4 schema first


def _record(served: Served, counter: int) -> RequestRecord:
    return next(r for r in served.server.records if r.request_id.endswith(f":{counter}"))


def test_read_inventory_lists_the_benchs_devices(
    served: Served, certificates: CertificateStore
) -> None:
    response = _answered(served, _request(BASE + 1, ReadInventory(ESME)), certificates)
    assert response.code == ResponseCode.SUCCESS
    assert response.request_id == RequestId(SUPPLIER, DCC, BASE + 1)
    assert isinstance(response.body, ResponseMessage) and response.body.srv == "8.2"
    inventory = response.body.content
    assert isinstance(inventory, DspInventory)
    (esme,) = inventory.devices
    assert (esme.device_id, esme.device_type, esme.status) == (ESME, "ESME", "Commissioned")
    assert esme.firmware_version  # the emulated ESME's, as its CS06 exemplar reports it
    record = _record(served, BASE + 1)
    assert record.ok and record.ack_code == "I0" and record.srv == "8.2"
    assert {"http_in", "ack", "total"} <= record.latencies().keys()


def test_a_prenotified_device_is_in_the_inventory_as_pending(
    served: Served, certificates: CertificateStore
) -> None:
    notice = DevicePrenotification(NEW_GSME, "Acme", "G4", "GSME", firmware_version="0102")
    response = _answered(served, _request(BASE + 2, notice), certificates)
    assert response.code == ResponseCode.ACKNOWLEDGEMENT
    response = _answered(served, _request(BASE + 3, ReadInventory(NEW_GSME)), certificates)
    assert isinstance(response.body, ResponseMessage)
    assert isinstance(response.body.content, DspInventory)
    (gsme,) = response.body.content.devices
    assert (gsme.device_id, gsme.status, gsme.model, gsme.firmware_version) == (
        NEW_GSME,
        "Pending",
        "G4",
        "0102",
    )


def test_an_unknown_device_gets_e19(served: Served, certificates: CertificateStore) -> None:
    unknown = Eui64.parse("00-DB-12-34-56-78-90-FF")
    response = _answered(served, _request(BASE + 4, ReadInventory(unknown)), certificates)
    assert response.code == ResponseCode.DEVICE_UNKNOWN
    assert not _record(served, BASE + 4).ok


def test_non_device_requests_keep_to_their_url_target_and_counter(
    served: Served, certificates: CertificateStore
) -> None:
    request = _request(BASE + 5, ReadInventory(ESME))
    status, body = served.adapter.post("serviceS", served.adapter.signed(request))
    assert parse_response(body).code == ResponseCode.INVALID_REQUEST_TYPE_FOR_URL
    to_esme = ServiceRequest(
        RequestId(SUPPLIER, ESME, BASE + 6), ReadInventory(ESME), CommandVariant.NON_DEVICE
    )
    assert _answered(served, to_esme, certificates).code == ResponseCode.DEVICE_UNKNOWN
    signed = served.adapter.signed(_request(BASE + 7, ReadInventory(ESME)))
    assert served.adapter.post("serviceD", signed)[0] == 200
    status, body = served.adapter.post("serviceD", signed)
    assert status == 409 and body.startswith(b"RIG-COUNTER-NOT-INCREASING"), body


def test_read_inventory_by_address_is_refused_as_not_modelled(served: Served) -> None:
    xml = build_request(_request(BASE + 8, ReadInventory(ESME))).replace(
        b"<sr:DeviceID>00-DB-12-34-56-78-90-A0</sr:DeviceID>", b"<sr:UPRN>1234</sr:UPRN>"
    )
    status, body = served.adapter.post("serviceD", sign(xml, served.adapter.signer))
    assert status == 400 and body.startswith(b"RIG-UNSUPPORTED-SRV at sr:UPRN"), body
