"""The DUIS 5.4 XML schema shipped with the rig (rig/duis/schema/README.md: provenance)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from lxml import etree

from rig.duis.codes import DuisError, RigCode

#: libxml2 names elements ``{namespace}Name`` and quotes whole facet patterns (hundreds of
#: characters for a RequestID): a reason names the element ``sr:Name`` and leaves the pattern out.
_NAMESPACE = re.compile(r"\{http://www\.dccinterface\.co\.uk/ServiceUserGateway\}")
_PATTERN = re.compile(r" by the pattern '.*'", re.DOTALL)

SCHEMA_DIR = Path(__file__).resolve().parent / "schema"
DUIS_XSD = SCHEMA_DIR / "DUIS_Schema_V5.4.xsd"


@cache
def duis_schema() -> etree.XMLSchema:
    """The compiled DUIS 5.4 schema (with MMC and XML-DSig imports), loaded once."""
    return etree.XMLSchema(etree.parse(str(DUIS_XSD)))


def validate(document: etree._Element | etree._ElementTree) -> None:
    """Raise :class:`DuisError` ``RIG-SCHEMA-VIOLATION`` naming the first failing element."""
    schema = duis_schema()
    if schema.validate(document):
        return
    error = schema.error_log[0]
    message = _PATTERN.sub(" by the schema's pattern", _NAMESPACE.sub("sr:", error.message))
    raise DuisError(RigCode.SCHEMA_VIOLATION, f"line {error.line}: {message}", error.path or None)
