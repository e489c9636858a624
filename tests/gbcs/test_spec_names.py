"""Names from the specification in ``rig decode``'s typed view (issue 17): ZCL attribute ids named
by their component's cluster (ZSE attribute tables), DLMS protected values named by the COSEM
object of their use case's object list, ASN.1 elements paired with their GBCS field names."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rig.gbcs.tree import inspect
from rig.keys.keystore import KeyStore


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("children", ()):
        yield from _nodes(child)


def _tree(rtds: Path, keys: KeyStore, folder: str, name: str) -> list[dict[str, Any]]:
    frame = bytes.fromhex((rtds / "vectors" / folder / name).read_text().strip())
    return list(_nodes(inspect(frame, keys).to_json()["tree"]))


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
