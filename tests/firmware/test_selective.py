"""Selective access on profile buffer reads (firmware_stubs/selective.py; IEC 62056-6-2 §4.3.6):
the ESME returns only the entries a range or entry descriptor selects."""

from __future__ import annotations

from dataclasses import replace

import pytest
from firmware_parties import ESME, Supplier
from hypothesis import given
from hypothesis import strategies as st
from shared_dir import SHARED_DIR, require_shared

from firmware_stubs.esme import Esme
from firmware_stubs.exemplars import table
from firmware_stubs.selective import ENTRY, RANGE, select
from rig.gbcs.cosem.payload import DlmsRequest, DlmsResponse
from rig.gbcs.dlms import CompactArray, Data, Selection, Tag, TypeDescription
from rig.gbcs.frame import decode
from rig.keys.keystore import KeyStore

ECS23 = 0x0039
U32 = Tag.DOUBLE_LONG_UNSIGNED


def _ecs23() -> DlmsRequest:
    folder = require_shared(SHARED_DIR / "gbcs-rtds" / "vectors" / "4.10_ECS23")
    text = (folder / "ECS23_4.10_SUCCESS_COMMAND_GBCS.HEX").read_text().strip()
    return DlmsRequest.decode(ECS23, decode(bytes.fromhex(text)).signing.payload)


def _rtds_rows() -> tuple[Data, ...]:
    [ex] = table()[ECS23]
    buffer = DlmsResponse.decode(ECS23, ex.response).results[4].to_data()
    return buffer.value.rows  # type: ignore[union-attr]


def _read(esme: Esme, supplier: Supplier, selection: Selection, now: float) -> tuple[Data, ...]:
    """ECS23 with its buffer read's selection replaced; the buffer rows the ESME returns."""
    request = _ecs23()
    accesses = list(request.accesses)
    accesses[4] = replace(accesses[4], spec=replace(accesses[4].spec, selection=selection))
    command = supplier.command(ESME, replace(request, accesses=tuple(accesses)), ECS23)
    [(_, frame)] = esme.handle(command, now)
    buffer = supplier.open(frame)[1].results[4].to_data()  # type: ignore[attr-defined]
    return buffer.value.rows


def test_a_range_descriptor_returns_only_the_entries_in_range(
    pki: KeyStore, supplier: Supplier
) -> None:
    """The RTDS ECS23 range returns all 49 RTDS entries; a range over entries 10-12 (by UTC
    time, the restricting column) returns those three."""
    rows = _rtds_rows()
    esme = Esme.from_keys(ESME, pki)
    rtds = _ecs23().accesses[4].spec.selection
    assert rtds is not None and rtds.selector == RANGE
    assert _read(esme, supplier, rtds, 1.0) == rows
    restricting, _, _, selected = rtds.parameters.value  # type: ignore[misc]
    narrow = Data.structure(restricting, rows[9].value[0], rows[11].value[0], selected)  # type: ignore[index]
    assert _read(esme, supplier, Selection(RANGE, narrow), 2.0) == rows[9:12]


def test_an_entry_descriptor_returns_the_entries_and_values_asked(
    pki: KeyStore, supplier: Supplier
) -> None:
    """Entries 2-4, all values; then entries 5 to the last, second value only."""
    rows = _rtds_rows()
    esme = Esme.from_keys(ESME, pki)

    def entries(first: int, last: int, first_value: int, last_value: int) -> Selection:
        sizes = ((U32, first), (U32, last), (Tag.LONG_UNSIGNED, first_value))
        items = (*(Data(t, v) for t, v in sizes), Data(Tag.LONG_UNSIGNED, last_value))
        return Selection(ENTRY, Data.structure(*items))

    assert _read(esme, supplier, entries(2, 4, 1, 0), 1.0) == rows[1:4]
    second = _read(esme, supplier, entries(5, 0, 2, 2), 2.0)
    assert second == tuple(Data.structure(r.value[1]) for r in rows[4:])  # type: ignore[index]


def _buffer(times: list[int]) -> Data:
    description = TypeDescription(Tag.STRUCTURE, (TypeDescription(U32), TypeDescription(U32)))
    rows = tuple(Data.structure(Data(U32, t), Data(U32, i)) for i, t in enumerate(times))
    return Data(Tag.COMPACT_ARRAY, CompactArray(description, rows))


@given(
    times=st.lists(st.integers(0, 1000), max_size=30).map(sorted),
    low=st.integers(0, 1000),
    span=st.integers(0, 1000),
)
def test_range_selection_keeps_exactly_the_entries_in_range(
    times: list[int], low: int, span: int
) -> None:
    clock = Data.structure(
        Data(Tag.LONG_UNSIGNED, 8),
        Data.octet_string(bytes(6)),
        Data(Tag.INTEGER, 2),
        Data(Tag.LONG_UNSIGNED, 0),
    )
    params = Data.structure(clock, Data(U32, low), Data(U32, low + span), Data(Tag.ARRAY, ()))
    kept = select(_buffer(times), Selection(RANGE, params)).value.rows  # type: ignore[union-attr]
    assert [r.value[0].value for r in kept] == [t for t in times if low <= t <= low + span]  # type: ignore[index]


@pytest.mark.parametrize("selector", [3, RANGE])
def test_an_unknown_selector_or_shape_returns_the_buffer(selector: int) -> None:
    buffer = _buffer([1, 2, 3])
    assert select(buffer, Selection(selector, Data(Tag.ARRAY, ()))) == buffer


def test_descriptors_of_the_wrong_shape_select_nothing_and_raise_nothing() -> None:
    """An entry descriptor whose parameters are not four integers, or a row that is not a
    structure, gives the buffer as it is (the keyed fuzz found a TypeError out of the ESME)."""
    rows = (Data(Tag.STRUCTURE, (Data(U32, 1), Data(U32, 2))), Data(U32, 5))
    buffer = Data(Tag.ARRAY, rows)
    nested = Data(Tag.STRUCTURE, (Data(U32, 1),))
    odd = Selection(ENTRY, Data(Tag.STRUCTURE, (nested, Data(U32, 2), Data(U32, 1), Data(U32, 1))))
    assert select(buffer, odd) == buffer
    one_column = Selection(ENTRY, Data(Tag.STRUCTURE, tuple(Data(U32, n) for n in (1, 2, 2, 2))))
    assert select(buffer, one_column).value == (Data(Tag.STRUCTURE, (Data(U32, 2),)), Data(U32, 5))
