"""The bench file's ``[han]`` table and the devices on it (``transport = "han"``): the ZigBee
HAN whose Comms Hub the rig is (docs/han.md "On the bench", docs/bench-files.md)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from rig.gbcs.eui import Eui64
from rig.zigbee.cbke.curve import Point
from rig.zigbee.keyest import Credentials
from rig.zigbee.mmo import InstallCodeError, link_key
from rig.zigbee.pki import PkiError, read_ca, read_certificate, read_credentials

if TYPE_CHECKING:
    from rig.config.bench import _Table as Table

T = TypeVar("T")

#: The device kinds that join the HAN (the rig is the Comms Hub).
HAN_KINDS = ("esme", "gsme")
#: The kinds of ``[[han.fault]]`` (devices/spinel/air_faults.py).
AIR_FAULT_KINDS = ("drop", "delay", "corrupt", "replay", "jam")
#: Their directions, as the serial faults': ``tx`` hub to device, ``rx`` device to hub.
AIR_FAULT_DIRECTIONS = ("tx", "rx")
#: OpenThread's RCP UART rate (devices/spinel/driver.py DEFAULT_BAUDRATE).
RCP_BAUD_RATE = 460800


class BenchError(ValueError):
    """A bench file that cannot be used; the message names file, key and expectation."""


@dataclass(frozen=True)
class HanFault:
    """One ``[[han.fault]]`` on the emulated air: ``device`` is a HAN device's name (checked
    once the devices are read: :func:`check_fault_devices`)."""

    kind: str
    at_s: float
    for_s: float | None
    device: str | None
    direction: str | None
    probability: float
    delay_s: float


@dataclass(frozen=True)
class HanConfig:
    """The bench's ZigBee HAN (``[han]``), the rig its Comms Hub (coordinator and trust center):
    a Spinel RCP on ``port``, or emulated RCPs and air (``emulated``, with the air's ``loss``,
    ``delay_s`` and ``seed``). ``eui`` is the Comms Hub's EUI-64 (the radio's extended address).
    With a physical radio, ``ca`` (the test CA's issuer and public key) and ``credentials`` (the
    Comms Hub's certificate and private key) come from the files the bench names; an emulated
    HAN's are generated per run (rig/zigbee/pki.py)."""

    emulated: bool
    port: str | None
    baudrate: int
    eui: Eui64
    channel: int
    pan_id: int
    extended_pan_id: bytes
    network_key: bytes
    loss: float = 0.0
    delay_s: float = 0.0
    seed: int = 0
    faults: tuple[HanFault, ...] = ()
    ca: tuple[bytes, Point] | None = None
    credentials: Credentials | None = None


def load_han(table: Table) -> HanConfig:
    """The ``[han]`` table: exactly one of ``emulated = true`` or ``port``; the air's ``loss``,
    ``delay_s`` and ``seed`` with the emulated air only."""
    emulated = table.get("emulated", bool, "true or false", False)
    port = table.get("port", str, "the Spinel RCP's serial port path or URL", None)
    if emulated == (port is not None):
        raise table._error("emulated", "exactly one of emulated = true or port", emulated)
    channel = table.get("channel", int, "a 2.4 GHz channel 11-26", 15)
    if not 11 <= channel <= 26:
        raise table._error("channel", "a 2.4 GHz channel 11-26", channel)
    pan_id = table.get("pan_id", int, "a PAN ID 0x0000-0xFFFE", None)
    if pan_id is None or not 0 <= pan_id <= 0xFFFE:
        raise table._error("pan_id", "a PAN ID 0x0000-0xFFFE", pan_id)
    air = {
        "loss": table.number("loss", 0.0),
        "delay_s": table.number("delay_s", 0.0),
        "seed": table.get("seed", int, "an integer", 0),
    }
    if air["loss"] > 1:
        raise table._error("loss", "a probability 0-1", air["loss"])
    faults = _faults(table)
    for key in (*air, "fault"):
        if key in table.data and not emulated:
            raise table._error(key, "unset with a physical radio (the emulated air's)")
    eui = table.eui("eui")
    ca = credentials = None
    if emulated:
        for key in ("ca", "certificate"):
            if key in table.data:
                raise table._error(key, "unset with the emulated radio (generated per run)")
    else:
        ca = _pki(table, "ca", "the test CA's file (docs/bench-files.md)", read_ca)
        credentials = _pki(
            table,
            "certificate",
            "the Comms Hub's certificate and private key file",
            lambda path: read_credentials(path, ca, eui.raw),
        )
    config = HanConfig(
        emulated=emulated,
        port=port,
        baudrate=table.baud_rate("baudrate", RCP_BAUD_RATE),
        eui=eui,
        channel=channel,
        pan_id=pan_id,
        extended_pan_id=table.hex_bytes("extended_pan_id", 8),
        network_key=table.hex_bytes("network_key", 16),
        ca=ca,
        credentials=credentials,
        faults=faults,
        **air,
    )
    if emulated and "baudrate" in table.data:
        raise table._error("baudrate", "unset with the emulated radio (its pty has no baud rate)")
    table.check_unknown()
    return config


def _faults(table: Table) -> tuple[HanFault, ...]:
    """The ``[[han.fault]]`` array: each a scheduled fault on the emulated air."""
    entries = table.get("fault", list, "an array of [[han.fault]] tables", [])
    faults = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise table._error(f"fault[{index}]", "a table", entry)
        fault = type(table)(table.path, entry, f"{table.prefix}fault[{index}].")
        kind = fault.get("kind", str, f"one of {', '.join(AIR_FAULT_KINDS)}")
        if kind not in AIR_FAULT_KINDS:
            raise fault._error("kind", f"one of {', '.join(AIR_FAULT_KINDS)}", kind)
        for_s = fault.number("for_s", None, minimum=1e-9)
        if kind == "replay" and for_s is not None:
            raise fault._error("for_s", "unset for a replay (it sends one frame, at at_s)", for_s)
        direction = fault.get("direction", str, "tx (hub to device) or rx (device to hub)", None)
        if direction is not None and direction not in AIR_FAULT_DIRECTIONS:
            raise fault._error("direction", "tx (hub to device) or rx (device to hub)", direction)
        probability = fault.number("probability", 1.0)
        if probability > 1:
            raise fault._error("probability", "a probability 0-1", probability)
        faults.append(
            HanFault(
                kind=kind,
                at_s=fault.number("at_s", 0.0),
                for_s=for_s,
                device=fault.get("device", str, "the name of a device on the HAN", None),
                direction=direction,
                probability=probability,
                delay_s=fault.number("delay_s", 0.1),
            )
        )
        fault.check_unknown()
    return tuple(faults)


def check_fault_devices(han: HanConfig, devices: Collection[str], path: Path) -> None:
    """Each fault's ``device`` names a device on the HAN (``devices``: the names of those with
    ``transport = "han"``)."""
    for index, fault in enumerate(han.faults):
        if fault.device is not None and fault.device not in devices:
            raise BenchError(
                f"{path}: han.fault[{index}].device: expected the name of a device on the HAN "
                f"({', '.join(sorted(devices)) or 'none'}), got {fault.device!r}"
            )


def _pki(table: Table, key: str, expected: str, read: Callable[[Path], T]) -> T:
    """A PKI file the bench names at ``key`` (relative to the bench file), read by ``read``."""
    text = table.get(key, str, expected)
    path = Path(text) if Path(text).is_absolute() else table.path.parent / text
    try:
        return read(path)
    except PkiError as exc:
        raise table._error(key, f"{expected} ({exc})", text) from None


def zigbee_replaced(table: Table, kind: str) -> BenchError:
    """The one-line error for ``transport = "zigbee"``: the SLIP radio bridge it named is gone,
    replaced by the Spinel radio of ``[han]`` (docs/han.md "Bench files that say zigbee"). No
    alias: ``han`` needs what a ``zigbee`` device never gave (its install code, the HAN's PAN
    and network key). A comms_hub reached its emulator through the bridge: it takes a link of
    its own, or ``han`` for the rig's own Comms Hub on the bench's HAN (docs/han.md "The device
    log"); a ppmid or sapc is not on the HAN (it takes ESMEs and GSMEs only)."""
    replaced = "the SLIP ZigBee bridge was replaced by the Spinel radio"
    see = 'docs/han.md "Bench files that say zigbee"'
    if kind in HAN_KINDS:
        expected = (
            f'"han" ({replaced}: give this device transport = "han" and its install_code, and '
            f"the bench a [han] table; {see})"
        )
    elif kind == "comms_hub":
        expected = (
            f"one of pty, tcp, rfc2217, han ({replaced}: the hub's emulator over a link, or "
            f'transport = "han" for the rig itself as the Comms Hub of the bench\'s [han]; {see})'
        )
    else:
        expected = (
            f"one of pty, tcp, rfc2217 ({replaced}, whose HAN, the rig its Comms Hub, takes an "
            f"esme or gsme only; {see})"
        )
    return table._error("transport", expected, "zigbee")


def han_comms_hub(table: Table, han: HanConfig | None) -> Eui64:
    """The EUI-64 of the rig's own Comms Hub as a device of the bench (``kind = "comms_hub"``,
    ``transport = "han"``): GBCS addressed to it is answered by the rig's CHF
    (devices/han/chf.py: SRV 8.11 reaches the device log). Its ``eui`` is ``[han]``'s, given or
    not; it has no link, install code or certificate of its own (docs/han.md "The device log")."""
    if han is None:
        raise table._error("transport", "a [han] table in the bench for transport han", "han")
    for key in ("port", "reconnect", "faults", "baudrate", "hub", "emulated", "install_code"):
        if key in table.data:
            raise table._error(key, "unset on the HAN's Comms Hub (the rig is the Comms Hub)")
    for key in ("on_log", "certificate"):
        if key in table.data:
            raise table._error(key, "unset on the HAN's Comms Hub (it keeps the device log)")
    if "eui" in table.data and table.eui("eui") != han.eui:
        raise table._error("eui", f"[han] eui ({han.eui}), or unset", table.data["eui"])
    return han.eui


def han_device(table: Table, kind: str, han: HanConfig | None) -> tuple[Eui64, bytes]:
    """The EUI-64 and install code of a device on the bench's HAN (``transport = "han"``): an
    ESME or GSME with its install code (with CRC: the link key is its AES-MMO hash,
    rig.zigbee.mmo); emulated as the HAN is, with no port, link options or hub of its own. A
    physical device names its ``certificate`` file, checked against the HAN's CA (its private
    key stays in the meter); an emulated one's is generated per run."""
    if han is None:
        raise table._error("transport", "a [han] table in the bench for transport han", "han")
    if kind not in HAN_KINDS:
        raise table._error("kind", f"one of {', '.join(HAN_KINDS)} on the HAN", kind)
    for key in ("port", "reconnect", "faults", "baudrate", "hub"):
        if key in table.data:
            raise table._error(key, "unset on a HAN device (the radio is [han]'s)")
    if table.get("emulated", bool, "true or false", han.emulated) != han.emulated:
        raise table._error("emulated", f"as the HAN's ({han.emulated})")
    code = table.hex_bytes("install_code")
    try:
        link_key(code)
    except InstallCodeError as exc:
        text = table.data["install_code"]
        raise table._error("install_code", f"an install code with its CRC ({exc})", text) from None
    eui = table.eui("eui")
    if han.emulated and "certificate" in table.data:
        raise table._error("certificate", "unset on an emulated HAN (generated per run)")
    if han.ca is not None:
        ca = han.ca
        _pki(
            table,
            "certificate",
            "the device's certificate file",
            lambda path: read_certificate(path, ca, eui.raw),
        )
    return eui, code
