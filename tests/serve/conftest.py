"""Fixtures for the ``rig serve`` tests: a bench on an emulated ESME served over loopback, the
adapter's endpoint, and the XML-signing keys of shared/duis (DCC Boxed's test keys)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from serve_adapter import SUPPLIER, Served, serving
from shared_dir import SHARED_DIR, require_shared

from rig.duis.dsig import CertificateStore, Signer

KEYS = SHARED_DIR / "duis" / "xml-sign-keys"


@pytest.fixture(scope="module")
def keys() -> Path:
    return require_shared(KEYS)


@pytest.fixture(scope="module")
def supplier_signer(keys: Path) -> Signer:
    stem = keys / f"xml-sign-{SUPPLIER.hex.upper()}-ds"
    return Signer.load(stem.with_suffix(".key"), stem.with_suffix(".pem"))


@pytest.fixture(scope="module")
def certificates(keys: Path) -> CertificateStore:
    return CertificateStore.from_dirs(keys)


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, keys: Path, supplier_signer: Signer
) -> Iterator[Served]:
    """``rig serve`` on an emulated ESME, for the tests of a module (each its own counters)."""
    with serving(tmp_path_factory.mktemp("serve"), keys, supplier_signer) as served:
        yield served
