"""The DUIS templates and their RTDS commands agree: IDs, counters, UTRN, values
(reference/domain.md §7.1, reference/gbcs.md §2 "How the pieces fit")."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

import pytest
from gbcs_testdata import RTDS
from shared_dir import require_shared

from rig.gbcs.eui import Eui64
from rig.gbcs.frame import decode
from rig.gbcs.gbz_usecases import SetUncontrolledGasFlow, TopUpGsme
from rig.gbcs.usecases import TopUpEsme, decode_payload

pytestmark = pytest.mark.shared

TEMPLATES_DIR = RTDS.parent / "duis" / "templates"
TEMPLATES = sorted(TEMPLATES_DIR.glob("*_REQUEST_DUIS.XML"))
SR = "{http://www.dccinterface.co.uk/ServiceUserGateway}"
#: The DCC originates CCS (CHF device log) commands for the user named as supplementary remote
#: party, under its own counter (RTDS 8.11); the template counter is the user's.
DCC = Eui64.parse("90-B3-D5-1F-30-00-00-02")


def _vector(template: Path) -> Path | None:
    """The RTDS command (or CV 4 pre-command) of the same use case and variant."""
    stem = template.name.removesuffix("_REQUEST_DUIS.XML")
    for kind in ("PRECOMMAND", "COMMAND"):
        found = list((RTDS / "vectors").glob(f"*/{stem}_{kind}_GBCS.HEX"))
        if found:
            return found[0]
    return None


@pytest.fixture(params=TEMPLATES or [None], ids=lambda p: p.stem if p else "templates-missing")
def template(request: pytest.FixtureRequest, rtds: Path) -> Path:
    if request.param is None:
        require_shared(TEMPLATES_DIR)
    return request.param


def test_template_agrees_with_rtds(template: Path) -> None:
    root = ET.parse(template).getroot()
    header = root.find(f"{SR}Header")
    assert header is not None
    originator, target, counter = header.findtext(f"{SR}RequestID", "").split(":")
    variant = int(header.findtext(f"{SR}CommandVariant", "0"))
    path = _vector(template)
    if path is None:
        pytest.skip(f"no RTDS command for {template.stem} (a DSP-only or local-delivery variant)")
    s = decode(bytes.fromhex(path.read_text().strip())).signing
    assert s.recipient == Eui64.parse(target)
    assert ("PRECOMMAND" in path.name) == (variant == 4)
    if s.message_code in (0x0001, 0x0002):
        assert (s.originator, s.supplementary_remote_party_id) == (DCC, Eui64.parse(originator))
    else:
        assert (s.originator, s.counter) == (Eui64.parse(originator), int(counter))
    typed = decode_payload(s.message_code, s.payload, s.cra)
    body = root.find(f"{SR}Body")
    assert body is not None
    if isinstance(typed, TopUpEsme | TopUpGsme):
        assert typed.utrn == body.findtext(f".//{SR}UTRN")
    if isinstance(typed, SetUncontrolledGasFlow):
        rate = body.findtext(f".//{SR}UncontrolledGasFlowRate")
        decimal = body.findtext(f".//{SR}UncontrolledGasFlowRateDecimal")
        assert typed.decimal == (decimal is not None)
        assert typed.rate == Decimal(decimal or rate or "nan")
        assert typed.stabilisation_period == int(body.findtext(f".//{SR}StabilisationPeriod", ""))
        assert typed.measurement_period == int(body.findtext(f".//{SR}MeasurementPeriod", ""))
    code = body.findtext(f".//{SR}InstallCode")
    if code is not None:
        assert typed.install_code == bytes.fromhex(code)  # type: ignore[union-attr]
        assert typed.join_time_period == int(body.findtext(f".//{SR}JoinTimePeriod", ""))  # type: ignore[union-attr]


def test_every_template_has_an_rtds_command(rtds: Path) -> None:
    unmatched = [t.name for t in TEMPLATES if _vector(t) is None]
    assert unmatched == [
        "ECS17b_4.1.1_DSP_FUTURE_DATED_REQUEST_DUIS.XML",
        "ECS17b_4.1.1_REQUEST_DUIS.XML",
    ]
