"""The XML text layer of DUIS (domain.md §7.1): namespaces, a parser safe for untrusted input,
canonical and compact serialisation, and the element helpers every DUIS body codec uses
(:mod:`rig.duis.messages`, :mod:`rig.duis.nondevice`)."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from lxml import etree

from rig.duis.codes import DuisError, RigCode

SR = "http://www.dccinterface.co.uk/ServiceUserGateway"
DS = "http://www.w3.org/2000/09/xmldsig#"
SCHEMA_VERSION = "5.4"
#: DUIS alerts' GBCS version strings are free text; the rig labels pre-commands with this.
GBCS_VERSION = "4.3"

_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    remove_blank_text=True,
    huge_tree=False,
)


def q(name: str) -> str:
    return f"{{{SR}}}{name}"


def parse_xml(data: bytes) -> etree._Element:
    """The root element of compact-parsed XML, or ``RIG-MALFORMED-XML`` with the line."""
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise DuisError(RigCode.MALFORMED_XML, str(exc)) from exc
    if root is None:
        raise DuisError(RigCode.MALFORMED_XML, "empty document")
    if next(root.iter(etree.Entity, etree.ProcessingInstruction), None) is not None:
        raise DuisError(RigCode.MALFORMED_XML, "entities and processing instructions are refused")
    return root


def canonical(node: etree._Element, *, exclusive: bool) -> bytes:
    """C14N 1.0 (inclusive or exclusive) without comments; libxml2 refuses relative namespace
    URIs there, which gives ``RIG-MALFORMED-XML``."""
    try:
        return etree.tostring(node, method="c14n", exclusive=exclusive, with_comments=False)
    except etree.C14NError as exc:
        raise DuisError(RigCode.MALFORMED_XML, f"cannot canonicalise: {exc}") from exc


def serialize(root: etree._Element) -> bytes:
    """Compact UTF-8 XML with a declaration."""
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


# --- small element helpers -------------------------------------------------------------------


def add(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, q(name))
    if text is not None:
        element.text = text
    return element


def text(parent: etree._Element, name: str) -> str | None:
    element = parent.find(q(name))
    return None if element is None else (element.text or "").strip()


def required(parent: etree._Element, name: str) -> str:
    value = text(parent, name)
    if value is None:
        raise DuisError(RigCode.SCHEMA_VIOLATION, "missing element", f"sr:{name}")
    return value


def format_datetime(moment: datetime) -> str:
    """xs:dateTime text; UTC as ``Z``."""
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def parse_datetime(text: str, element: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise DuisError(RigCode.SCHEMA_VIOLATION, f"bad dateTime {text!r}", element) from exc


def b64decode(text: str, element: str) -> bytes:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except binascii.Error as exc:
        raise DuisError(RigCode.SCHEMA_VIOLATION, "not base64", element) from exc


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
