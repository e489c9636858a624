"""The tool chain an adapter test stands on: DCC's own signing tool (in @smartdcc/duis-sign-wrap)
and ``rig.duis.dsig`` accept each other's signatures on every shared DUIS template, and each
refuses the other's signature once the signed content is changed (reference/gbcs.md §3;
shared/duis/README.md). Each message costs DCC's tool one JVM start: slow."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from adapter_tools import DccTools
from shared_dir import SHARED_DIR, require_shared

from rig.duis.codes import DuisError, RigCode
from rig.duis.dsig import CertificateStore, Signer, sign, signer_eui, verify
from rig.duis.messages import acknowledgement, build_response, parse_request
from rig.gbcs.eui import Eui64

pytestmark = pytest.mark.slow

DUIS_DIR = SHARED_DIR / "duis"
KEYS = DUIS_DIR / "xml-sign-keys"
DSP = Eui64.parse("90-B3-D5-1F-30-00-00-02")


def _templates() -> list[Path]:
    return sorted(require_shared(DUIS_DIR / "templates").glob("*_REQUEST_DUIS.XML"))


def _signer(eui: Eui64, prefix: str = "xml-sign") -> Signer:
    stem = require_shared(KEYS) / f"{prefix}-{eui.hex.upper()}-ds"
    return Signer.load(stem.with_suffix(".key"), stem.with_suffix(".pem"))


def _tamper(signed: bytes) -> bytes:
    """The same signed document with one signed character changed (the RequestID counter)."""
    changed = signed.replace(b":1000</sr:RequestID>", b":1001</sr:RequestID>", 1)
    if changed == signed:
        changed = signed.replace(b"</sr:RequestID>", b"1</sr:RequestID>", 1)
    assert changed != signed
    return changed


def test_dcc_tool_validates_what_the_rig_signs(dcc_tools: DccTools, tmp_path: Path) -> None:
    templates = _templates()
    signers: dict[Eui64, Signer] = {}
    files = []
    for template in templates:
        originator = parse_request(template.read_bytes()).request_id.originator
        signer = signers.setdefault(originator, _signer(originator))
        path = tmp_path / template.name
        path.write_bytes(sign(template.read_bytes(), signer))
        files.append(path)
    # Negative controls: DCC's tool must refuse the rig's signature once the content changes,
    # and must accept a DSP-signed acknowledgement (what the rig's server answers).
    tampered = tmp_path / "TAMPERED.XML"
    tampered.write_bytes(_tamper(files[0].read_bytes()))
    ack = tmp_path / "I99_ACK.XML"
    request = parse_request(templates[0].read_bytes())
    ack_xml = build_response(acknowledgement(request, datetime(2024, 5, 1, tzinfo=UTC)))
    ack.write_bytes(sign(ack_xml, _signer(DSP, "dsp-xml-sign")))
    verdicts = dcc_tools.run_json("dcc_tools.mjs", "validate", *map(str, [*files, ack, tampered]))
    refused = {name: v for name, v in verdicts.items() if not v["ok"]}
    assert set(refused) == {str(tampered)}, refused
    assert len(verdicts) == len(templates) + 2 == 29


def test_rig_verifies_what_dcc_tool_signs(dcc_tools: DccTools, tmp_path: Path) -> None:
    templates = _templates()
    verdicts = dcc_tools.run_json("dcc_tools.mjs", "sign", str(tmp_path), *map(str, templates))
    assert all(v["ok"] for v in verdicts.values()), verdicts
    certificates = CertificateStore.from_dirs(require_shared(KEYS))
    for template in templates:
        signed = (tmp_path / template.name).read_bytes()
        original = parse_request(template.read_bytes())
        # The counter kept (preserveCounter): the signed request is the template's request.
        assert parse_request(signed) == original, template.name
        assert signer_eui(verify(signed, certificates)) == original.request_id.originator
        with pytest.raises(DuisError) as caught:
            verify(_tamper(signed), certificates)
        assert caught.value.code is RigCode.BAD_SIGNATURE
    assert len(templates) == 27
