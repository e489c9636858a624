"""Settings dataclasses from JSON-like mappings, with errors that name the key and where it is.

Nested dataclasses take nested mappings; EUI-64 fields take their text form; enum fields their
value. Used by the hub description (:mod:`firmware_stubs.premises`).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from enum import Enum
from typing import Any, TypeVar

from rig.gbcs.eui import Eui64

T = TypeVar("T")


def settings_from(cls: type[T], data: Mapping[str, Any], where: str) -> T:
    """An instance of the dataclass ``cls`` from ``data``; ValueError naming ``where``."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: expected an object of settings, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    values = {}
    for key, value in data.items():
        if key not in known:
            names = ", ".join(sorted(known))
            raise ValueError(f"{where}: unknown setting {key!r} (known: {names})")
        values[key] = _convert(hints[key], value, f"{where}.{key}")
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None


def _convert(hint: Any, value: Any, where: str) -> Any:
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    if value is None and type(None) in options:
        return None
    target = next(o for o in options if o is not type(None))
    if target is Eui64:
        try:
            return Eui64.parse(value)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{where}: {exc}") from None
    if dataclasses.is_dataclass(target):
        return settings_from(target, value, where)  # type: ignore[arg-type]
    if isinstance(target, type) and issubclass(target, Enum):
        try:
            return target(value)
        except ValueError:
            allowed = ", ".join(repr(m.value) for m in target)
            raise ValueError(f"{where}: {value!r} is not one of {allowed}") from None
    if target is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if target in (int, float, bool, str) and type(value) is not target:
        raise ValueError(f"{where}: expected {target.__name__}, got {value!r}")
    return value
