"""PCS01/PCS02 (``SME.C.PPMID-GSME``): the MAC is keyed by the PPMID and the GSME, not the ACB
(docs/gbcs-codec.md "MAC keys of HAN-only messages"). With either device's private KA key the
verdict is valid or INVALID; with the RTDS key store, which holds neither, it is "not checked"
and names both keys, and no key pair of that store verifies the RTDS MACs (the ACB's included)."""

from __future__ import annotations

from pathlib import Path

import pytest
from gbcs_testdata import ACB, SUPPLIER

from rig.gbcs import crypto
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import Cra, GeneralSigning, decode, encode_mac_frame
from rig.gbcs.tree import inspect, mac_key_pair
from rig.keys.keystore import KeyStore
from rig.keys.pki import generate_pki

PPMID = Eui64.parse("00-DB-12-34-56-78-90-A4")
GSME = Eui64.parse("00-DB-12-34-56-78-90-A1")
#: PCS01's GBZ payload from the RTDS (Consumer Top Up from the PPMID, originating device 02).
PCS01_PAYLOAD = bytes.fromhex("010901010705001901000402143733393431363536383830393530383034343835")


@pytest.fixture(scope="module")
def han_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(a store with both devices' and the ACB's private keys, a store with the GSME's only
    and the PPMID's certificate)."""
    full = tmp_path_factory.mktemp("han-full")
    generate_pki(full, [SUPPLIER, ACB], [PPMID, GSME])
    gsme_side = tmp_path_factory.mktemp("han-gsme")
    for name in ("00db1234567890a1-ka.key", "00db1234567890a4-ka.pem"):
        (gsme_side / name).write_bytes((full / name).read_bytes())
    return full, gsme_side


def _pcs01(keys: KeyStore, private: Eui64, public: Eui64, cra: Cra = Cra.COMMAND) -> bytes:
    originator, recipient = (PPMID, GSME) if cra is Cra.COMMAND else (GSME, PPMID)
    s = GeneralSigning(cra, 10000, originator, recipient, 0x009B, PCS01_PAYLOAD)
    key = crypto.kdf(
        keys.ka_private(private), keys.ka_public(public), originator, cra, 10000, recipient
    )
    return encode_mac_frame(s, key)


def test_the_pair_is_the_two_devices() -> None:
    s = GeneralSigning(Cra.COMMAND, 1, PPMID, GSME, 0x009B, b"")
    assert mac_key_pair(s) == (PPMID, GSME)
    other = GeneralSigning(Cra.COMMAND, 1, SUPPLIER, GSME, 0x0082, b"")
    assert mac_key_pair(other) == (ACB, GSME)


@pytest.mark.parametrize("cra", [Cra.COMMAND, Cra.RESPONSE])
def test_device_keyed_mac_is_valid_with_either_private_key(
    han_keys: tuple[Path, Path], cra: Cra
) -> None:
    full, gsme_side = han_keys
    frame = _pcs01(KeyStore([full]), PPMID, GSME, cra)
    assert inspect(frame, KeyStore([full])).verdicts["mac"] == "valid"
    assert inspect(frame, KeyStore([gsme_side])).verdicts["mac"] == "valid"


def test_an_acb_keyed_pcs01_mac_is_invalid(han_keys: tuple[Path, Path]) -> None:
    """The old assumption (the ACB MACs every command) is refused."""
    full, _ = han_keys
    frame = _pcs01(KeyStore([full]), ACB, GSME)
    assert inspect(frame, KeyStore([full])).verdicts["mac"] == "INVALID"


@pytest.mark.shared
def test_rtds_pcs01_is_not_checkable_and_names_both_keys(rtds: Path, rtds_keys: KeyStore) -> None:
    for path in sorted((rtds / "vectors" / "NA_PCS01").glob("*.HEX")):
        frame = bytes.fromhex(path.read_text().strip())
        s = decode(frame).signing
        verdict = inspect(frame, rtds_keys).verdicts["mac"]
        assert (
            verdict == f"not checked (needs the KA private key of {s.originator} or {s.recipient})"
        )


@pytest.mark.shared
def test_no_key_pair_of_the_rtds_store_verifies_pcs01(rtds: Path, rtds_keys: KeyStore) -> None:
    """Every remote-party private key of the store against both devices' certificates, with
    either title order: none gives the RTDS MAC, so the verdict cannot be checked here."""
    privates = sorted(
        Eui64(bytes.fromhex(p.name[:16]))
        for p in (rtds / "keystore").glob("*-ka.key")
        if not p.name.startswith("00db")
    )
    assert ACB in privates and SUPPLIER in privates
    for path in sorted((rtds / "vectors" / "NA_PCS01").glob("*.HEX")):
        message = decode(bytes.fromhex(path.read_text().strip()))
        s = message.signing
        for private in privates:
            for device in (PPMID, GSME):
                for a, b in ((s.originator, s.recipient), (s.recipient, s.originator)):
                    key = crypto.kdf(
                        rtds_keys.ka_private(private), rtds_keys.ka_public(device), a, s.cra,
                        s.counter, b,
                    )  # fmt: skip
                    assert crypto.gmac(key, s.originator, s.encode()) != message.mac
