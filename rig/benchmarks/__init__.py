"""The benchmarks (``rig benchmark …``): each measures one part of the rig and prints its figure
with a ratio against a named, fair alternative. They import the layers they measure; no layer
imports them (tests/rig/test_import_layers.py)."""
