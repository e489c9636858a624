"""``rig serve BENCH``: the DUIS web service on a bench until SIGINT or SIGTERM
(docs/dcc-boxed.md)."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path

import click

from rig.config.bench import BenchError, load_bench
from rig.serve.gate import ServeError, dsp_signer


@click.command()
@click.argument("bench", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8079, show_default=True, help="0: any free."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Results folder (default: runs/<UTC time>).",
)
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--tls-ca",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Ask clients for a certificate signed by this CA (mutual TLS).",
)
def serve(
    bench: Path,
    host: str,
    port: int,
    out: Path | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    tls_ca: Path | None,
) -> None:
    """Serve DUIS on a bench as DCC Boxed does: POST signed XML to /api/v1/serviceS, serviceT
    and serviceD; responses and alerts are POSTed to each User's response_url ([duis] in the
    bench file). Prints "serving DUIS on URL" when ready; SIGINT or SIGTERM stops it.

    \b
    Example:
      rig serve lab.toml --port 8079
      rig serve lab.toml --tls-cert server.pem --tls-key server.key --tls-ca ca.pem
    """
    from rig.live.launch import launch
    from rig.serve.server import DuisServer, Tls

    if (tls_cert is None) != (tls_key is None) or (tls_ca is not None and tls_cert is None):
        raise click.UsageError("--tls-cert and --tls-key go together; --tls-ca needs both")
    try:
        loaded = load_bench(bench)
        dsp_signer(loaded.duis.keys)  # before any device starts: a missing key set is one line
    except (BenchError, ServeError) as exc:
        raise click.ClickException(str(exc)) from exc
    logging.basicConfig(format="%(levelname)s %(message)s", level=logging.WARNING)
    run_dir = out or Path("runs") / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    tls = Tls(tls_cert, tls_key, tls_ca) if tls_cert is not None and tls_key else None
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        with launch(loaded, run_dir) as rig:
            server = DuisServer(rig, host=host, port=port, tls=tls)
            try:
                click.echo(f"serving DUIS on {server.start()}", nl=True)
                while not stop.wait(0.5):
                    pass
            finally:
                server.stop()
    except (BenchError, ServeError) as exc:
        raise click.ClickException(str(exc)) from exc
    kept = f", {server.poster.undelivered} kept undelivered" if server.poster.undelivered else ""
    click.echo(
        f"stopped: {len(server.records)} requests answered, {len(server.refused)} refused"
        f"{kept}; results: {run_dir}"
    )
