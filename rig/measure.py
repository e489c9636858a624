"""The old path of :mod:`rig.results.measure` (``measure``, ``Limit``, ``Verdict`` …), which test
plans import: it moved with the house's regrouping (issue 14) and this path goes in the next
release. Importing it warns once (DeprecationWarning) and hands out the same objects."""

from __future__ import annotations

import warnings
from typing import Any

from rig.results import measure as _moved

warnings.warn(
    "rig.measure is now rig.results.measure; the old path goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)


def __getattr__(name: str) -> Any:
    return getattr(_moved, name)
