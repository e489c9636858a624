"""One typed view of every payload (issue 17): ``rig decode`` shows every shared vector's payload
and every encrypted part's plaintext typed, never as a raw blob; random objects of the declarative
layers (COSEM schemas, ZCL layouts, ASN.1 trees) go object -> description -> object -> bytes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from gbcs_testdata import VECTORS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rig.gbcs import protect, zcl
from rig.gbcs.asn1 import Asn1Payload, Der
from rig.gbcs.commands import decode as decode_command
from rig.gbcs.cosem.classes import CLASSES
from rig.gbcs.cosem.payload import CosemAccess, DlmsRequest
from rig.gbcs.cosem.schema import ArrayOf, Boolean, InOctets, Scalar, Schema, Struct
from rig.gbcs.describe import build_object, to_value
from rig.gbcs.dlms import _INTEGERS, AccessKind, AccessSpec, Data, Tag
from rig.gbcs.frame import decode
from rig.gbcs.gbz_message import GbzCommand, ZclComponent
from rig.gbcs.tree import inspect
from rig.gbcs.zcl_clusters import COMMANDS, GENERAL
from rig.keys.keystore import KeyStore


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("children", ()):
        yield from _nodes(child)


@pytest.mark.shared
def test_every_vector_decodes_typed_with_typed_plaintexts(rtds_keys: KeyStore) -> None:
    """``rig decode --json``'s tree: no RawPayload or opaque ZCL body, every encrypted part
    decrypted into a typed object by the decoder registered for its use case."""
    parts = 0
    for path in VECTORS:
        frame = bytes.fromhex(path.read_text().strip())
        nodes = list(_nodes(inspect(frame, rtds_keys).to_json()["tree"]))
        (payload,) = (n for n in nodes if n["label"] == "payload")
        assert not payload["value"].startswith("RawPayload"), path.name
        assert not any(n["value"] == "Opaque" for n in nodes), path.name
        for node in (n for n in nodes if n["label"].startswith("encrypted ")):
            parts += 1
            labels = [c["label"] for c in node["children"]]
            assert "typed" in labels and "not decoded" not in labels, path.name
            code = decode(frame).signing.message_code
            assert protect.plaintext_decoder(code) is not None, path.name
    assert parts == 27


@pytest.mark.shared
def test_cli_json_names_the_payload(rtds: Path) -> None:
    (path,) = (rtds / "vectors").glob("*/GCS13a_4.1.1_SUCCESS_RELIABLE_GSME_RESPONSE_GBCS.HEX")
    keys = str(rtds / "keystore")
    args = [path.read_text().strip(), "--keys", keys, "--json"]
    result = CliRunner().invoke(decode_command, args)
    assert result.exit_code == 0, result.output
    values = {(n["label"], n["value"]) for n in _nodes(json.loads(result.output)["tree"])}
    assert ("cluster name", "Metering") in values
    assert ("command name", "ReadAttributesResponse") in values
    assert ("typed", "ZclComponent") in values


# --- object -> description -> object -> bytes (hypothesis) ------------------------------------

_DATES = ("07DE0A1BFF000000", "07DF031DFF000000", "FFFF0101FF000000")


def _integers(tag: Tag) -> st.SearchStrategy[int]:
    size, signed = _INTEGERS[tag]
    low = -(1 << (8 * size - 1)) if signed else 0
    return st.integers(low, (1 << (8 * size - int(signed))) - 1)


def _schema_values(schema: Schema) -> st.SearchStrategy[Any]:
    """Values of a COSEM schema, from its description."""
    if isinstance(schema, Struct):
        return st.builds(schema.type, *(_schema_values(m) for m in schema.members.values()))
    if isinstance(schema, ArrayOf):
        return st.lists(_schema_values(schema.item), max_size=3).map(tuple)
    if isinstance(schema, Boolean):
        return st.booleans()
    if isinstance(schema, InOctets):
        if schema.size == 6:
            return st.binary(min_size=6, max_size=6).map(schema.hint)
        samples = [bytes.fromhex(d + "00000000")[: schema.size] for d in _DATES]
        if schema.size == 4:
            samples = [bytes.fromhex(t) for t in ("00000000", "173B3B00", "0C1E0000")]
        return st.sampled_from([schema.parse(s) for s in samples])
    if isinstance(schema, Scalar):
        if schema.tag is Tag.NULL:
            return st.none()
        if schema.tag is Tag.BIT_STRING:
            return st.text("01", max_size=16)
        if schema.tag in _INTEGERS:
            return _integers(schema.tag)
        return st.binary(max_size=12)
    return st.one_of(
        _integers(Tag.LONG_UNSIGNED).map(Data.long_unsigned),
        st.binary(max_size=8).map(Data.octet_string),
    )


_MEMBERS = [
    (class_id, index, schema)
    for class_id, cosem_class in CLASSES.items()
    for index, (_, schema) in cosem_class.attributes.items()
]


@st.composite
def _cosem_access(draw: st.DrawFn) -> CosemAccess:
    class_id, index, schema = draw(st.sampled_from(_MEMBERS))
    obis = draw(st.binary(min_size=6, max_size=6))
    spec = AccessSpec(AccessKind.SET, class_id, obis, index)
    return CosemAccess(spec, draw(_schema_values(schema)))


def _codec_values(codec: Any) -> st.SearchStrategy[Any]:
    """Values of a ZCL codec of the basic kinds; TypeError for another (custom records)."""
    if isinstance(codec, type) and issubclass(codec, zcl.Struct):
        return _struct_values(codec)
    if isinstance(codec, zcl.Int):
        bits = 8 * codec.size
        low = -(1 << (bits - 1)) if codec.signed else 0
        return st.integers(low, (1 << (bits - int(codec.signed))) - 1)
    if isinstance(codec, zcl.OctetString):
        return st.binary(max_size=12)
    if isinstance(codec, zcl.Fixed):
        return st.binary(min_size=codec.size, max_size=codec.size)
    if isinstance(codec, zcl.Rest):
        return st.binary(max_size=8)
    if isinstance(codec, zcl.Many):
        return st.lists(_codec_values(codec.item), max_size=3).map(tuple)
    if isinstance(codec, zcl.Opt):
        return _codec_values(codec.item)
    raise TypeError(type(codec).__name__)


def _struct_values(layout: type[zcl.Struct]) -> st.SearchStrategy[Any]:
    plain = {
        name: _codec_values(codec)
        for name, codec in layout.LAYOUT
        if not isinstance(codec, zcl.Switch)
    }

    @st.composite
    def build(draw: st.DrawFn) -> Any:
        values = {name: draw(strategy) for name, strategy in plain.items()}
        for name, codec in layout.LAYOUT:
            if isinstance(codec, zcl.Switch):
                values[codec.on] = draw(st.sampled_from([*codec.cases, 99]))
                values[name] = draw(_codec_values(codec.pick(values)))
            elif isinstance(codec, zcl.Many) and codec.count is not None:
                values[codec.count] = len(values[name])
        return layout(**values)

    return build()


def _supported(layout: type[zcl.Struct]) -> bool:
    if not issubclass(layout, zcl.Struct):
        return False  # the tariff publish commands of rig.gbcs.gsme_tariff (own tests)
    try:
        _struct_values(layout)
        for _, codec in layout.LAYOUT:
            cases = codec.cases.values() if isinstance(codec, zcl.Switch) else (codec,)
            for case in cases:
                _codec_values(case)
    except TypeError:
        return False
    return True


_COMMANDS = [
    (cluster, command, 0x01 | (0x08 if s2c else 0), layout)
    for (cluster, s2c, command), layout in COMMANDS.items()
    if _supported(layout)
] + [(0x0702, command, 0x00, layout) for command, layout in GENERAL.items() if _supported(layout)]


@st.composite
def _gbz_command(draw: st.DrawFn) -> GbzCommand:
    count = draw(st.integers(1, 3))
    components = []
    for i in range(count):
        cluster, command, frame_control, layout = draw(st.sampled_from(_COMMANDS))
        body = draw(_struct_values(layout))
        components.append(ZclComponent(cluster, command, body, frame_control, i))
    return GbzCommand(tuple(components))


_DER_LEAVES = st.one_of(
    st.integers(-(1 << 40), 1 << 40).map(lambda v: Der(0x02, v)),
    st.integers(0, 20).map(lambda v: Der(0x0A, v)),
    st.binary(max_size=10).map(lambda v: Der(0x04, v)),
    st.binary(max_size=6).map(lambda v: Der(0x06, v)),
    st.just(Der(0x05, None)),
)
_DER = st.recursive(
    _DER_LEAVES,
    lambda inner: st.builds(
        Der, st.sampled_from([0x30, 0x31, 0xA0, 0xA1]), st.lists(inner, max_size=3).map(tuple)
    ),
    max_leaves=8,
)


def _round_trip(obj: Any) -> None:
    description = json.loads(json.dumps(to_value(obj)))
    rebuilt = build_object(type(obj), description)
    assert rebuilt == obj
    assert rebuilt.encode(7) == obj.encode(7)


_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(st.lists(_cosem_access(), min_size=1, max_size=3))
def test_cosem_requests_round_trip_through_descriptions(accesses: list[CosemAccess]) -> None:
    _round_trip(DlmsRequest(0x00B7, tuple(accesses)))


@_SETTINGS
@given(_gbz_command())
def test_gbz_commands_round_trip_through_descriptions(command: GbzCommand) -> None:
    _round_trip(command)


@_SETTINGS
@given(_DER.filter(lambda d: isinstance(d.value, tuple)))
def test_asn1_trees_round_trip_through_descriptions(root: Der) -> None:
    _round_trip(Asn1Payload(root))


def test_most_zcl_layouts_are_exercised() -> None:
    assert len(_COMMANDS) > 0.7 * (len(COMMANDS) + len(GENERAL))
