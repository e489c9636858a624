"""The user docs (getting started, writing test plans, wiring, reading the report): their plans
run on the emulated bench, their Python and bench file run as shown, every ``rig`` command line
in them names real commands and options, and the README links them."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from rig.cli import main
from rig.config.bench import load_bench
from rig.gbcs.eui import Eui64
from rig.live.lease import bench_resources
from rig.zigbee.pki import generate

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
USER_DOCS = ["getting-started.md", "writing-test-plans.md", "wiring.md", "reading-the-report.md"]


def blocks(doc: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", (DOCS / doc).read_text(), re.S)


def rig_command_lines() -> list[str]:
    lines = []
    for doc in USER_DOCS:
        for block in blocks(doc, "sh"):
            for line in block.splitlines():
                for part in line.split("&&"):
                    words = shlex.split(part, comments=True)
                    if words and Path(words[0]).name == "rig":
                        lines.append(shlex.join(words[1:]))
    return lines


@pytest.mark.parametrize("line", rig_command_lines())
def test_documented_rig_commands_exist_with_their_options(line: str) -> None:
    """Each line parses against the click tree (files the reader brings may be missing)."""
    command: click.Command = main
    args = shlex.split(line)
    name = "rig"
    ctx = click.Context(main, info_name=name)
    while isinstance(command, click.Group):
        name, *args = args
        found = command.get_command(ctx, name)  # the rig's groups import their commands lazily
        assert found is not None, f"rig has no command {name!r}: {line}"
        command = found
        ctx = click.Context(command, info_name=name, parent=ctx)
    try:
        command.make_context(name, args)
    except click.BadParameter as exc:
        assert "does not exist" in str(exc), f"{line}: {exc}"


def test_the_readme_links_every_user_doc() -> None:
    readme = (ROOT / "README.md").read_text()
    for doc in USER_DOCS:
        assert f"(docs/{doc})" in readme, doc


def test_the_wiring_bench_file_loads_and_leases_its_two_ports(tmp_path: Path) -> None:
    toml, _ = blocks("wiring.md", "toml")
    (tmp_path / "bench-keys").mkdir()
    path = tmp_path / "lab.toml"
    path.write_text(toml)
    bench = load_bench(path)
    assert set(bench.devices) == {"esme"} and bench.bench_io is not None
    assert len(bench_resources(bench)) == 2


def test_the_wiring_han_bench_file_loads(tmp_path: Path) -> None:
    _, toml = blocks("wiring.md", "toml")
    (tmp_path / "bench-keys").mkdir()
    hub, esme = Eui64.parse("00-DB-12-34-56-78-95-01"), Eui64.parse("00-DB-12-34-56-78-95-02")
    generate(tmp_path / "han-pki", [hub.raw, esme.raw])
    path = tmp_path / "han.toml"
    path.write_text(toml)
    bench = load_bench(path)
    assert bench.han is not None and bench.han.port is not None
    assert bench.device("esme").transport == "han" and not bench.device("esme").emulated
    assert bench_resources(bench) == [bench.han.port]  # the radio is leased, as a serial port is


@pytest.mark.slow
def test_the_first_plan_runs_and_the_report_reads_as_documented(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    (plan,) = blocks("getting-started.md", "python")
    pytester.makepyfile(test_first=plan)
    result = pytester.runpytest_subprocess("--rig-results", "run", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*Requirement coverage*", "*DUIS SRV 2.2*pass*"])
    (reading,) = blocks("reading-the-report.md", "python")
    exec(reading, {"RUN": pytester.path / "run"})
    printed = capsys.readouterr().out
    assert re.search(r"SRV 2\.2: 1 ok, 0 failed, p95 [\d.]+ ms", printed), printed
    assert "3 requirements covered, failed: none" in printed


@pytest.mark.slow
def test_the_documented_plan_runs_on_two_workers(pytester: pytest.Pytester) -> None:
    (plan,) = blocks("writing-test-plans.md", "python")
    pytester.makepyfile(test_documented=plan)
    result = pytester.runpytest_subprocess(
        "--rig-results", "run", "-n", "2", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=2, skipped=1)
    result.stdout.fnmatch_lines(["*DUIS SRV 6.7*skipped*", "*DUIS SRV 7.2*pass*"])
