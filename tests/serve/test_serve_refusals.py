"""Bad input at ``rig serve``'s door: each gets the DUIS error a DCC User would get, or an HTTP
status and one line where DUIS has no code, and each is a ``refused`` record (nothing lost)."""

from __future__ import annotations

from pathlib import Path

import pytest
from serve_adapter import ESME, Served, rid
from shared_dir import SHARED_DIR, require_shared

from rig.duis.codes import ResponseCode
from rig.duis.dsig import CertificateStore, Signer, sign, verify
from rig.duis.messages import build_request, parse_response
from rig.duis.request import CommandVariant, ReadSupplyStatus, RequestId, ServiceRequest
from rig.gbcs.eui import Eui64

TEMPLATES = SHARED_DIR / "duis" / "templates"
BASE = 7 << 32


def _read(counter: int) -> ServiceRequest:
    return ServiceRequest(rid(counter), ReadSupplyStatus(), CommandVariant.NON_CRITICAL_WAN)


def _refused(served: Served, code: str) -> dict[str, object]:
    matches = [r for r in served.server.refused if r["code"] == code]
    assert matches, f"no {code} refusal recorded in {served.server.refused}"
    return matches[-1]


def test_unsigned_xml_is_refused_with_403(served: Served) -> None:
    status, body = served.adapter.post("serviceS", build_request(_read(BASE + 1)))
    assert status == 403 and body.startswith(b"RIG-BAD-SIGNATURE"), body
    assert "RIG-BAD-SIGNATURE" in str(_refused(served, "RIG-BAD-SIGNATURE")["reason"])


def test_tampered_xml_is_refused_with_403(served: Served) -> None:
    signed = served.adapter.signed(_read(BASE + 2))
    tampered = signed.replace(str(BASE + 2).encode(), str(BASE + 3).encode())
    status, body = served.adapter.post("serviceS", tampered)
    assert status == 403 and b"RIG-BAD-SIGNATURE" in body, body


def test_a_schema_error_is_refused_with_400_naming_the_element(served: Served) -> None:
    signed = served.adapter.signed(_read(BASE + 4))
    broken = sign(signed.replace(b"ReadSupplyStatus", b"ReadSupplyStatusX"), served.adapter.signer)
    status, body = served.adapter.post("serviceS", broken)
    assert status == 400 and body.startswith(b"RIG-SCHEMA-VIOLATION"), body
    assert _refused(served, "RIG-SCHEMA-VIOLATION")["request_id"] is None


def test_a_role_not_eligible_for_the_srv_gets_e2(
    served: Served, certificates: CertificateStore
) -> None:
    # SRV 6.7 (gas flow) is for Gas Suppliers only; the bench's supplier is an Import Supplier.
    template = require_shared(TEMPLATES / "GCS24a_6.7_SUCCESS_REQUEST_DUIS.XML").read_bytes()
    status, body = served.adapter.post("serviceT", sign(template, served.adapter.signer))
    assert status == 200
    verify(body, certificates)
    assert parse_response(body).code == ResponseCode.INVALID_ROLE_FOR_SRV
    assert _refused(served, "E2")["request_id"]


def test_a_user_not_on_the_bench_gets_e1(served: Served, keys: Path) -> None:
    stem = keys / "xml-sign-90B3D51F30020000-ds"
    operator = Signer.load(stem.with_suffix(".key"), stem.with_suffix(".pem"))
    other = RequestId(Eui64.parse("90-B3-D5-1F-30-02-00-00"), ESME, BASE + 5)
    request = ServiceRequest(other, ReadSupplyStatus(), CommandVariant.NON_CRITICAL_WAN)
    status, body = served.adapter.post("serviceS", sign(build_request(request), operator))
    assert status == 200 and parse_response(body).code == ResponseCode.INVALID_USER


def test_a_replayed_request_id_is_refused_with_409(served: Served) -> None:
    signed = served.adapter.signed(_read(BASE + 6))
    assert served.adapter.post("serviceS", signed)[0] == 200
    status, body = served.adapter.post("serviceS", signed)
    assert status == 409 and body.startswith(b"RIG-COUNTER-NOT-INCREASING"), body
    lower = served.adapter.signed(_read(BASE + 5))
    assert served.adapter.post("serviceS", lower)[0] == 409


def test_a_request_at_the_wrong_url_gets_e13(served: Served) -> None:
    status, body = served.adapter.post("serviceT", served.adapter.signed(_read(BASE + 10)))
    assert status == 200 and parse_response(body).code == ResponseCode.INVALID_REQUEST_TYPE_FOR_URL
    status, body = served.adapter.post("serviceD", served.adapter.signed(_read(BASE + 11)))
    assert parse_response(body).code == ResponseCode.INVALID_REQUEST_TYPE_FOR_URL


@pytest.mark.parametrize(
    ("service", "content_type", "status"),
    [("serviceS", "application/json", 415), ("serviceX", "application/xml", 404)],
)
def test_a_wrong_content_type_or_path_gets_its_http_status(
    served: Served, service: str, content_type: str, status: int
) -> None:
    xml = served.adapter.signed(_read(BASE + 20))
    assert served.adapter.post(service, xml, content_type=content_type)[0] == status


def test_every_refusal_is_in_the_results_with_its_reason(served: Served) -> None:
    served.adapter.post("serviceS", b"<sr:Request>not closed")
    refusal = _refused(served, "RIG-MALFORMED-XML")
    assert refusal["xml"] == "<sr:Request>not closed"
    assert str(refusal["reason"]).startswith("RIG-MALFORMED-XML")
