"""The SRV matrix table against its sources: domain.md §7.3 and the DUIS 5.4 schema."""

from __future__ import annotations

import re

from rig.duis.srv_matrix import DEVICE_USE_CASES, SRV_MATRIX, Role
from rig.duis.xsd import DUIS_XSD
from rig.gbcs.usecases import MESSAGE_CODES


def test_command_variants_match_the_schema_comments() -> None:
    text = DUIS_XSD.read_text()
    start = text.index('<xs:simpleType name="ServiceReferenceVariant">')
    block = text[start : text.index("</xs:simpleType>", start)]
    comments = dict(re.findall(r'value="([0-9.]+)"/>\s*<!--\s*CV = ([0-9, ]+?)\s*-->', block))
    for srv, info in SRV_MATRIX.items():
        expected = {int(v) for v in comments[srv].split(",")}
        assert {int(v) for v in info.command_variants} == expected, srv


def test_rows_from_the_reference() -> None:
    assert len(SRV_MATRIX) == 31
    assert SRV_MATRIX["7.1"].roles == {Role.IMPORT_SUPPLIER}
    assert SRV_MATRIX["6.7"].roles == {Role.GAS_SUPPLIER}
    assert Role.OTHER_USER in SRV_MATRIX["8.11"].roles
    assert SRV_MATRIX["11.1"].non_device and not SRV_MATRIX["11.1"].on_demand
    assert not SRV_MATRIX["2.2"].critical and SRV_MATRIX["7.2"].critical


def test_every_use_case_has_a_message_code() -> None:
    for srv, by_type in DEVICE_USE_CASES.items():
        assert srv in SRV_MATRIX
        for names in by_type.values():
            assert all(name in MESSAGE_CODES for name in names), names
