"""``rig duis``: validate, sign, verify and pretty-print DUIS files (docs/duis.md).

Each subcommand takes files; a file that fails prints ``FILE: CODE at ELEMENT: reason`` and the
command goes on to the next, exiting 1 at the end if any failed.
"""

from __future__ import annotations

import os
from pathlib import Path

import click
from lxml import etree

from rig.duis.codes import DuisError
from rig.duis.dsig import CertificateStore, Signer, sign, signer_eui, verify
from rig.duis.messages import SR, parse_request, parse_response, parse_xml
from rig.duis.request import RequestId

_FILES = click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)


def default_sign_keys() -> Path:
    """``$RIG_SHARED_DIR/duis/xml-sign-keys`` (default shared dir: ``<repo>/../shared``)."""
    repo = Path(__file__).resolve().parents[2]
    return (
        Path(os.environ.get("RIG_SHARED_DIR") or repo.parent / "shared") / "duis" / "xml-sign-keys"
    )


_KEYS = click.option(
    "--keys",
    "keys_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=default_sign_keys,
    show_default="$RIG_SHARED_DIR/duis/xml-sign-keys",
    help="Folder of XML-signing keys and certificates (xml-sign-<EUI>-ds.key/.pem).",
)


def _parse_any(data: bytes) -> str:
    """A one-line summary of a DUIS request or response; DuisError if it is not valid DUIS."""
    root = parse_xml(data)
    if root.tag == f"{{{SR}}}Response":
        response = parse_response(root)
        return f"response {response.code} {type(response.body).__name__}"
    request = parse_request(root)
    return (
        f"request SRV {request.srv} CV {int(request.command_variant)} "
        f"{type(request.body).__name__} {request.request_id}"
    )


class _Failures:
    """Reports per-file failures and remembers whether any happened."""

    def __init__(self) -> None:
        self.count = 0

    def report(self, path: Path, error: DuisError | ValueError | OSError) -> None:
        self.count += 1
        click.echo(f"{path}: {error}", err=True)

    def exit(self) -> None:
        if self.count:
            raise SystemExit(1)


@click.group()
def duis() -> None:
    """DUIS 5.4 files: validate, sign, verify, show."""


@duis.command()
@_FILES
def validate(files: tuple[Path, ...]) -> None:
    """Check well-formedness, the DUIS 5.4 schema and the header of each file."""
    failures = _Failures()
    for path in files:
        try:
            click.echo(f"{path}: OK {_parse_any(path.read_bytes())}")
        except DuisError as error:
            failures.report(path, error)
    failures.exit()


@duis.command("sign")
@_FILES
@_KEYS
@click.option(
    "--key", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Private key."
)
@click.option(
    "--cert", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Certificate."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write signed files here (same names); default: print to stdout.",
)
def sign_command(
    files: tuple[Path, ...], keys_dir: Path, key: Path | None, cert: Path | None, out: Path | None
) -> None:
    """Sign (or re-sign) each file, by default with the key of its RequestID's originator."""
    failures = _Failures()
    for path in files:
        try:
            data = path.read_bytes()
            signer = _signer(data, keys_dir, key, cert)
            signed = sign(data, signer)
        except (DuisError, ValueError, OSError) as error:
            failures.report(path, error)
            continue
        if out is None:
            click.echo(signed.decode("utf-8"))
        else:
            out.mkdir(parents=True, exist_ok=True)
            (out / path.name).write_bytes(signed)
            click.echo(f"{path}: signed by {signer_eui(signer.certificate)} -> {out / path.name}")
    failures.exit()


def _signer(data: bytes, keys_dir: Path, key: Path | None, cert: Path | None) -> Signer:
    if key is not None and cert is not None:
        return Signer.load(key, cert)
    if key is not None or cert is not None:
        raise click.UsageError("give both --key and --cert, or neither")
    root = parse_xml(data)
    text = root.findtext(f"{{{SR}}}Header/{{{SR}}}RequestID")
    if text is None:
        raise ValueError("no RequestID to choose the signing key by (use --key/--cert)")
    eui = RequestId.parse(text).originator.hex.upper()
    stem = keys_dir / f"xml-sign-{eui}-ds"
    return Signer.load(stem.with_suffix(".key"), stem.with_suffix(".pem"))


@duis.command("verify")
@_FILES
@_KEYS
def verify_command(files: tuple[Path, ...], keys_dir: Path) -> None:
    """Verify each file's XML signature against the certificates in --keys."""
    if not keys_dir.is_dir():
        raise click.UsageError(f"no key folder {keys_dir} (use --keys)")
    store = CertificateStore.from_dirs(keys_dir)
    failures = _Failures()
    for path in files:
        try:
            certificate = verify(path.read_bytes(), store)
        except DuisError as error:
            failures.report(path, error)
            continue
        click.echo(f"{path}: signature OK, signed by {signer_eui(certificate)}")
    failures.exit()


@duis.command()
@_FILES
def show(files: tuple[Path, ...]) -> None:
    """Print a summary line and the indented XML of each file."""
    failures = _Failures()
    for path in files:
        data = path.read_bytes()
        try:
            summary = _parse_any(data)
        except DuisError as error:
            failures.report(path, error)
            continue
        click.echo(f"# {path}: {summary}")
        root = parse_xml(data)
        etree.indent(root)
        click.echo(etree.tostring(root, encoding="unicode"))
    failures.exit()
