"""Bench files: where things are, and which devices are emulated (the labgrid "resource" idea).

A bench file is TOML (stdlib ``tomllib``). It is loaded and validated once; any error names the
file, the dotted key and what was expected. See docs/bench-files.md.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devices.transports.faults import FRAME_FAULTS, FaultRates
from devices.transports.loopback import parse_host_port
from rig.config.duis import DuisConfig, load_duis
from rig.config.han import (
    BenchError,
    HanConfig,
    check_fault_devices,
    han_comms_hub,
    han_device,
    load_han,
    zigbee_replaced,
)
from rig.config.labgrid import LabgridConfig, load_labgrid
from rig.gbcs.eui import Eui64
from rig.host import busy_poll, cpu_slice
from rig.keys import RTDS_KEYS
from rig.results.backends import URL_SCHEMES

#: The benches shipped with the rig (``emulated``, ``han``, ``premises``), each also given by its
#: name: ``--bench han`` (docs/bench-files.md "Shipped benches").
SHIPPED_BENCHES = Path(__file__).parent / "benches"
#: The embedded emulated bench, used by ``rig demo`` and by default.
DEFAULT_BENCH = SHIPPED_BENCHES / "emulated.toml"

DEVICE_KINDS = ("esme", "gsme", "comms_hub", "ppmid", "sapc")
#: The DSP inventory's device type of each kind (domain.md §0). The inventory has no SAPC type:
#: an SAPC is taken as an HCALCS, the closest [ASSUMED].
INVENTORY_TYPES = {
    "esme": "ESME",
    "gsme": "GSME",
    "comms_hub": "CHF",
    "ppmid": "PPMID",
    "sapc": "HCALCS",
}
#: How the rig reaches a device: an emulator's pty, a loopback TCP / RFC 2217 bridge to it, or the
#: bench's HAN (``[han]``: the rig is the Comms Hub on a Spinel radio; docs/han.md "On the bench").
#: "zigbee", the SLIP radio bridge's, is refused with its replacement (:func:`zigbee_replaced`).
TRANSPORTS = ("pty", "tcp", "rfc2217", "han")
#: The transports a physical device may name (its ``port`` is the serial port).
PHYSICAL_TRANSPORTS = ("pty", "han")


#: The baud rates a serial port may be set to (the standard UART rates; pyserial takes any, a
#: typo such as 11520 should not be). A link runs at 8N1, no flow control (docs/wiring.md).
BAUD_RATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)
#: A physical device's link speed unless its ``baudrate`` says otherwise.
DEFAULT_BAUD_RATE = 115200

#: The per-frame fault rates a ``[device.faults]`` lane may set.
FAULT_RATES = tuple(fault.value for fault in FRAME_FAULTS)


#: The rig's CPU slice unless ``[host] cpu_slice_us`` says otherwise: the kernel's minimum.
#: [ASSUMED] chosen by measurement on a 2-core machine (docs/load.md "Short CPU slices").
DEFAULT_CPU_SLICE_S = cpu_slice.MIN_SLICE_S


#: DCC User roles a bench User may take (domain.md §7.3 role key).
USER_ROLES = ("IS", "GS", "ES", "ED", "GT", "RSA", "OU")


@dataclass(frozen=True)
class UserConfig:
    """A DCC User on the bench: ``portfolio`` sizes its SECMP0067 allocation ([SEED 003])."""

    name: str
    eui: Eui64
    counter_start: int
    role: str = "IS"
    portfolio: float = 1.0


@dataclass(frozen=True)
class DspConfig:
    tmm: Path | None
    servers: int
    service_time_s: float
    northbound_rate: float | None


@dataclass(frozen=True)
class FaultConfig:
    """Seeded fault injection on a device's link (devices/transports/faults.py): per-frame
    rates rig to device (``tx``) and device to rig (``rx``); and an emulated device's clock
    skew (its process's ``--clock-skew``)."""

    seed: int
    tx: FaultRates
    rx: FaultRates
    reorder_hold_s: float
    clock_skew_s: float = 0.0


@dataclass(frozen=True)
class DeviceConfig:
    name: str
    kind: str
    eui: Eui64
    emulated: bool
    port: str | None
    response_timeout_s: float
    processing_time_s: float
    transport: str
    reconnect: bool
    #: The comms_hub this device is joined to (reached through the hub's link), if any.
    hub: str | None = None
    #: Faults injected on its link (``[device.faults]``), if any.
    faults: FaultConfig | None = None
    #: The serial port's speed (a physical device's; a pty has none).
    baudrate: int = DEFAULT_BAUD_RATE
    #: Its ZigBee install code with the CRC (``transport = "han"``): the Comms Hub's device log.
    install_code: bytes | None = None
    #: Whether the device log holds it from the start (``transport = "han"``; else SRV 8.11
    #: puts it there: docs/han.md "The device log").
    on_log: bool = True
    #: Where a labgrid place serves it, for messages: ``place P (exporter E)`` (set when the
    #: bench is mapped onto a held place, rig/lab/mapping.py); None: not through a place.
    place: str | None = None

    @property
    def inventory_type(self) -> str:
        """The device type the DSP's inventory holds for it."""
        return INVENTORY_TYPES[self.kind]


@dataclass(frozen=True)
class BenchIOConfig:
    """The bench's Modbus I/O module (docs/bench-io.md): emulated, or physical on ``tcp``
    (HOST:PORT, any host the bench names) or ``rtu`` (a serial port or pyserial URL)."""

    meter: str
    emulated: bool
    tcp: tuple[str, int] | None
    rtu: str | None
    baudrate: int
    device_id: int
    contactor_input: int
    power_coil: int
    pulse_register: int | None
    poll_interval_s: float
    timeout_s: float
    actuation_delay_s: float
    pulses_per_second: float


@dataclass(frozen=True)
class Bench:
    path: Path
    name: str
    key_dirs: tuple[Path, ...]
    user: UserConfig  # the default User: the first of ``users``
    dsp: DspConfig
    devices: dict[str, DeviceConfig]
    #: Every User by name, the default first (``[user]`` or ``[[user]]``).
    users: dict[str, UserConfig] = field(default_factory=dict)
    #: The Modbus bench I/O module (``[bench_io]``), if the bench has one.
    bench_io: BenchIOConfig | None = None
    #: The CPU slice the rig asks for its loop and the device processes it starts
    #: (``[host] cpu_slice_us``; None: the OS default; rig/host/cpu_slice.py).
    cpu_slice_s: float | None = DEFAULT_CPU_SLICE_S
    #: Emulated ESMEs alike (same processing time, no bench I/O relay, no clock skew) share
    #: one emulator process, each on its own pty (``[host] shared_emulators``).
    shared_emulators: bool = True
    #: How long the rig's loop polls before it sleeps (``[host] busy_poll_us``; None: it
    #: sleeps at once; rig/host/busy_poll.py).
    busy_poll_s: float | None = None
    #: The ZigBee HAN whose Comms Hub the rig is (``[han]``), if the bench has one.
    han: HanConfig | None = None
    #: The labgrid place (or pool) the bench is reached through (``[labgrid]``), if any.
    labgrid: LabgridConfig | None = None
    #: What ``rig serve`` needs (``[duis]``): Users' response endpoints, XML-signing keys.
    duis: DuisConfig = field(default_factory=DuisConfig)
    #: The PostgreSQL database the physical devices' counters are kept in (``[counters]
    #: store``), shared by a lab's bench hosts; None: the file beside the bench file.
    counters_store: str | None = None

    def device(self, name: str) -> DeviceConfig:
        try:
            return self.devices[name]
        except KeyError:
            known = ", ".join(self.devices) or "none"
            raise BenchError(f"{self.path}: no device named {name!r} (known: {known})") from None

    def user_named(self, name: str | None) -> UserConfig:
        """The User called ``name`` (``None``: the default User)."""
        if name is None:
            return self.user
        users = self.users or {self.user.name: self.user}
        try:
            return users[name]
        except KeyError:
            known = ", ".join(users)
            raise BenchError(f"{self.path}: no user named {name!r} (known: {known})") from None


class _Table:
    """A TOML table read with typed accessors whose errors name file and dotted key."""

    def __init__(self, path: Path, data: dict[str, Any], prefix: str) -> None:
        self.path, self.data, self.prefix = path, data, prefix
        self.used: set[str] = set()

    def _error(self, key: str, expected: str, value: object = None) -> BenchError:
        where = f"{self.prefix}{key}"
        got = "" if value is None else f", got {value!r}"
        return BenchError(f"{self.path}: {where}: expected {expected}{got}")

    def get(
        self, key: str, kind: type | tuple[type, ...], expected: str, default: Any = ...
    ) -> Any:
        self.used.add(key)
        if key not in self.data:
            if default is ...:
                raise self._error(key, expected + " (missing)")
            return default
        value = self.data[key]
        if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
            raise self._error(key, expected, value)
        return value

    def number(self, key: str, default: Any = ..., *, minimum: float = 0.0) -> Any:
        value = self.get(key, (int, float), f"a number >= {minimum}", default)
        if value is not None and value < minimum:
            raise self._error(key, f"a number >= {minimum}", value)
        return value

    def eui(self, key: str) -> Eui64:
        text = self.get(key, str, 'an EUI-64 such as "90-B3-D5-1F-30-01-00-00"')
        try:
            return Eui64.parse(text)
        except ValueError:
            raise self._error(key, 'an EUI-64 such as "90-B3-D5-1F-30-01-00-00"', text) from None

    def table(self, key: str) -> _Table:
        value = self.get(key, dict, "a table", {})
        return _Table(self.path, value, f"{self.prefix}{key}.")

    def hex_bytes(self, key: str, size: int | None = None, default: Any = ...) -> Any:
        """Hex digits (spaces, ``-`` and ``:`` between them allowed) as bytes; ``size`` bytes."""
        expected = f"{size * 2} hex digits" if size else "hex digits"
        text = self.get(key, str, expected, default)
        if text is None or text is default:
            return text
        try:
            value = bytes.fromhex(text.replace("-", "").replace(":", "").replace(" ", ""))
        except ValueError:
            raise self._error(key, expected, text) from None
        if size is not None and len(value) != size:
            raise self._error(key, expected, text)
        return value

    def baud_rate(self, key: str, default: int) -> int:
        """A baud rate, one of :data:`BAUD_RATES`."""
        expected = f"a baud rate, one of {', '.join(map(str, BAUD_RATES))}"
        value = self.get(key, int, expected, default)
        if value not in BAUD_RATES:
            raise self._error(key, expected, value)
        return int(value)

    def address(self, key: str, default: Any = ...) -> Any:
        """A Modbus address (0..65535)."""
        value = self.get(key, int, "a Modbus address 0..65535", default)
        if value is not None and not 0 <= value <= 0xFFFF:
            raise self._error(key, "a Modbus address 0..65535", value)
        return value

    def check_unknown(self) -> None:
        for key in self.data:
            if key not in self.used:
                raise BenchError(
                    f"{self.path}: {self.prefix}{key}: unknown key "
                    f"(known: {', '.join(sorted(self.used))})"
                )


def _shown(path: Path) -> str:
    """``path`` relative to the working folder when it is under it (as a user would type it)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _resolve(path: Path, text: str) -> Path:
    if text == "@rtds":
        return RTDS_KEYS
    candidate = Path(text).expanduser()
    return candidate if candidate.is_absolute() else (path.parent / candidate).resolve()


def _users(path: Path, root: _Table) -> dict[str, UserConfig]:
    """``[user]`` (one User) or ``[[user]]`` (several): names and EUIs unique."""
    raw = root.get("user", (dict, list), "a [user] table or an array of [[user]] tables")
    entries = [raw] if isinstance(raw, dict) else raw
    if not entries:
        raise BenchError(f"{path}: user: expected at least one [[user]] table")
    users: dict[str, UserConfig] = {}
    for index, entry in enumerate(entries):
        prefix = "user." if isinstance(raw, dict) else f"user[{index}]."
        if not isinstance(entry, dict):
            raise BenchError(f"{path}: {prefix[:-1]}: expected a table")
        table = _Table(path, entry, prefix)
        role = table.get("role", str, f"one of {', '.join(USER_ROLES)}", "IS")
        if role not in USER_ROLES:
            raise table._error("role", f"one of {', '.join(USER_ROLES)}", role)
        user = UserConfig(
            name=table.get("name", str, "a User name", "supplier"),
            eui=table.eui("eui"),
            counter_start=table.get("counter_start", int, "a positive integer", 1 << 32),
            role=role,
            portfolio=table.number("portfolio", 1.0),
        )
        table.check_unknown()
        if user.counter_start < 1:
            raise table._error("counter_start", "a positive integer", user.counter_start)
        if user.name in users:
            raise table._error("name", "a name not used by another user", user.name)
        if any(u.eui == user.eui for u in users.values()):
            raise table._error("eui", "an EUI not used by another user", str(user.eui))
        users[user.name] = user
    return users


def shipped_benches() -> list[str]:
    """The shipped benches' names."""
    return sorted(path.stem for path in SHIPPED_BENCHES.glob("*.toml"))


def bench_path(given: str | Path) -> Path:
    """The bench file ``given`` names: a path, or a shipped bench's name (``han``) when no such
    file is here."""
    path = Path(given)
    shipped = SHIPPED_BENCHES / f"{path}.toml"
    if path.suffix or len(path.parts) != 1 or path.exists() or not shipped.is_file():
        return path
    return shipped


def load_bench(path: Path) -> Bench:
    """Read and validate a bench file (or a shipped bench, by name: :func:`bench_path`)."""
    path = bench_path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BenchError(
            f"{path}: bench file not found (the shipped benches, by name or in "
            f"{_shown(SHIPPED_BENCHES)}/: {', '.join(shipped_benches())})"
        ) from None
    except IsADirectoryError:
        raise BenchError(f"{path}: a folder, not a bench file") from None
    except tomllib.TOMLDecodeError as exc:
        raise BenchError(f"{path}: not valid TOML: {exc}") from None
    root = _Table(path, raw, "")
    bench = root.table("bench")
    keys = root.table("keys")
    key_dirs = tuple(_resolve(path, d) for d in keys.get("dirs", list, "a list of folders", []))
    for directory in key_dirs:
        if not directory.is_dir():
            raise BenchError(f"{path}: keys.dirs: folder {str(directory)!r} does not exist")
    users = _users(path, root)
    dsp = root.table("dsp")
    tmm = dsp.get("tmm", str, "a path to a TMM document, or a shipped one's name", "default")
    from rig.dsp.tmm import shipped_tmm_path  # here: the DSP package is not needed to list benches

    han = load_han(root.table("han")) if "han" in raw else None
    devices: dict[str, DeviceConfig] = {}
    device_list = root.get("device", list, "an array of [[device]] tables")
    for index, entry in enumerate(device_list):
        if not isinstance(entry, dict):
            raise BenchError(f"{path}: device[{index}]: expected a table")
        table = _Table(path, entry, f"device[{index}].")
        config = _device(table, devices, han)
        devices[config.name] = config
        table.check_unknown()
    if han is not None:
        on_han = [n for n, d in devices.items() if d.transport == "han" and d.kind != "comms_hub"]
        check_fault_devices(han, on_han, path)
    bench_io = _bench_io(root, devices) if "bench_io" in raw else None
    duis = load_duis(root.table("duis"), users, path.parent) if "duis" in raw else DuisConfig()
    host = root.table("host")
    result = Bench(
        path=path,
        name=bench.get("name", str, "a bench name", path.stem),
        key_dirs=key_dirs,
        user=next(iter(users.values())),
        users=users,
        bench_io=bench_io,
        dsp=DspConfig(
            tmm=None if tmm == "default" else shipped_tmm_path(tmm) or _resolve(path, tmm),
            servers=dsp.get("servers", int, "a positive integer", 1),
            service_time_s=dsp.number("service_time_s", 0.001),
            northbound_rate=dsp.number("northbound_rate", None, minimum=1e-9),
        ),
        devices=devices,
        cpu_slice_s=_cpu_slice(host),
        shared_emulators=host.get("shared_emulators", bool, "true or false", True),
        busy_poll_s=_busy_poll(host),
        han=han,
        labgrid=load_labgrid(root.table("labgrid")) if "labgrid" in raw else None,
        duis=duis,
        counters_store=_counters_store(root.table("counters")),
    )
    for table in (root, bench, keys, dsp, host):
        table.check_unknown()
    if result.dsp.servers < 1:
        raise BenchError(
            f"{path}: dsp.servers: expected a positive integer, got {result.dsp.servers}"
        )
    return result


def _counters_store(counters: _Table) -> str | None:
    """``[counters] store``: a ``postgresql://`` URL (docs/bench-files.md "Counters")."""
    store = counters.get("store", str, "a postgresql:// URL", None)
    if store is not None and not store.startswith(URL_SCHEMES):
        raise counters._error("store", "a postgresql:// URL", store)
    counters.check_unknown()
    return store


def _cpu_slice(host: _Table) -> float | None:
    """``[host] cpu_slice_us``: 0 leaves the OS default; else within the kernel's bounds."""
    default_us = round(DEFAULT_CPU_SLICE_S * 1e6)
    slice_us = host.number("cpu_slice_us", default_us)
    if slice_us == 0:
        return None
    low, high = round(cpu_slice.MIN_SLICE_S * 1e6), round(cpu_slice.MAX_SLICE_S * 1e6)
    if not low <= slice_us <= high:
        raise host._error("cpu_slice_us", f"0 (the OS default) or {low}-{high} µs", slice_us)
    return slice_us / 1e6


def _busy_poll(host: _Table) -> float | None:
    """``[host] busy_poll_us``: 0 (the default) sleeps at once; else up to the module's bound."""
    window_us = host.number("busy_poll_us", 0)
    high = round(busy_poll.MAX_WINDOW_S * 1e6)
    if window_us > high:
        raise host._error("busy_poll_us", f"0 (off) or 1-{high} µs", window_us)
    return window_us / 1e6 if window_us else None


def _device(
    table: _Table, devices: dict[str, DeviceConfig], han: HanConfig | None = None
) -> DeviceConfig:
    """One ``[[device]]``; a device joined to a hub (``hub = "name"``, a comms_hub listed
    before it) is reached through the hub's link: it names no port, transport or reconnect,
    and is emulated if its hub is. A device on the HAN (``transport = "han"``): see
    :func:`_han_device`."""
    name = table.get("name", str, "a device name")
    if name in devices:
        raise table._error("name", "a name not used by another device", name)
    kind = table.get("kind", str, f"one of {', '.join(DEVICE_KINDS)}")
    if kind not in DEVICE_KINDS:
        raise table._error("kind", f"one of {', '.join(DEVICE_KINDS)}", kind)
    timing = {
        "response_timeout_s": table.number("response_timeout_s", 5.0, minimum=0.001),
        "processing_time_s": table.number("processing_time_s", 0.002),
    }
    if table.data.get("transport") == "zigbee":
        raise zigbee_replaced(table, kind)
    if table.data.get("transport") == "han" and kind == "comms_hub":
        table.used.add("transport")
        return DeviceConfig(  # the rig itself: its CHF is emulated, its keys made per run
            name=name,
            kind=kind,
            eui=han_comms_hub(table, han),
            emulated=True,
            port=None,
            transport="han",
            reconnect=False,
            **timing,
        )
    if table.data.get("transport") == "han":
        table.used.add("transport")
        eui, install_code = han_device(table, kind, han)
        return DeviceConfig(
            name=name,
            kind=kind,
            eui=eui,
            emulated=han is not None and han.emulated,
            port=None,
            transport="han",
            reconnect=False,
            install_code=install_code,
            on_log=table.get("on_log", bool, "true or false", True),
            **timing,
        )
    if "install_code" in table.data:
        raise table._error("install_code", 'unset unless transport = "han"')
    hub_name = table.get("hub", str, "the name of a comms_hub listed before it", None)
    if hub_name is not None:
        hub = devices.get(hub_name)
        if hub is None or hub.kind != "comms_hub" or kind == "comms_hub":
            hubs = ", ".join(d.name for d in devices.values() if d.kind == "comms_hub") or "none"
            raise table._error("hub", f"a comms_hub listed before it ({hubs})", hub_name)
        for key in ("port", "transport", "reconnect", "faults", "baudrate"):
            if key in table.data:
                raise table._error(key, f"not set on a device joined to hub {hub_name!r}")
        if table.get("emulated", bool, "true or false", hub.emulated) != hub.emulated:
            raise table._error("emulated", f"as its hub's ({hub.emulated})")
        return DeviceConfig(
            name=name,
            kind=kind,
            eui=table.eui("eui"),
            emulated=hub.emulated,
            port=None,
            transport=hub.transport,
            reconnect=hub.reconnect,
            hub=hub_name,
            **timing,
        )
    emulated = table.get("emulated", bool, "true or false", False)
    port = table.get("port", str, "a serial port path or URL", None)
    if not emulated and port is None:
        raise table._error("port", "a serial port path or URL for a physical device")
    transport = table.get("transport", str, f"one of {', '.join(TRANSPORTS)}", "pty")
    if transport not in TRANSPORTS:
        raise table._error("transport", f"one of {', '.join(TRANSPORTS)}", transport)
    if transport not in PHYSICAL_TRANSPORTS and not emulated:
        raise table._error("transport", "han or unset for a physical device (give port)", transport)
    if emulated and "baudrate" in table.data:
        raise table._error("baudrate", "unset on an emulated device (its pty has no baud rate)")
    return DeviceConfig(
        name=name,
        kind=kind,
        eui=table.eui("eui"),
        emulated=emulated,
        port=port,
        transport=transport,
        reconnect=table.get("reconnect", bool, "true or false", False),
        faults=_faults(table.table("faults"), emulated) if "faults" in table.data else None,
        baudrate=table.baud_rate("baudrate", DEFAULT_BAUD_RATE),
        **timing,
    )


def _faults(table: _Table, emulated: bool) -> FaultConfig:
    """``[device.faults]``: ``seed``, ``reorder_hold_s``, ``tx`` / ``rx`` rate tables and
    ``clock_skew_s`` (an emulated device only: a physical one keeps its own clock)."""

    def rates(key: str) -> FaultRates:
        lane = table.table(key)
        values = {name: lane.number(name, 0.0) for name in FAULT_RATES}
        delay_s = lane.get("delay_s", list, "[low, high] seconds", [0.01, 0.1])
        lane.check_unknown()
        try:
            return FaultRates(**values, delay_s=tuple(delay_s))
        except (ValueError, TypeError) as exc:
            where = f"{lane.path}: {lane.prefix[:-1]}"
            raise BenchError(f"{where}: expected valid fault rates ({exc})") from None

    config = FaultConfig(
        seed=table.get("seed", int, "an integer", 0),
        tx=rates("tx"),
        rx=rates("rx"),
        reorder_hold_s=table.number("reorder_hold_s", 0.5, minimum=0.001),
        clock_skew_s=table.get("clock_skew_s", (int, float), "a number of seconds", 0.0),
    )
    if config.clock_skew_s and not emulated:
        raise table._error("clock_skew_s", "unset on a physical device", config.clock_skew_s)
    table.check_unknown()
    return config


def _bench_io(root: _Table, devices: dict[str, DeviceConfig]) -> BenchIOConfig:
    """The ``[bench_io]`` table: exactly one of ``emulated = true``, ``tcp`` or ``rtu``."""
    table = root.table("bench_io")
    meter = table.get("meter", str, "the name of the ESME whose contactor is sensed")
    if meter not in devices or devices[meter].kind != "esme":
        esmes = ", ".join(d.name for d in devices.values() if d.kind == "esme") or "none"
        raise table._error("meter", f"the name of an ESME of the bench ({esmes})", meter)
    emulated = table.get("emulated", bool, "true or false", False)
    tcp_text = table.get("tcp", str, '"HOST:PORT"', None)
    rtu = table.get("rtu", str, "a serial port path or pyserial URL", None)
    if sum((emulated, tcp_text is not None, rtu is not None)) != 1:
        raise table._error("emulated", "exactly one of emulated = true, tcp or rtu")
    tcp = None
    if tcp_text is not None:
        try:
            tcp = parse_host_port(tcp_text)
        except ValueError:
            raise table._error("tcp", '"HOST:PORT"', tcp_text) from None
    if emulated and not devices[meter].emulated:
        raise table._error("emulated", "false for a physical meter (give tcp or rtu)", True)
    device_id = table.get("device_id", int, "a Modbus device id 1..247", 1)
    if not 1 <= device_id <= 247:
        raise table._error("device_id", "a Modbus device id 1..247", device_id)
    config = BenchIOConfig(
        meter=meter,
        emulated=emulated,
        tcp=tcp,
        rtu=rtu,
        baudrate=table.baud_rate("baudrate", 19200),
        device_id=device_id,
        contactor_input=table.address("contactor_input", 0),
        power_coil=table.address("power_coil", 0),
        pulse_register=table.address("pulse_register", None),
        poll_interval_s=table.number("poll_interval_s", 0.01, minimum=0.0001),
        timeout_s=table.number("timeout_s", 1.0, minimum=0.001),
        actuation_delay_s=table.number("actuation_delay_s", 0.05),
        pulses_per_second=table.number("pulses_per_second", 0.0),
    )
    emulated_map = (config.contactor_input, config.power_coil, config.pulse_register or 0)
    if emulated and emulated_map != (0, 0, 0):
        raise table._error("emulated", "addresses 0 with the emulated module (or give tcp/rtu)")
    table.check_unknown()
    return config
