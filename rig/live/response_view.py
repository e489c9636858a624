"""The JSON view of a device's decoded response, and the first failure it reports (what a
request's record holds: rig/live/orchestrator.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, is_dataclass
from enum import Enum
from typing import Any

from rig.util.memo import remember

#: ZCL Default Response command id (ZCL §2.5.12): payload = command id, status.
_ZCL_DEFAULT_RESPONSE = 0x0B


def failed_result(body: object) -> int:
    """The first non-zero result a device reported in a response (0: all succeeded): a DLMS
    action/set result, each of a DLMS access's results, or a GBZ ZCL Default Response status."""
    result = getattr(body, "result", 0)
    if result:
        return result
    for access in getattr(body, "results", ()):
        if getattr(access, "result", 0):
            return access.result
    gbz = getattr(body, "gbz", None)
    for component in getattr(gbz, "components", ()):
        frame = component.frame
        if frame.command == _ZCL_DEFAULT_RESPONSE and len(frame.payload) >= 2 and frame.payload[1]:
            return frame.payload[1]
    return 0


def describe(body: object) -> dict[str, Any] | None:
    """A JSON-ready view of a decoded payload (None for one that did not decode).

    A flat view (scalar fields only) is remembered by the payload it shows (equal bodies, equal
    views: the codec hands back the same body for the same response) and given out as a copy,
    so no record shares it; the table is bounded like the codec's."""
    if body is None:
        return None
    try:
        known = _VIEWS.get(body)
    except TypeError:  # an unhashable payload: described afresh each time
        return _view(body)
    if known is not None:
        return known.copy()
    view = _view(body)
    if all(item is None or type(item) in _PLAIN for item in view.values()):
        return remember(_VIEWS, body, view, _VIEWS_MAX).copy()
    return view


def _view(body: object) -> dict[str, Any]:
    view = _json_ready(body)
    return view if isinstance(view, dict) else {"type": type(body).__name__, "value": view}


#: Flat JSON views by payload, for :func:`_describe`; cleared when full.
_VIEWS: dict[object, dict[str, Any]] = {}
_VIEWS_MAX = 256


#: JSON's scalar types (bool before int: a bool is an int), and the plain value of a subclass.
_PLAIN = (bool, int, float, str)
_PLAIN_OF: dict[type, Callable[[Any], Any]] = {
    bool: bool,
    int: int,
    float: float,
    str: str.__str__,
}


def _json_ready(value: object) -> Any:
    """``value`` as JSON types: dataclasses become ``{"type": ..., field: ...}`` (recursively),
    bytes hex, enums their name, anything else without a JSON form its ``str``."""
    kind = type(value)
    if value is None or kind in _PLAIN:
        return value
    names = _FIELD_NAMES.get(kind)
    if names is not None:  # a dataclass met before: every response has one
        view: dict[str, Any] = {"type": kind.__name__}
        for name in names:
            view[name] = _json_ready(getattr(value, name))
        return view
    if isinstance(value, bool | int | float | str):  # an IntEnum, say: as JSON writes it
        return _PLAIN_OF[next(t for t in _PLAIN if isinstance(value, t))](value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, list | tuple):
        return [_json_ready(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _json_ready(item) for key, item in value.items()}
    if not is_dataclass(value) or isinstance(value, type):
        return str(value)
    _FIELD_NAMES[kind] = tuple(field.name for field in fields(value))
    return _json_ready(value)


#: Field names by dataclass type, for :func:`_json_ready` (``fields()`` is slow per call).
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
