"""Names from the specification in ``rig decode``'s typed view (issue 17): ZCL attribute ids named
by their component's cluster (ZSE attribute tables), DLMS protected values named by the COSEM
object of their use case's object list, ASN.1 elements paired with their GBCS field names."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gbcs_testdata import VECTORS

from rig.gbcs.cosem.accesses import PROTECTED_MEMBERS
from rig.gbcs.cosem.payload import protected_names
from rig.gbcs.dlms import AccessRequest, decode_apdu
from rig.gbcs.frame import decode
from rig.gbcs.tree import inspect
from rig.keys.keystore import KeyStore


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("children", ()):
        yield from _nodes(child)


def _tree_of(path: Path, keys: KeyStore) -> list[dict[str, Any]]:
    """Every node of ``rig decode --json``'s tree of the vector at ``path``."""
    return list(_nodes(inspect(bytes.fromhex(path.read_text().strip()), keys).to_json()["tree"]))


def _tree(rtds: Path, keys: KeyStore, folder: str, name: str) -> list[dict[str, Any]]:
    return _tree_of(rtds / "vectors" / folder / name, keys)


@pytest.mark.shared
@pytest.mark.parametrize(
    ("folder", "name", "expected"),
    [
        (
            "4.1.1_GCS13a",
            "GCS13a_4.1.1_SUCCESS_RELIABLE_GSME_RESPONSE_GBCS.HEX",
            {"CurrentSummationDelivered", "Divisor", "Multiplier", "UnitOfMeasure"},
        ),
        (
            "4.3_GCS14",
            "GCS14_4.3_SUCCESS_RELIABLE_GSME_RESPONSE_GBCS.HEX",
            {"CreditRemaining", "DebtAmount1"},
        ),
        (
            "6.2.8_GCS21a",
            "GCS21a_6.2.8_SUCCESS_RESPONSE_GBCS.HEX",
            {"CalorificValue", "ConversionFactor", "UncontrolledFlowThreshold"},
        ),
    ],
)
def test_zcl_attribute_records_carry_their_cluster_names(
    rtds: Path, rtds_keys: KeyStore, folder: str, name: str, expected: set[str]
) -> None:
    """Attribute records of a decrypted Read Attributes Response name their attributes by the
    component's cluster; every attribute id of the response is named."""
    nodes = _tree(rtds, rtds_keys, folder, name)
    values = [n["value"] for n in nodes if n["label"] == "attribute"]
    assert values and all(not v.endswith(")") for v in values), values
    assert expected <= {v.rsplit(" ", 1)[1] for v in values}


@pytest.mark.shared
def test_read_attributes_lists_are_named_per_component(rtds: Path, rtds_keys: KeyStore) -> None:
    """A Read Attributes command's attribute ids are named by each component's own cluster:
    GCS21m reads Basic's and Metering's attributes in one command."""
    nodes = _tree(rtds, rtds_keys, "6.2.4_GCS21m", "GCS21m_6.2.4_SUCCESS_COMMAND_GBCS.HEX")
    lists = [n for n in nodes if n["label"] == "attributes"]
    names = [[c["value"].rsplit(" ", 1)[1] for c in n["children"]] for n in lists]
    assert names == [
        ["ManufacturerName", "ModelIdentifier"],
        ["SupplyDepletionState", "SupplyTamperState"],
    ]


_PROTECTED_READS = ("ECS17b", "ECS17d", "ECS17e", "ECS19", "ECS20b", "ECS20c", "ECS21a")
_PROTECTED_READS += ("ECS21b", "ECS66")


@pytest.mark.shared
def test_protected_values_are_named_by_their_cosem_object(rtds_keys: KeyStore) -> None:
    """Each decrypted value of a protected read's response is labelled with the COSEM object of
    the use case's protected object list (ECS20c's two profiles in order)."""
    named = {}
    for path in VECTORS:
        use_case = path.name.split("_")[0]
        if use_case not in _PROTECTED_READS or "SUCCESS_RESPONSE" not in path.name:
            continue
        nodes = list(
            _nodes(inspect(bytes.fromhex(path.read_text().strip()), rtds_keys).to_json()["tree"])
        )
        (values,) = (n for n in nodes if n["label"] == "values")
        named[use_case] = [c["label"] for c in values["children"]]
    assert set(named) == set(_PROTECTED_READS)
    assert named["ECS17b"] == ["[0] Data 0-0:94.44.34.10.value"]
    assert named["ECS20c"] == [
        "[0] Profile generic 0-0:98.1.0.255.buffer",
        "[1] Profile generic 0-0:98.1.1.255.buffer",
    ]


@pytest.mark.shared
def test_protected_object_lists_match_the_rtds_commands() -> None:
    """The table naming the values is the object list each RTDS command carries (class, logical
    name, attribute of every ``get_protected_attributes`` target)."""
    for path in VECTORS:
        if "COMMAND" not in path.name or path.name.split("_")[0] not in _PROTECTED_READS:
            continue
        signing = decode(bytes.fromhex(path.read_text().strip())).signing
        apdu = decode_apdu(signing.payload)
        assert isinstance(apdu, AccessRequest)
        (target,) = (d for s, d in zip(apdu.specs, apdu.data, strict=True) if s.class_id == 30)
        objects = tuple(
            (o.value[0].value, o.value[1].value, o.value[2].value) for o in target.value[0].value
        )
        members = PROTECTED_MEMBERS[signing.message_code]
        assert objects == tuple((m[1], m[2], m[3]) for m in members), path.name
        assert protected_names(signing.message_code)


@pytest.mark.shared
@pytest.mark.parametrize(
    ("folder", "name", "expected"),
    [
        (
            "11.3_CS06",
            "CS06_11.3_FUTURE_DATED_SUCCESS_COMMAND_GBCS.HEX",
            {
                "manufacturer_image_hash": "OCTET STRING",
                "originator_counter": "INTEGER",
                "execution_date_time": "GeneralizedTime",
            },
        ),
        (
            "11.3_CS06",
            "CS06_11.3_IMMEDIATE_SUCCESS_COMMAND_GBCS.HEX",
            {
                "manufacturer_image_hash": "OCTET STRING",
                "originator_counter": "INTEGER",
                "execution_date_time": "absent (OPTIONAL)",
            },
        ),
        ("6.17_CS02c", "CS02c_6.17_SUCCESS_COMMAND_GBCS.HEX", {"key_usage": "BIT STRING"}),
        (
            "6.17_CS02c",
            "CS02c_6.17_SUCCESS_RESPONSE_GBCS.HEX",
            {
                "certification_request_info": "SEQUENCE",
                "signature_algorithm": "SEQUENCE",
                "signature": "BIT STRING",
            },
        ),
    ],
)
def test_asn1_elements_are_paired_with_their_field_names(
    rtds: Path, rtds_keys: KeyStore, folder: str, name: str, expected: dict[str, str]
) -> None:
    """The root's top-level elements appear under GBCS's field names, each with its own type
    and value, instead of a separate list of names."""
    nodes = _tree(rtds, rtds_keys, folder, name)
    (root,) = (n for n in nodes if n["label"] == "root")
    paired = {c["label"]: c["value"] for c in root["children"] if c["label"] in expected}
    assert paired == expected
    assert not any(n["label"] == "names" for n in nodes)
