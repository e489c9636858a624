"""Optional compiled accelerators; the project's metadata is in pyproject.toml.

Each part is one function returning its extension modules. Every one is optional: without a C
compiler the package installs as pure Python, and ``RIG_PURE_PYTHON=1`` at build time skips all
compilation. Rebuild in place after editing a compiled source:
``python setup.py build_ext --inplace`` (needs mypy: the dev extra has it) or ``pip install -e .``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
PURE_PYTHON = os.environ.get("RIG_PURE_PYTHON") == "1"


def _load_native() -> ModuleType:
    """rig/_native.py on its own (importing the ``rig`` package would need its dependencies)."""
    spec = importlib.util.spec_from_file_location("rig_native", HERE / "rig" / "_native.py")
    assert spec is not None and spec.loader is not None
    native = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(native)
    return native


NATIVE = _load_native()


def dsp_core_extensions() -> list[Extension]:
    """The DSP simulation core, compiled by mypyc from its typed sources (docs/dsp-model.md,
    "Compiled core"); the modules are listed in rig/_native.py, which also loads the sources
    instead when they are not the ones the build recorded (:class:`BuildExt`)."""
    if PURE_PYTHON:
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        print("setup.py: mypyc is not installed: the DSP core stays pure Python", file=sys.stderr)
        return []
    paths = [str(Path(*m.split(".")).with_suffix(".py")) for m in NATIVE.COMPILED_MODULES]
    digests = NATIVE.source_digests(NATIVE.COMPILED_MODULES, HERE)  # what mypyc reads now
    extensions = mypycify(paths, opt_level="3", group_name="rig._dsp_core")
    for extension in extensions:
        extension.optional = True  # no compiler: a warning, and the pure-Python package
        extension.source_digests = digests  # type: ignore[attr-defined]  # for BuildExt
    return extensions


def gbcs_codec_extensions() -> list[Extension]:
    """``rig.gbcs._wire``: the GBCS codec's per-frame byte work in C (docs/gbcs-codec.md,
    "Benchmark"). The source's SHA-256 is compiled in, so that rig.gbcs.accel refuses, with a
    RuntimeWarning, a build older than the source beside it."""
    if PURE_PYTHON:
        return []
    source = "rig/gbcs/_wire.c"
    digest = hashlib.sha256((HERE / source).read_bytes()).hexdigest()
    return [
        Extension(
            "rig.gbcs._wire",
            [source],
            define_macros=[("WIRE_SOURCE_SHA256", f'"{digest}"')],
            optional=True,  # no compiler: a warning, and the pure-Python codec
        )
    ]


class BuildExt(build_ext):
    """``build_ext`` that records, beside the DSP core it built, the SHA-256 of each source it
    compiled (rig/_native.py ``RECORD``): in the build folder, hence in a wheel, and in the source
    tree for an in-place or editable build. rig/_native.py compares them with the sources at
    run time, which a wheel's modification times could not tell."""

    def run(self) -> None:
        self.failed: set[str] = set()
        super().run()
        core = [e for e in self.extensions if hasattr(e, "source_digests")]
        if not core or any(e.name in self.failed for e in core):
            return  # no DSP core built: rig/_native.py runs the sources
        record = json.dumps(core[0].source_digests, indent=1)
        roots = [Path(self.build_lib), *([HERE] if self.inplace else [])]
        for root in roots:
            path = NATIVE.record_path(NATIVE.LIBRARY, root)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(record + "\n", encoding="utf-8")

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception:
            self.failed.add(ext.name)  # an optional extension: setuptools warns and goes on
            raise


setup(
    ext_modules=[*dsp_core_extensions(), *gbcs_codec_extensions()],
    cmdclass={"build_ext": BuildExt},
)
