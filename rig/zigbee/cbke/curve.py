"""sect283k1: the field GF(2^283) and the Koblitz curve of crypto suite 2 (SEC 2 v2 §3.2.1).

No maintained Python library does binary-curve arithmetic (``cryptography`` dropped its binary
curves; ``ecpy``, ``fastecdsa`` and ``tinyec`` are prime-field only; ``galois`` has GF(2^m) fields
but no curves, and its elements above 64 bits are Python objects), so the field and the curve are
here, in one module.

Field elements are ``int`` bit-polynomials (bit ``i`` is the coefficient of ``x^i``), reduced by
the pentanomial ``x^283 + x^12 + x^7 + x^5 + 1``. Multiplication is a 4-bit-window comb (a table
of ``a·u`` for the 16 polynomials ``u`` of degree < 4), squaring spreads the bits (squaring is
linear in characteristic 2), inversion is the extended Euclidean algorithm on polynomials.

The curve is ``y^2 + xy = x^3 + a·x^2 + b`` with ``a = 0``, ``b = 1``. A point is an affine
``(x, y)`` tuple, or :data:`INFINITY` (``None``). Scalar multiplication is the Montgomery ladder
in López-Dahab projective x-coordinates with the y-coordinate recovered at the end
(López & Dahab, CHES '99; Hankerson, Menezes & Vanstone, *Guide to ECC*, Alg. 3.40): 5 field
multiplications and 5 squarings per scalar bit, the same work for every bit.

Points travel as SEC 1 v2 octet strings (§2.3.3, §2.3.4 for binary fields): ``02``/``03`` and
the 36-byte x (compressed, ``ỹ`` the last bit of ``y/x``), or ``04``, x and y (uncompressed).
"""

from __future__ import annotations

from typing import Final

M: Final = 283
#: The reduction pentanomial x^283 + x^12 + x^7 + x^5 + 1 (SEC 2 v2 §3.2.1).
F: Final = (1 << 283) | (1 << 12) | (1 << 7) | (1 << 5) | 1
_MASK: Final = (1 << M) - 1
A: Final = 0
B: Final = 1
GX: Final = 0x0503213F78CA44883F1A3B8162F188E553CD265F23C1567A16876913B0C2AC2458492836
GY: Final = 0x01CCDA380F1C9E318D90F95D07E5426FE87E45C0E8184698E45962364E34116177DD2259
#: The order of the base point (281 bits) and the cofactor.
N: Final = 0x01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFE9AE2ED07577265DFF7F94451E061E163C61
H: Final = 4
#: Bytes of a field element and of an integer modulo n (SEC 1 §2.3.5, §2.3.7): ceil(283/8).
SIZE: Final = 36

Point = tuple[int, int] | None
INFINITY: Final[Point] = None
G: Final[Point] = (GX, GY)


class PointError(ValueError):
    """An octet string that is not a point of sect283k1, or a point that is not a valid key."""


# --- the field -------------------------------------------------------------------------


def reduce(c: int) -> int:
    """``c`` modulo the pentanomial (each fold removes the bits at 283 and above)."""
    while c >> M:
        hi = c >> M
        c = (c & _MASK) ^ hi ^ (hi << 5) ^ (hi << 7) ^ (hi << 12)
    return c


def mul(a: int, b: int) -> int:
    """The product of two field elements."""
    table = [0, a, a << 1, 0, a << 2, 0, 0, 0, a << 3, 0, 0, 0, 0, 0, 0, 0]
    for i in (3, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15):
        low = i & -i
        table[i] = table[low] ^ table[i ^ low]
    product = 0
    for shift in range((b.bit_length() + 3) // 4 * 4 - 4, -1, -4):
        product = (product << 4) ^ table[(b >> shift) & 15]
    return reduce(product)


#: Each byte with its bits spread apart (bit ``i`` to bit ``2i``), as two bytes.
_SPREAD: Final = [int("0".join(bin(i)[2:]), 2).to_bytes(2, "big") for i in range(256)]


def sqr(a: int) -> int:
    """The square of a field element: bit ``i`` moves to bit ``2i``."""
    spread = b"".join([_SPREAD[byte] for byte in a.to_bytes(SIZE, "big")])
    return reduce(int.from_bytes(spread, "big"))


def inv(a: int) -> int:
    """The inverse of a non-zero field element (extended Euclid over GF(2)[x])."""
    if not a:
        raise ZeroDivisionError("0 has no inverse in GF(2^283)")
    u, v, g1, g2 = a, F, 1, 0
    while u != 1:
        j = u.bit_length() - v.bit_length()
        if j < 0:
            u, v, g1, g2, j = v, u, g2, g1, -j
        u ^= v << j
        g1 ^= g2 << j
    return reduce(g1)


def trace_half(beta: int) -> int:
    """The half-trace of ``beta`` (m odd): a solution ``z`` of ``z^2 + z = beta`` when one
    exists (SEC 1 §2.3.4 step 2.3, via IEEE 1363 A.4.7)."""
    z = beta
    for _ in range((M - 1) // 2):
        z = sqr(sqr(z)) ^ beta
    return z


# --- the curve -------------------------------------------------------------------------


def on_curve(point: Point) -> bool:
    """Whether ``point`` is the point at infinity or satisfies y^2 + xy = x^3 + 1."""
    if point is None:
        return True
    x, y = point
    if x >> M or y >> M or x < 0 or y < 0:
        return False
    return sqr(y) ^ mul(x, y) == mul(sqr(x), x) ^ B


def neg(point: Point) -> Point:
    """``-P``: (x, x + y)."""
    return None if point is None else (point[0], point[0] ^ point[1])


def add(p: Point, q: Point) -> Point:
    """``P + Q`` in affine coordinates (SEC 1 §2.2.2)."""
    if p is None:
        return q
    if q is None:
        return p
    (x1, y1), (x2, y2) = p, q
    if x1 == x2:
        if y1 != y2 or x1 == 0:  # Q = -P (also P of order 2)
            return None
        lam = x1 ^ mul(y1, inv(x1))
        x3 = sqr(lam) ^ lam
        return x3, sqr(x1) ^ mul(lam ^ 1, x3)
    lam = mul(y1 ^ y2, inv(x1 ^ x2))
    x3 = sqr(lam) ^ lam ^ x1 ^ x2
    return x3, mul(lam, x1 ^ x3) ^ x3 ^ y1


def multiply(k: int, point: Point) -> Point:
    """``k·P`` by the Montgomery ladder in López-Dahab x-coordinates, ``k >= 0``."""
    if k < 0:
        raise ValueError("the scalar of a point multiplication is not negative")
    if point is None or k == 0:
        return None
    x, y = point
    if x == 0:  # (0, 1), the point of order 2
        return point if k & 1 else None
    x1, z1 = x, 1
    x2, z2 = sqr(sqr(x)) ^ B, sqr(x)
    for i in range(k.bit_length() - 2, -1, -1):
        t1, t2 = mul(x1, z2), mul(x2, z1)
        za = sqr(t1 ^ t2)
        xa = mul(x, za) ^ mul(t1, t2)
        if (k >> i) & 1:
            x1, z1 = xa, za
            xs, zs = sqr(x2), sqr(z2)
            x2, z2 = sqr(xs) ^ sqr(zs), mul(xs, zs)
        else:
            x2, z2 = xa, za
            xs, zs = sqr(x1), sqr(z1)
            x1, z1 = sqr(xs) ^ sqr(zs), mul(xs, zs)
    return _recover_y(x, y, x1, z1, x2, z2)


def _recover_y(x: int, y: int, x1: int, z1: int, x2: int, z2: int) -> Point:
    """The affine ``kP`` from the ladder's ``kP = (x1:z1)`` and ``(k+1)P = (x2:z2)``
    (Guide to ECC, Alg. 3.40 step 4)."""
    if z1 == 0:
        return None
    if z2 == 0:
        return x, x ^ y  # kP = -P
    t = mul(x, mul(z1, z2))
    a = x1 ^ mul(x, z1)
    b = x2 ^ mul(x, z2)
    numerator = mul(a, b) ^ mul(sqr(x) ^ y, mul(z1, z2))
    t_inv = inv(t)
    xk = mul(x1, mul(t_inv, mul(x, z2)))  # x1 / z1
    return xk, mul(x ^ xk, mul(numerator, t_inv)) ^ y


def validate(point: Point) -> Point:
    """``point`` if it is a valid public key of the curve's prime-order subgroup (SEC 1
    §3.2.2.1: not infinity, on the curve, ``n·Q = O``); PointError otherwise."""
    if point is None:
        raise PointError("the point at infinity is not a public key")
    if not on_curve(point):
        raise PointError("the point is not on sect283k1")
    if multiply(N, point) is not None:
        raise PointError("the point is not in the subgroup of order n (small-order component)")
    return point


# --- octet strings (SEC 1 §2.3.3, §2.3.4) --------------------------------------------------


def encode(point: Point, compressed: bool = True) -> bytes:
    """The SEC 1 octet string of ``point`` (37 bytes compressed, 73 uncompressed)."""
    if point is None:
        return b"\x00"
    x, y = point
    if not compressed:
        return b"\x04" + x.to_bytes(SIZE, "big") + y.to_bytes(SIZE, "big")
    y_bit = mul(y, inv(x)) & 1 if x else 0
    return bytes((2 | y_bit,)) + x.to_bytes(SIZE, "big")


def decode(data: bytes) -> Point:
    """The point of a SEC 1 octet string (infinity excluded); PointError with the reason if it
    is not one. The point is on the curve; :func:`validate` checks the subgroup."""
    if len(data) == 1 + SIZE and data[0] in (2, 3):
        x = int.from_bytes(data[1:], "big")
        if x >> M:
            raise PointError(f"x has more than {M} bits")
        if x == 0:
            return 0, B  # y = sqrt(b) = 1
        beta = x ^ A ^ mul(B, sqr(inv(x)))
        z = trace_half(beta)
        if sqr(z) ^ z != beta:
            raise PointError("no point of sect283k1 has this x")
        if z & 1 != data[0] & 1:
            z ^= 1
        return x, mul(x, z)
    if len(data) == 1 + 2 * SIZE and data[0] == 4:
        point = int.from_bytes(data[1 : 1 + SIZE], "big"), int.from_bytes(data[1 + SIZE :], "big")
        if not on_curve(point):
            raise PointError("the point is not on sect283k1")
        return point
    raise PointError(
        f"a sect283k1 point is 37 bytes (02/03 ‖ x) or 73 bytes (04 ‖ x ‖ y), not "
        f"{len(data)} bytes starting {data[:1].hex() or 'with nothing'}"
    )


def x_bytes(point: Point) -> bytes:
    """The x-coordinate as 36 bytes (SEC 1 §2.3.5 field element to octet string)."""
    if point is None:
        raise PointError("the point at infinity has no x-coordinate")
    return point[0].to_bytes(SIZE, "big")
