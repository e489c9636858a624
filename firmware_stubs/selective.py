"""Selective access to a profile generic buffer (class 7, attribute 2; IEC 62056-6-2 §4.3.6).

A GET-with-selection of a buffer carries one of two access selectors, already decoded as A-XDR
data (:class:`rig.gbcs.dlms.Selection`):

* **1, range descriptor**: ``structure {restricting_object, from_value, to_value,
  selected_values}``. The restricting object is a capture object definition ``{class_id,
  logical_name, attribute_index, data_index}``; the entries kept are those whose value in that
  column lies in ``[from_value, to_value]``. The column is the capture object's position in the
  profile's ``capture_objects`` (attribute 3) when the device holds them, else the first (the
  clock or UTC time of every RTDS profile read, [ASSUMED]).
* **2, entry descriptor**: ``structure {from_entry, to_entry, from_selected_value,
  to_selected_value}``, 1-based, 0 meaning "to the last" for ``to_entry`` and
  ``to_selected_value``.

``selected_values`` (an array of capture object definitions; empty: every column) and the
selected-value range pick the columns kept. The buffer may be an array of structures or a
compact-array (GBCS profile reads); the answer keeps its form.
"""

from __future__ import annotations

from dataclasses import replace

from rig.gbcs.dlms import CompactArray, Data, Selection, Tag

RANGE, ENTRY = 1, 2
#: A COSEM date-time's day-of-week byte (IEC 62056-6-2 §4.1.6.1): not part of its order.
_DAY_OF_WEEK = 4
_DATE_TIME_LENGTH = 12


def _order(data: Data) -> object:
    """A value to compare entries by: the integer, or a date-time's bytes without its
    day-of-week (year, month, day, hour … compare in byte order)."""
    value = data.value
    if isinstance(value, bytes) and len(value) == _DATE_TIME_LENGTH:
        return value[:_DAY_OF_WEEK] + value[_DAY_OF_WEEK + 1 :]
    return value


def _within(value: object, low: object, high: object) -> bool:
    """``low <= value <= high`` for values of one kind (an entry of another kind is not)."""
    kinds = {type(v) for v in (value, low, high)}
    if len(kinds) != 1 or not kinds <= {int, bytes}:
        return False
    return low <= value <= high  # type: ignore[operator]


def _definition(data: Data) -> tuple[object, ...]:
    """A capture object definition without its data index: (class id, logical name, attribute)."""
    items = data.value if isinstance(data.value, tuple) else ()
    return tuple(item.value for item in items[:3])


def _column(restricting: Data, capture_objects: Data | None) -> int:
    """The buffer column of the restricting object (first column if not found)."""
    if capture_objects is not None and isinstance(capture_objects.value, tuple):
        wanted = _definition(restricting)
        for i, item in enumerate(capture_objects.value):
            if _definition(item) == wanted:
                return i
    return 0


def _columns(selected: Data, capture_objects: Data | None) -> tuple[int, ...] | None:
    """The columns ``selected_values`` names (None: every column)."""
    if not isinstance(selected.value, tuple) or not selected.value:
        return None
    return tuple(_column(item, capture_objects) for item in selected.value)


def _rows(buffer: Data) -> tuple[Data, ...]:
    value = buffer.value
    if isinstance(value, CompactArray):
        return value.rows
    return value if isinstance(value, tuple) else ()


def _cut(row: Data, columns: tuple[int, ...]) -> Data:
    """``row`` cut to the ``columns`` it has (a row that is not a structure stays as it is)."""
    if not isinstance(row.value, tuple):
        return row
    return Data(Tag.STRUCTURE, tuple(row.value[c] for c in columns if c < len(row.value)))


def _rebuilt(buffer: Data, rows: list[Data], columns: tuple[int, ...] | None) -> Data:
    """``buffer`` holding ``rows``, each cut to ``columns``, in the buffer's own form."""
    if columns is not None:
        rows = [_cut(row, columns) for row in rows]
    value = buffer.value
    if isinstance(value, CompactArray):
        description = value.description
        if columns is not None:
            description = replace(description, items=tuple(description.items[c] for c in columns))
        return Data(Tag.COMPACT_ARRAY, CompactArray(description, tuple(rows)))
    return Data(Tag.ARRAY, tuple(rows))


def select(buffer: Data, selection: Selection, capture_objects: Data | None = None) -> Data:
    """The entries (and columns) of ``buffer`` that ``selection`` asks for; the buffer as it
    is for a selector this module does not know or parameters of the wrong shape."""
    params = selection.parameters.value
    if not isinstance(params, tuple) or len(params) != 4:
        return buffer
    rows = list(_rows(buffer))
    if selection.selector == RANGE:
        restricting, low, high, selected = params
        at = _column(restricting, capture_objects)
        kept = [
            row
            for row in rows
            if isinstance(row.value, tuple)
            and at < len(row.value)
            and _within(_order(row.value[at]), _order(low), _order(high))
        ]
        return _rebuilt(buffer, kept, _columns(selected, capture_objects))
    if selection.selector == ENTRY:
        values = [p.value or 0 for p in params]
        numbers = [n for n in values if isinstance(n, int) and not isinstance(n, bool)]
        if len(numbers) != len(values):
            return buffer  # entry descriptor: four unsigned integers (IEC 62056-6-2, class 7)
        first, last, first_value, last_value = numbers
        kept = rows[max(first, 1) - 1 : last or None]
        width = len(kept[0].value) if kept and isinstance(kept[0].value, tuple) else 0
        columns = None
        if (first_value > 1 or last_value) and width:
            columns = tuple(range(max(first_value, 1) - 1, min(last_value or width, width)))
        return _rebuilt(buffer, kept, columns)
    return buffer
