"""``rig benchmark results``: the writer's CPU per record, from records like the load bench's."""

import json

from click.testing import CliRunner

from rig.benchmarks.results import RESPONSE_7_4, bench_records, run_results_bench
from rig.cli import main
from rig.results.record import STAMPS


def test_bench_records_are_completed_7_4_reads_in_journey_order():
    records = bench_records(8, 2000.0)
    assert {r.target for r in records} == {f"00-DB-12-34-56-78-00-0{n}" for n in range(4)}
    for record in records:
        assert record.ok and record.srv == "7.4" and record.response == RESPONSE_7_4
        assert list(record.stamps) == list(STAMPS)
        assert all(hop >= 0 for hop in record.latencies().values())


def test_the_figures_cover_the_rig_and_both_sets_of_sinks():
    result = run_results_bench(records=60, rate=1000.0, batch_s=0.01, repeats=1)
    assert result.records_per_frame == 10
    assert [w.sinks for w in result.writers] == ["JSONL", "JSONL + SQLite"]
    assert result.rig_cpu_us_per_record > 0
    for writer in result.writers:
        assert 0 < writer.chunk_p50_ms <= writer.chunk_max_ms
        assert writer.cpu_us_per_record > 0
    assert "µs/record" in result.text()


def test_the_command_prints_json_and_refuses_a_bad_figure():
    runner = CliRunner()
    done = runner.invoke(
        main, ["benchmark", "results", "--records", "20", "--repeat", "1", "--json"]
    )
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["records"] == 20
    refused = runner.invoke(main, ["benchmark", "results", "--rate", "0"])
    assert refused.exit_code != 0 and "rate 0" in refused.output
