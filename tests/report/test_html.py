import re

from report_data import request, requests, write_run

from rig.report.html import latency_cdf, queue_depth, render_html, write_html
from rig.report.run import RunData, capture_dir, load_run
from rig.report.svg import Series, chart, nice_ticks, thin

TESTS = [
    {"kind": "test", "nodeid": "plan.py::test_a", "outcome": "passed", "requirements": ["R1"]},
    {
        "kind": "test",
        "nodeid": "plan.py::test_b",
        "outcome": "failed",
        "requirements": ["R2"],
        "message": "assert <b>1</b> == 2",
    },
]
MEASUREMENTS = [
    {
        "kind": "measurement",
        "nodeid": "plan.py::test_a",
        "name": "total",
        "value": 350.0,
        "units": "ms",
        "low": None,
        "high": 500.0,
        "marginal_low": None,
        "marginal_high": 300.0,
        "verdict": "marginal",
        "requirements": ["R1"],
    },
]


def sample_run(tmp_path):
    records = [
        *requests("2.2", [0.1, 0.2, 0.3], priority=1, ack_code="I99"),
        request(10, "7.4", total_s=0.05, priority=3, user="other", ack_code="I99"),
        request(11, "7.4", ok=False, priority=3, user="other", ack_code="E10", throttled=True),
        {"kind": "alert", "device": "esme", "code": 0x8F30, "name": "refused", "at": 1.0},
        {"kind": "link", "device": "esme", "event": "restored", "at": 2.0},
        *TESTS,
        *MEASUREMENTS,
    ]
    write_run(tmp_path / "run", records)
    capture = capture_dir(tmp_path / "run", "plan.py::test_b")
    capture.mkdir(parents=True)
    (capture / "trace.pcapng").write_bytes(b"\x0a\x0d\x0d\x0a")
    return load_run(tmp_path / "run")


def test_the_report_is_one_self_contained_file_with_every_section(tmp_path):
    run = sample_run(tmp_path)
    out = tmp_path / "out" / "report.html"
    write_html(run, out)
    html = out.read_text()
    assert not re.search(r"""(src|href)=["']?https?:""", html)
    assert "<script" not in html and "<link" not in html
    assert html.count("<svg") == 3
    for heading in (
        "Latency per SRV and hop",
        "Per User",
        "Measurements",
        "Requirement coverage",
        "Failures",
        "Alerts",
    ):
        assert heading in html
    assert "Total latency CDF per priority level" in html
    assert "level 1" in html and "level 3" in html
    assert "assert &lt;b&gt;1&lt;/b&gt; == 2" in html  # test output is escaped
    assert 'href="../run/captures/plan.py_test_b/trace.pcapng"' in html
    assert "0x8F30" in html and "restored" in html
    assert "&lt;= 500 (marginal &gt; 300)" in html


def test_per_user_counts_show_admission_when_records_carry_it(tmp_path):
    html = render_html(sample_run(tmp_path))
    users = html[html.index("Per User") : html.index("<h2>Measurements")]
    assert "throttled" in users and "rejected" in users
    cells = re.findall(r"<tr><td>other</td>(.*?)</tr>", users)[0]
    assert re.findall(r">(\d+)<", cells) == ["2", "1", "1", "1", "1", "1"]


def test_cdf_per_srv_without_priority_levels():
    grouping, series = latency_cdf(requests("2.2", [0.3, 0.1, 0.2]) + requests("7.4", [0.1]))
    assert grouping == "SRV" and [s.label for s in series] == ["SRV 2.2", "SRV 7.4"]
    assert [p[1] for p in series[0].points] == [0.0, 100 / 3, 200 / 3, 100.0]
    assert series[0].points[-1][0] == 300.0


def test_queue_depth_counts_requests_between_ack_and_dequeue():
    # three requests acknowledged at 0, 1, 2 ms (after submission) and dequeued 2 ms later
    records = [request(0, total_s=0.01, at=t) for t in (0.0, 0.001, 0.002)]
    depths = [d for _, d in queue_depth(records)]
    assert max(depths) == 2 and depths[-1] == 0


def test_an_empty_run_still_renders():
    html = render_html(RunData("empty"))
    assert "no data" in html and "Rig report: empty" in html


def test_ticks_are_round_and_cover_the_range():
    assert nice_ticks(0, 97) == [0, 20, 40, 60, 80, 100]
    assert nice_ticks(0.003, 0.0071)[0] <= 0.003 and nice_ticks(0.003, 0.0071)[-1] >= 0.0071
    assert nice_ticks(5, 5)[-1] > 5


def test_thinning_keeps_the_extremes():
    points = [(float(x), 1.0) for x in range(10_000)]
    points[5000] = (5000.0, 99.0)
    kept = thin(points, 100)
    assert len(kept) <= 110 and (5000.0, 99.0) in kept


def stamped(n, acknowledged, dequeued):
    record = request(n, "2.2", at=0.0)
    record["stamps"].update(acknowledged=acknowledged, dequeued=dequeued)
    return record


def polyline_points(svg):
    (points,) = re.findall(r'<polyline points="([^"]*)"', svg)
    return [tuple(map(float, p.split(","))) for p in points.split()]


def test_the_queue_depth_line_stays_inside_the_plot():
    """One request dequeued the instant another is acknowledged, and one whose dequeue was
    stamped before its ack: the depth never goes below zero nor the line out of the frame."""
    records = [stamped(1, 0.1, 0.5), stamped(2, 0.5, 0.5), stamped(3, 0.7, 0.6)]
    depth = queue_depth(records)
    assert min(y for _, y in depth) == 0 and max(y for _, y in depth) == 1
    svg = chart([Series("queued", depth, step=True)], x_label="t", y_label="n", y_min=0)
    frame = re.search(r'<rect x="(\d+)" y="(\d+)" width="(\d+)" height="(\d+)" class="frame"', svg)
    left, top, width, height = map(float, frame.groups())
    for x, y in polyline_points(svg):
        assert left <= x <= left + width and top <= y <= top + height


def test_a_series_below_y_min_widens_the_axis_instead_of_leaving_the_plot():
    svg = chart([Series("s", [(0, -2.0), (1, 3.0)])], x_label="t", y_label="n", y_min=0)
    frame = re.search(r'<rect x="(\d+)" y="(\d+)" width="(\d+)" height="(\d+)" class="frame"', svg)
    _, top, _, height = map(float, frame.groups())
    assert all(top <= y <= top + height for _, y in polyline_points(svg))


def test_expected_failures_are_told_from_unexpected_ones(tmp_path):
    refused = request(1, "7.2", ok=False, test="plan.py::test_tampered_is_refused")
    lost = request(2, "2.2", ok=False, test="plan.py::test_top_up")
    records = [
        refused,
        lost,
        {"kind": "test", "nodeid": "plan.py::test_tampered_is_refused", "outcome": "passed"},
        {"kind": "test", "nodeid": "plan.py::test_top_up", "outcome": "failed", "message": "x"},
        {"kind": "test", "nodeid": "plan.py::test_known", "outcome": "xfailed", "message": "8F30"},
    ]
    write_run(tmp_path / "run", records)
    html = render_html(load_run(tmp_path / "run"))
    failures, expected = html.split("<h2>Failures</h2>")[1].split("<h2>Expected failures</h2>")
    expected = expected.split("<h2>")[0]
    assert "test_top_up" in failures and "test_tampered_is_refused" not in failures
    assert "test_tampered_is_refused" in expected and "test_known" in expected
    assert "test_known" not in failures
    tiles = {name: n for n, name in re.findall(r"<b>(\d+)</b><small>([^<]+)</small>", html)}
    assert tiles["requests failed unexpectedly"] == "1"
    assert tiles["requests refused as a test expected"] == "1"
    assert tiles["expected failures (xfail)"] == "1" and tiles["tests failed"] == "1"


def test_equal_latencies_that_differ_in_their_last_bits_still_chart():
    # 20 requests of 100 ms, their totals computed from stamps: 100.00000000000001 and so on
    ticks = nice_ticks(100.0, 100.00000000000003)
    assert len(set(ticks)) > 1 and ticks[0] <= 100.0 <= ticks[-1]
    run = RunData.of_records("run", requests("2.2", [0.1] * 20))
    assert "<svg" in render_html(run)
