"""Fixtures of the firmware tests: one test PKI per session."""

from __future__ import annotations

import pytest
from firmware_parties import Supplier, make_keys

from rig.keys.keystore import KeyStore


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> KeyStore:
    return make_keys(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def supplier(pki: KeyStore) -> Supplier:
    return Supplier(pki)
