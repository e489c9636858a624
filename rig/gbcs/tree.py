"""A readable decode tree of any GBCS input, with MAC and signature verdicts (reference/gbcs.md §1).

:func:`inspect` is the decoder behind ``rig decode``: any byte string gives a :class:`Report` or
raises :class:`~rig.gbcs.errors.DecodeError` naming the offset (absolute in the input) and the
reason. Verdicts need keys; without them they say ``not checked``.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import Any

from rig.gbcs.asn1 import Asn1Payload
from rig.gbcs.codes import HAN_ONLY_CODES, message_code_name
from rig.gbcs.cosem.payload import protected_names
from rig.gbcs.crypto import MAC_LENGTH, check_mac, kdf_from_secret, verify_signature
from rig.gbcs.dlms import CompactArray, Data, parse_cosem_datetime
from rig.gbcs.errors import DecodeError, GbcsError
from rig.gbcs.esme_tariff import CosemDate, CosemDateTime, CosemTime
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import Cra, GeneralSigning, Message, decode
from rig.gbcs.gbt import GbtBlock, Reassembler, decode_block, is_gbt
from rig.gbcs.gbz_message import ZclComponent
from rig.gbcs.gsme_tariff import ZclDate
from rig.gbcs.plaintexts import ProtectedAttributes, typed_plaintext
from rig.gbcs.protect import (
    INVALID,
    EncryptedPart,
    KeyUnavailable,
    decrypt_parts,
    overall_verdict,
    pair_secret,
    plaintext_decoder,
)
from rig.gbcs.usecases import decode_payload
from rig.gbcs.zcl_clusters import ATTRIBUTE_NAMES
from rig.keys.keystore import KeyStore

#: The ACB, which MACs every command (§1.5).
ACB = Eui64.parse("90-B3-D5-1F-30-00-00-02")
_MAX_HEX = 160


@dataclass
class Node:
    """One line of the tree: a label, a value, where it starts in the input, and children."""

    label: str
    value: str = ""
    offset: int | None = None
    children: list[Node] = field(default_factory=list)

    def add(self, label: str, value: object = "", offset: int | None = None) -> Node:
        """Append and return a child."""
        child = Node(label, _text(value), offset)
        self.children.append(child)
        return child

    def render(self, depth: int = 0) -> str:
        """Indented text, one line per node, offsets in brackets."""
        at = f"[{self.offset:4d}] " if self.offset is not None else "       "
        line = f"{at}{'  ' * depth}{self.label}" + (f": {self.value}" if self.value else "")
        return "\n".join([line, *(c.render(depth + 1) for c in self.children)])

    def to_json(self) -> dict[str, Any]:
        """Nested dicts for ``--json``."""
        out: dict[str, Any] = {"label": self.label, "value": self.value}
        if self.offset is not None:
            out["offset"] = self.offset
        if self.children:
            out["children"] = [c.to_json() for c in self.children]
        return out


@dataclass
class Report:
    """The tree and the verdicts (``mac`` and ``signature``)."""

    tree: Node
    verdicts: dict[str, str]
    message: Message | None = None

    def render(self) -> str:
        """The tree then the verdicts."""
        lines = [self.tree.render(), *(f"{k} verdict: {v}" for k, v in self.verdicts.items())]
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """For ``--json``."""
        return {"tree": self.tree.to_json(), "verdicts": self.verdicts}


def _text(value: object) -> str:
    if isinstance(value, bytes | bytearray):
        raw = bytes(value).hex().upper()
        return raw if len(raw) <= _MAX_HEX else f"{raw[:_MAX_HEX]}… ({len(value)} bytes)"
    if isinstance(value, Enum):
        return f"{value.name} ({value.value})"
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value} (0x{value:X})" if value >= 0 else str(value)
    return str(value)


def _typed(node: Node, value: object, cluster: int | None = None) -> None:
    """Children for a typed payload object, recursively (dataclasses, A-XDR data, tuples).

    ``cluster`` is the ZCL cluster of the enclosing component: attribute ids below it are shown
    with their ZSE names (a record does not know its cluster; the component does)."""
    if isinstance(value, Data):
        if isinstance(value.value, CompactArray):
            node.value = f"compact array, {len(value.value.rows)} rows"
            for i, row in enumerate(value.value.rows):
                _typed(node.add(f"[{i}] {row.tag.name.lower()}"), row)
        elif isinstance(value.value, tuple):
            for i, item in enumerate(value.value):
                _typed(node.add(f"[{i}] {item.tag.name.lower()}"), item)
        else:
            node.value = _text(value.value)
        return
    if isinstance(value, _ONE_LINE):
        node.value = str(value)
        return
    if isinstance(value, Asn1Payload) and value.names:
        _asn1(node, value)
        return
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if isinstance(value, ZclComponent):
            cluster = value.cluster
        for f in dataclasses.fields(value):
            _field(node, f.name, getattr(value, f.name), cluster)
        for name in _names(type(value)):
            node.add(name.replace("_", " "), getattr(value, name))
        return
    node.value = _text(value)


def _asn1(node: Node, payload: Asn1Payload) -> None:
    """The root element with each top-level element under its GBCS field name (an absent
    trailing OPTIONAL element is shown as absent)."""
    root = payload.root
    items = root.value if isinstance(root.value, tuple) else ()
    child = node.add("root", root.name)
    for f in dataclasses.fields(root):
        if f.name != "value":
            _field(child, f.name, getattr(root, f.name))
    for i, name in enumerate(payload.names):
        if i < len(items):
            _typed(child.add(name, items[i].name), items[i])
        else:
            child.add(name, "absent (OPTIONAL)")


@functools.cache
def _names(cls: type) -> tuple[str, ...]:
    """The properties of a typed class that name it (``name``, ``cluster_name`` …): shown beside
    its fields, so the tree carries the specification's names, not only numbers."""
    fields = {f.name for f in dataclasses.fields(cls)}
    return tuple(
        n
        for n in dir(cls)
        if (n == "name" or n.endswith("_name"))
        and n not in fields
        and isinstance(getattr(cls, n, None), property)
    )


#: Values shown on one line by their ``str``.
_ONE_LINE = (Decimal, str, Eui64, CosemDate, CosemTime, CosemDateTime, ZclDate)


def _field(node: Node, name: str, value: object, cluster: int | None = None) -> None:
    if isinstance(value, _ONE_LINE):
        node.add(name, str(value))
    elif isinstance(value, tuple):
        child = node.add(name, f"{len(value)} items")
        for i, item in enumerate(value):
            if isinstance(item, int) and name in _ATTRIBUTE_FIELDS:
                child.add(f"[{i}]", _attribute(item, cluster))
                continue
            kind = type(item).__name__ if dataclasses.is_dataclass(item) else ""
            _typed(child.add(f"[{i}]", kind), item, cluster)
    elif isinstance(value, Data) or dataclasses.is_dataclass(value):
        label = f"{name} ({value.tag.name.lower()})" if isinstance(value, Data) else name
        kind = type(value).__name__ if not isinstance(value, Data) else ""
        _typed(node.add(label, kind), value, cluster)
    elif isinstance(value, int) and name in _ATTRIBUTE_FIELDS:
        node.add(name, _attribute(value, cluster))
    else:
        node.add(name, value)


#: Fields that hold ZCL attribute ids (records and attribute lists of the general commands).
_ATTRIBUTE_FIELDS = frozenset({"attribute", "attributes", "start_attribute"})


def _attribute(attribute: int, cluster: int | None) -> str:
    """An attribute id with its ZSE name where the cluster's table has it."""
    text = _text(attribute)
    name = None if cluster is None else ATTRIBUTE_NAMES.get(cluster, {}).get(attribute)
    return text if name is None else f"{text} {name}"


def inspect(data: bytes, keys: KeyStore | None = None) -> Report:
    """Decode ``data`` (frame or GBT block) into a tree; DecodeError if malformed.

    Every encrypted payload part (DLMS protected attributes, GBZ encrypted components; found by
    :func:`rig.gbcs.protect.find_parts`) is listed under the payload, decrypted with ``keys`` and
    its plaintext decoded; the ``decryption`` verdict is ``valid``, ``INVALID`` (a GCM tag fails)
    or ``not checked (…)`` naming the key that is missing.
    """
    data = bytes(data)
    if is_gbt(data):
        return _gbt_report(decode_block(data))
    message = decode(data)
    tree = _frame_tree(data, message)
    verdicts = _verdicts(message, keys)
    decryption = _decrypt(_payload_node(tree), message, keys)
    if decryption is not None:
        verdicts["decryption"] = decryption
    return Report(tree, verdicts, message)


def inspect_blocks(blocks: list[bytes], keys: KeyStore | None = None) -> Report:
    """Reassemble GBT blocks given in any order and decode the whole message.

    DecodeError names the input (``block input N``) of a malformed, foreign or duplicate block,
    and the missing block numbers of an incomplete message; blocks that arrived after a
    higher-numbered one are reported under "out of order".
    """
    assembler = Reassembler()
    frame = None
    numbers = []
    for i, data in enumerate(blocks, start=1):
        try:
            block = decode_block(bytes(data))
            frame = assembler.add(block)
        except DecodeError as exc:
            raise DecodeError(exc.offset, f"block input {i}: {exc.reason}") from None
        numbers.append(block.number)
    if frame is None:
        detail = "no last block" if assembler.last_number is None else "missing blocks"
        raise DecodeError(
            0, f"incomplete GBT message: {detail} {assembler.missing} (received {numbers})"
        )
    report = inspect(frame, keys)
    root = Node("GBT reassembly", f"{len(blocks)} blocks, {len(frame)} bytes")
    root.add("blocks in input order", ", ".join(map(str, numbers)))
    root.add("out of order", ", ".join(map(str, assembler.out_of_order)) or "none")
    root.children.append(report.tree)
    return Report(root, report.verdicts, report.message)


def _payload_node(tree: Node) -> Node:
    """The ``payload`` node of a frame tree."""
    signing = next(c for c in tree.children if c.label.startswith("General-Signing"))
    return next(c for c in signing.children if c.label == "payload")


def _decrypt(node: Node, message: Message, keys: KeyStore | None) -> str | None:
    """Each encrypted part's verdict and plaintext under ``node``; the overall verdict, or None
    if the payload has no encrypted part (§1.4, :mod:`rig.gbcs.protect`)."""
    results = decrypt_parts(message.signing, keys)
    for result in results:
        part = result.part
        at = None if node.offset is None else node.offset + part.offset
        child = node.add(f"encrypted {part.label}", f"{len(part.block)} bytes", at)
        if result.plaintext is None:
            child.add("decryption", _PART_VERDICTS.get(result.verdict, result.verdict))
            continue
        child.add("decryption", "decrypted")
        _plaintext(child, message.signing.message_code, part, result.plaintext)
    return overall_verdict(results) if results else None


#: A part's line for the overall verdicts that need rewording.
_PART_VERDICTS = {INVALID: "authentication tag INVALID"}


def _plaintext(node: Node, message_code: int, part: EncryptedPart, plaintext: bytes) -> None:
    """The plaintext typed: by the decoder registered for the message code, else by the typed
    layers (:func:`rig.gbcs.plaintexts.typed_plaintext`); its bytes if neither reads it."""
    decoder = plaintext_decoder(message_code) or typed_plaintext
    try:
        typed = decoder(part, plaintext)
    except DecodeError as exc:
        node.add("plaintext", plaintext)
        node.add("not decoded", exc.reason)
        return
    typed_node = node.add("typed", type(typed).__name__)
    _typed(typed_node, typed)
    if isinstance(typed, ProtectedAttributes):
        _name_values(typed_node, protected_names(message_code))


def _name_values(node: Node, names: tuple[str, ...]) -> None:
    """Each protected value labelled with the COSEM object it is the value of, where the use
    case's protected object list is known and has one object per value."""
    (values,) = (c for c in node.children if c.label == "values")
    if len(names) == len(values.children):
        for child, name in zip(values.children, names, strict=True):
            child.label = f"{child.label} {name}"


def _gbt_report(block: GbtBlock) -> Report:
    root = Node("GBT block (General Block Transfer)")
    root.add("CRA flag", block.cra, 2)
    root.add("originator counter", block.counter, 3)
    root.add("originator system title", str(block.originator), 12)
    root.add("recipient system title", str(block.recipient), 21)
    root.add(
        "message code", f"0x{block.message_code:04X} {message_code_name(block.message_code)}", 31
    )
    control = root.add("block control", "", 41)
    control.add("last block", block.last)
    control.add("streaming", block.streaming)
    control.add("window", block.window)
    root.add("block number", block.number, 42)
    root.add("block number ack", block.ack, 44)
    root.add("block data", block.data, 47)
    verdict = "not checked (a block; reassemble the message to check it)"
    return Report(root, {"mac": verdict, "signature": verdict})


def _frame_tree(data: bytes, message: Message) -> Node:
    s = message.signing
    apdu = 0 if message.mac is None else len(data) - MAC_LENGTH - len(s.encode())
    title = (
        "GBCS message (MAC Header + General-Signing)"
        if message.mac
        else "GBCS message (General-Signing)"
    )
    root = Node(title, f"{len(data)} bytes", 0)
    if message.mac is not None:
        header = root.add("MAC Header (general-ciphering)", "", 0)
        header.add("ciphered-content length", 5 + len(s.encode()) + MAC_LENGTH, 7)
        header.add("security control", "0x11 (authentication only, suite 1)", apdu - 5)
        header.add("invocation counter", 0, apdu - 4)
    gs = root.add("General-Signing (grouping header)", "", apdu)
    gs.add("CRA flag", s.cra, apdu + 2)
    gs.add("originator counter", s.counter, apdu + 3)
    gs.add("originator system title", str(s.originator), apdu + 12)
    gs.add("recipient system title", str(s.recipient), apdu + 21)
    gs.add("date-time", _date_time(s.date_time), apdu + 29)
    other = gs.add("other information", "", apdu + 30 + (12 if s.date_time else 0))
    other.add("message code", f"0x{s.message_code:04X} {message_code_name(s.message_code)}")
    for name in (
        "supplementary_remote_party_id",
        "supplementary_remote_party_counter",
        "supplementary_originator_counter",
        "supplementary_remote_party_ka_certificate",
    ):
        value = getattr(s, name)
        if value is not None:
            other.add(name.replace("_", " "), str(value) if isinstance(value, Eui64) else value)
    start = apdu + 1 + len(s.signed_data()) - len(s.payload)
    payload = gs.add("payload", f"{len(s.payload)} bytes", start)
    try:
        typed = decode_payload(s.message_code, s.payload, s.cra)
    except DecodeError as exc:
        raise DecodeError(start + exc.offset, f"payload: {exc.reason}") from None
    payload.value = f"{type(typed).__name__}, {len(s.payload)} bytes"
    _typed(payload, typed)
    if not s.has_signature_field:
        gs.add("signature", "absent (RTDS pre-command form)")
    elif s.signature is None:
        gs.add("signature", "null (00)")
    else:
        gs.add("signature", s.signature, start + len(s.payload) + 1)
    if message.mac is not None:
        root.add("MAC", message.mac, len(data) - MAC_LENGTH)
    return root


def _date_time(raw: bytes | None) -> str:
    if raw is None:
        return "absent"
    try:
        return f"{raw.hex().upper()} ({parse_cosem_datetime(raw).isoformat()})"
    except DecodeError:
        return f"{raw.hex().upper()} (not a specific moment)"


def _verdicts(message: Message, keys: KeyStore | None) -> dict[str, str]:
    s = message.signing
    if keys is None:
        mac = "not checked (no keys)" if message.mac is not None else "absent"
        sig = "not checked (no keys)" if s.signature is not None else "absent"
        return {"mac": mac, "signature": sig}
    return {"mac": _mac_verdict(message, keys), "signature": _signature_verdict(s, keys)}


def mac_key_pair(signing: GeneralSigning) -> tuple[Eui64, Eui64]:
    """The two parties whose KA keys MAC a message (either private key verifies it; §1.4).

    Commands: the ACB and the target device; responses and alerts: the recipient and the
    originating device. HAN-only ``SME.C.PPMID-GSME`` messages (PCS01/PCS02 and their responses,
    ``HAN_ONLY_CODES``) never pass the ACB: the PPMID originates the command and the GSME answers
    it, so the pair is the two devices named in the header, originator and recipient (GBCS §6
    message categories; docs/gbcs-codec.md "MAC keys of HAN-only messages").
    """
    if signing.message_code in HAN_ONLY_CODES:
        return signing.originator, signing.recipient
    if signing.cra is Cra.COMMAND:
        return ACB, signing.recipient
    return signing.recipient, signing.originator


def _mac_verdict(message: Message, keys: KeyStore) -> str:
    """``valid`` / ``INVALID`` under :func:`mac_key_pair`, from whichever side's private key the
    store holds (ECDH is symmetric), else ``not checked`` naming the private keys it needs."""
    if message.mac is None:
        return "absent"
    s = message.signing
    party, device = mac_key_pair(s)
    try:
        z = pair_secret(keys, party, device)
    except KeyUnavailable:
        return f"not checked (needs the KA private key of {party} or {device})"
    key = kdf_from_secret(z, s.originator, s.cra, s.counter, s.recipient)
    try:
        check_mac(key, s.originator, s.encode(), message.mac)
    except GbcsError:
        return "INVALID"
    return "valid"


def _signature_verdict(s: GeneralSigning, keys: KeyStore) -> str:
    if s.signature is None:
        return "absent"
    try:
        public = keys.ds_public(s.originator)
    except (KeyError, ValueError):
        return f"not checked (no DS key for {s.originator})"
    try:
        verify_signature(public, s.signed_data(), s.signature)
    except GbcsError:
        return "INVALID"
    return "valid"
