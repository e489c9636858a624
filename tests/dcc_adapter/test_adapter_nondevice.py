"""DCC's own signing tool (in @smartdcc/duis-sign-wrap) takes the rig's new messages: an SRV 8.2
Read Inventory request the rig signs, the DSP's signed ``DSPInventory`` answer and a DSP-signed
``CommandFailure`` DCC alert all validate (schema and signature); the request the tool signs
verifies and parses in the rig (docs/dcc-boxed.md "Non-Device requests", "DCC alerts"). Each
message costs DCC's tool one JVM start: slow."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from adapter_tools import DccTools
from shared_dir import SHARED_DIR, require_shared

from rig.duis.access import DCC
from rig.duis.dcc_alerts import command_failure
from rig.duis.dsig import CertificateStore, Signer, sign, signer_eui, verify
from rig.duis.messages import (
    DccAlert,
    Response,
    build_request,
    build_response,
    parse_request,
    response_to,
)
from rig.duis.nondevice import DspInventory, InventoryDevice
from rig.duis.request import CommandVariant, ReadInventory, RequestId, ServiceRequest
from rig.gbcs.eui import Eui64

pytestmark = pytest.mark.slow

KEYS = SHARED_DIR / "duis" / "xml-sign-keys"
SUPPLIER = Eui64.parse("90-B3-D5-1F-30-01-00-00")
ESME = Eui64.parse("00-DB-12-34-56-78-90-A0")
AT = datetime(2024, 5, 1, tzinfo=UTC)


def _signer(stem: str) -> Signer:
    path = require_shared(KEYS) / stem
    return Signer.load(path.with_suffix(".key"), path.with_suffix(".pem"))


def test_dcc_tool_takes_the_non_device_messages(dcc_tools: DccTools, tmp_path: Path) -> None:
    request = ServiceRequest(
        RequestId(SUPPLIER, DCC, 1000), ReadInventory(ESME), CommandVariant.NON_DEVICE
    )
    dsp = _signer(f"dsp-xml-sign-{DCC.hex.upper()}-ds")
    esme = InventoryDevice(ESME, "ESME", "Commissioned", "gb-smart-rig", "emulated esme")
    answer = build_response(response_to(request, "I0", AT, DspInventory((esme,))))
    alert = Response(
        "I0",
        AT,
        DccAlert("N12", command_failure(RequestId(SUPPLIER, ESME, 7), ESME)),
        response_id=RequestId(DCC, SUPPLIER, 1),
    )
    files = {
        "READ_INVENTORY.XML": sign(build_request(request), _signer("xml-sign-90B3D51F30010000-ds")),
        "DSP_INVENTORY.XML": sign(answer, dsp),
        "DCC_ALERT.XML": sign(build_response(alert), dsp),
    }
    for name, xml in files.items():
        (tmp_path / name).write_bytes(xml)
    paths = [str(tmp_path / name) for name in files]
    verdicts = dcc_tools.run_json("dcc_tools.mjs", "validate", *paths)
    assert all(v["ok"] for v in verdicts.values()), verdicts
    unsigned = tmp_path / "unsigned" / "READ_INVENTORY.XML"
    unsigned.parent.mkdir()
    unsigned.write_bytes(build_request(request))
    signed_dir = tmp_path / "signed"
    verdicts = dcc_tools.run_json("dcc_tools.mjs", "sign", str(signed_dir), str(unsigned))
    assert all(v["ok"] for v in verdicts.values()), verdicts
    signed = (signed_dir / unsigned.name).read_bytes()
    assert signer_eui(verify(signed, CertificateStore.from_dirs(require_shared(KEYS)))) == SUPPLIER
    assert parse_request(signed) == request
