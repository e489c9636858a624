"""The per-frame records of the secured HAN's frame path (docs/han.md "Speed of the secured
HAN"): each has an explicit ``__init__``, which mypyc compiles (the one ``@dataclass`` writes
runs interpreted), and stays a dataclass: equality, repr, ``replace`` and the defaults."""

from __future__ import annotations

import dataclasses
import types

import pytest

from devices.spinel.air_faults import Captured, Delivery
from devices.spinel.codec import SpinelFrame
from devices.spinel.mac import MacHeader
from devices.spinel.properties import RxFrame, TxDone, TxRequest
from rig import _native
from rig.zigbee.codec import ApsFrame, MacFrame, NwkFrame
from rig.zigbee.counters import FrameCounters, OutgoingCounter
from rig.zigbee.security import AuxHeader, KeyId, Opened

RECORDS = [
    SpinelFrame(3, b"\x01"),
    RxFrame(b"\x01\x02\x03"),
    TxRequest(b"\x01\x00\x00", 15),
    TxDone(0),
    MacHeader(1, False, True, 7, 0x4742, 0, False, 0x4742, 1, False, b"\x01\x00", None),
    MacFrame(1, 7, True, False, 0x4742, 0, 0x4742, 1),
    NwkFrame(0, 0, 1, 2, b"payload"),
    ApsFrame(0, 5),
    AuxHeader(KeyId.NETWORK, 9, 1, 0),
    Opened(b"frame", AuxHeader(KeyId.DATA, 1), FrameCounters()),
    FrameCounters(),
    OutgoingCounter(),
    Delivery(b"\x01"),
    Captured(b"a", b"b", b"\x01", 15),
]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_a_record_is_still_a_dataclass(record: object) -> None:
    copy = dataclasses.replace(record)  # type: ignore[type-var]
    assert copy == record and copy is not record
    assert repr(copy) == repr(record)
    # the __init__ takes the fields in their order, as the one @dataclass writes would
    values = [getattr(record, field.name) for field in dataclasses.fields(record)]  # type: ignore[arg-type]
    assert type(record)(*values) == record


@pytest.mark.skipif(
    not _native.compiled(),
    reason="the sources run, not the compiled core (RIG_PURE_PYTHON=1, or no build)",
)
@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_a_compiled_record_is_built_by_native_code(record: object) -> None:
    assert not isinstance(type(record).__init__, types.FunctionType)


def test_the_defaults_are_those_of_the_wire() -> None:
    assert FrameCounters().last == {} and FrameCounters().drops == {}
    assert FrameCounters().last is not FrameCounters().last
    assert OutgoingCounter().next == 0
    assert TxDone(0) == TxDone(0, False, None)
    assert SpinelFrame(3) == SpinelFrame(3, b"", 0, 0)
