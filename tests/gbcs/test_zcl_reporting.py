"""ZCL Configure Reporting records (rig/gbcs/zcl_clusters/general.py): a record missing the
fields its direction needs is refused with what is missing, not an anonymous None."""

from __future__ import annotations

import pytest

from rig.gbcs.zcl_clusters.general import ConfigureReporting, ReportingRecord


def test_both_directions_round_trip() -> None:
    received = ReportingRecord(1, 0x0000, timeout=60)
    reported = ReportingRecord(0, 0x0400, 0x21, 1, 60, 5)
    command = ConfigureReporting(records=(received, reported))
    assert ConfigureReporting.parse(command.encode()) == command


@pytest.mark.parametrize(
    ("record", "missing"),
    [
        (ReportingRecord(1, 0x0000), "needs its timeout"),
        (ReportingRecord(0, 0x0400, 0x21, None, 60, 5), "needs its data type and intervals"),
        (ReportingRecord(0, 0x0400, 0x21, 1, None, 5), "needs its data type and intervals"),
        (ReportingRecord(0, 0x0400), "needs its data type and intervals"),
    ],
)
def test_a_record_missing_a_field_is_refused(record: ReportingRecord, missing: str) -> None:
    with pytest.raises(ValueError, match=missing):
        ConfigureReporting(records=(record,)).encode()
