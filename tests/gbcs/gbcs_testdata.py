"""Where the shared RTDS data lives and the EUIs the GBCS tests use (reference/gbcs.md §1.5, §1.9).

A plain module (not conftest) so test modules can import it unambiguously.
"""

from __future__ import annotations

from shared_dir import SHARED_DIR

from rig.gbcs.eui import Eui64

RTDS = SHARED_DIR / "gbcs-rtds"
VECTORS = sorted((RTDS / "vectors").glob("*/*.HEX"))

SUPPLIER = Eui64.parse("90-B3-D5-1F-30-01-00-00")
ACB = Eui64.parse("90-B3-D5-1F-30-00-00-02")
ESME = Eui64.parse("00-DB-12-34-56-78-90-A0")
