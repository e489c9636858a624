"""The JSON view of decoded payloads that request records carry (rig/live/response_view.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum, IntEnum

from rig.gbcs.usecases import ReadSupplyStatusEsmeResponse
from rig.live.response_view import _json_ready
from rig.live.response_view import describe as _describe


class Colour(Enum):
    RED = "r"


class Level(IntEnum):
    HIGH = 3


@dataclass(frozen=True)
class Inner:
    data: bytes
    colour: Colour


@dataclass(frozen=True)
class Outer:
    level: Level
    items: tuple[Inner, ...]
    table: dict[int, bool]
    kind: type


def test_nested_values_take_their_json_form() -> None:
    value = Outer(Level.HIGH, (Inner(b"\x01\xab", Colour.RED),), {7: True}, int)
    expected = {
        "type": "Outer",
        "level": 3,
        "items": [{"type": "Inner", "data": "01ab", "colour": "RED"}],
        "table": {"7": True},
        "kind": "<class 'int'>",
    }
    # the second call takes the per-type path: the same view
    assert _json_ready(value) == expected
    assert _json_ready(value) == expected
    assert type(_json_ready(Level.HIGH)) is int
    json.dumps(_json_ready(value))


def test_describe_wraps_a_non_dataclass_and_passes_none() -> None:
    assert _describe(None) is None
    assert _describe(b"\x00") == {"type": "bytes", "value": "00"}
    response = ReadSupplyStatusEsmeResponse(control_state=1)
    view = _describe(response)
    assert view is not None and view["type"] == "ReadSupplyStatusEsmeResponse"
    assert view["control_state"] == 1


def test_a_flat_view_is_remembered_but_never_shared() -> None:
    response = ReadSupplyStatusEsmeResponse(control_state=2)
    first = _describe(response)
    second = _describe(ReadSupplyStatusEsmeResponse(control_state=2))
    assert first == second and first is not second
    assert first is not None
    first["control_state"] = 99  # a caller editing its record's view
    assert _describe(response) == second
    # a nested view is described afresh each time (a copy of it would share its parts)
    nested = Outer(Level.HIGH, (Inner(b"", Colour.RED),), {}, int)
    assert _describe(nested) is not _describe(nested)
