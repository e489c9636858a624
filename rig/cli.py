"""The ``rig`` command."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
import pytest
from click.core import ParameterSource
from rich.console import Console

from devices.commands import bench_devices
from devices.emulated.cpu_bench import bench_emulator
from rig.bench import DEFAULT_BENCH, Bench
from rig.duis.commands import duis
from rig.fuzz import bench_fuzz
from rig.gbcs.commands import EUI, bench_codec, decode, frame
from rig.gbcs.eui import Eui64
from rig.keys.pki import generate_pki
from rig.lease import DEFAULT_LEASE_DIR, BenchLease, LeaseUnavailable, lease_bench, this_holder
from rig.load.commands import bench_load, emulate
from rig.progress import TestProgress, on_terminal, tracked
from rig.report.commands import report
from rig.results.commands import bench_results
from rig.results.report import render, summarise
from rig.sim.commands import bench_dsp, simulate

#: The default test plan, beside the installed packages in a checkout.
DEFAULT_PLAN = Path(__file__).resolve().parent.parent / "test_plans" / "test_backbone.py"


@click.group()
def main() -> None:
    """Hardware-in-the-loop test rig for GB smart metering (DCC DSP model, GBCS, devices).

    \b
    Example:
      rig demo                                   # the default plan on the emulated bench
      rig run test_plans/ -n 2                   # every shipped plan, two workers
      rig report runs/20261123T120000Z --html report.html
    """


BENCH_OPTION = click.option(
    "--bench",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=DEFAULT_BENCH,
    show_default="the embedded emulated bench",
    help="Bench file (TOML).",
)
OUT_OPTION = click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Results folder (default: runs/<UTC time>).",
)


def _run_dir(out: Path | None) -> Path:
    return out or Path("runs") / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def _leased(loaded: Bench) -> BenchLease:
    """The bench's physical ports, leased for this command: it does not wait for a run that
    holds them (docs/wiring.md "Sharing a bench")."""
    try:
        return lease_bench([loaded], DEFAULT_LEASE_DIR, holder=this_holder(), timeout_s=0)
    except LeaseUnavailable as exc:
        raise click.ClickException(str(exc)) from exc


def _pytest(plan: Path, benches: list[Path], run_dir: Path, extra: list[str]) -> None:
    args = [str(plan), "-p", "no:cacheprovider", *(f"--bench={b}" for b in benches)]
    plugins = [TestProgress()] if on_terminal() else []
    code = pytest.main([*args, "--rig-results", str(run_dir), *extra], plugins=plugins)
    click.echo(f"results: {run_dir}")
    raise SystemExit(int(code))


@main.command()
@BENCH_OPTION
@OUT_OPTION
def demo(bench: Path, out: Path | None) -> None:
    """Run the default test plan on a bench and print the latency report.

    \b
    Example:
      rig demo                     # emulated ESME in its own process behind a pty
      rig demo --bench my.toml     # the same plan on a physical bench
    """
    if not DEFAULT_PLAN.exists():
        raise click.ClickException(f"default test plan not found at {DEFAULT_PLAN}")
    _pytest(DEFAULT_PLAN, [bench], _run_dir(out), ["-q", "--rootdir", str(DEFAULT_PLAN.parent)])


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("plan", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--bench",
    "benches",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Bench file (TOML); repeat it for a pool: each worker leases a free bench. "
    "[default: the embedded emulated bench]",
)
@OUT_OPTION
@click.option("-n", "workers", default=None, help="pytest-xdist workers, one bench each.")
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def run(
    plan: Path,
    benches: tuple[Path, ...],
    out: Path | None,
    workers: str | None,
    pytest_args: tuple[str, ...],
) -> None:
    """Run a test plan (a pytest file or folder) on a bench; other arguments go to pytest.

    Under -n each worker leases its own bench: emulated devices are made per worker, a
    physical bench's ports are held by one worker at a time (docs/writing-test-plans.md).

    \b
    Example:
      rig run test_plans/ --bench lab.toml -n 2 -k top_up
      rig run test_plans/ --bench lab-1.toml --bench lab-2.toml -n 2
    """
    extra = [*pytest_args, *(["-n", workers] if workers else [])]
    _pytest(plan, list(benches) or [DEFAULT_BENCH], _run_dir(out), extra)


@main.command()
@click.argument(
    "bench_file",
    metavar="[BENCH]",
    required=False,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@BENCH_OPTION
@OUT_OPTION
def check(bench_file: Path | None, bench: Path, out: Path | None) -> None:
    """Check that every device of a bench answers (SRV 7.4) before a long run.

    BENCH (or --bench) is the bench file; the default is the embedded emulated bench.

    \b
    Example:
      rig check lab.toml
      rig check --bench lab.toml --out runs/check
    """
    from rig.bench import BenchError, load_bench
    from rig.launch import launch

    if bench_file is not None:
        given = click.get_current_context().get_parameter_source("bench")
        if given is ParameterSource.COMMANDLINE and bench.resolve() != bench_file.resolve():
            raise click.UsageError(f"two bench files given: {bench_file} and --bench {bench}")
        bench = bench_file
    try:
        loaded = load_bench(bench)
    except BenchError as exc:
        raise click.ClickException(str(exc)) from exc
    console = Console()
    failed = 0
    with _leased(loaded), launch(loaded, _run_dir(out)) as rig:
        for name in loaded.devices:
            record = rig.read_supply_status(name)
            if record.ok:
                total_ms = record.latencies()["total"] * 1e3
                console.print(f"[green]ok[/]     {name}: answered in {total_ms:.1f} ms")
            else:
                failed += 1
                console.print(f"[red]FAILED[/] {name}: {record.reason}")
    raise SystemExit(1 if failed else 0)


@main.command()
@click.argument("log", type=click.Path(exists=True, path_type=Path))
@BENCH_OPTION
@OUT_OPTION
@click.option(
    "--speed",
    type=float,
    default=1.0,
    show_default=True,
    help="Time scale: 2 replays twice as fast; inf as fast as possible.",
)
def replay(log: Path, bench: Path, out: Path | None, speed: float) -> None:
    """Replay a DUIS log (a file, a folder of XML files, or a JSONL capture) onto a bench.

    Send times come from a leading <!-- sent: ISO8601 --> comment, the JSONL "sent" field, or
    the file's modification time. Requests keep their RequestIDs; refused ones are listed with
    their DUIS or rig code and the replay goes on.

    \b
    Example:
      rig replay adapter-log/ --bench lab.toml --speed 10
    """
    from rig.bench import BenchError, load_bench
    from rig.duis.log import LogError, read_log
    from rig.launch import launch
    from rig.replay import replay as run_replay

    try:
        loaded, entries = load_bench(bench), read_log(log)
    except (BenchError, LogError) as exc:
        raise click.ClickException(str(exc)) from exc
    run_dir = _run_dir(out)
    with (
        _leased(loaded),
        launch(loaded, run_dir) as rig,
        tracked(entries, f"replaying {log}") as shown,
    ):
        result = run_replay(rig, shown, speed=speed)
    console = Console()
    records = [r.to_json() for r in result.records]
    render(summarise(records), console, title=f"Replay of {log}: {run_dir}")
    for refusal in result.refused:
        console.print(f"  refused: {refusal.source}: {refusal.reason}")
    console.print(
        f"{len(entries)} entries: {len(records)} sent, {len(result.refused)} refused; "
        f"worst submission lag {result.late_s * 1e3:.1f} ms"
    )


@main.group()
def bench() -> None:
    """Benchmarks: each prints its figure (and a ratio against its named alternative).

    \b
    Example:
      rig bench codec --seconds 2
    """


main.add_command(report)
main.add_command(duis)
main.add_command(simulate)
main.add_command(decode)
main.add_command(frame)
bench.add_command(bench_dsp)
bench.add_command(bench_codec)
bench.add_command(bench_devices)
bench.add_command(bench_load)
bench.add_command(bench_results)
bench.add_command(bench_emulator)
bench.add_command(bench_fuzz)
main.add_command(emulate)

#: Examples for --help of commands defined in other modules that give none themselves
#: (tests/rig/test_help_examples.py checks that every command shows one).
_EXAMPLES: dict[click.Command, list[str]] = {
    bench_dsp: ["rig bench dsp --hours 1 --json dsp.json"],
    bench_codec: ["rig bench codec --seconds 2 --json"],
    duis: ["rig duis validate request.xml", "rig duis sign --out signed/ request.xml"],
    duis.commands["validate"]: ["rig duis validate requests/*.xml"],
    duis.commands["sign"]: ["rig duis sign --keys xml-sign-keys --out signed/ request.xml"],
    duis.commands["verify"]: ["rig duis verify --keys xml-sign-keys signed/request.xml"],
    duis.commands["show"]: ["rig duis show response.xml"],
    simulate: [
        "rig simulate scenarios/outage-release.toml --json out.json --plot plots/",
        "rig simulate national-day-2024 --no-progress > national-day.txt",
    ],
    decode: ["rig frame ecs45 --counter 5 > frame.hex && rig decode @frame.hex"],
    frame: ["rig frame cs01a --counter 4294967296 --credit 10", "rig frame ecs42 --counter 7"],
}
for _command, _lines in _EXAMPLES.items():
    if not _command.epilog:
        _command.epilog = "\b\nExample:\n" + "\n".join(f"  {line}" for line in _lines)


@main.group()
def keys() -> None:
    """Test key material (never real keys).

    \b
    Example:
      rig keys generate --out bench-keys --device 00-DB-12-34-56-78-91-01
    """


@keys.command("generate")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the keys into (keystore naming convention).",
)
@click.option(
    "--party",
    "parties",
    multiple=True,
    type=EUI,
    help="Remote party EUI (supplier, network operator, ACB...); repeatable.",
)
@click.option(
    "--prepayment",
    "prepayment",
    multiple=True,
    type=EUI,
    help="Remote party that also needs a prepayment KA key (UTRNs); repeatable.",
)
@click.option(
    "--device",
    "devices",
    multiple=True,
    type=EUI,
    help="Device EUI (ESME, GSME, CHF...); repeatable.",
)
@click.option("--overwrite", is_flag=True, help="Replace existing key files.")
def generate(
    out: Path,
    parties: tuple[Eui64, ...],
    prepayment: tuple[Eui64, ...],
    devices: tuple[Eui64, ...],
    overwrite: bool,
) -> None:
    """Generate a complete test PKI: P-256 KA and DS keys and certificates per party and device.

    \b
    Example:
      rig keys generate --out bench-keys --party 90-B3-D5-1F-30-01-00-00 \\
          --prepayment 90-B3-D5-1F-30-01-00-00 --device 00-DB-12-34-56-78-91-01
    """
    if not (parties or prepayment or devices):
        raise click.UsageError("name at least one --party, --prepayment or --device")
    try:
        written = generate_pki(
            out,
            remote_parties=parties,
            devices=devices,
            prepayment_parties=prepayment,
            overwrite=overwrite,
        )
    except FileExistsError as exc:
        raise click.ClickException(f"{exc} (use --overwrite to replace)") from exc
    for path in written:
        click.echo(path)
