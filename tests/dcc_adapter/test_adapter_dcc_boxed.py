"""Issue 18's judge: a supplier's adapter made of DCC's own tools drives ``rig serve`` as it would
DCC Boxed (docs/adapter-test.md). ``rig serve`` runs as a subprocess on a free loopback port with
a bench whose ``response_url`` is the Node adapter's endpoint; the adapter (tests/dcc_adapter/
adapter.mjs) builds a 2.2 top-up, a 7.4 read, a critical 7.1 (Transform Service, then CV 5) and
a top-up the meter refuses (its alert), signs each with DCC Boxed's signing tool, validates every
synchronous answer and every northbound response and alert with it, and prints a summary; the
rig's results show the same requests with their HTTP hops. One JVM per message: slow."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from adapter_tools import HERE, DccTools
from shared_dir import SHARED_DIR, require_shared

from rig.keys import RTDS_KEYS
from rig.results.jsonl import RESULTS_FILE, read_jsonl

pytestmark = pytest.mark.slow

SUPPLIER = "90-B3-D5-1F-30-01-00-00"
ESME = "00-DB-12-34-56-78-90-A0"
RIG = (sys.executable, "-c", "from rig.cli import main; main()")
#: The rig's whole answer to one adapter run must come within this (a loaded 2-core machine).
ADAPTER_TIMEOUT_S = 240
#: The bench docs/adapter-test.md runs by hand; the test points its response_url elsewhere.
BENCH = HERE / "bench.toml"
BENCH_URL = 'response_url = "http://127.0.0.1:9000/duis"'


@dataclass(frozen=True)
class Run:
    """What one adapter run against ``rig serve`` left: the adapter's summary, the rig's
    records, and what ``rig serve`` printed."""

    summary: dict
    records: list[dict]
    serve_output: str


def _serving_url(serve: subprocess.Popen[str], log: Path) -> str:
    assert serve.stdout is not None
    for line in serve.stdout:
        if line.startswith("serving DUIS on "):
            return line.removeprefix("serving DUIS on ").strip()
    serve.wait(timeout=30)
    raise AssertionError(f"rig serve stopped before serving: {log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def run(dcc_tools: DccTools, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """The adapter's whole scenario, run once for the module's tests."""
    require_shared(SHARED_DIR / "duis" / "xml-sign-keys")  # the bench's default [duis] keys
    folder = tmp_path_factory.mktemp("dcc-adapter")
    run_dir = folder / "run"
    adapter = subprocess.Popen(
        [
            dcc_tools.node,
            str(HERE / "adapter.mjs"),
            "--server=-",
            f"--supplier={SUPPLIER}",
            f"--esme={ESME}",
            f"--supplier-keys={RTDS_KEYS}",
            f"--device-keys={run_dir / 'keys'}",
        ],
        env=dcc_tools.env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    serve: subprocess.Popen[str] | None = None
    try:
        assert adapter.stdout is not None and adapter.stdin is not None
        first = adapter.stdout.readline()
        if not first:
            _, errors = adapter.communicate()
            raise AssertionError(f"the adapter stopped at start: {errors[-2000:]}")
        endpoint = json.loads(first)["listening"]
        bench = folder / "bench.toml"
        text = BENCH.read_text()
        assert BENCH_URL in text and SUPPLIER in text and ESME in text
        bench.write_text(text.replace(BENCH_URL, f'response_url = "{endpoint}"'))
        log = folder / "serve.log"  # a file, not a pipe nobody reads while the run goes on
        with log.open("w") as stderr:
            serve = subprocess.Popen(
                [*RIG, "serve", str(bench), "--port", "0", "--out", str(run_dir)],
                env={**os.environ, "RIG_SHARED_DIR": str(SHARED_DIR)},
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        adapter.stdin.write(_serving_url(serve, log) + "\n")
        adapter.stdin.flush()
        out, errors = adapter.communicate(timeout=ADAPTER_TIMEOUT_S)
        assert out.strip(), f"the adapter printed no summary: {errors[-2000:]}"
        summary = json.loads(out.strip().splitlines()[-1])
        serve.send_signal(signal.SIGTERM)
        serve_out, _ = serve.communicate(timeout=60)
        assert serve.returncode == 0, log.read_text()[-2000:]
        records = list(read_jsonl(run_dir / RESULTS_FILE))
        yield Run(summary, records, serve_out)
    finally:
        for process in (adapter, serve):
            if process is not None and process.poll() is None:
                process.kill()
                process.communicate()


def _step(run: Run, srv: str, name_part: str = "") -> dict:
    found = [s for s in run.summary["steps"] if s["srv"] == srv and name_part in s["name"]]
    assert len(found) == 1, run.summary
    return found[0]


def test_the_adapter_passes_every_check_with_dccs_own_tools(run: Run, dcc_tools: DccTools) -> None:
    summary = run.summary
    assert summary["ok"], json.dumps(summary, indent=1)
    assert summary["versions"] == dcc_tools.versions()
    assert not summary["errors"]


@pytest.mark.parametrize("srv", ["2.2", "7.4"])
def test_a_request_is_acknowledged_then_answered_at_the_adapters_endpoint(
    run: Run, srv: str
) -> None:
    step = _step(run, srv, "top-up" if srv == "2.2" else "")
    assert (step["service"], step["http_status"]) == ("serviceS", 200)
    assert (step["sync_code"], step["sync_signature"]) == ("I99", "valid")
    assert (step["response_code"], step["response_signature"]) == ("I0", "valid")
    assert step["response_has_gbcs"]
    assert step["response_content_type"].startswith("application/xml")
    assert 0 < step["times"]["sync_s"] < step["times"]["response_s"]


def test_a_critical_command_goes_through_the_transform_service(run: Run) -> None:
    step = _step(run, "7.1")
    assert step["pre_command"]["code"] == "I0"
    assert step["pre_command"]["signature"] == "valid"
    assert (step["service"], step["sync_code"], step["sync_signature"]) == (
        "serviceS",
        "I99",
        "valid",
    )
    assert (step["response_code"], step["response_signature"]) == ("I0", "valid")


def test_the_meters_alert_reaches_the_adapter_signed(run: Run) -> None:
    refused = _step(run, "2.2", "forged")
    assert (refused["sync_code"], refused["response_code"]) == ("I99", "I0")
    [alert] = run.summary["alerts"]
    assert alert["signature"] == "valid"
    assert alert["alert_code"].upper() == "8F64"  # UTRN not for this Device (reference §1.6)
    assert alert["response_id"].startswith(f"{ESME}:{SUPPLIER}:")
    assert alert["content_type"].startswith("application/xml")


def test_the_rig_recorded_each_request_with_its_http_hops(run: Run) -> None:
    requests = {r["request_id"]: r for r in run.records if r["kind"] == "request"}
    assert len(requests) == len(run.summary["steps"]) == 4
    for step in run.summary["steps"]:
        record = requests[step["request_id"]]
        assert record["ack_code"] == "I99"
        assert {"http_in", "http_out", "adapter", "total"} <= set(record["latency_s"]), record
        assert record["latency_s"]["adapter"] >= record["latency_s"]["total"]
        forged = "forged" in step["name"]
        # The meter took the adapter's UTRN (made in Node) and refused the forged one.
        assert record["outcome"] == ("failed" if forged else "ok"), record
        assert record["response"]["result"] == (1 if forged else 0), record
    transformed = [r for r in run.records if r["kind"] == "transformed"]
    assert [r["request_id"] for r in transformed] == [_step(run, "7.1")["request_id"]]
    [alert] = [r for r in run.records if r["kind"] == "alert"]
    assert alert["name"] == "UTRN not for this Device" and alert["delivered_at"]
    assert "4 requests answered, 3 refused" in run.serve_output, run.serve_output


def test_bad_input_gets_the_answer_docs_dcc_boxed_names(run: Run) -> None:
    refusals = {r["name"]: r for r in run.summary["refusals"]}
    assert (refusals["replayed"]["http_status"], refusals["tampered"]["http_status"]) == (409, 403)
    assert refusals["replayed"]["answer"].startswith("RIG-COUNTER-NOT-INCREASING")
    assert refusals["tampered"]["answer"].startswith("RIG-BAD-SIGNATURE")
    assert refusals["unsigned"]["http_status"] == 403
    assert refusals["unsigned"]["answer"].startswith("RIG-BAD-SIGNATURE")
    refused = [r for r in run.records if r["kind"] == "refused"]
    assert len(refused) == 3, refused  # each refusal is kept in the results
