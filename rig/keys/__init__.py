"""Key material: the layered ``keystore`` and bench key generation (``pki``)."""

from pathlib import Path

#: The RTDS remote-party test keys shipped with the rig (rig/keys/rtds/README.md).
RTDS_KEYS = Path(__file__).parent / "rtds"
