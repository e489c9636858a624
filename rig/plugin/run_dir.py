"""Where the run's results go, shared by the rig's two pytest plugins (rig/plugin/fixtures.py
fixes it, rig/plugin/measurements.py writes there); a plain module, not a plugin, so that both
import it without importing each other."""

from __future__ import annotations

from pathlib import Path

import pytest

#: The run folder (this worker's sub-folder under pytest-xdist), in ``config.stash``.
RUN_DIR = pytest.StashKey[Path]()
