"""UTRN generation and checking (reference/gbcs.md §2, GBCS §14).

A UTRN is 19 digits of PPTD (the PTUT plus a fixed offset) and a Verhoeff check digit. The PTUT
is ``hi32 << 32 | MAC32``: ``hi32`` packs 10 counter bits, the value class and a 13-bit value,
and ``MAC32`` is the last 4 bytes of a GMAC keyed from the supplier's prepayment KA key.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from enum import Enum, IntEnum

from cryptography.hazmat.primitives.asymmetric import ec

from rig.gbcs.crypto import MAC_AAD_PREFIX, gmac_tag, kdf_from_secret, shared_secret
from rig.gbcs.errors import VerifyError
from rig.gbcs.eui import Eui64

#: PPTD = PTUT + this offset, which makes every UTRN start with 739 (§2).
PTUT_OFFSET = 7394156990786306048
UTRN_LENGTH = 20
MAX_VALUE = (1 << 13) - 1
_COUNTER_BITS = 10
_COUNTER_SHIFT = 15
_CLASS_SHIFT = 13
_CRA_COMMAND = 1

# GBCS table 14.8a (permutation P, 8 rows) and 14.8b (multiplication in D5), §2.
_P = tuple(
    tuple(int(d) for d in row)
    for row in (
        "0123456789",
        "1576283094",
        "5803796142",
        "8916043527",
        "9453126870",
        "4286573901",
        "2793806415",
        "7046913258",
    )
)
_D = tuple(
    tuple(int(d) for d in row)
    for row in (
        "0123456789",
        "1234067895",
        "2340178956",
        "3401289567",
        "4012395678",
        "5987604321",
        "6598710432",
        "7659821043",
        "8765932104",
        "9876543210",
    )
)
_INVERSE = (1, 2, 6, 7, 5, 8, 3, 0, 9, 4)
_FIRST_ROW = 4


class ValueClass(IntEnum):
    """Units of a UTRN's value (as coded in gbcs-parser utrn.ts)."""

    PENNIES = 0
    POUNDS = 1


class UtrnRejection(Enum):
    """Why a device turns a UTRN down; it chooses the alert (§1.6: 8F63, 8F64, 8F51)."""

    NOT_AUTHENTIC = "not authentic"
    NOT_FOR_DEVICE = "not for this device"
    DUPLICATE = "duplicate"


class UtrnError(VerifyError, ValueError):
    """A UTRN that is malformed or does not verify; ``rejection`` says which kind."""

    def __init__(self, rejection: UtrnRejection, reason: str) -> None:
        super().__init__(f"UTRN {rejection.value}: {reason}")
        self.rejection = rejection


@dataclass(frozen=True)
class Utrn:
    """A parsed UTRN; ``mac32`` is checked only by :func:`verify_utrn`."""

    counter_bits: int
    value_class: ValueClass
    value: int
    mac32: bytes
    digits: str

    @property
    def hi32(self) -> int:
        """The authenticated half of the PTUT."""
        return _hi32(self.counter_bits, self.value_class, self.value)


def check_digit(pptd: str) -> str:
    """The GBCS Verhoeff check digit of a string of digits (§2, GBCS tables 14.8a/b)."""
    c = 0
    for k, digit in enumerate(pptd):
        c = _D[c][_P[(_FIRST_ROW + k) % len(_P)][int(digit)]]
    return str(_INVERSE[c])


def _hi32(counter_bits: int, value_class: ValueClass, value: int) -> int:
    return counter_bits << _COUNTER_SHIFT | value_class << _CLASS_SHIFT | value


def _counter_bits(counter: int) -> int:
    if not 0 <= counter < 1 << 64:
        raise ValueError(f"UTRN counter {counter:#x} does not fit in 64 bits")
    if counter & 0xFFFFFFFF:
        raise ValueError(f"UTRN counter {counter:#x}: the low 32 bits must be zero")
    return (counter >> 32) & ((1 << _COUNTER_BITS) - 1)


def _mac32(
    private_ka: ec.EllipticCurvePrivateKey,
    peer_ka: ec.EllipticCurvePublicKey,
    originator: Eui64,
    target: Eui64,
    counter: int,
    hi32: int,
) -> bytes:
    key = kdf_from_secret(
        shared_secret(private_ka, peer_ka), originator, _CRA_COMMAND, counter, target
    )
    aad = (
        MAC_AAD_PREFIX
        + originator.raw
        + target.raw
        + bytes([_CRA_COMMAND])
        + counter.to_bytes(8, "big")
        + hi32.to_bytes(4, "big")
    )
    return gmac_tag(key, originator, aad)[-4:]


def make_utrn(
    pp_private_ka: ec.EllipticCurvePrivateKey,
    device_public_ka: ec.EllipticCurvePublicKey,
    originator: Eui64,
    target: Eui64,
    counter: int,
    value: int,
    value_class: ValueClass,
) -> str:
    """The 20-digit UTRN a supplier issues (supplier prepayment KA private x device KA public)."""
    counter_bits = _counter_bits(counter)
    value_class = ValueClass(value_class)
    if not 0 <= value <= MAX_VALUE:
        raise ValueError(f"UTRN value {value} outside 0..{MAX_VALUE}")
    hi32 = _hi32(counter_bits, value_class, value)
    mac = _mac32(pp_private_ka, device_public_ka, originator, target, counter, hi32)
    pptd = str((hi32 << 32 | int.from_bytes(mac, "big")) + PTUT_OFFSET)
    return pptd + check_digit(pptd)


def parse_utrn(digits: str) -> Utrn:
    """Check the form and check digit of a UTRN and unpack it; :class:`UtrnError` if bad."""
    if not (
        isinstance(digits, str)
        and len(digits) == UTRN_LENGTH
        and digits.isascii()
        and digits.isdigit()
    ):
        raise UtrnError(UtrnRejection.NOT_AUTHENTIC, f"{digits!r} is not {UTRN_LENGTH} digits")
    if check_digit(digits[:-1]) != digits[-1]:
        raise UtrnError(UtrnRejection.NOT_AUTHENTIC, f"{digits} fails its check digit")
    ptut = int(digits[:-1]) - PTUT_OFFSET
    if ptut < 0:
        raise UtrnError(UtrnRejection.NOT_AUTHENTIC, f"{digits} is below the PTUT offset")
    hi32 = ptut >> 32
    if hi32 >> (_COUNTER_SHIFT + _COUNTER_BITS):
        raise UtrnError(UtrnRejection.NOT_AUTHENTIC, f"{digits} sets reserved PTUT bits")
    value_class = (hi32 >> _CLASS_SHIFT) & 0b11
    if value_class not in ValueClass._value2member_map_:
        raise UtrnError(UtrnRejection.NOT_AUTHENTIC, f"{digits} has value class {value_class}")
    return Utrn(
        counter_bits=hi32 >> _COUNTER_SHIFT,
        value_class=ValueClass(value_class),
        value=hi32 & MAX_VALUE,
        mac32=(ptut & 0xFFFFFFFF).to_bytes(4, "big"),
        digits=digits,
    )


def verify_utrn(
    digits: str,
    pp_public_ka_of_supplier: ec.EllipticCurvePublicKey,
    device_private_ka: ec.EllipticCurvePrivateKey,
    originator: Eui64,
    target: Eui64,
    counter: int,
) -> Utrn:
    """Device-side check (device KA private x supplier prepayment KA public; ECDH is symmetric).

    Raises :class:`UtrnError` (a :class:`VerifyError`): NOT_AUTHENTIC if malformed or the check
    digit fails, NOT_FOR_DEVICE if the counter bits or the MAC do not match this device and counter.
    """
    utrn = parse_utrn(digits)
    try:
        counter_bits = _counter_bits(counter)
    except ValueError as exc:
        raise UtrnError(UtrnRejection.NOT_FOR_DEVICE, str(exc)) from None
    if utrn.counter_bits != counter_bits:
        raise UtrnError(
            UtrnRejection.NOT_FOR_DEVICE,
            f"counter bits {utrn.counter_bits}, expected {counter_bits} for counter {counter:#x}",
        )
    expected = _mac32(
        device_private_ka, pp_public_ka_of_supplier, originator, target, counter, utrn.hi32
    )
    if not hmac.compare_digest(expected, utrn.mac32):
        raise UtrnError(
            UtrnRejection.NOT_FOR_DEVICE,
            f"MAC does not verify for {target} at counter {counter:#x}",
        )
    return utrn


def pence(utrn: Utrn) -> int:
    """The credit a UTRN carries, in pence."""
    return utrn.value * 100 if utrn.value_class is ValueClass.POUNDS else utrn.value
