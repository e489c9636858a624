"""``rig keys``: test key material for a bench (never real keys)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from rig.gbcs.commands import EUI
from rig.gbcs.eui import Eui64
from rig.keys.pki import generate_pki


@click.group()
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


@keys.command("han")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the HAN's test PKI into (ca.json, <EUI-64>.json).",
)
@click.option(
    "--eui",
    "euis",
    multiple=True,
    required=True,
    type=EUI,
    help="EUI-64 to certify (the Comms Hub's, each meter's); repeatable.",
)
def han(out: Path, euis: tuple[Eui64, ...]) -> None:
    """Generate a HAN's test PKI for Key Establishment (sect283k1 implicit certificates): a test
    CA and a certificate and private key per EUI-64 (docs/han.md "On the bench").

    \b
    Example:
      rig keys han --out han-pki --eui 00-DB-12-34-56-78-95-01 --eui 00-DB-12-34-56-78-95-02
    """
    from rig.zigbee.pki import CA_FILE, credentials_path, generate

    generate(out, [eui.raw for eui in euis])
    click.echo(out / CA_FILE)
    for eui in euis:
        click.echo(credentials_path(out, eui.raw))


@keys.command("tls")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace existing files.")
def tls(out: Path, overwrite: bool) -> None:
    """Generate a test TLS set for rig serve: ca, server (127.0.0.1, localhost) and client
    pairs (.key, .pem), for mutual TLS both ways (docs/dcc-boxed.md).

    \b
    Example:
      rig keys tls tls/ && rig serve lab.toml --tls-cert tls/server.pem \\
          --tls-key tls/server.key --tls-ca tls/ca.pem
    """
    from rig.keys.web import tls_set

    _written(lambda: tls_set(out, overwrite=overwrite))


@keys.command("duis")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--user",
    "users",
    multiple=True,
    type=EUI,
    help="A DCC User's EUI-64; repeatable (default: DCC Boxed's test supplier and operator).",
)
@click.option("--overwrite", is_flag=True, help="Replace existing files.")
def duis_keys(out: Path, users: tuple[Eui64, ...], overwrite: bool) -> None:
    """Generate a test set of DUIS XML-signing keys: the DSP's and one per User, in the folder
    layout [duis] keys takes (docs/dcc-boxed.md "Keys"). DCC's own signing tool validates only
    the keys it bundles: use this set with a home-made adapter.

    \b
    Example:
      rig keys duis xml-sign-keys --user 90-B3-D5-1F-30-01-00-00
    """
    from rig.keys.web import DEFAULT_USERS, duis_set

    _written(lambda: duis_set(out, users or DEFAULT_USERS, overwrite=overwrite))


def _written(make: Callable[[], list[Path]]) -> None:
    try:
        written = make()
    except FileExistsError as exc:
        raise click.ClickException(f"{exc} (use --overwrite to replace)") from exc
    for path in written:
        click.echo(path)
