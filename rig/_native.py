"""The compiled DSP core and its guard against stale builds (docs/dsp-model.md, "Compiled core").

``setup.py`` compiles :data:`COMPILED_MODULES` with mypyc from their typed sources. An editable
install puts each ``.so`` beside its ``.py``, and an extension module wins at import, so an
edited source would be silently ignored. :func:`install` (called by ``rig/__init__.py`` before
any of them is imported) therefore loads every one of them from source instead when

- ``RIG_PURE_PYTHON=1`` is set at run time, or
- any of them has a source other than the one it was compiled from, or a build missing (with
  one warning naming them and the rebuild command).

Staleness is decided by content, not modification times (a wheel keeps none): ``setup.py``
records the SHA-256 of each source it compiled in :data:`RECORD` beside the shared library, in
the build (so in a wheel) and, for an in-place or editable build, in the source tree.

It is all or none: compiled modules call each other's native code directly, so a compiled
module next to a source-loaded one would not accept the latter's objects.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

COMPILED_MODULES = (
    "rig.clock",
    "rig.dsp.distributions",
    "rig.dsp.alerts",
    "rig.dsp.records",
    "rig.dsp.model",
    "rig.dsp.csp",
    "rig.sim.stats",
    "rig.sim.runner",
    # The secured HAN's frame path (docs/han.md "Speed of the secured HAN"): the ZigBee stack
    # and the Spinel RCPs and air that every frame of the emulated HAN goes through.
    "rig.zigbee.layout",
    "rig.zigbee.codec",
    "rig.zigbee.ccm",
    "rig.zigbee.counters",
    "rig.zigbee.security",
    "rig.zigbee.aps",
    "rig.zigbee.tunnel",
    "rig.zigbee.node",
    "rig.zigbee.coordinator",
    "rig.zigbee.device",
    "rig.zigbee.secured",
    "devices.transports.fcs",
    "devices.spinel.codec",
    "devices.spinel.properties",
    "devices.spinel.hdlc_lite",
    "devices.spinel.mac",
    "devices.spinel.air_faults",
    "devices.spinel.rcp",
    "devices.spinel.air_radio",
)
"""The hot paths of ``rig simulate`` and ``rig benchmark dsp``, and of the secured HAN (``rig
benchmark devices``); setup.py compiles exactly these."""

LIBRARY = "rig._dsp_core__mypyc"
"""The group's shared library (setup.py's ``group_name`` + ``__mypyc``): it holds the compiled
code of every module; the ``.so`` beside each source is a shim that is not rebuilt when the
code changes."""
REBUILD = "python setup.py build_ext --inplace  (or: pip install -e .)"
PURE_ENV = "RIG_PURE_PYTHON"
RECORD = "_dsp_core_sources.json"
"""Written by setup.py beside the shared library: ``{module: SHA-256 of the source compiled}``."""

_ROOT = Path(__file__).resolve().parent.parent


def _source(module: str, root: Path = _ROOT) -> Path:
    return root.joinpath(*module.split(".")).with_suffix(".py")


def _build(source: Path) -> Path | None:
    """The extension module built from ``source``, if there is one beside it."""
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        built = source.with_suffix(suffix)
        if built.exists():
            return built
    return None


def source_digests(modules: Sequence[str], root: Path = _ROOT) -> dict[str, str]:
    """The SHA-256 of each module's source, for those whose source is present."""
    return {
        m: hashlib.sha256(_source(m, root).read_bytes()).hexdigest()
        for m in modules
        if _source(m, root).is_file()
    }


def record_path(library: str = LIBRARY, root: Path = _ROOT) -> Path:
    """Where the build records its sources' digests: beside the shared library."""
    return _source(library, root).with_name(RECORD)


def _recorded(path: Path) -> dict[str, str]:
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return recorded if isinstance(recorded, dict) else {}


def stale_modules(
    modules: Sequence[str] = COMPILED_MODULES, root: Path = _ROOT, library: str = LIBRARY
) -> list[str] | None:
    """None when no module has a build (a pure install); else the modules whose shim or the
    shared library is missing, or whose source is not the one the build recorded (empty: the
    compiled core is up to date)."""
    shims = {m: _build(_source(m, root)) for m in modules}
    if not any(shims.values()):
        return None
    built = _build(_source(library, root)) is not None
    recorded = _recorded(record_path(library, root))
    present = source_digests(modules, root)
    return [
        m
        for m, shim in shims.items()
        if shim is None or not built or (m in present and recorded.get(m) != present[m])
    ]


class _SourceFinder:
    """Finds the compiled modules' ``.py`` sources ahead of the ``.so`` beside them."""

    def __init__(self, modules: Sequence[str]) -> None:
        self.modules = frozenset(modules)

    def find_spec(
        self, name: str, path: object = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if name not in self.modules:
            return None
        return importlib.util.spec_from_file_location(name, _source(name))


_finder: _SourceFinder | None = None


def install() -> None:
    """Decide once, before any compiled module is imported, whether they load compiled."""
    global _finder
    if _finder is not None or any(m in sys.modules for m in COMPILED_MODULES):
        return
    stale = stale_modules()
    if os.environ.get(PURE_ENV) == "1" or stale is None:
        reason = None
    elif stale:
        reason = (
            f"the compiled core was not built from the source of {', '.join(stale)}: "
            f"running all of {', '.join(COMPILED_MODULES)} as pure Python (slower). "
            f"Rebuild with: {REBUILD}"
        )
    else:
        return  # the compiled core is up to date: the default import finds it
    if reason is not None:
        warnings.warn(reason, RuntimeWarning, stacklevel=3)
    _finder = _SourceFinder(COMPILED_MODULES)
    sys.meta_path.insert(0, _finder)


def compiled() -> bool:
    """Whether the DSP core in use is the compiled one (imports it)."""
    import rig.clock

    return not (rig.clock.__file__ or "").endswith(".py")
