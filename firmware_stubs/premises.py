"""A premises: one Comms Hub with its ESME, GSME, PPMID and SAPC, built from a description.

The description is JSON-like (``docs/devices.md`` shows one)::

    {"chf": "00-DB-12-34-56-78-90-A2", "gpf": "00-DB-12-34-56-78-90-A3", "keys": ["keys"],
     "seed": 1,
     "hub": {"max_in_flight": 4},
     "esme": {"eui": "00-DB-12-34-56-78-90-A0", "credit_pence": 1000, "prepayment": true},
     "gsme": {"eui": "00-DB-12-34-56-78-90-A1", "wake_interval": 5},
     "ppmid": {"eui": "00-DB-12-34-56-78-90-A4"}, "sapc": {"eui": "00-DB-12-34-56-78-90-A6"}}

Every device is optional but the CHF (the GPF answers for the GSME from its mirror). Keys are
looked up in the ``keys`` folders (relative to ``base``) in order: each device's, the CHF's and
the GPF's KA and DS private keys, the remote parties' public keys. Device seeds default to the
premises seed plus a per-role offset.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from firmware_stubs.comms_hub import (
    Chf,
    CommsHub,
    Gpf,
    HanDevice,
    HanLogEntry,
    HubSettings,
    install_code_for,
)
from firmware_stubs.device import Output
from firmware_stubs.esme import Esme, EsmeSettings
from firmware_stubs.gsme import Gsme, GsmeSettings
from firmware_stubs.load_control import ProportionalController
from firmware_stubs.meter import MeterSettings, PrepaymentMeter
from firmware_stubs.ppmid import Ppmid, PpmidSettings
from firmware_stubs.prepayment import UNITS_PER_PENNY
from firmware_stubs.sapc import Sapc
from firmware_stubs.settings_io import settings_from
from rig.gbcs.eui import Eui64
from rig.keys.keystore import KeyStore

_ROLES = ("esme", "gsme", "ppmid", "sapc")
_KNOWN = {"chf", "gpf", "keys", "seed", "hub", *_ROLES}


@dataclass(frozen=True)
class PremisesSpec:
    """A parsed premises description."""

    chf: Eui64
    keys: tuple[Path, ...]
    seed: int
    hub: HubSettings
    esme: tuple[Eui64, EsmeSettings, float] | None = None
    gsme: tuple[Eui64, GsmeSettings, float] | None = None
    ppmid: tuple[Eui64, PpmidSettings] | None = None
    sapc: tuple[Eui64, ProportionalController] | None = None
    gpf: Eui64 | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any], where: str, base: Path = Path()) -> PremisesSpec:
        """Parse a description; ValueError naming ``where`` and the offending key."""
        if not isinstance(data, Mapping):
            raise ValueError(f"{where}: expected an object describing a premises")
        unknown = set(data) - _KNOWN
        if unknown:
            raise ValueError(f"{where}: unknown keys {sorted(unknown)} (known: {sorted(_KNOWN)})")
        if "chf" not in data or not data.get("keys"):
            raise ValueError(f"{where}: 'chf' and 'keys' are required")
        seed = data.get("seed", 0)
        if type(seed) is not int:
            raise ValueError(f"{where}.seed: expected an integer, got {seed!r}")
        keys = data["keys"]
        if isinstance(keys, str) or not all(isinstance(k, str) for k in keys):
            raise ValueError(f"{where}.keys: expected a list of folder names")
        parsed: dict[str, Any] = {}
        for offset, role in enumerate(_ROLES, 1):
            if role in data:
                parsed[role] = _device(role, data[role], f"{where}.{role}", seed + offset)
        if "gpf" in data:
            parsed["gpf"] = _eui(data["gpf"], f"{where}.gpf")
        return cls(
            chf=_eui(data["chf"], f"{where}.chf"),
            keys=tuple(base / k for k in keys),
            seed=seed,
            hub=settings_from(HubSettings, {"seed": seed, **data.get("hub", {})}, f"{where}.hub"),
            **parsed,
        )


def _eui(text: object, where: str) -> Eui64:
    try:
        return Eui64.parse(text)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None


def _device(role: str, data: Any, where: str, seed: int) -> tuple[Any, ...]:
    if not isinstance(data, Mapping) or "eui" not in data:
        raise ValueError(f"{where}: expected an object with an 'eui'")
    eui = _eui(data["eui"], f"{where}.eui")
    rest = {k: v for k, v in data.items() if k not in ("eui", "credit_pence")}
    credit = data.get("credit_pence", 0)
    if role in ("esme", "gsme"):
        if type(credit) not in (int, float):
            raise ValueError(f"{where}.credit_pence: expected a number, got {credit!r}")
        kind = EsmeSettings if role == "esme" else GsmeSettings
        return eui, settings_from(kind, {"seed": seed, **rest}, where), float(credit)
    if "credit_pence" in data:
        raise ValueError(f"{where}: 'credit_pence' applies to a meter, not a {role}")
    if role == "ppmid":
        return eui, settings_from(PpmidSettings, rest, where)
    return eui, settings_from(ProportionalController, {"seed": seed, **rest}, where)


M = TypeVar("M", bound=PrepaymentMeter)


def _meter(
    kind: type[M],
    eui: Eui64,
    settings: MeterSettings,
    credit_pence: float,
    keys: KeyStore,
    wall_clock_offset: float,
) -> M:
    """A meter of the premises with its keys from ``keys`` and its starting credit."""
    meter = kind.from_keys(eui, keys, settings, wall_clock_offset=wall_clock_offset)
    meter.state.ledger.credit = round(credit_pence * UNITS_PER_PENNY)
    return meter


class Premises:
    """The hub composite: :class:`CommsHub` plus typed access to its devices. A firmware."""

    def __init__(
        self,
        spec: PremisesSpec,
        *,
        wall_clock_offset: float = 0.0,
        keys: KeyStore | None = None,
    ) -> None:
        """Build the devices; ``keys`` replaces the spec's folders (a farm shares one store)."""
        keys = keys or KeyStore(spec.keys)
        self.spec = spec
        self.esme: Esme | None = None
        self.gsme: Gsme | None = None
        self.ppmid: Ppmid | None = None
        self.sapc: Sapc | None = None
        devices: list[HanDevice] = []
        if spec.esme is not None:
            self.esme = _meter(Esme, *spec.esme, keys, wall_clock_offset)
            devices.append(self.esme)
        if spec.gsme is not None:
            self.gsme = _meter(Gsme, *spec.gsme, keys, wall_clock_offset)
            devices.append(self.gsme)
        meters: list[PrepaymentMeter] = [m for m in (self.esme, self.gsme) if m is not None]
        if spec.ppmid is not None:
            if not meters:
                raise ValueError("a PPMID needs a meter on the premises")
            self.ppmid = Ppmid(spec.ppmid[0], meters, spec.ppmid[1])
            devices.append(self.ppmid)
        if spec.sapc is not None:
            self.sapc = Sapc(spec.sapc[0], replace(spec.sapc[1], changes=[]))
            devices.append(self.sapc)
        log = {d.eui: HanLogEntry(d.eui, install_code_for(d.eui)) for d in devices}
        chf = Chf(
            spec.chf,
            ka_private=keys.ka_private(spec.chf),
            ds_private=keys.ds_private(spec.chf),
            keys=keys,
            settings=spec.hub,
            log=log,
            wall_clock_offset=wall_clock_offset,
        )
        self.gpf: Gpf | None = None
        if spec.gpf is not None:
            self.gpf = Gpf(
                spec.gpf,
                ka_private=keys.ka_private(spec.gpf),
                ds_private=keys.ds_private(spec.gpf),
                keys=keys,
                settings=spec.hub,
                gsme=self.gsme,
                wall_clock_offset=wall_clock_offset,
            )
        self.hub = CommsHub(chf, devices, spec.hub, self.gpf)

    @property
    def euis(self) -> tuple[Eui64, ...]:
        """Every EUI this premises answers for."""
        return self.hub.euis

    def handle(self, frame: bytes, now: float) -> Output:
        """A frame from the WAN."""
        return self.hub.handle(frame, now)

    def tick(self, now: float) -> Output:
        """Unsolicited output of every device."""
        return self.hub.tick(now)

    def observe(self) -> dict[str, object]:
        """What a bench instrument would see: supply contactor and valve states; ``device``
        names the meter whose contactor it is (else the hub)."""
        seen: dict[str, object] = {"device": str(self.spec.chf)}
        if self.esme is not None:
            seen["device"] = str(self.esme.eui)
            seen["supply"] = self.esme.state.supply.name.lower()
        if self.gsme is not None:
            seen["valve"] = self.gsme.state.valve.name.lower()
        return seen
