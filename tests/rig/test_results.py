import json

import pytest

from rig.results.jsonl import JsonlWriter, ResultsError, read_jsonl
from rig.results.record import RequestRecord
from rig.results.report import nearest_rank, summarise


def test_each_record_is_on_disk_as_soon_as_it_is_written(tmp_path):
    path = tmp_path / "results.jsonl"
    writer = JsonlWriter(path)
    writer.write({"n": 1})
    assert path.read_text() == '{"n":1}\n'  # flushed before close
    writer.close()


def test_a_torn_last_line_is_skipped_but_a_torn_middle_line_is_an_error(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"n":1}\n{"n":')
    assert list(read_jsonl(path)) == [{"n": 1}]
    path.write_text('{"n":1}\n{"n":\n{"n":3}\n')
    with pytest.raises(ResultsError, match=r"r\.jsonl:2"):
        list(read_jsonl(path))


@pytest.mark.parametrize(("percent", "expected"), [(50, 5), (95, 10), (100, 10), (10, 1), (11, 2)])
def test_nearest_rank(percent, expected):
    assert nearest_rank(list(range(1, 11)), percent) == expected


def test_summary_groups_by_srv_and_counts_failures():
    def record(srv, total, ok=True):
        r = RequestRecord("id", srv, "t", "u")
        r.stamp("submitted", 0.0)
        r.stamp("delivered", total)
        if ok:
            r.outcome = "ok"
        else:
            r.fail("device silent")
        return json.loads(json.dumps(r.to_json()))

    records = [
        record("7.4", 0.002),
        record("2.2", 0.004),
        record("2.2", 0.001),
        record("2.2", 9.0, ok=False),
    ]
    by_srv = {s.srv: s for s in summarise(records)}
    assert list(by_srv) == ["2.2", "7.4"]
    assert (by_srv["2.2"].ok, by_srv["2.2"].failed) == (2, 1)
    assert by_srv["2.2"].hops["total"].max == 0.004
    assert by_srv["2.2"].reasons == {"device silent": 1}
