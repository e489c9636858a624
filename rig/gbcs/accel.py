"""Which implementation of the codec's per-frame byte work runs: the C accelerator
``rig.gbcs._wire`` (built from ``rig/gbcs/_wire.c`` by ``setup.py``) or pure Python.

The one import site of the accelerator. Pure Python (:mod:`rig.gbcs.frame` is the reference) is
used when ``RIG_PURE_PYTHON=1`` is set at import time, when the extension is not built, or, with a
``RuntimeWarning``, when the build is stale: compiled from other source than the ``_wire.c``
beside it.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import warnings
from pathlib import Path
from types import ModuleType


def _load() -> tuple[ModuleType | None, str]:
    if os.environ.get("RIG_PURE_PYTHON") == "1":
        return None, "pure Python (RIG_PURE_PYTHON=1)"
    try:
        wire = importlib.import_module("rig.gbcs._wire")
    except ImportError:
        return None, "pure Python (rig.gbcs._wire not built)"
    source = Path(__file__).with_name("_wire.c")
    if source.exists():
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
        if getattr(wire, "SOURCE_SHA256", None) != digest:
            warnings.warn(
                f"{wire.__file__} was built from other source than {source}; using pure Python. "
                "Rebuild: python setup.py build_ext --inplace (or: pip install -e .)",
                RuntimeWarning,
                stacklevel=2,
            )
            return None, "pure Python (rig.gbcs._wire is stale)"
    return wire, "C accelerator (rig.gbcs._wire)"


#: The accelerator module, or None for pure Python.
WIRE, DESCRIPTION = _load()
