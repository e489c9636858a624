"""The ``rig`` command.

``rig --help`` must answer at once, so this module imports only click: each command imports
what it needs in its body, and the commands defined in other modules are imported when they are
run or their help is shown (:class:`LazyGroup`). tests/rig/test_cli_imports.py holds it to that.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

if TYPE_CHECKING:
    from rig.config.bench import Bench, DeviceConfig
    from rig.live.lease import BenchLease

#: The default test plan (test_plans/test_backbone.py, packaged by a link: rig/plans/__init__.py).
DEFAULT_PLAN = Path(__file__).resolve().parent / "plans" / "test_backbone.py"
DISTRIBUTION = "gb-smart-rig"


class LazyGroup(click.Group):
    """A group some of whose commands live in other modules, imported only when one of them is
    run or asked for its help. ``lazy`` maps a command's name to ``"module:attribute"`` and the
    short help listed for it (tests/rig/test_cli_imports.py checks that it is the command's own).
    """

    def __init__(
        self, *args: Any, lazy: dict[str, tuple[str, str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            module, attribute = self.lazy[cmd_name][0].split(":")
            command = getattr(importlib.import_module(module), attribute)
            _add_examples(command, self.examples_path(ctx, cmd_name))
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def examples_path(self, ctx: click.Context, cmd_name: str) -> tuple[str, ...]:
        """Where :data:`_EXAMPLES` keeps the examples of the command ``cmd_name``."""
        return (*_path(ctx), cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list, importing none of the lazy commands."""
        listed = [
            self.commands.get(name) or click.Command(name, help=self.lazy[name][1])
            for name in self.list_commands(ctx)
        ]
        shown = [command for command in listed if not command.hidden]
        limit = formatter.width - 6 - max((len(c.name or "") for c in shown), default=0)
        if shown:
            with formatter.section("Commands"):
                formatter.write_dl([(c.name or "", c.get_short_help_str(limit)) for c in shown])


def _path(ctx: click.Context) -> tuple[str, ...]:
    """The names of the (sub)commands of ``ctx`` below ``rig``."""
    names: list[str] = []
    while ctx.parent is not None:
        names.insert(0, ctx.info_name or "")
        ctx = ctx.parent
    return tuple(names)


#: Examples for --help of commands defined in other modules that give none themselves
#: (tests/rig/test_help_examples.py checks that every command shows one).
_EXAMPLES: dict[tuple[str, ...], list[str]] = {
    ("benchmark", "dsp"): ["rig benchmark dsp --hours 1 --json dsp.json"],
    ("benchmark", "codec"): ["rig benchmark codec --seconds 2 --json"],
    ("benchmark", "spinel"): ["rig benchmark spinel --seconds 2"],
    ("duis",): ["rig duis validate request.xml", "rig duis sign --out signed/ request.xml"],
    ("duis", "validate"): ["rig duis validate requests/*.xml"],
    ("duis", "sign"): ["rig duis sign --keys xml-sign-keys --out signed/ request.xml"],
    ("duis", "verify"): ["rig duis verify --keys xml-sign-keys signed/request.xml"],
    ("duis", "show"): ["rig duis show response.xml"],
    ("simulate",): [
        "rig simulate scenarios/outage-release.toml --json out.json --plot plots/",
        "rig simulate national-day-2024 --no-progress > national-day.txt",
    ],
    ("decode",): ["rig frame ecs45 --counter 5 > frame.hex && rig decode @frame.hex"],
    ("frame",): ["rig frame cs01a --counter 4294967296 --credit 10", "rig frame ecs42 --counter 7"],
}


def _add_examples(command: click.Command, path: tuple[str, ...]) -> None:
    """Give ``command`` (and its subcommands) the example :data:`_EXAMPLES` has for it."""
    lines = _EXAMPLES.get(path)
    if lines and not command.epilog:
        command.epilog = "\b\nExample:\n" + "\n".join(f"  {line}" for line in lines)
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            _add_examples(sub, (*path, name))


@click.group(
    cls=LazyGroup,
    lazy={
        "decode": (
            "rig.gbcs.commands:decode",
            "Decode a GBCS frame or GBT block into a tree with MAC, signature and decryption "
            "verdicts.",
        ),
        "duis": ("rig.duis.commands:duis", "DUIS 5.4 files: validate, sign, verify, show."),
        "emulate": (
            "rig.load.commands:emulate",
            "Serve a bench's emulated devices so a physical rig can mix them in; Ctrl-C stops.",
        ),
        "frame": (
            "rig.gbcs.commands:frame",
            "Build a GBCS message from options or a JSON/TOML description and print its hex.",
        ),
        "han": (
            "rig.live.han_commands:han",
            "The HAN's radio: check a Spinel RCP dongle before a bench file names it.",
        ),
        "keys": ("rig.keys.commands:keys", "Test key material (never real keys)."),
        "lab": (
            "rig.lab.commands:lab",
            "Benches as labgrid places: export a bench, serve an emulated one.",
        ),
        "report": (
            "rig.report.commands:report",
            "Print the latency report of a run, write its HTML or JUnit report, or compare two "
            "runs.",
        ),
        "serve": (
            "rig.serve.commands:serve",
            "Serve DUIS on a bench as DCC Boxed does: POST signed XML to /api/v1/serviceS, "
            "serviceT and serviceD; responses and alerts are POSTed to each User's response_url "
            "([duis] in the bench file).",
        ),
        "simulate": (
            "rig.sim.commands:simulate",
            "Simulate SCENARIO (a TOML file, or the name of a shipped one such as quiet-hour) on "
            "a virtual clock with the rig's own DSP model.",
        ),
    },
)
@click.version_option(package_name=DISTRIBUTION, prog_name="rig")
def main() -> None:
    """Hardware-in-the-loop test rig for GB smart metering (DCC DSP model, GBCS, devices).

    \b
    Example:
      rig demo                                   # the default plan on the emulated bench
      rig run test_plans/ -n 2                   # every shipped plan, two workers
      rig report runs/20261123T120000Z --html report.html
    """


#: A bench file, or a shipped bench's name (checked when it is loaded: rig.config.bench).
BENCH_FILE = click.Path(dir_okay=False, path_type=Path)
BENCH_OPTION = click.option(
    "--bench",
    type=BENCH_FILE,
    default=None,
    show_default="the embedded emulated bench",
    help="Bench file (TOML), or a shipped bench's name (han).",
)
OUT_OPTION = click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Results folder (default: runs/<UTC time>).",
)


def _run_dir(out: Path | None) -> Path:
    return out or Path("runs") / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def _load_bench(path: Path | None) -> Bench:
    """The bench file (default: the embedded emulated bench), or one line saying what is wrong."""
    from rig.config.bench import DEFAULT_BENCH, BenchError, load_bench

    try:
        return load_bench(path or DEFAULT_BENCH)
    except BenchError as exc:
        raise click.ClickException(str(exc)) from exc


def _leased(loaded: Bench) -> BenchLease:
    """The bench's physical ports, leased for this command: it does not wait for a run that
    holds them (docs/wiring.md "Sharing a bench")."""
    from rig.live import lease

    try:
        return lease.lease_bench(
            [loaded], lease.DEFAULT_LEASE_DIR, holder=lease.this_holder(), timeout_s=0
        )
    except lease.LeaseUnavailable as exc:
        raise click.ClickException(str(exc)) from exc


@contextmanager
def _held(loaded: Bench) -> Iterator[Bench]:
    """The bench for one command: through its labgrid place if it has a ``[labgrid]`` table
    (held for the command, then released: docs/lab.md), else with its ports leased."""
    if loaded.labgrid is None:
        with _leased(loaded):
            yield loaded
        return
    from rig.lab.hold import COMMAND_WAIT_S, holding
    from rig.lab.place import PlaceError, holder_name

    try:
        with holding(loaded, loaded.labgrid, holder_name(), COMMAND_WAIT_S) as (held, on_place):
            click.echo(f"labgrid: place {held.name} held (exporter {', '.join(held.exporters)})")
            yield on_place
    except PlaceError as exc:
        raise click.ClickException(f"labgrid: {exc}") from exc


def _pytest(plan: Path, benches: list[Path], run_dir: Path, extra: list[str]) -> None:
    import pytest

    from rig.plugin.progress import TestProgress
    from rig.util.progress import on_terminal

    args = [str(plan), "-p", "no:cacheprovider", *(f"--bench={b}" for b in benches)]
    plugins = [TestProgress()] if on_terminal() else []
    code = pytest.main([*args, "--rig-results", str(run_dir), *extra], plugins=plugins)
    if code != pytest.ExitCode.USAGE_ERROR:  # else nothing ran: pytest said why, in one line
        click.echo(f"results: {run_dir}")
    raise SystemExit(int(code))


@main.command()
@BENCH_OPTION
@OUT_OPTION
def demo(bench: Path | None, out: Path | None) -> None:
    """Run the default test plan on a bench and print the latency report.

    \b
    Example:
      rig demo                     # emulated ESME in its own process behind a pty
      rig demo --bench my.toml     # the same plan on a physical bench
    """
    if not DEFAULT_PLAN.exists():
        raise click.ClickException(f"default test plan not found at {DEFAULT_PLAN}")
    benches = [bench] if bench else []
    _pytest(DEFAULT_PLAN, benches, _run_dir(out), ["-q", "--rootdir", str(DEFAULT_PLAN.parent)])


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("plan", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--bench",
    "benches",
    multiple=True,
    type=BENCH_FILE,
    help="Bench file (TOML), or a shipped bench's name (han); repeat it for a pool: each "
    "worker leases a free bench. [default: the embedded emulated bench]",
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
    _pytest(plan, list(benches), _run_dir(out), extra)


@main.command()
@click.argument(
    "bench_file",
    metavar="[BENCH]",
    required=False,
    type=BENCH_FILE,
)
@BENCH_OPTION
@OUT_OPTION
def check(bench_file: Path | None, bench: Path | None, out: Path | None) -> None:
    """Check that every device of a bench answers (SRV 7.4) before a long run.

    BENCH (or --bench) is the bench file; the default is the embedded emulated bench.

    \b
    Example:
      rig check lab.toml
      rig check --bench lab.toml --out runs/check
    """
    from rich.console import Console
    from rich.markup import escape

    from rig.config.bench import BenchError, bench_path
    from rig.live.launch import launch

    if bench_file is not None:
        given = click.get_current_context().get_parameter_source("bench")
        if (
            given is ParameterSource.COMMANDLINE
            and bench
            and bench_path(bench).resolve() != bench_path(bench_file).resolve()
        ):
            raise click.UsageError(f"two bench files given: {bench_file} and --bench {bench}")
        bench = bench_file
    loaded = _load_bench(bench)
    console = Console()
    failed = 0
    try:
        with _held(loaded) as on_bench, launch(on_bench, _run_dir(out)) as rig:
            for name, device in loaded.devices.items():
                if (why := _not_checked(device)) is not None:
                    console.print(f"[yellow]skipped[/] {name}: {why}", soft_wrap=True)
                    continue
                record = rig.read_supply_status(name)
                if record.ok:
                    total_ms = record.latencies()["total"] * 1e3
                    console.print(f"[green]ok[/]     {name}: answered in {total_ms:.1f} ms")
                else:
                    failed += 1
                    console.print(
                        f"[red]FAILED[/] {name}: {escape(record.reason or '')}", soft_wrap=True
                    )
    except BenchError as exc:  # a port that will not open, a device that does not start
        raise click.ClickException(str(exc)) from exc
    raise SystemExit(1 if failed else 0)


def _not_checked(device: DeviceConfig) -> str | None:
    """Why ``rig check`` sends no SRV 7.4 to ``device``, or None: GBCS has a Read Supply Status
    use case for ESMEs and GSMEs only (rig/duis/srv_matrix.py ``DEVICE_USE_CASES``)."""
    from rig.duis.srv_matrix import DEVICE_USE_CASES, DeviceType

    kind = DeviceType(device.inventory_type)
    if kind in DEVICE_USE_CASES["7.4"]:
        return None
    return (
        f"GBCS has no SRV 7.4 Read Supply Status for a {kind} (an ESME's or GSME's only), and "
        f"nothing else the rig sends a {kind} reads it without changing it"
    )


@main.command()
@click.argument("log")
@BENCH_OPTION
@OUT_OPTION
@click.option(
    "--speed",
    type=float,
    default=1.0,
    show_default=True,
    help="Time scale: 2 replays twice as fast; inf as fast as possible.",
)
def replay(log: str, bench: Path | None, out: Path | None, speed: float) -> None:
    """Replay a DUIS log (a file, a folder of XML files, or a JSONL capture) onto a bench.

    LOG may also name a log shipped with the rig: default-bench runs on the default bench.
    Send times come from a leading <!-- sent: ISO8601 --> comment, the JSONL "sent" field, or
    the file's modification time. Requests keep their RequestIDs; refused ones are listed with
    their DUIS or rig code and the replay goes on. Exits 1 if an entry was refused or a request
    failed (docs/duis.md "Replay logs").

    \b
    Example:
      rig replay default-bench --speed 10
      rig replay adapter-log/ --bench lab.toml --speed 10
    """
    from rich.console import Console

    from rig.duis.log import LogError, find_log, read_log
    from rig.live.launch import launch
    from rig.live.replay import replay as run_replay
    from rig.results.report import render, summarise
    from rig.util.progress import tracked

    loaded = _load_bench(bench)
    try:
        entries = read_log(find_log(log))
    except LogError as exc:
        raise click.ClickException(str(exc)) from exc
    run_dir = _run_dir(out)
    with (
        _held(loaded) as on_bench,
        launch(on_bench, run_dir) as rig,
        tracked(entries, f"replaying {log}") as shown,
    ):
        result = run_replay(rig, shown, speed=speed)
    console = Console()
    records = [r.to_json() for r in result.records]
    if records:  # each SRV's latencies, and the reason of its failures
        render(summarise(records), console, title=f"Replay of {log}: {run_dir}")
    for refusal in result.refused:
        console.print(
            f"  refused: {refusal.source}: {refusal.reason}", markup=False, soft_wrap=True
        )
    failed = sum(not r.ok for r in result.records)
    console.print(
        f"{len(entries)} entries: {len(records)} sent, {len(result.refused)} refused, "
        f"{failed} failed; worst submission lag {result.late_s * 1e3:.1f} ms; results: {run_dir}",
        markup=False,
        soft_wrap=True,
    )
    raise SystemExit(1 if result.refused or failed else 0)


#: The benchmarks (rig/benchmarks/): name -> ("module:command", its short help).
BENCHMARKS: dict[str, tuple[str, str]] = {
    "cbke": (
        "rig.benchmarks.cbke:benchmark_cbke",
        "Time of one sect283k1 scalar multiplication and of one CBKE (both sides, in memory), "
        "with its ratio to P-256 ECDH in cryptography.",
    ),
    "codec": (
        "rig.benchmarks.commands:benchmark_codec",
        "Frames per second of the codec and its ratio to the bare cryptography it needs; "
        "with ``--rtds``, frames per second of a whole-RTDS pass beside gbcs-parser's "
        '(docs/gbcs-codec.md, "Benchmark").',
    ),
    "devices": (
        "rig.benchmarks.devices:benchmark_devices",
        "The secured HAN's frames per CPU-second and HANs per core, and the number of emulated "
        "Comms Hubs one core serves at 1 request/s each (--hubs 0 skips it).",
    ),
    "dsp": (
        "rig.benchmarks.commands:benchmark_dsp",
        "Benchmark the DSP model: simulated messages per CPU-second, one day, SimPy ratio.",
    ),
    "fuzz": (
        "rig.benchmarks.fuzz:benchmark_fuzz",
        "Keyed fuzz of the GBCS codec and the firmware stubs: prints inputs run, inputs/s, "
        "GbcsErrors by class and non-GbcsError exceptions; exit status 1 if there are any.",
    ),
    "emulator": (
        "rig.benchmarks.emulator:benchmark_emulator",
        "CPU per SRV 7.4 request in an emulated ESME and in the rig's payload codec, in "
        "process (no pty); with --pty also in an emulator process answering over its pty.",
    ),
    "load": (
        "rig.benchmarks.load:benchmark_load",
        "Highest sustained request rate through the real-time path (DSP model, codec, pty "
        "links, emulated ESMEs) with no request lost, and the rig's overhead per request "
        "p50/p99.",
    ),
    "spinel": (
        "rig.benchmarks.spinel:benchmark_spinel",
        "Frames per CPU-second through the emulated RCP and air, against the 250 kbit/s air.",
    ),
    "results": (
        "rig.benchmarks.commands:benchmark_results",
        "CPU per record of the results writer process (JSON Lines, and with a SQLite store) "
        "and of the rig's side of it, for SRV 7.4 load-bench records; then a live probe: a "
        "writer process fed from a 1 ms timer loop, the timer's lateness and the CPU per "
        "record.",
    ),
}


@main.group(cls=LazyGroup, lazy=BENCHMARKS)
def benchmark() -> None:
    """Benchmarks: each prints its figure (and a ratio against its named alternative).

    \b
    Example:
      rig benchmark codec --seconds 2
    """


class DeprecatedBench(LazyGroup):
    """``rig bench …``, the benchmarks' name until 0.1: each command still runs, after one line
    on stderr naming its new name (``rig benchmark …``). To be removed in the next release."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        click.echo(
            f'rig bench {name} is deprecated ("bench" is the hardware a plan runs on): '
            f"use rig benchmark {name}",
            err=True,
        )
        return name, command, rest

    def examples_path(self, ctx: click.Context, cmd_name: str) -> tuple[str, ...]:
        return ("benchmark", cmd_name)


@main.group(cls=DeprecatedBench, lazy=BENCHMARKS, hidden=True)
def bench() -> None:
    """Deprecated: the benchmarks are ``rig benchmark …`` (this name goes in the next release)."""
