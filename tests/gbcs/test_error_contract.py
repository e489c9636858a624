"""Every input to the codec gives a decoded message or a GbcsError subclass (issue 13;
reference/gbcs.md §1): typed decoders whose model cannot re-encode a value they read raise
DecodeError, and a missing key is a GbcsError too."""

from __future__ import annotations

from pathlib import Path

import pytest
from gbcs_testdata import VECTORS

from rig.gbcs.dlms_usecases import AccessResults
from rig.gbcs.errors import DecodeError, GbcsError
from rig.gbcs.esme_tariff import UpdateTariffEsme
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import decode
from rig.gbcs.gbz_usecases import TopUpGsme
from rig.gbcs.gsme_tariff import UpdateTariffGsme
from rig.gbcs.tree import inspect
from rig.gbcs.usecases import decode_payload
from rig.gbcs.wire import require_canonical
from rig.keys.keystore import KeyNotFound, KeyStore

pytestmark = pytest.mark.shared
TARIFF = "ECS01a_1.1.1_IMMEDIATE_TOU_SUCCESS_PRECOMMAND_GBCS.HEX"


def flipped_tariff(rtds: Path) -> bytes:
    """The issue's reproducer: byte 591 ``^= 0x02`` turns the scaler ``0F FB`` into ``0D FB``."""
    (path,) = (rtds / "vectors").glob(f"*/{TARIFF}")
    frame = bytearray.fromhex(path.read_text().strip())
    frame[591] ^= 0x02
    return bytes(frame)


def test_a_bcd_scaler_in_the_tariff_is_a_decode_error(rtds: Path, rtds_keys: KeyStore) -> None:
    frame = flipped_tariff(rtds)
    s = decode(frame).signing
    with pytest.raises(DecodeError, match=r"ECS01a: payload is not in canonical form \(251"):
        decode_payload(s.message_code, s.payload, s.cra)
    with pytest.raises(DecodeError) as caught:
        inspect(frame, rtds_keys)
    assert 0 <= caught.value.offset < len(frame)


def _typed_payload(kind: type) -> bytes:
    """The payload of the first RTDS vector that types as ``kind``."""
    for path in VECTORS:
        s = decode(bytes.fromhex(path.read_text().strip())).signing
        try:
            if isinstance(decode_payload(s.message_code, s.payload, s.cra), kind):
                return s.payload
        except DecodeError:
            continue
    raise AssertionError(f"no RTDS vector types as {kind.__name__}")


@pytest.mark.parametrize(
    "kind",
    [UpdateTariffEsme, UpdateTariffGsme, AccessResults, TopUpGsme],
    ids=["ESME tariff", "GSME tariff", "DLMS use case", "GBZ use case"],
)
def test_every_decoder_family_reports_a_model_that_cannot_re_encode(
    rtds: Path, kind: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The re-encode check of each family is inside the error contract: an encoder's
    ValueError on decoded values becomes DecodeError."""
    payload = _typed_payload(kind)

    def refuse(self: object, invoke_counter: int) -> bytes:
        raise ValueError("251 does not fit in INTEGER")

    monkeypatch.setattr(kind, "encode", refuse)
    with pytest.raises(DecodeError, match="not in canonical form"):
        kind.decode(payload)  # type: ignore[attr-defined]


def test_require_canonical() -> None:
    require_canonical("X", b"ab", lambda: b"ab")
    with pytest.raises(DecodeError, match=r"X: payload is not in canonical form$"):
        require_canonical("X", b"ab", lambda: b"ac")


def test_a_missing_key_is_a_gbcs_error(tmp_path: Path) -> None:
    with pytest.raises(GbcsError) as caught:
        KeyStore([tmp_path]).ka_public(Eui64.parse("00-DB-12-34-56-78-90-A0"))
    assert isinstance(caught.value, KeyNotFound) and isinstance(caught.value, KeyError)
    assert str(caught.value).startswith("no KA public key for 00-DB-12-34-56-78-90-A0")
