"""Benches as labgrid places: export a bench (rig/lab/export.py), hold a place for a run
(rig/lab/place.py, rig/lab/mapping.py), serve emulated benches (rig/lab/serve.py), and a lab on
one host for CI and tests (rig/lab/local.py). docs/lab.md."""
