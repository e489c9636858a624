"""Fixtures for the DUIS tests: templates, signers and certificates from ../shared/duis."""

from __future__ import annotations

from pathlib import Path

import pytest
from duis_testdata import NETWORK_OPERATOR, SIGN_KEYS, SUPPLIER, TEMPLATES
from shared_dir import require_shared

from rig.duis.dsig import CertificateStore, Signer
from rig.gbcs.eui import Eui64


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``template_file`` with every DUIS template (one placeholder if absent)."""
    if "template_file" in metafunc.fixturenames:
        params = [pytest.param(p, id=p.name.removesuffix("_REQUEST_DUIS.XML")) for p in TEMPLATES]
        metafunc.parametrize("template_file", params or [pytest.param(None, id="missing")])


@pytest.fixture
def template(template_file: Path | None, shared_dir: Path) -> bytes:
    """One template's bytes (skips, or fails under RIG_REQUIRE_SHARED=1, without ../shared)."""
    if template_file is None:
        require_shared(shared_dir / "duis" / "templates" / "CS01a_2.2_SUCCESS_REQUEST_DUIS.XML")
    assert template_file is not None
    return template_file.read_bytes()


def _signer(eui: Eui64) -> Signer:
    stem = require_shared(SIGN_KEYS) / f"xml-sign-{eui.hex.upper()}-ds"
    return Signer.load(stem.with_suffix(".key"), stem.with_suffix(".pem"))


@pytest.fixture(scope="session")
def signers(shared_dir: Path) -> dict[Eui64, Signer]:
    """The test XML-signing keys of the supplier and the network operator."""
    return {eui: _signer(eui) for eui in (SUPPLIER, NETWORK_OPERATOR)}


@pytest.fixture(scope="session")
def certificates(shared_dir: Path) -> CertificateStore:
    """All certificates in shared/duis/xml-sign-keys (DSP's included)."""
    return CertificateStore.from_dirs(require_shared(SIGN_KEYS))
