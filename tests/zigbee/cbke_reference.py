"""The second, independent sect283k1 computation the CBKE tests check the production code with:
plain affine double-and-add over :func:`rig.zigbee.cbke.curve.add` (SEC 1 §2.2.2 formulas),
never the Montgomery ladder."""

from __future__ import annotations

from rig.zigbee.cbke import curve
from rig.zigbee.cbke.curve import Point


def affine_multiply(k: int, point: Point) -> Point:
    """``k·P`` by left-to-right double-and-add in affine coordinates."""
    result: Point = None
    for bit in bin(k)[2:]:
        result = curve.add(result, result)
        if bit == "1":
            result = curve.add(result, point)
    return result
