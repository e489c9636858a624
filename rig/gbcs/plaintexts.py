"""Typed plaintexts of encrypted payload parts (reference/gbcs.md §1.4), through the typed layers'
own decoders and registered with :func:`rig.gbcs.protect.register_plaintext`.

* A DLMS part (Get Protected Attributes response or alert) holds an A-XDR structure with one
  value per object of the command's object list: :class:`ProtectedAttributes`, each value an
  A-XDR :class:`~rig.gbcs.dlms.Data` (registers, scaler-units, compact-array profile buffers
  typed by their own type description). The object list travels in the command only, so the
  values are in its order, not named.
* A GBZ part is the ZCL payload of its component: :func:`rig.gbcs.gbz_message.decode_plaintext`
  types it by the component's cluster, direction and command (attribute records, log and
  snapshot responses …), as if it had travelled in clear.

:func:`typed_plaintext` picks between the two from where the part sits, so the parts of a
use case with no registration are typed too; the registrations name the RTDS use cases whose
payloads carry encrypted parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rig.gbcs.codes import CODE_BY_NAME
from rig.gbcs.dlms import Data, Tag, decode_data
from rig.gbcs.errors import DecodeError
from rig.gbcs.gbz_message import Ciphered, ZclComponent, decode_plaintext
from rig.gbcs.protect import EncryptedPart, register_plaintext
from rig.gbcs.wire import Reader, require_canonical


@dataclass(frozen=True)
class ProtectedAttributes:
    """The decrypted protected attributes of a DLMS part: one value per object read."""

    values: tuple[Data, ...]

    def encode(self) -> bytes:
        """The plaintext: a structure of the values."""
        return Data(Tag.STRUCTURE, self.values).encode()

    @classmethod
    def decode(cls, plaintext: bytes) -> ProtectedAttributes:
        """Strict inverse of :meth:`encode`; DecodeError if the plaintext is another shape."""
        reader = Reader(plaintext)
        data = decode_data(reader)
        reader.expect_end("the protected attributes")
        if data.tag is not Tag.STRUCTURE or not isinstance(data.value, tuple):
            raise DecodeError(0, f"protected attributes: a {data.tag.name}, not a structure")
        obj = cls(data.value)
        require_canonical("protected attributes", plaintext, obj.encode)
        return obj


def typed_plaintext(part: EncryptedPart, plaintext: bytes) -> Any:
    """The typed plaintext of ``part``: a :class:`ZclComponent` with its body typed (GBZ) or
    :class:`ProtectedAttributes` (DLMS); DecodeError if malformed."""
    if part.zcl_header is None or part.cluster is None:
        return ProtectedAttributes.decode(plaintext)
    frame_control, sequence, command = part.zcl_header
    clear = ZclComponent(part.cluster, command, Ciphered(part.block), frame_control, sequence)
    return decode_plaintext(clear, plaintext)


#: The RTDS use cases whose payloads carry encrypted parts (§1.4): DLMS protected attributes,
#: then GBZ encrypted components.
ENCRYPTED_USE_CASES = (
    *("ECS17b", "ECS17d", "ECS17e", "ECS19", "ECS20b", "ECS20c", "ECS21a", "ECS21b", "ECS66"),
    *("ECS68", "GCS13a", "GCS14", "GCS17", "GCS18", "GCS53"),
)
for _name in ENCRYPTED_USE_CASES:
    register_plaintext(CODE_BY_NAME[_name], typed_plaintext)
