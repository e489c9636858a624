"""`rig replay`: real DUIS templates replayed through the DSP model onto an emulated ESME."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from rig.cli import main
from rig.config.bench import DEFAULT_BENCH
from rig.duis.log import EXAMPLES_DIR
from rig.results.jsonl import RESULTS_FILE, read_jsonl

BENCH = """
[bench]
name = "replay"
[keys]
dirs = ["@rtds"]
[user]
eui = "90-B3-D5-1F-30-01-00-00"
[[device]]
name = "esme"
kind = "esme"
eui = "00-DB-12-34-56-78-90-A0"   # the RTDS ESME the templates address (keys generated)
emulated = true
response_timeout_s = 2.0
"""

#: (template, new RequestID counter) in the order sent: disable, read, arm, read, enable, read,
#: and a gas read for a meter the bench does not have.
SEQUENCE = [
    ("ECS43_7.2_SUCCESS_REQUEST_DUIS.XML", 2001),
    ("ECS45_7.4_SUCCESS_REQUEST_DUIS.XML", 2002),
    ("ECS44_7.3_SUCCESS_REQUEST_DUIS.XML", 2003),
    ("ECS45_7.4_SUCCESS_REQUEST_DUIS.XML", 2004),
    ("ECS42_7.1_SUCCESS_REQUEST_DUIS.XML", 2005),
    ("ECS45_7.4_SUCCESS_REQUEST_DUIS.XML", 2006),
    ("GCS33_7.4_SUCCESS_REQUEST_DUIS.XML", 2007),
]


@pytest.fixture
def log(shared_dir: Path, tmp_path: Path) -> Path:
    templates = shared_dir / "duis" / "templates"
    lines = []
    for second, (name, counter) in enumerate(SEQUENCE):
        xml = (templates / name).read_text(encoding="utf-8")
        xml = re.sub(r"(<sr:RequestID>[^<]*:)\d+(</sr:RequestID>)", rf"\g<1>{counter}\2", xml)
        lines.append({"sent": f"2026-11-23T10:00:{second:02d}Z", "xml": xml})
    lines.append({"sent": "2026-11-23T10:00:30Z", "xml": "<sr:Request>not closed"})
    path = tmp_path / "adapter.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_replayed_traffic_reaches_the_meter_and_bad_entries_are_reported(
    log: Path, tmp_path: Path
) -> None:
    """At 10x (100 ms apart) each request completes before the next: played all at once, the
    level-1 reads would overtake the level-4 supply commands in the DSP (SECMP0028) and the
    meter would refuse the late, lower counters as replays (8F30), as the next test shows."""
    bench = tmp_path / "bench.toml"
    bench.write_text(BENCH)
    out = tmp_path / "run"
    result = CliRunner().invoke(
        main, ["replay", str(log), "--bench", str(bench), "--out", str(out), "--speed", "10"]
    )
    assert result.exit_code == 1, result.output  # two entries refused
    assert "8 entries: 6 sent, 2 refused, 0 failed" in result.output
    requests = [r for r in read_jsonl(out / RESULTS_FILE) if r.get("kind") == "request"]
    by_counter = {int(r["request_id"].rsplit(":", 1)[1]): r for r in requests}
    assert [by_counter[c]["outcome"] for c in range(2001, 2007)] == ["ok"] * 6
    states = [by_counter[c]["response"]["control_state"] for c in (2002, 2004, 2006)]
    assert states == [0, 2, 1]  # disconnected, armed, connected
    assert 2007 not in by_counter  # refused by the DSP's access control: no such device
    refused = [r for r in read_jsonl(out / RESULTS_FILE) if r.get("kind") == "refused"]
    assert [r["source"].rsplit(":", 1)[1] for r in refused] == ["7", "8"]
    assert refused[0]["reason"].startswith("E19")


def test_access_control_refuses_a_repeated_counter(log: Path, tmp_path: Path) -> None:
    """A RequestID counter not above the last one from the User to the device is refused by the
    DSP (domain.md §7 anti-replay) before the meter sees it; the replay goes on."""
    lines = log.read_text().splitlines()
    log.write_text("\n".join([*lines[:2], lines[1].replace("10:00:01", "10:00:01.5"), *lines[2:]]))
    bench = tmp_path / "bench.toml"
    bench.write_text(BENCH)
    out = tmp_path / "run"
    args = ["replay", str(log), "--bench", str(bench), "--out", str(out), "--speed", "10"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert "9 entries: 6 sent, 3 refused, 0 failed" in result.output
    refused = [r for r in read_jsonl(out / RESULTS_FILE) if r.get("kind") == "refused"]
    assert "counter 2002 not above 2002" in refused[0]["reason"]


def test_priority_reordering_meets_the_meters_anti_replay(log: Path, tmp_path: Path) -> None:
    """All at once: the first command is served at once; the reads (level 1) then overtake the
    queued supply commands (level 4), whose counters the meter has already passed."""
    bench = tmp_path / "bench.toml"
    bench.write_text(BENCH.replace("[[device]]", "[dsp]\nservice_time_s = 0.05\n[[device]]"))
    out = tmp_path / "run"
    args = ["replay", str(log), "--bench", str(bench), "--out", str(out), "--speed", "inf"]
    assert CliRunner().invoke(main, args).exit_code == 1
    requests = [r for r in read_jsonl(out / RESULTS_FILE) if r.get("kind") == "request"]
    by_counter = {int(r["request_id"].rsplit(":", 1)[1]): r for r in requests}
    assert all(by_counter[c]["outcome"] == "ok" for c in (2001, 2002, 2004, 2006))
    for counter in (2003, 2005):
        assert "alert 0x8F30" in by_counter[counter]["reason"]


def test_the_shipped_example_log_runs_on_the_default_bench(tmp_path: Path) -> None:
    """docs/duis.md "Replay logs": disable, arm, enable with a read after each, all answered."""
    out = tmp_path / "run"
    args = ["replay", "default-bench", "--out", str(out), "--speed", "10"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "7 entries: 7 sent, 0 refused, 0 failed" in result.output
    requests = [r for r in read_jsonl(out / RESULTS_FILE) if r.get("kind") == "request"]
    assert [r["outcome"] for r in requests] == ["ok"] * 7
    reads = [r["response"]["control_state"] for r in requests if r["srv"] == "7.4"]
    assert reads == [1, 0, 2, 1]  # connected, disconnected, armed, connected


def test_failed_requests_alone_make_the_replay_exit_1(tmp_path: Path) -> None:
    """All at once on a slow DSP, the reads overtake the supply commands (SECMP0028) and the
    meter refuses the commands' older counters: nothing refused by the DSP, yet a failure."""
    bench = tmp_path / "bench.toml"
    bench.write_text(DEFAULT_BENCH.read_text().replace("0.001 ", "0.05 "))
    log = EXAMPLES_DIR / "default-bench.jsonl"
    args = ["replay", str(log), "--bench", str(bench), "--out", str(tmp_path / "run")]
    result = CliRunner().invoke(main, [*args, "--speed", "inf"])
    assert result.exit_code == 1, result.output
    assert re.search(r"7 entries: 7 sent, 0 refused, [1-9] failed", result.output)
    assert "alert 0x8F30" in result.output


def test_refusals_print_as_words(tmp_path: Path) -> None:
    """A refusal names roles and command variants as DUIS does, never as Python reprs."""
    first = json.loads((EXAMPLES_DIR / "default-bench.jsonl").read_text().splitlines()[0])
    wrong_cv = first["xml"].replace("<sr:CommandVariant>1<", "<sr:CommandVariant>4<")
    other_user = first["xml"].replace("90-B3-D5-1F-30-01-00-00", "90-B3-D5-1F-30-03-00-00")
    log = tmp_path / "bad.jsonl"
    log.write_text("".join(json.dumps({**first, "xml": x}) + "\n" for x in (wrong_cv, other_user)))
    result = CliRunner().invoke(main, ["replay", str(log), "--out", str(tmp_path / "run")])
    assert result.exit_code == 1, result.output
    assert "E12 at sr:CommandVariant: SRV 7.4 takes CV 1, 2, 3, not 4" in result.output
    assert "in no role of IS" in result.output  # supplier2 is a User, but not this meter's
    assert not re.search(r"<\w+\.\w+: |\[\d|b'", result.output), result.output
