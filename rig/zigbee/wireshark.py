"""The run's ZigBee keys in the form Wireshark takes, so that a capture can be decrypted by anyone.

Wireshark (and tshark) decrypt ZigBee NWK and APS payloads with the keys of their
"Pre-configured Keys" table, the ``zigbee_pc_keys`` UAT: one record a line, ``"<key as 32 hex
digits>","Normal","<label>"`` ("Normal" byte order: the key as this rig writes it; "Reverse" is
for keys printed backwards). It tries each key on every secured frame, for NWK and APS alike,
and derives the APS key-transport and key-load keys from a link key itself. Two ways to hand it
the keys (checked with tshark 4.0.17, docs/han.md "Security"):

- a Wireshark configuration folder holding the file ``zigbee_pc_keys``:
  ``WIRESHARK_CONFIG_DIR=<folder> tshark -r han.pcap`` (:func:`write_pc_keys`);
- one ``-o uat:zigbee_pc_keys:<record>`` option per key (:func:`tshark_options`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

#: The file name of the UAT in a Wireshark configuration folder or profile.
PC_KEYS_FILE = "zigbee_pc_keys"
_LABEL = re.compile(r"[\w .:/-]*")


def _record(label: str, key: bytes) -> str:
    if len(key) != 16:
        raise ValueError(f"key {label!r}: a ZigBee key has 16 bytes, not {len(key)}")
    if not _LABEL.fullmatch(label):
        raise ValueError(f"key label {label!r}: letters, digits, space and . : / - _ only")
    return f'"{key.hex().upper()}","Normal","{label}"'


def pc_keys_uat(keys: Mapping[str, bytes]) -> str:
    """The ``zigbee_pc_keys`` file text for ``keys`` (label → 16-byte key)."""
    lines = ["# ZigBee pre-configured keys for Wireshark (key, byte order, label)"]
    return "\n".join(lines + [_record(label, key) for label, key in keys.items()]) + "\n"


def tshark_options(keys: Mapping[str, bytes]) -> list[str]:
    """The tshark command-line options that give it ``keys``."""
    return [
        part
        for label, key in keys.items()
        for part in ("-o", f"uat:{PC_KEYS_FILE}:{_record(label, key)}")
    ]


def write_pc_keys(folder: Path, keys: Mapping[str, bytes]) -> Path:
    """Write ``keys`` as ``<folder>/zigbee_pc_keys`` (a Wireshark configuration folder)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / PC_KEYS_FILE
    path.write_text(pc_keys_uat(keys), encoding="utf-8")
    return path
