"""ECMQV, the KDF and the key-confirmation MACs of CBKE (SE 1.2a Annex C.4.2; SEC 1 v2 §3.4).

- **ECMQV** (SEC 1 §3.4, with the cofactor): ``s = d_E + avf(Q_E)·d_S mod n``, then
  ``P = h·s·(Q_E' + avf(Q_E')·Q_S')`` with the peer's ephemeral and static public keys, and the
  shared secret ``Z`` is P's x-coordinate as 36 bytes. ``avf(Q) = (x mod 2^⌈f/2⌉) + 2^⌈f/2⌉``,
  ``f = ⌈log2 n⌉ = 281``.
- **KDF** (Annex C.6.3, ANSI X9.63 with the AES-MMO hash and no shared info):
  ``MacKey ‖ KeyData = MMO(Z ‖ 00000001) ‖ MMO(Z ‖ 00000002)``; KeyData becomes the APS link key.
- **MACs** (Annex C.4.2.2.3, keyed hash of ZigBee B.1.4 under MacKey):
  ``MACU = HMAC(0x02 ‖ ID(U) ‖ ID(V) ‖ E(U) ‖ E(V))`` and
  ``MACV = HMAC(0x03 ‖ ID(V) ‖ ID(U) ‖ E(V) ‖ E(U))``, U the initiator, IDs the EUI-64s most
  significant byte first (as in the certificates), E the ephemeral keys as sent (37 bytes).
"""

from __future__ import annotations

from typing import Final

from rig.zigbee.cbke import curve
from rig.zigbee.cbke.curve import H, N, Point
from rig.zigbee.mmo import hmac_mmo, mmo_hash

#: ⌈f/2⌉ with f = ⌈log2 n⌉ = 281 (SEC 1 §3.4 step 2).
_HALF: Final = (N.bit_length() + 1) // 2
M_U: Final = 0x02
M_V: Final = 0x03


class AgreementError(ValueError):
    """The key agreement gave the point at infinity (SEC 1 §3.4 step 5: output "invalid")."""


def avf(point: Point) -> int:
    """The associate value of a point (SEC 1 §3.4 step 2)."""
    if point is None:
        raise AgreementError("the point at infinity has no associate value")
    return (point[0] % (1 << _HALF)) + (1 << _HALF)


def ecmqv(
    static_private: int,
    ephemeral_private: int,
    ephemeral_public: Point,
    peer_static: Point,
    peer_ephemeral: Point,
) -> bytes:
    """The shared secret Z (36 bytes) of one side; the peer's keys are already validated."""
    s = (ephemeral_private + avf(ephemeral_public) * static_private) % N
    peer = curve.add(peer_ephemeral, curve.multiply(avf(peer_ephemeral), peer_static))
    shared = curve.multiply(H * s, peer)
    if shared is None:
        raise AgreementError("ECMQV gave the point at infinity")
    return curve.x_bytes(shared)


def kdf(z: bytes) -> tuple[bytes, bytes]:
    """``(MacKey, KeyData)`` from the shared secret."""
    return mmo_hash(z + b"\x00\x00\x00\x01"), mmo_hash(z + b"\x00\x00\x00\x02")


def mac(
    mac_key: bytes, tag: int, own_id: bytes, peer_id: bytes, own_e: bytes, peer_e: bytes
) -> bytes:
    """MACU (``tag`` 0x02, from U's side) or MACV (0x03, from V's side): the sender's identity
    and ephemeral key come first."""
    return hmac_mmo(mac_key, bytes((tag,)) + own_id + peer_id + own_e + peer_e)
