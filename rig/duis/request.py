"""DUIS-level service requests: what a DCC User hands to the DSP (reference/domain.md §7).

A request is identified by its RequestID, ``BusinessOriginatorID:BusinessTargetID:Counter``
(DUGIS Annex 17), whose counter is also the GBCS originator counter and, for SRV 2.2, the UTRN
counter (reference/gbcs.md §2 "How the pieces fit").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from decimal import Decimal
from enum import IntEnum, StrEnum

from rig.gbcs.eui import Eui64

_MAX_COUNTER = 2**64


class CommandVariant(IntEnum):
    """DUIS CommandVariant values (domain.md §7.2)."""

    NON_CRITICAL_WAN = 1
    NON_CRITICAL_LOCAL = 2
    NON_CRITICAL_BOTH = 3
    CRITICAL_TRANSFORM = 4
    CRITICAL_SIGNED_WAN = 5
    CRITICAL_SIGNED_LOCAL = 6
    CRITICAL_SIGNED_BOTH = 7
    NON_DEVICE = 8


@dataclass(frozen=True, order=True)
class RequestId:
    """``originator:target:counter``; the counter is an integer in (0, 2^64) (DUGIS Annex 17)."""

    originator: Eui64
    target: Eui64
    counter: int

    def __post_init__(self) -> None:
        if not 0 < self.counter < _MAX_COUNTER:
            raise ValueError(f"RequestID counter {self.counter} is outside (0, 2^64)")

    @classmethod
    def parse(cls, text: str) -> RequestId:
        parts = text.strip().split(":")
        if len(parts) != 3:
            raise ValueError(f"RequestID {text!r}: expected ORIGINATOR:TARGET:COUNTER")
        originator, target, counter = parts
        if not counter.isdigit():
            raise ValueError(f"RequestID {text!r}: counter {counter!r} is not a decimal integer")
        return cls(Eui64.parse(originator), Eui64.parse(target), int(counter))

    def __str__(self) -> str:
        return f"{self.originator}:{self.target}:{self.counter}"


@dataclass(frozen=True)
class TopUpDevice:
    """SRV 2.2 body: ``<sr:TopUpDevice><sr:UTRN>`` with 20 decimal digits."""

    utrn: str

    srv = "2.2"


@dataclass(frozen=True)
class ReadSupplyStatus:
    """SRV 7.4 body: ``<sr:ReadSupplyStatus/>``."""

    srv = "7.4"


@dataclass(frozen=True)
class EnableSupply:
    """SRV 7.1 body: ``<sr:EnableSupply/>`` (critical, CV 4)."""

    srv = "7.1"


@dataclass(frozen=True)
class DisableSupply:
    """SRV 7.2 body: ``<sr:DisableSupply/>`` (critical, CV 4)."""

    srv = "7.2"


@dataclass(frozen=True)
class ArmSupply:
    """SRV 7.3 body: ``<sr:ArmSupply/>`` (critical, CV 4)."""

    srv = "7.3"


@dataclass(frozen=True)
class _ReadOnDemandOrFutureDated:
    """A read body (``ReadDataOnDemandOrFutureDated``): ``execution_date_time`` makes it DSP
    future-dated (domain.md §7.3)."""

    execution_date_time: datetime | None = None


@dataclass(frozen=True)
class ReadInstantaneousImportRegisters(_ReadOnDemandOrFutureDated):
    """SRV 4.1.1 body."""

    srv = "4.1.1"


@dataclass(frozen=True)
class ReadInstantaneousPrepayValues(_ReadOnDemandOrFutureDated):
    """SRV 4.3 body."""

    srv = "4.3"


@dataclass(frozen=True)
class ReadMeterBalance(_ReadOnDemandOrFutureDated):
    """SRV 4.18 body."""

    srv = "4.18"


@dataclass(frozen=True)
class UpdateImportTariff:
    """SRV 1.1.1 body ``UpdateImportTariffPrimaryElement`` (critical; device future-dated).

    ``elements`` is the exclusive-C14N XML of the children after ExecutionDateTime (the
    ElecTariffElements or GasTariffElements and the PriceElements), kept verbatim so that it
    signs and rebuilds unchanged; ``rig.duis.messages.parse_tariff`` gives its typed
    :class:`Tariff`.
    """

    elements: bytes
    execution_date_time: datetime | None = None

    srv = "1.1.1"


#: ExecutionDateTime that cancels a pending future-dated tariff: the DUIS templates'
#: CANCELLATION requests carry it, and their RTDS commands carry "never" activation times.
TARIFF_CANCELLATION = datetime(3000, 12, 31, tzinfo=UTC)


@dataclass(frozen=True)
class TariffDate:
    """A DUIS date with wildcards (Date / GasDateWithWildcards): None is NonSpecified."""

    year: int | None
    month: int | None
    day: int | None
    day_of_week: int | None = None


@dataclass(frozen=True)
class TariffAction:
    """A ProfileSchedule (electricity: StartTime and a TOU or block action) or the single
    action of a gas DayProfile (no start; ``block_rate`` None for a gas ``BlockTariff``)."""

    start: time | None
    tou_rate: int | None = None
    block_rate: int | None = None

    @property
    def block(self) -> bool:
        """A block action (BlockTariffAction, or a gas BlockTariff)."""
        return self.tou_rate is None


@dataclass(frozen=True)
class TariffDayProfile:
    """DayProfile: its DayName and actions."""

    day: int
    actions: tuple[TariffAction, ...]


@dataclass(frozen=True)
class TariffWeekProfile:
    """WeekProfile: its WeekName and the ReferencedDayName of Monday .. Sunday."""

    week: int
    days: tuple[int, ...]


@dataclass(frozen=True)
class TariffSeason:
    """Season: SeasonName (electricity only), start date, ReferencedWeekName."""

    name: str | None
    start: TariffDate
    week: int


@dataclass(frozen=True)
class TariffSpecialDay:
    """SpecialDay: date and ReferencedDayName."""

    date: TariffDate
    day: int


@dataclass(frozen=True)
class Tariff:
    """The typed SRV 1.1.1 tariff (ElecTariffElements / GasTariffElements + PriceElements).

    ``thresholds``: one row per electricity ``Thresholds`` index, the gas ThresholdMatrix as a
    single row. ``tou_prices`` by TOUPrice index; ``block_prices`` one row per electricity
    ``BlockPrices`` index (BlockPrice by index), the gas BlockTariff as a single row.
    """

    gas: bool
    days: tuple[TariffDayProfile, ...]
    weeks: tuple[TariffWeekProfile, ...]
    seasons: tuple[TariffSeason, ...]
    special_days: tuple[TariffSpecialDay, ...]
    thresholds: tuple[tuple[int, ...], ...]
    standing_charge: int
    tou_prices: tuple[int, ...] = ()
    block_prices: tuple[tuple[int, ...], ...] = ()
    standing_charge_scale: int | None = None
    price_scale: int | None = None
    currency: str = "GBP"


class SupplyStateChange(StrEnum):
    """SupplyDepletionState / SupplyTamperState values of SRV 6.7."""

    UNCHANGED = "Unchanged"
    LOCKED = "Locked"


@dataclass(frozen=True)
class UpdateDeviceConfigurationGasFlow:
    """SRV 6.7 body: exactly one of ``rate`` (UncontrolledGasFlowRate, unsigned short) and
    ``rate_decimal`` (UncontrolledGasFlowRateDecimal, 0..6.5535, the SMETS2 scaling; seed 002).
    """

    depletion_state: SupplyStateChange
    tamper_state: SupplyStateChange
    stabilisation_period: int
    measurement_period: int
    rate: int | None = None
    rate_decimal: Decimal | None = None

    srv = "6.7"

    def __post_init__(self) -> None:
        if (self.rate is None) == (self.rate_decimal is None):
            raise ValueError("SRV 6.7 needs exactly one of rate and rate_decimal")


class HanLogRequestType(StrEnum):
    """``RequestType`` of SRV 8.11."""

    ADD = "Add"
    REMOVE = "Remove"


@dataclass(frozen=True)
class AddDeviceToChfWhitelist:
    """SRV 8.11 ``AddDeviceToCHFWhitelist``: the install code is 6..16 bytes in the schema."""

    join_time_period: int
    install_code: bytes
    import_mpxn: str | None = None
    secondary_import_mpan: str | None = None
    export_mpan: str | None = None


@dataclass(frozen=True)
class UpdateHanDeviceLog:
    """SRV 8.11 body ``UpdateHANDeviceLog``; ``add`` accompanies RequestType Add."""

    device_id: Eui64
    request_type: HanLogRequestType
    add: AddDeviceToChfWhitelist | None = None
    execution_date_time: datetime | None = None

    srv = "8.11"


@dataclass(frozen=True)
class SignedPreCommand:
    """CV 5/6/7 body: the User-signed pre-command for a critical SRV (domain.md §7.1-7.2).

    Unlike the other bodies its SRV is per instance: the header's ServiceReferenceVariant.
    """

    srv: str
    gbcs_payload: bytes
    execution_date_time: datetime | None = None


@dataclass(frozen=True)
class ReadInventory:
    """SRV 8.2 body: the inventory entries around ``device_id`` (its premises)."""

    device_id: Eui64

    srv = "8.2"


@dataclass(frozen=True)
class DevicePrenotification:
    """SRV 12.2 body: a device the User will install, told to the DSP before it is."""

    device_id: Eui64
    manufacturer: str
    model: str
    device_type: str
    smets_chts_version: str | None = None
    firmware_version: str | None = None

    srv = "12.2"


Body = (
    TopUpDevice
    | ReadSupplyStatus
    | EnableSupply
    | DisableSupply
    | ArmSupply
    | ReadInstantaneousImportRegisters
    | ReadInstantaneousPrepayValues
    | ReadMeterBalance
    | UpdateImportTariff
    | UpdateDeviceConfigurationGasFlow
    | UpdateHanDeviceLog
    | ReadInventory
    | DevicePrenotification
    | SignedPreCommand
)


@dataclass(frozen=True)
class ServiceRequest:
    """One DUIS service request: header fields and a typed body."""

    request_id: RequestId
    body: Body
    command_variant: CommandVariant = CommandVariant.NON_CRITICAL_WAN

    @property
    def srv(self) -> str:
        return self.body.srv

    @property
    def service_reference(self) -> str:
        """The header's ServiceReference: the SRV without a third component (4.1.1 -> 4.1)."""
        return service_reference(self.srv)

    @property
    def execution_date_time(self) -> datetime | None:
        """The body's ExecutionDateTime, None when immediate or not future-datable."""
        return getattr(self.body, "execution_date_time", None)


def service_reference(srv: str) -> str:
    """ServiceReference of a ServiceReferenceVariant (templates: 1.1.1 -> 1.1, 7.4 -> 7.4)."""
    return ".".join(srv.split(".")[:2])
