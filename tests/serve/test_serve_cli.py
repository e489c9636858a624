"""``rig serve`` as a command: one ready line naming the port it picked, a clean stop on SIGTERM
with its results written, and a bad ``[duis]`` table in one line naming file, key and value."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from serve_adapter import write_bench

from rig.cli import main
from rig.config.bench import BenchError, load_bench

#: The installed ``rig`` script, beside this interpreter.
RIG = str(Path(sys.executable).parent / "rig")


def test_rig_serve_says_where_it_serves_and_stops_cleanly_on_sigterm(
    tmp_path: Path, keys: Path
) -> None:
    bench = write_bench(tmp_path, keys, "http://127.0.0.1:9/")
    out = tmp_path / "run"
    process = subprocess.Popen(
        [RIG, "serve", str(bench), "--port", "0", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("serving DUIS on http://127.0.0.1:"), line
        assert int(line.rsplit(":", 1)[1]) > 0
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert "stopped: 0 requests answered, 0 refused" in stdout
    assert (out / "results.sqlite").exists() or list(out.glob("**/results.jsonl"))


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[[duis.user]]\nname = "nobody"\nresponse_url = "http://x/"', "duis.user[0].name"),
        (
            '[[duis.user]]\nname = "supplier"\nresponse_url = "ftp://x/"',
            "duis.user[0].response_url",
        ),
        ("[duis]\nretry_attempts = 0", "duis.retry_attempts"),
        ('[duis]\nkeys = "no-such-folder"', "duis.keys"),
        ("[duis]\nport = 1", "duis.port: unknown key"),
    ],
)
def test_a_bad_duis_table_is_one_line_naming_the_key(
    tmp_path: Path, table: str, message: str
) -> None:
    path = tmp_path / "bench.toml"
    path.write_text(
        '[[user]]\nname = "supplier"\neui = "90-B3-D5-1F-30-01-00-00"\n'
        '[[device]]\nname = "esme"\nkind = "esme"\neui = "00-DB-12-34-56-78-90-A0"\n'
        f"emulated = true\n{table}\n"
    )
    with pytest.raises(BenchError, match=re.escape(message)) as raised:
        load_bench(path)
    assert str(raised.value).startswith(str(path)) and "\n" not in str(raised.value)
    result = CliRunner().invoke(main, ["serve", str(path)])
    assert result.exit_code == 1 and message in result.output


PLAN = """
def test_the_plan_and_the_adapter_share_the_rig(rig, duis_server):
    assert duis_server.rig is rig
    assert duis_server.url == "http://127.0.0.1:{port}"
"""


@pytest.mark.slow  # a pytest session of its own with a bench: ~30 s on 2 cores
def test_rig_serve_in_a_plan_serves_on_the_sessions_rig(tmp_path: Path, keys: Path) -> None:
    bench = write_bench(tmp_path, keys, "http://127.0.0.1:9/")
    with socket.socket() as probe:  # a free port for --rig-serve
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    plan = tmp_path / "test_plan.py"
    plan.write_text(PLAN.format(port=port))
    result = subprocess.run(
        [
            RIG,
            "run",
            str(plan),
            "--bench",
            str(bench),
            "--out",
            str(tmp_path / "run"),
            "--rig-serve",
            str(port),
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
