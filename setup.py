"""Optional compiled accelerators; the project's metadata is in pyproject.toml.

Each part is one function returning its extension modules. Every one is optional: without a C
compiler the package installs as pure Python, and ``RIG_PURE_PYTHON=1`` at build time skips all
compilation. Rebuild in place after editing a compiled source:
``python setup.py build_ext --inplace`` (needs mypy: the dev extra has it) or ``pip install -e .``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from pathlib import Path

from setuptools import Extension, setup

HERE = Path(__file__).resolve().parent
PURE_PYTHON = os.environ.get("RIG_PURE_PYTHON") == "1"


def dsp_core_extensions() -> list[Extension]:
    """The DSP simulation core, compiled by mypyc from its typed sources (docs/dsp-model.md,
    "Compiled core"); the modules are listed in rig/_native.py, which also loads the sources
    instead when they are newer than the build."""
    if PURE_PYTHON:
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        print("setup.py: mypyc is not installed: the DSP core stays pure Python", file=sys.stderr)
        return []
    spec = importlib.util.spec_from_file_location("rig_native", HERE / "rig" / "_native.py")
    assert spec is not None and spec.loader is not None
    native = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(native)
    paths = [str(Path(*m.split(".")).with_suffix(".py")) for m in native.COMPILED_MODULES]
    extensions = mypycify(paths, opt_level="3", group_name="rig._dsp_core")
    for extension in extensions:
        extension.optional = True  # no compiler: a warning, and the pure-Python package
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


setup(ext_modules=[*dsp_core_extensions(), *gbcs_codec_extensions()])
