"""The emulated meters' object models: what a GET or a Read Attributes reads and a SET or a Write
Attributes writes, for every use case the stubs do not model by hand.

* :class:`CosemModel` (the ESME, the CHF): (class id, logical name, attribute) -> A-XDR value;
* :class:`ZclModel` (the GSME, the GPF): (cluster, attribute) -> ZCL data type and value.

Each is seeded from the RTDS SUCCESS responses of :mod:`firmware_stubs.exemplars` (**[ASSUMED]**
exemplar values; :meth:`provenance` names the vector each comes from) and overlaid by *live*
attributes the device computes from its state (supply, balance, registers, clock, valve,
battery …), which always win. A SET stores the value and a later GET returns it; a plan may also
set a value directly (``esme.state.cosem.set(…)``, ``gsme.state.zcl.set(…)``) before reading it
back over GBCS (docs/devices.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from firmware_stubs.exemplars import device_exemplars, placeholder_plaintext
from rig.gbcs.cosem.payload import DlmsResponse
from rig.gbcs.cosem.schema import Obis
from rig.gbcs.crypto import ENCRYPTED_PART_HEADER
from rig.gbcs.dlms import Data
from rig.gbcs.errors import DecodeError
from rig.gbcs.gbz import AttributeRecord, ZclValue, decode_attribute_records, decode_gbz

#: A COSEM attribute: class id, logical name (6 bytes), attribute index.
CosemKey = tuple[int, bytes, int]
#: A ZCL attribute: cluster id, attribute id.
ZclKey = tuple[int, int]
#: ZCL status UNSUPPORTED_ATTRIBUTE (ZCL 2.5.3), for an attribute the model does not hold.
UNSUPPORTED_ATTRIBUTE = 0x86
#: Provenance of a value computed from state, and the prefix of one a SET, a Write Attributes
#: or a plan stored.
LIVE, SET = "live", "set"
_READ_ATTRIBUTES_RESPONSE = 0x01


def cosem_key(obis: str | bytes, class_id: int, attribute: int) -> CosemKey:
    """The key of an attribute from its OBIS code as text (``0-0:94.44.0.21``) or bytes."""
    raw = Obis.parse(obis).raw if isinstance(obis, str) else bytes(obis)
    return class_id, raw, attribute


@dataclass
class CosemModel:
    """The ESME's COSEM attributes (see the module docstring)."""

    values: dict[CosemKey, Data] = field(default_factory=dict)
    sources: dict[CosemKey, str] = field(default_factory=dict)
    #: Attributes computed from the device's state; a SET to one is refused.
    live: dict[CosemKey, Callable[[], Data]] = field(default_factory=dict)

    @classmethod
    def seeded(cls, device: str = "esme") -> CosemModel:
        """A model holding every attribute ``device``'s RTDS exemplars read (first vector
        wins)."""
        values, sources = _cosem_seed(device)
        return cls(dict(values), dict(sources))

    def get(self, key: CosemKey) -> Data | None:
        """The attribute's value (live first); None if the model does not hold it."""
        live = self.live.get(key)
        return live() if live is not None else self.values.get(key)

    def set(self, key: CosemKey, value: Data, source: str = SET) -> bool:
        """Store a value; False (nothing stored) for a live attribute."""
        if key in self.live:
            return False
        self.values[key] = value
        self.sources[key] = source
        return True

    def provenance(self, key: CosemKey) -> str:
        """Where the value comes from: ``live``, the RTDS vector's name, or ``set``."""
        return LIVE if key in self.live else self.sources.get(key, "absent")

    def from_exemplar(self, key: Any) -> bool:
        """Whether the value held is an RTDS exemplar's (not live, not set)."""
        return key not in self.live and not self.sources.get(key, SET).startswith(SET)


@dataclass
class ZclModel:
    """The GSME's ZCL attributes (see the module docstring)."""

    values: dict[ZclKey, tuple[int, ZclValue]] = field(default_factory=dict)
    sources: dict[ZclKey, str] = field(default_factory=dict)
    live: dict[ZclKey, Callable[[], tuple[int, ZclValue]]] = field(default_factory=dict)

    @classmethod
    def seeded(cls, device: str = "gsme") -> ZclModel:
        """A model holding every attribute ``device``'s RTDS exemplars report (first vector
        wins; encrypted components read from their clear form)."""
        values, sources = _zcl_seed(device)
        return cls(dict(values), dict(sources))

    def record(self, key: ZclKey) -> AttributeRecord:
        """The Read Attributes Response record of an attribute (UNSUPPORTED_ATTRIBUTE if the
        model does not hold it)."""
        live = self.live.get(key)
        held = live() if live is not None else self.values.get(key)
        if held is None:
            return AttributeRecord(key[1], UNSUPPORTED_ATTRIBUTE)
        return AttributeRecord(key[1], 0, *held)

    def set(self, key: ZclKey, data_type: int, value: ZclValue, source: str = SET) -> bool:
        """Store a value; False (nothing stored) for a live attribute."""
        if key in self.live:
            return False
        self.values[key] = (data_type, value)
        self.sources[key] = source
        return True

    def provenance(self, key: ZclKey) -> str:
        """Where the value comes from: ``live``, the RTDS vector's name, or ``set``."""
        return LIVE if key in self.live else self.sources.get(key, "absent")

    def from_exemplar(self, key: Any) -> bool:
        """Whether the value held is an RTDS exemplar's (not live, not set)."""
        return key not in self.live and not self.sources.get(key, SET).startswith(SET)


@cache
def _cosem_seed(device: str) -> tuple[dict[CosemKey, Data], dict[CosemKey, str]]:
    """The GET results of ``device``'s exemplars by attribute, and their vectors (read once)."""
    values: dict[CosemKey, Data] = {}
    sources: dict[CosemKey, str] = {}
    for ex in device_exemplars(device):
        if ex.response[:1] != b"\xda" or not ex.command:
            continue
        try:
            response = DlmsResponse.decode(0, ex.response)
        except DecodeError:
            continue
        if len(response.results) != len(ex.command):
            continue
        for member, result in zip(ex.command, response.results, strict=True):
            kind, class_id, obis, index = member.split()
            key = cosem_key(obis, int(class_id), int(index))
            if kind in ("GET", "GET/S") and result.result == 0 and key not in values:
                values[key] = result.to_data()
                sources[key] = ex.vector
    return values, sources


@cache
def _zcl_seed(device: str) -> tuple[dict[ZclKey, tuple[int, ZclValue]], dict[ZclKey, str]]:
    """The Read Attributes Response records of ``device``'s exemplars, and their vectors."""
    values: dict[ZclKey, tuple[int, ZclValue]] = {}
    sources: dict[ZclKey, str] = {}
    for ex in device_exemplars(device):
        try:
            components = decode_gbz(ex.response).components
        except DecodeError:
            continue
        for c in components:
            if c.frame.cluster_specific or c.frame.command != _READ_ATTRIBUTES_RESPONSE:
                continue
            payload = c.frame.payload
            if c.encrypted and payload.startswith(ENCRYPTED_PART_HEADER):
                payload = placeholder_plaintext(payload)
            try:
                records = decode_attribute_records(payload)
            except DecodeError:
                continue
            for r in records:
                key = (c.cluster, r.attribute)
                if r.status == 0 and r.data_type is not None and key not in values:
                    values[key] = (r.data_type, r.value)  # type: ignore[assignment]
                    sources[key] = ex.vector
    return values, sources
