"""Click commands of the GBCS codec: ``rig decode`` and ``rig frame`` (reference/gbcs.md §1-3),
registered in ``rig/cli.py``; ``rig benchmark codec`` is in rig/benchmarks/commands.py.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click

from rig.gbcs.codec import RemotePartyCodec, sign_precommand
from rig.gbcs.codes import CODE_BY_NAME, CRITICAL_CODES
from rig.gbcs.describe import DescriptionError, build_frame, describe, load_description
from rig.gbcs.dlms_usecases import (
    AddHanDevice,
    ProtectionParameters,
    ReadImportRegistersEsme,
    ReadMeterBalanceEsme,
    ReadPrepaymentRegistersEsme,
    RemoveHanDevice,
)
from rig.gbcs.errors import GbcsError
from rig.gbcs.eui import Eui64
from rig.gbcs.gbt import segment
from rig.gbcs.gbz_usecases import (
    ChangeSupplyGsme,
    GasSupplyState,
    ReadGsmeBalance,
    ReadGsmeConsumption,
    ReadGsmePrepaymentRegisters,
    ReadSupplyStatusGsme,
    SetUncontrolledGasFlow,
    TopUpGsme,
)
from rig.gbcs.gsme_tariff import PublishBlockThresholds, UpdateTariffGsme
from rig.gbcs.pcap import write_pcap
from rig.gbcs.tree import inspect, inspect_blocks
from rig.gbcs.usecases import (
    ChangeSupplyEsme,
    Payload,
    ReadSupplyStatusEsme,
    SupplyState,
    TopUpEsme,
)
from rig.gbcs.utrn import ValueClass, make_utrn
from rig.keys.keystore import KeyStore

#: The RTDS remote-party keys shipped with the rig, and the shared RTDS key store if present.
PACKAGED_KEYS = Path(__file__).resolve().parent.parent / "keys" / "rtds"
SHARED_KEYS = (
    Path(os.environ.get("RIG_SHARED_DIR") or Path(__file__).resolve().parents[3] / "shared")
    / "gbcs-rtds"
    / "keystore"
)
SUPPLIER = "90-B3-D5-1F-30-01-00-00"
ESME = "00-DB-12-34-56-78-90-A0"


class _Eui(click.ParamType):
    name = "EUI-64"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> Eui64:
        if isinstance(value, Eui64):
            return value
        try:
            return Eui64.parse(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


EUI = _Eui()


def _keystore(dirs: tuple[Path, ...]) -> KeyStore:
    if dirs:
        return KeyStore(list(dirs))
    return KeyStore([d for d in (PACKAGED_KEYS, SHARED_KEYS) if d.is_dir()])


def _inputs(text: str) -> list[bytes]:
    """The frames of one argument: hex, or ``@FILE`` of hex text (one frame per line) or raw
    bytes (one frame)."""
    if text.startswith("@"):
        try:
            raw = Path(text[1:]).read_bytes()
        except OSError as exc:
            raise click.BadParameter(f"{text[1:]}: {exc.strerror}", param_hint="@FILE") from None
        try:
            lines = [line.strip() for line in raw.decode("ascii").splitlines()]
            return [bytes.fromhex(line) for line in lines if line]
        except (UnicodeDecodeError, ValueError):
            return [raw]
    try:
        return [bytes.fromhex(text)]
    except ValueError:
        raise click.BadParameter(f"not hex: {text[:40]!r}", param_hint="HEX") from None


_KEYS_OPTION = click.option(
    "--keys",
    "key_dirs",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Key directory (repeatable); default: the packaged RTDS keys and ../shared's key store.",
)


@click.command("decode")
@click.argument("frame_inputs", metavar="HEX|@FILE...", nargs=-1, required=True)
@_KEYS_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the tree and verdicts as JSON.")
@click.option(
    "--describe",
    "as_description",
    is_flag=True,
    help="Print the frame's description (JSON) for `rig frame --from` instead of the tree.",
)
def decode(
    frame_inputs: tuple[str, ...], key_dirs: tuple[Path, ...], as_json: bool, as_description: bool
) -> None:
    """Decode a GBCS frame or GBT block into a tree with MAC, signature and decryption verdicts.

    @FILE holds hex text (one frame per line) or raw bytes. Several GBT blocks (arguments or
    lines, any order) are reassembled and the whole message decoded; missing blocks are an
    error, blocks out of order are reported. Encrypted response parts are decrypted with the
    keys and their plaintext decoded. Exit status 2 for malformed or incomplete input (offset
    and reason printed), 1 when a MAC, signature or decryption is INVALID.
    """
    frames = [frame for text in frame_inputs for frame in _inputs(text)]
    try:
        keys = _keystore(key_dirs)
        report = inspect(frames[0], keys) if len(frames) == 1 else inspect_blocks(frames, keys)
        if as_description and report.message is not None:
            click.echo(json.dumps(describe(report.message, keys), indent=2))
            return
    except GbcsError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    click.echo(json.dumps(report.to_json(), indent=2) if as_json else report.render())
    if "INVALID" in report.verdicts.values():
        raise SystemExit(1)


def _utrn(opts: dict, keys: KeyStore, originator: Eui64, target: Eui64, counter: int) -> str:
    if opts["utrn"]:
        return opts["utrn"]
    if opts["credit"] is None:
        raise click.UsageError("top-up needs --utrn or --credit")
    value_class = ValueClass[opts["value_class"].upper()]
    pp = keys.ka_private(originator, prepayment=True)
    return make_utrn(
        pp, keys.ka_public(target), originator, target, counter, opts["credit"], value_class
    )


def _required(opts: dict, name: str) -> object:
    if opts[name] is None:
        raise click.UsageError(f"this use case needs --{name.replace('_', '-')}")
    return opts[name]


def _rate(opts: dict) -> Decimal:
    try:
        return Decimal(str(_required(opts, "rate")))
    except InvalidOperation:
        raise click.BadParameter("not a decimal", param_hint="--rate") from None


Builder = Callable[[dict, KeyStore, Eui64, Eui64, int], Payload]
#: ``rig frame`` use cases: name -> payload builder from the options.
BUILDERS: dict[str, Builder] = {
    "CS01a": lambda o, k, s, t, c: TopUpEsme(_utrn(o, k, s, t, c)),
    "CS01b": lambda o, k, s, t, c: TopUpGsme(_utrn(o, k, s, t, c)),
    "ECS42": lambda o, k, s, t, c: ChangeSupplyEsme(SupplyState.CONNECTED),
    "ECS43": lambda o, k, s, t, c: ChangeSupplyEsme(SupplyState.DISCONNECTED),
    "ECS44": lambda o, k, s, t, c: ChangeSupplyEsme(SupplyState.ARMED),
    "ECS45": lambda o, k, s, t, c: ReadSupplyStatusEsme(),
    "GCS32": lambda o, k, s, t, c: ChangeSupplyGsme(GasSupplyState.OFF, o["issuer_event_id"]),
    "GCS39": lambda o, k, s, t, c: ChangeSupplyGsme(GasSupplyState.ARMED, o["issuer_event_id"]),
    "GCS33": lambda o, k, s, t, c: ReadSupplyStatusGsme(),
    "ECS17b": lambda o, k, s, t, c: ReadImportRegistersEsme(ProtectionParameters(c, s, t)),
    "ECS19": lambda o, k, s, t, c: ReadPrepaymentRegistersEsme(ProtectionParameters(c, s, t)),
    "ECS82": lambda o, k, s, t, c: ReadMeterBalanceEsme(),
    "GCS13a": lambda o, k, s, t, c: ReadGsmeConsumption(),
    "GCS14": lambda o, k, s, t, c: ReadGsmePrepaymentRegisters(),
    "GCS60": lambda o, k, s, t, c: ReadGsmeBalance(),
    "GCS24": lambda o, k, s, t, c: SetUncontrolledGasFlow(
        _rate(o), o["issuer_event_id"], o["stabilisation_period"], o["measurement_period"]
    ),
    "GCS24a": lambda o, k, s, t, c: SetUncontrolledGasFlow(
        _rate(o), o["issuer_event_id"], o["stabilisation_period"], o["measurement_period"], True
    ),
    "GCS01a": lambda o, k, s, t, c: UpdateTariffGsme(
        (PublishBlockThresholds(o["issuer_event_id"], 0xFFFFFFFF, 1, o["threshold"]),)
    ),
    "CCS01": lambda o, k, s, t, c: AddHanDevice(
        _required(o, "device"),  # type: ignore[arg-type]
        bytes.fromhex(str(_required(o, "install_code"))),
        o["join_time_period"],
    ),
    "CCS02": lambda o, k, s, t, c: RemoveHanDevice(_required(o, "device")),  # type: ignore[arg-type]
}


@click.command("frame")
@click.argument(
    "use_case", type=click.Choice(sorted(BUILDERS), case_sensitive=False), required=False
)
@click.option(
    "--from",
    "description_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Build any typed message from a JSON or TOML description (docs/gbcs-codec.md).",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the frame's bytes to this file.",
)
@click.option("--counter", type=click.IntRange(0, 2**64 - 1), help="Originator counter.")
@click.option(
    "--originator", type=EUI, default=SUPPLIER, show_default=True, help="Business originator."
)
@click.option("--target", type=EUI, default=ESME, show_default=True, help="Device.")
@click.option(
    "--critical-form",
    type=click.Choice(["command", "precommand", "signed-precommand"]),
    default="command",
    show_default=True,
    help="Critical use cases: CV 4 pre-command, supplier-signed pre-command, or full command.",
)
@click.option("--utrn", help="CS01a/CS01b: the 20-digit UTRN to send.")
@click.option(
    "--credit", type=click.IntRange(0, 8191), help="CS01a/CS01b: make a UTRN of this value."
)
@click.option(
    "--value-class", type=click.Choice(["pennies", "pounds"]), default="pounds", show_default=True
)
@click.option(
    "--issuer-event-id", type=click.IntRange(0, 2**32 - 1), default=0x1C374A80, show_default=True
)
@click.option("--rate", help="GCS24/GCS24a: uncontrolled gas flow rate (decimal for GCS24a).")
@click.option("--stabilisation-period", type=click.IntRange(0, 255), default=60, show_default=True)
@click.option("--measurement-period", type=click.IntRange(0, 65535), default=300, show_default=True)
@click.option(
    "--threshold", type=int, multiple=True, help="GCS01a: a block threshold (repeatable)."
)
@click.option("--device", type=EUI, help="CCS01/CCS02: the device to add or remove.")
@click.option("--install-code", help="CCS01: install code, hex (16 bytes for SMETS2).")
@click.option("--join-time-period", type=click.IntRange(0, 65535), default=90, show_default=True)
@click.option(
    "--gbt-block-size", type=click.IntRange(1, 65535), help="Print GBT blocks, one per line."
)
@click.option(
    "--pcap",
    "pcap_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write a pcap.",
)
@_KEYS_OPTION
def frame(
    use_case: str | None,
    description_path: Path | None,
    out_path: Path | None,
    counter: int | None,
    originator: Eui64,
    target: Eui64,
    critical_form: str,
    key_dirs: tuple[Path, ...],
    gbt_block_size: int | None,
    pcap_path: Path | None,
    **opts: object,
) -> None:
    """Build a GBCS message from options or a JSON/TOML description and print its hex.

    USE_CASE with options builds the in-scope commands; ``--from FILE`` builds any typed
    message (command, response or alert) from a description. Keys sign, MAC, encrypt and make
    UTRNs.
    """
    keys = _keystore(key_dirs)
    if description_path is not None:
        if use_case is not None:
            raise click.UsageError("give USE_CASE or --from, not both")
        try:
            out = build_frame(load_description(description_path), keys)
        except DescriptionError as exc:
            raise click.ClickException(f"{description_path}: {exc}") from None
        _emit(out, gbt_block_size, pcap_path, out_path)
        return
    if use_case is None or counter is None:
        raise click.UsageError("give USE_CASE and --counter, or --from FILE")
    name = next(n for n in BUILDERS if n.lower() == use_case.lower())
    try:
        payload_obj = BUILDERS[name](opts, keys, originator, target, counter)
        payload = payload_obj.encode(counter)
        code = getattr(payload_obj, "message_code", None) or CODE_BY_NAME[name]
        codec = RemotePartyCodec(keys)
        if code not in CRITICAL_CODES:
            out = codec.build_command(originator, target, counter, code, payload)
        else:
            out = codec.transform(originator, target, counter, code, payload)
            if critical_form != "precommand":
                out = sign_precommand(out, keys.ds_private(originator))
            if critical_form == "command":
                out = codec.send_signed_precommand(out)
    except (GbcsError, ValueError, KeyError) as exc:
        raise click.ClickException(str(exc)) from None
    _emit(out, gbt_block_size, pcap_path, out_path)


def _emit(
    out: bytes, gbt_block_size: int | None, pcap_path: Path | None, out_path: Path | None
) -> None:
    frames = segment(out, gbt_block_size) if gbt_block_size else [out]
    for item in frames:
        click.echo(item.hex().upper())
    if pcap_path is not None:
        write_pcap(pcap_path, frames)
    if out_path is not None:
        out_path.write_bytes(out)
