"""DUIS parse/build: templates, round trips, responses and alerts, bad input (domain.md §7.1)."""

from __future__ import annotations

import base64
import contextlib
import re
from pathlib import Path

import pytest
from duis_strategies import requests, responses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shared_dir import require_shared

from rig.duis import request as rq
from rig.duis.codes import DuisError, RigCode
from rig.duis.messages import (
    AlcsHcalcsConfigurationChange,
    DccAlert,
    OtherDccAlert,
    PreCommand,
    Response,
    acknowledgement,
    build_request,
    build_response,
    parse_request,
    parse_response,
    parse_xml,
    response_to,
)
from rig.duis.xsd import validate
from rig.gbcs.eui import Eui64

ESME = Eui64.parse("00-DB-12-34-56-78-90-A0")
SUPPLIER = Eui64.parse("90-B3-D5-1F-30-01-00-00")
RID = rq.RequestId(SUPPLIER, ESME, 1000)


def test_every_template_parses_and_round_trips(template: bytes) -> None:
    request = parse_request(template)
    rebuilt = build_request(request)
    validate(parse_xml(rebuilt))
    assert parse_request(rebuilt) == request
    assert b"\n" not in rebuilt.split(b"?>", 1)[1].strip()  # compact: the form that is signed


def test_template_fields() -> None:
    request = parse_request(build_request(rq.ServiceRequest(RID, rq.TopUpDevice("7" * 20))))
    assert request.srv == "2.2" and request.service_reference == "2.2"
    tariff = rq.ServiceRequest(RID, rq.ReadInstantaneousImportRegisters())
    assert tariff.service_reference == "4.1" and tariff.execution_date_time is None


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(requests)
def test_request_round_trip(request: rq.ServiceRequest) -> None:
    xml = build_request(request)
    assert parse_request(xml) == request


@settings(max_examples=150)
@given(responses)
def test_response_round_trip(response: Response) -> None:
    xml = build_response(response)
    assert parse_response(xml) == response


def test_acknowledgement_and_precommand_are_schema_valid() -> None:
    from datetime import UTC, datetime

    at = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    request = rq.ServiceRequest(RID, rq.DisableSupply(), rq.CommandVariant(4))
    ack = parse_response(build_response(acknowledgement(request, at)))
    assert ack.code == "I99" and ack.request_id == RID and ack.body.srv == "7.2"
    pre = response_to(request, "I0", at, PreCommand(b"\xdf\x09"))
    assert parse_response(build_response(pre)) == pre
    error = parse_response(build_response(response_to(request, "E12", at)))
    assert error.code == "E12"


def test_n58_with_and_without_seed_002_fields() -> None:
    from datetime import UTC, datetime

    at = datetime(2024, 5, 1, tzinfo=UTC)
    for event in (
        AlcsHcalcsConfigurationChange(ESME),
        AlcsHcalcsConfigurationChange(ESME, "ADE", "4.3"),
    ):
        alert = Response("I0", at, DccAlert("N58", event, 7, 3), response_id=RID)
        xml = build_response(alert)
        assert b"ThrottledAlertSequenceId>7<" in xml
        assert parse_response(xml) == alert


def test_other_dcc_alert_kept_verbatim() -> None:
    from datetime import UTC, datetime

    event = (
        b'<sr:PowerOutageEvent xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway">'
        b"<sr:CommsHubDeviceID>00-DB-12-34-56-78-90-A2</sr:CommsHubDeviceID>"
        b"<sr:StartDateTime>2024-05-01T00:00:00Z</sr:StartDateTime>"
        b"<sr:MPxN>1312345678111</sr:MPxN></sr:PowerOutageEvent>"
    )
    alert = Response("I0", datetime(2024, 5, 1, tzinfo=UTC), DccAlert("AD1", OtherDccAlert(event)))
    assert parse_response(build_response(alert)) == alert


@pytest.mark.parametrize(
    ("mangle", "code", "element"),
    [
        (lambda x: x[:-20], RigCode.MALFORMED_XML, None),
        (
            lambda x: x.replace(b"<sr:CommandVariant>1<", b"<sr:CommandVariant>0<"),
            RigCode.SCHEMA_VIOLATION,
            "CommandVariant",
        ),
        (
            lambda x: x.replace(b"ReadSupplyStatus", b"ReadFirmwareVersion"),
            RigCode.UNSUPPORTED_SRV,
            "ReadFirmwareVersion",
        ),
        (lambda x: x.replace(b"Variant>7.4<", b"Variant>7.1<"), RigCode.HEADER_MISMATCH, "sr:"),
        (
            lambda x: x.replace(b"<sr:ReadSupplyStatus/>", b"<sr:EnableSupply/>"),
            RigCode.HEADER_MISMATCH,
            "EnableSupply",
        ),
        (lambda x: re.sub(rb":1000<", b":0<", x), RigCode.SCHEMA_VIOLATION, "RequestID"),
    ],
)
def test_bad_input_gets_a_named_rig_code(mangle, code, element) -> None:
    xml = build_request(rq.ServiceRequest(RID, rq.ReadSupplyStatus()))
    with pytest.raises(DuisError) as caught:
        parse_request(mangle(xml))
    assert caught.value.code is code
    if element:
        assert element in (caught.value.element or "")


def test_entities_and_dtds_are_refused() -> None:
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway">&x;</sr:Request>'
    )
    with pytest.raises(DuisError) as caught:
        parse_request(xxe)
    assert caught.value.code in (RigCode.MALFORMED_XML, RigCode.SCHEMA_VIOLATION)
    assert b"root:" not in str(caught.value).encode()


def _mutations() -> st.SearchStrategy[bytes]:
    base = build_request(rq.ServiceRequest(RID, rq.TopUpDevice("73946144332040217315")))
    flip = st.tuples(st.integers(0, len(base) - 1), st.integers(0, 255)).map(
        lambda m: base[: m[0]] + bytes([m[1]]) + base[m[0] + 1 :]
    )
    cut = st.integers(0, len(base)).map(lambda n: base[:n])
    texts = st.text(max_size=30).map(
        lambda t: base.replace(b"73946144332040217315", t.encode("utf-8", "replace"))
    )
    return st.one_of(flip, cut, texts, st.binary(max_size=200))


@settings(max_examples=300)
@given(_mutations())
def test_mutated_requests_parse_or_get_a_duis_error(data: bytes) -> None:
    with contextlib.suppress(DuisError):
        parse_request(data)


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_mutated_templates_parse_or_get_a_duis_error(template: bytes, data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(template) - 1))
    replacement = data.draw(st.binary(max_size=4))
    with contextlib.suppress(DuisError):
        parse_request(template[:position] + replacement + template[position + 1 :])


def test_gbcs_payload_is_base64() -> None:
    request = rq.ServiceRequest(
        RID, rq.SignedPreCommand("7.2", b"\xdf\x09\x01"), rq.CommandVariant(5)
    )
    xml = build_request(request)
    assert base64.b64encode(b"\xdf\x09\x01") in xml
    assert parse_request(xml) == request


def test_relative_namespace_uri_is_malformed(shared_dir: Path) -> None:
    name = "ECS01a_1.1.1_IMMEDIATE_TOU_SUCCESS_REQUEST_DUIS.XML"
    template = require_shared(shared_dir / "duis" / "templates" / name).read_bytes()
    bad = template.replace(b'schemaVersion="5.4"', b'xmlns:x="relative" schemaVersion="5.4"', 1)
    with pytest.raises(DuisError) as caught:
        parse_request(bad)
    assert caught.value.code is RigCode.MALFORMED_XML
