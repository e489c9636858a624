"""Fixtures for the GBCS codec tests: the shared RTDS data (reference/gbcs.md §1.9) and bench keys.

The RTDS subset is looked up in ``$RIG_SHARED_DIR/gbcs-rtds`` (default ``<repo>/../shared``).
Tests that need it skip when it is missing, unless ``RIG_REQUIRE_SHARED=1``: then they fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from gbcs_testdata import ACB, ESME, RTDS, SUPPLIER, VECTORS
from shared_dir import require_shared

from rig.gbcs.codes import HAN_ONLY_CODES
from rig.gbcs.frame import decode
from rig.keys.keystore import KeyStore
from rig.keys.pki import generate_pki


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``rtds_vector`` with every RTDS ``.HEX`` file (one placeholder if absent);
    with the ``authenticated_vectors`` marker, only those that carry a MAC or a signature the
    keystore can check (not pre-commands, not HAN-only PCS01: the PPMID's and GSME's private keys
    are not in it)."""
    if "rtds_vector" in metafunc.fixturenames:
        vectors = VECTORS
        if metafunc.definition.get_closest_marker("authenticated_vectors"):
            vectors = [
                path for path in VECTORS if "PRECOMMAND" not in path.name and not _han_only(path)
            ]
        params = [pytest.param(path, id=path.stem) for path in vectors]
        metafunc.parametrize("rtds_vector", params or [pytest.param(None, id="rtds-missing")])


def _han_only(path: Path) -> bool:
    return decode(bytes.fromhex(path.read_text().strip())).signing.message_code in HAN_ONLY_CODES


@pytest.fixture(scope="session")
def rtds() -> Path:
    """The RTDS directory, or skip (fail under RIG_REQUIRE_SHARED=1) when it is missing."""
    return require_shared(RTDS / "vectors").parent


@pytest.fixture(scope="session")
def rtds_keys(rtds: Path) -> KeyStore:
    """The RTDS test key store."""
    return KeyStore([rtds / "keystore"])


@pytest.fixture
def vector_bytes(rtds: Path, rtds_vector: Path) -> bytes:
    """The bytes of one RTDS vector."""
    return bytes.fromhex(rtds_vector.read_text().strip())


@pytest.fixture(scope="session")
def bench_keys(tmp_path_factory: pytest.TempPathFactory) -> KeyStore:
    """Freshly generated keys for the supplier (with prepayment), the ACB and the ESME."""
    out = tmp_path_factory.mktemp("pki")
    generate_pki(out, [SUPPLIER, ACB], [ESME], [SUPPLIER])
    return KeyStore([out])
