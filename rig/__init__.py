"""The GB smart-metering hardware-in-the-loop test rig (README.md, docs/architecture.md).

PYTEST_DONT_REWRITE: this module has no assertion for pytest to rewrite. pytest marks the ``rig``
package for rewriting (its distribution is a pytest11 plugin) and warns when it is already
imported, as it is whenever ``rig run``/``rig demo`` start pytest (``rig.cli`` is in it); the
plugin modules themselves are imported by pytest afterwards and rewritten as usual.
"""

from rig import _native

_native.install()  # before anything imports the compiled DSP core: stale builds load as source
