"""Bounded memo tables: results of pure functions kept by their input, emptied when full (a
decoder or a formatter meets the same few inputs again and again; a fuzz run meets millions)."""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


def remember(table: dict[K, V], key: K, value: V, limit: int) -> V:
    """Keep ``value`` under ``key``, the table emptied first if it holds ``limit`` entries;
    return ``value``."""
    if len(table) >= limit:
        table.clear()
    table[key] = value
    return value
