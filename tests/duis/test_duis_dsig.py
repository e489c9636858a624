"""XML-DSig: sign and verify with the test keys; tampering refused (reference/gbcs.md §3)."""

from __future__ import annotations

import base64

import pytest
from duis_testdata import NETWORK_OPERATOR, SUPPLIER, TEMPLATES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from rig.duis.codes import DuisError, RigCode
from rig.duis.dsig import DS, CertificateStore, Signer, sign, signer_eui, verify
from rig.duis.messages import parse_request, parse_xml
from rig.gbcs.eui import Eui64


def _value(xml: bytes, name: str) -> bytes:
    return base64.b64decode(parse_xml(xml).findtext(f".//{{{DS}}}{name}"))


def test_every_template_signs_and_verifies(
    template: bytes, signers: dict[Eui64, Signer], certificates: CertificateStore
) -> None:
    originator = parse_request(template).request_id.originator
    signed = sign(template, signers[originator])
    assert signer_eui(verify(signed, certificates)) == originator
    assert len(_value(signed, "SignatureValue")) == 64  # raw r || s, not DER
    assert parse_request(signed) == parse_request(template)


def test_placeholder_signatures_are_refused(
    template: bytes, certificates: CertificateStore
) -> None:
    with pytest.raises(DuisError) as caught:
        verify(template, certificates)
    assert caught.value.code is RigCode.BAD_SIGNATURE


def test_pretty_printing_keeps_the_signature_valid(
    template: bytes, signers: dict[Eui64, Signer], certificates: CertificateStore
) -> None:
    signed = sign(template, signers[SUPPLIER])
    root = parse_xml(signed)
    etree.indent(root)
    assert verify(etree.tostring(root), certificates)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_any_change_to_signed_content_is_refused(
    signers: dict[Eui64, Signer], certificates: CertificateStore, data: st.DataObject
) -> None:
    template = data.draw(st.sampled_from(TEMPLATES)).read_bytes()
    root = parse_xml(sign(template, signers[SUPPLIER]))
    texts = [e for e in root.iter() if isinstance(e.tag, str) and e.text and "dcc" in e.tag]
    target = data.draw(st.sampled_from(texts))
    target.text = data.draw(
        st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1).filter(
            lambda t: t != target.text
        )
    )
    with pytest.raises(DuisError) as caught:
        verify(etree.tostring(root), certificates)
    assert caught.value.code is RigCode.BAD_SIGNATURE
    assert caught.value.element == "ds:DigestValue"


def test_forged_signature_value_and_wrong_signer(
    signers: dict[Eui64, Signer], certificates: CertificateStore
) -> None:
    signed = sign(TEMPLATES[0].read_bytes(), signers[SUPPLIER])
    root = parse_xml(signed)
    value = root.find(f".//{{{DS}}}SignatureValue")
    raw = bytearray(base64.b64decode(value.text))
    raw[5] ^= 1
    value.text = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(DuisError, match="does not verify"):
        verify(etree.tostring(root), certificates)
    # The network operator's key with the supplier's issuer/serial: a valid-looking forgery.
    forger = Signer(signers[NETWORK_OPERATOR].key, signers[SUPPLIER].certificate)
    with pytest.raises(DuisError, match="does not verify"):
        verify(sign(TEMPLATES[0].read_bytes(), forger), certificates)
    with pytest.raises(DuisError, match="no certificate"):
        verify(signed, CertificateStore([]))


@pytest.mark.parametrize(
    ("old", "new", "element"),
    [
        (b"xml-exc-c14n#", b"xml-c14n11", "ds:CanonicalizationMethod"),
        (b"ecdsa-sha256", b"ecdsa-sha1", "ds:SignatureMethod"),
        (b'URI=""', b'URI="#x"', "ds:Reference"),
        (b"xmlenc#sha256", b"xmlenc#sha512", "ds:DigestMethod"),
    ],
)
def test_algorithms_outside_the_duis_profile_are_refused(
    signers: dict[Eui64, Signer],
    certificates: CertificateStore,
    old: bytes,
    new: bytes,
    element: str,
) -> None:
    signed = sign(TEMPLATES[0].read_bytes(), signers[SUPPLIER])
    with pytest.raises(DuisError) as caught:
        verify(signed.replace(old, new), certificates)
    assert caught.value.element == element


def test_unsigned_request_is_refused(certificates: CertificateStore) -> None:
    root = parse_xml(TEMPLATES[0].read_bytes())
    root.remove(root.find(f"{{{DS}}}Signature"))
    with pytest.raises(DuisError, match="expected one ds:Signature"):
        verify(root, certificates)


def test_issuer_names_compare_by_rdn(
    signers: dict[Eui64, Signer], certificates: CertificateStore
) -> None:
    signed = sign(TEMPLATES[0].read_bytes(), signers[SUPPLIER])
    assert b"<ds:X509IssuerName>CN=Z1,OU=07<" in signed
    assert verify(signed.replace(b">CN=Z1,OU=07<", b">OU=07, cn=Z1<"), certificates)
