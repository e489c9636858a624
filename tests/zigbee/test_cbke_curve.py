"""sect283k1 arithmetic against published vectors, and against a second, independent computation.

Sources of the known answers (each test names its own):
- SEC 2 v2 §3.2.1: the curve, base point and order (``G`` on the curve, ``n·G = O``).
- OpenSSL, ``test/recipes/30-test_evp_data/evppkey_ecdh.txt``, "TEST CURVE sect283k1": the
  ALICE/BOB key pairs (private scalar and public point taken out of their PKCS#8/SPKI PEM) and
  their ECDH shared secret.
- Wycheproof (C2SP/wycheproof), ``testvectors/ecdh_sect283k1_test.json``: tcId 1 (normal case),
  2 (the same public key compressed), 3-17 (edge-case private keys, some for addition chains),
  18-26 (low-order public keys, which a full public-key validation refuses).
"""

from __future__ import annotations

import random

import pytest
from cbke_reference import affine_multiply
from hypothesis import given, settings
from hypothesis import strategies as st

from rig.zigbee.cbke import curve
from rig.zigbee.cbke.curve import G, N, PointError

OPENSSL = {
    "alice": (
        0x006867B26676503295DD02A6AB793EDF72D0EA7E5A098BCA5DC3208999414BF46B560211,
        "040528293b0e533137383bc1c7870e5ab499799ab9d6b82ea85956116290f520cbcf35346c018a384984663c"
        "87e0cd5bff11255c1d5683d653cda3e7aad07375aa1bd15fee2b9863bb",
    ),
    "bob": (
        0x0002572307D68D86E23398C470DC3CF3FD646C49E15635868AF3BBCC33EDB3B02E292324,
        "0403902eb1ee69747ea4b3b3ddc8f7a83db600933e950f9bfc2935756fdecf8989993437a8058efc150c8745"
        "2bdd4a8fa845ec3645a729682027b51a22587c8dd6701d0d2ce308dfe6",
    ),
}
OPENSSL_SHARED = "02f2e682c2f60d7261624f3661a5e85fca920443b72aa4dd5a540082e65e552302d8f825"

#: Wycheproof tcId 1: the peer's public point (uncompressed, from the SPKI), private, shared.
WYCHEPROOF_PUBLIC = (
    "0401eef8bea17e53e591beac95c110187f6d7c27a40d202ac73064b4ca054aa1f51608ddd5042e4525c94f62a1"
    "ddae8097c365fc8c9fbeca85feea1c2713f015bd5f584a89b9e13720"
)
WYCHEPROOF_COMPRESSED = "0301eef8bea17e53e591beac95c110187f6d7c27a40d202ac73064b4ca054aa1f51608ddd5"
WYCHEPROOF_PRIVATE = 0x013826BF5645617BFBBB162685D0F52F70FCD35E660CB19E70DE811999EF28C97A9D4934
WYCHEPROOF_SHARED = "05ca68e2b421013f6083d598df151560a45d4ec2ea3fc69ed5383653ea2397a5a627f586"
#: Wycheproof tcIds 3-17: one public point, edge-case private keys and their shared secrets.
EDGE_PUBLIC = (
    "0407ac7b0dd4ff55364660e60d668334d0197f46503b68594a93b9b296cab02243e1c8e48c0134fa4fb82a61"
    "e885f0ffded9b42e7982f1cf47a9547f9501099761ef135f219fd00812"
)
EDGE_CASES = [
    ("03", "0352d39a090d970e8fd6d9fefc3b9ed9efa00048d357bc190a1df1b964d5a5a11922e8bd"),
    (
        "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "05056c02378cc69d5df0ddfd19ba9766556efd6e20eea1fd000475817978753407307674",
    ),
    (
        "0200000000000000000000000000000000000000000000000000000000000000000000",
        "0335439208c7144414322381a53c44010d2cb921bd42ecb3e5d4de25f5abcc425f89fe4a",
    ),
    (
        "00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "07ca98a751230336d63f0a6e0df91663a0ba3c4cb2508ad802040bf157e299b91fde82a3",
    ),
    (
        "010000000000000000000000000000000000000000000000000000000000000000000000",
        "00d053110636d897435dc3130d0779a28c2bc3e4afeb890e9d1329fb484cd927902c0da6",
    ),
    (
        "01ffffffffffffffffffffffffffffffffffe9ae2ed07577265dff7e94451e061e163c61",
        "0731bd9933943f61fe52ecb662c4559ef1ccef4b9907233d8889fc6e06ccd239690aa53b",
    ),
    (
        "01ffffffffffffffffffffffffffffffffffe9ae2ed07577265dff7f94451e061e163c23",
        "02bce9ad78ccf2d18c2f2ca0fbdfb591cc1b38de210c337bd1f47f7c07ed90f54f1a450d",
    ),
    (
        "01ffffffffffffffffffffffffffffffffffe9ae2ed07577265dff7f94451e061e163c5e",
        "0352d39a090d970e8fd6d9fefc3b9ed9efa00048d357bc190a1df1b964d5a5a11922e8bd",
    ),
    (
        "01ffffffffffffffffffffffffffffffffffe9ae2ed07577265dff7f94451e061e163c5f",
        "03532c5760cb8824626c61a5faa356138a964ae51426b5a28cb202eaa9b51e37a7db20aa",
    ),
]
#: Wycheproof tcIds 18 and 19: public keys of low order, (0, 1) of order 2 and (1, 1) of order 4:
#: on the curve, but not in the subgroup of order n.
LOW_ORDER = ["04" + "00" * 35 + "00" + "00" * 35 + "01", "04" + "00" * 35 + "01" + "00" * 35 + "01"]


def test_the_base_point_is_on_the_curve_and_has_order_n() -> None:
    """SEC 2 v2 §3.2.1."""
    assert curve.on_curve(G)
    assert curve.multiply(N, G) is None
    assert curve.multiply(N - 1, G) == curve.neg(G)
    assert N.bit_length() == 281 and curve.F.bit_length() == 284


@pytest.mark.parametrize("name", ["alice", "bob"])
def test_openssl_key_pairs_and_their_shared_secret(name: str) -> None:
    """OpenSSL evppkey_ecdh.txt, sect283k1: d·G is the published public key, and each side's
    d times the other's public key gives the published shared secret."""
    private, public = OPENSSL[name]
    assert curve.encode(curve.multiply(private, G), compressed=False).hex() == public
    peer = curve.decode(bytes.fromhex(OPENSSL["bob" if name == "alice" else "alice"][1]))
    assert curve.x_bytes(curve.multiply(private, curve.validate(peer))).hex() == OPENSSL_SHARED


def test_wycheproof_normal_case_uncompressed_and_compressed() -> None:
    """Wycheproof ecdh_sect283k1_test.json tcId 1 and 2 (SEC 1 §2.3.4 decompression)."""
    public = curve.decode(bytes.fromhex(WYCHEPROOF_PUBLIC))
    assert curve.decode(bytes.fromhex(WYCHEPROOF_COMPRESSED)) == public
    assert curve.encode(public).hex() == WYCHEPROOF_COMPRESSED
    shared = curve.multiply(WYCHEPROOF_PRIVATE, curve.validate(public))
    assert curve.x_bytes(shared).hex() == WYCHEPROOF_SHARED


@pytest.mark.parametrize(("private", "shared"), EDGE_CASES)
def test_wycheproof_edge_case_private_keys(private: str, shared: str) -> None:
    """Wycheproof tcIds 3-17 (a selection): scalars near n, powers of two, all ones."""
    public = curve.decode(bytes.fromhex(EDGE_PUBLIC))
    assert curve.x_bytes(curve.multiply(int(private, 16), public)).hex() == shared


@pytest.mark.parametrize("public", LOW_ORDER)
def test_low_order_or_off_curve_public_keys_are_refused(public: str) -> None:
    """Wycheproof tcIds 18-20: a full public-key validation (SEC 1 §3.2.2.1) refuses them."""
    with pytest.raises(PointError):
        curve.validate(curve.decode(bytes.fromhex(public)))


def test_a_point_off_the_curve_or_of_the_wrong_length_is_one_clear_error() -> None:
    off = bytearray(bytes.fromhex(WYCHEPROOF_PUBLIC))
    off[-1] ^= 1
    with pytest.raises(PointError, match="not on sect283k1"):
        curve.decode(bytes(off))
    with pytest.raises(PointError, match=r"37 bytes .* not 5 bytes starting 02"):
        curve.decode(bytes.fromhex("0201020304"))
    with pytest.raises(PointError, match="more than 283 bits"):
        curve.decode(b"\x02" + b"\xff" * 36)
    with pytest.raises(PointError, match="infinity"):
        curve.validate(None)


def test_an_x_with_no_point_is_refused() -> None:
    """About half of all x have no point (z^2 + z = beta unsolvable); find one and refuse it."""
    rng = random.Random(7)
    for _ in range(64):
        x = rng.getrandbits(283)
        beta = x ^ curve.mul(curve.B, curve.sqr(curve.inv(x)))
        z = curve.trace_half(beta)
        if curve.sqr(z) ^ z != beta:
            with pytest.raises(PointError, match="no point"):
                curve.decode(b"\x02" + x.to_bytes(36, "big"))
            return
    pytest.fail("no x without a point among 64 random ones")


@settings(max_examples=8, deadline=None)
@given(st.integers(min_value=1, max_value=N - 1))
def test_the_ladder_agrees_with_affine_double_and_add(k: int) -> None:
    """Second, independent computation: the production Montgomery ladder (projective x-only
    with y recovered) against straightforward affine double-and-add."""
    point = curve.multiply(k, G)
    assert point == affine_multiply(k, G)
    assert curve.decode(curve.encode(point)) == point
    assert curve.decode(curve.encode(point, compressed=False)) == point


@settings(max_examples=30)
@given(st.integers(min_value=1, max_value=(1 << 283) - 1))
def test_field_inverse_and_square(a: int) -> None:
    assert curve.mul(a, curve.inv(a)) == 1
    assert curve.sqr(a) == curve.mul(a, a)


def test_small_multiples_and_the_point_of_order_two() -> None:
    assert curve.multiply(0, G) is None and curve.multiply(1, G) == G
    assert curve.multiply(2, G) == curve.add(G, G)
    assert curve.multiply(3, G) == curve.add(curve.add(G, G), G)
    assert curve.add(G, curve.neg(G)) is None
    two_torsion = (0, 1)
    assert curve.on_curve(two_torsion) and curve.add(two_torsion, two_torsion) is None
    assert curve.multiply(5, two_torsion) == two_torsion
    with pytest.raises(PointError, match="subgroup"):
        curve.validate(two_torsion)
    with pytest.raises(ZeroDivisionError):
        curve.inv(0)
