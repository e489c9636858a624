"""The HTML report of a run: one self-contained file (inline CSS and SVG, no external assets).

Top to bottom: what ran, verdict tiles, the latency table per SRV and hop, the latency CDF per
priority level (per SRV when the records carry no level), latency and DSP queue depth over the
run, per-User counts, measurements, the requirement coverage matrix, failures nobody expected,
expected failures (a negative test's intended refusals, xfail), alerts and other events.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from rig.report.run import (
    FAILING,
    RunData,
    captures_of,
    merged_tests,
    unexpected_failures,
)
from rig.report.svg import Point, Series, chart
from rig.results.measure import Verdict, coverage_matrix, describe_limits
from rig.results.report import summarise

ACK_ACCEPTED = "I99"

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;
max-width:1320px;padding:0 20px;color:#1d2330;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;
border-bottom:1px solid #d8dde6;padding-bottom:4px}
.meta{color:#5a6478;font-size:13px}.meta span{margin-right:18px}
.tiles{display:flex;flex-wrap:wrap;gap:10px;margin:16px 0}
.tile{border:1px solid #d8dde6;border-radius:8px;padding:8px 14px;min-width:120px}
.tile b{display:block;font-size:24px}.tile small{color:#5a6478}
.tile.fail{border-color:#c62828;background:#fdecea}.tile.marginal{border-color:#e69f00;
background:#fff6e0}.tile.pass{border-color:#2e7d32;background:#edf7ee}
table{border-collapse:collapse;font-size:13px;margin:6px 0}
th,td{border-bottom:1px solid #e6e9ef;padding:3px 10px;text-align:left;vertical-align:top}
th{background:#f4f6f9}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr.sep td{border-top:2px solid #c9cfda}
.v{display:inline-block;border-radius:4px;padding:0 7px;font-weight:600;font-size:12px}
.v.pass,.v.passed,.v.ok{background:#dff0e0;color:#1b5e20}.v.marginal{background:#ffecc2;
color:#7a4f00}.v.fail,.v.failed,.v.error{background:#fbd5d2;color:#8e1c14}
.v.skipped,.v.xfailed{background:#e8eaef;color:#4a5366}.v.xpassed{background:#dff0e0;
color:#1b5e20}
.charts{display:flex;flex-wrap:wrap;gap:18px}.charts figure{margin:0}
figcaption{font-weight:600;margin-bottom:2px}
svg.chart{font:11px system-ui,sans-serif}svg .frame{fill:none;stroke:#9aa3b2}
svg .grid{stroke:#eceff4}svg .axis{font-size:12px;fill:#39414f}
.empty{color:#5a6478;font-style:italic}pre{background:#f6f7f9;padding:8px;overflow-x:auto;
font-size:12px;max-height:260px}
"""


def write_html(run: RunData, path: Path) -> None:
    """Write the run's report to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(run, base=path.parent), encoding="utf-8")


def render_html(run: RunData, *, base: Path | None = None) -> str:
    """The report as one HTML document; capture links are relative to ``base``."""
    sections = [
        _header(run),
        _tiles(run),
        _section("Latency per SRV and hop (ms, successful requests)", _latency_table(run)),
        _section("Latency and queue", _charts(run.requests)),
        _section("Per User", _users(run.requests)),
        _section("Measurements", _measurements(run.measurements)),
        _section("Requirement coverage", _coverage(run)),
        _section("Failures", _failure_section(run, base, expected=False)),
        _section("Expected failures", _failure_section(run, base, expected=True)),
        _section("Alerts, errors and events", _events(run)),
    ]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Rig report: {escape(run.label)}</title><style>{_CSS}</style></head>"
        f"<body>{''.join(sections)}</body></html>\n"
    )


# -- building blocks -----------------------------------------------------------------------


def _section(title: str, body: str) -> str:
    return f"<h2>{escape(title)}</h2>{body}"


def _badge(verdict: str) -> str:
    return f'<span class="v {escape(verdict)}">{escape(verdict)}</span>'


def _table(
    head: Sequence[str], rows: Iterable[Sequence[str]], numeric: Collection[int] = ()
) -> str:
    """An HTML table; cells are HTML already (escape text before); ``numeric`` columns align
    right. A row whose first cell starts with ``\\x00`` starts a new group (a rule above)."""
    th = "".join(
        f'<th class="num">{escape(h)}</th>' if i in numeric else f"<th>{escape(h)}</th>"
        for i, h in enumerate(head)
    )
    body = []
    for row in rows:
        first = row[0]
        cls = ' class="sep"' if first.startswith("\x00") else ""
        cells = [first.removeprefix("\x00"), *row[1:]]
        tds = "".join(
            f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
            for i, c in enumerate(cells)
        )
        body.append(f"<tr{cls}>{tds}</tr>")
    if not body:
        return '<p class="empty">none</p>'
    return f"<table><thead><tr>{th}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _header(run: RunData) -> str:
    info = run.info
    facts = {}
    if info is not None:
        facts = {
            "started": info.started,
            "bench": info.bench,
            "host": info.host,
            "rig": info.rig_version,
            "config": info.config_hash[:12] if info.config_hash else None,
            "plan": info.plan,
        }
    elif run.folder is not None:
        facts = {"folder": str(run.folder)}
    meta = "".join(
        f"<span><b>{escape(k)}</b> {escape(str(v))}</span>" for k, v in facts.items() if v
    )
    return f'<h1>Rig report: {escape(run.label)}</h1><div class="meta">{meta}</div>'


def _tiles(run: RunData) -> str:
    tests = Counter(t["outcome"] for t in merged_tests(run).values())
    unexpected, expected = unexpected_failures(run)
    ok = sum(r["outcome"] == "ok" for r in run.requests)
    measured = Counter(m["verdict"] for m in run.measurements)
    passed = tests["passed"] + tests["xpassed"]
    tiles = [
        ("tests passed", passed, "pass" if passed else ""),
        ("tests failed", tests["failed"] + tests["error"], "fail"),
        ("expected failures (xfail)", tests["xfailed"], ""),
        ("tests skipped", tests["skipped"], ""),
        ("requests ok", ok, "pass" if ok else ""),
        ("requests failed unexpectedly", len(unexpected), "fail"),
        ("requests refused as a test expected", len(expected), ""),
        ("measurements marginal", measured[Verdict.MARGINAL], "marginal"),
        ("measurements failed", measured[Verdict.FAIL], "fail"),
        ("alerts", len(run.alerts), ""),
        ("errors", len(run.errors), "fail"),
    ]
    html = "".join(
        f'<div class="tile {style if count else ""}"><b>{count}</b><small>{escape(name)}'
        "</small></div>"
        for name, count, style in tiles
    )
    return f'<div class="tiles">{html}</div>'


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f}"


def _latency_table(run: RunData) -> str:
    rows = []
    for summary in summarise(run.requests):
        first = True
        for hop, stats in summary.hops.items():
            lead = [f"\x00{escape(summary.srv)}", str(summary.ok), str(summary.failed)]
            rows.append(
                [*(lead if first else ["", "", ""]), escape(hop), str(stats.count)]
                + [_ms(getattr(stats, p)) for p in ("p50", "p95", "p99", "max")]
            )
            first = False
        if first:
            rows.append([f"\x00{escape(summary.srv)}", str(summary.ok), str(summary.failed)])
            rows[-1] += ["-", "0", "", "", "", ""]
    head = ["SRV", "ok", "failed", "hop", "n", "p50", "p95", "p99", "max"]
    return _table(head, rows, numeric={1, 2, 4, 5, 6, 7, 8})


# -- charts ----------------------------------------------------------------------------------


def _group(record: Mapping[str, Any], by_level: bool) -> str:
    return f"level {record['priority']}" if by_level else f"SRV {record['srv']}"


def _sort_key(label: str) -> list[int]:
    return [int(p) for p in label.split()[-1].split(".")]


def latency_cdf(requests: Sequence[Mapping[str, Any]]) -> tuple[str, list[Series]]:
    """The CDF of total latency (ms) per priority level, or per SRV when no record has one."""
    done = [r for r in requests if r["outcome"] == "ok" and "total" in r["latency_s"]]
    by_level = any(r.get("priority") is not None for r in done)
    if by_level:
        done = [r for r in done if r.get("priority") is not None]
    groups: dict[str, list[float]] = {}
    for r in done:
        groups.setdefault(_group(r, by_level), []).append(r["latency_s"]["total"] * 1e3)
    series = []
    for label in sorted(groups, key=_sort_key):
        values = sorted(groups[label])
        n = len(values)
        points = [(v, 100 * (i + 1) / n) for i, v in enumerate(values)]
        series.append(Series(label, [(values[0], 0.0), *points], step=True))
    return ("priority level" if by_level else "SRV"), series


def latency_over_time(requests: Sequence[Mapping[str, Any]]) -> list[Series]:
    """Total latency (ms) of each successful request against its submission time (s)."""
    done = [r for r in requests if r["outcome"] == "ok" and "total" in r["latency_s"]]
    if not done:
        return []
    start = min(r["stamps"]["submitted"] for r in done)
    groups: dict[str, list[Point]] = {}
    for r in done:
        point = (r["stamps"]["submitted"] - start, r["latency_s"]["total"] * 1e3)
        groups.setdefault(f"SRV {r['srv']}", []).append(point)
    return [Series(k, groups[k], dots=True) for k in sorted(groups, key=_sort_key)]


def queue_depth(requests: Sequence[Mapping[str, Any]]) -> list[Point]:
    """Requests in the DSP queue (acknowledged, not yet dequeued) after each change, against
    time (s) from the first submission. Changes at the same instant count together (a request
    dequeued the instant another is acknowledged; one never queued), so the depth is never
    negative."""
    changes: Counter[float] = Counter()
    for r in requests:
        stamps = r["stamps"]
        if "acknowledged" in stamps and "dequeued" in stamps:
            first, last = sorted((stamps["acknowledged"], stamps["dequeued"]))
            changes[first] += 1
            changes[last] -= 1
    if not changes:
        return []
    start = min(r["stamps"]["submitted"] for r in requests if "submitted" in r["stamps"])
    times = sorted(changes)
    depth, points = 0, [(times[0] - start, 0.0)]
    for at in times:
        depth += changes[at]
        points.append((at - start, float(depth)))
    return points


def _charts(requests: Sequence[Mapping[str, Any]]) -> str:
    grouping, cdf = latency_cdf(requests)
    depth = queue_depth(requests)
    figures = [
        (
            f"Total latency CDF per {grouping}",
            chart(cdf, x_label="total latency (ms)", y_label="% of requests", y_min=0),
        ),
        (
            "Total latency over the run",
            chart(
                latency_over_time(requests),
                x_label="submitted (s from start)",
                y_label="total latency (ms)",
                y_min=0,
            ),
        ),
        (
            "DSP queue depth (acknowledged, not dequeued)",
            chart(
                [Series("queued", depth, step=True)] if depth else [],
                x_label="time (s from start)",
                y_label="requests",
                y_min=0,
            ),
        ),
    ]
    body = "".join(
        f"<figure><figcaption>{escape(title)}</figcaption>{svg}</figure>" for title, svg in figures
    )
    return f'<div class="charts">{body}</div>'


# -- tables ----------------------------------------------------------------------------------


def _users(requests: Sequence[Mapping[str, Any]]) -> str:
    """Per User: requests, ok, failed; admitted / throttled / rejected when the records say
    (``ack_code`` other than I99 is a rejection; ``throttled`` marks a held request)."""
    admission = any("ack_code" in r or "throttled" in r for r in requests)
    counts: dict[str, Counter[str]] = {}
    for r in requests:
        c = counts.setdefault(r.get("user") or "?", Counter())
        c["requests"] += 1
        c["ok" if r["outcome"] == "ok" else "failed"] += 1
        rejected = r.get("ack_code", ACK_ACCEPTED) != ACK_ACCEPTED
        c["rejected"] += rejected
        c["admitted"] += not rejected
        c["throttled"] += bool(r.get("throttled")) or rejected
    columns = ["requests", "ok", "failed"]
    if admission:
        columns += ["admitted", "throttled", "rejected"]
    rows = [[escape(user), *(str(c[k]) for k in columns)] for user, c in sorted(counts.items())]
    return _table(["User", *columns], rows, numeric=set(range(1, len(columns) + 1)))


def _measurements(measurements: Sequence[Mapping[str, Any]]) -> str:
    rows = [
        [
            escape(m["nodeid"] or ""),
            escape(m["name"]),
            f"{m['value']:.4g}",
            escape(m.get("units") or ""),
            escape(describe_limits(m["low"], m["high"], m["marginal_low"], m["marginal_high"])),
            _badge(m["verdict"]),
            escape(", ".join(m.get("requirements") or ())),
        ]
        for m in measurements
    ]
    head = ["test", "measurement", "value", "units", "limits", "verdict", "requirements"]
    return _table(head, rows, numeric={2})


def _coverage(run: RunData) -> str:
    rows = []
    for row in coverage_matrix(run.tests, run.measurements):
        tests = "<br>".join(f"{_badge(v)} {escape(nodeid)}" for nodeid, v in row.tests.items())
        rows.append([escape(row.requirement), _badge(row.verdict), tests])
    return _table(["requirement", "verdict", "tests"], rows)


def _request_rows(requests: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    """Failed requests counted by SRV, the test that sent them and reason."""
    reasons = Counter((r["srv"], r.get("test") or "", r["reason"] or "") for r in requests)
    return [
        [escape(srv), escape(test), str(n), escape(reason)]
        for (srv, test, reason), n in reasons.most_common()
    ]


def _test_entries(run: RunData, tests: Mapping[str, Mapping[str, Any]], base: Path | None) -> str:
    """A paragraph per test, its outcome, capture links and messages."""
    parts = []
    for nodeid, t in tests.items():
        links = " ".join(
            f'<a href="{escape(_link(p, base))}">{escape(p.name)}</a>'
            for p in captures_of(run, nodeid)
        )
        parts.append(
            f"<p>{_badge(t['outcome'])} <b>{escape(nodeid)}</b> {links}</p>"
            f"<pre>{escape(chr(10).join(t['messages']))}</pre>"
        )
    return "".join(parts) or '<p class="empty">none</p>'


def _failure_section(run: RunData, base: Path | None, *, expected: bool) -> str:
    """Failed requests and tests: those nobody expected (requests outside a test or of a failed
    test; failed tests), or those a test expected (the refusals a passing negative test asked
    for; expected failures, xfail, with their reasons)."""
    requests = unexpected_failures(run)[1 if expected else 0]
    outcomes = {"xfailed"} if expected else FAILING
    tests = {n: t for n, t in merged_tests(run).items() if t["outcome"] in outcomes}
    titles = (
        ("Requests refused or failed as their test expected", "Expected failures (xfail)")
        if expected
        else ("Requests", "Tests")
    )
    return (
        f"<h3>{titles[0]}</h3>"
        + _table(["SRV", "test", "count", "reason"], _request_rows(requests), {2})
        + f"<h3>{titles[1]}</h3>"
        + _test_entries(run, tests, base)
    )


def _link(path: Path, base: Path | None) -> str:
    if base is None:
        return path.resolve().as_uri()
    return Path(os.path.relpath(path.resolve(), base.resolve())).as_posix()


def _events(run: RunData) -> str:
    alerts = Counter((a.get("device"), a.get("code"), a.get("name")) for a in run.alerts)
    alert_rows = [
        [
            escape(str(device)),
            f"0x{code:04X}" if isinstance(code, int) else "?",
            escape(str(name)),
            str(n),
        ]
        for (device, code, name), n in alerts.most_common()
    ]
    error_rows = [[escape(str(e.get("device"))), escape(str(e.get("error")))] for e in run.errors]
    kinds = Counter((e["kind"], e.get("device"), e.get("event")) for e in run.events)
    event_rows = [
        [escape(kind), escape(str(device or "")), escape(str(event or "")), str(n)]
        for (kind, device, event), n in kinds.most_common()
    ]
    return (
        "<h3>Alerts</h3>"
        + _table(["device", "code", "name", "count"], alert_rows, {3})
        + "<h3>Errors</h3>"
        + _table(["device", "error"], error_rows)
        + "<h3>Other events</h3>"
        + _table(["kind", "device", "event", "count"], event_rows, {3})
    )
