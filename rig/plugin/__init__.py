"""The rig as a pytest plugin (entry point ``pytest11``: :mod:`rig.plugin.fixtures`): options,
fixtures, the ``measure`` fixture and its records, and the progress bar of a run."""
