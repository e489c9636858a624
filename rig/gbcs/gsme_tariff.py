"""GCS01a Update Import Tariff (SRV 1.1.1) as typed ZSE publish commands (reference/gbcs.md
§1.6-1.7; domain.md §5; ZSE Calendar cluster 0x0707 and Price cluster 0x0700 commands, laid out
as every RTDS 4.5.0 GCS01a command carries them).

A GCS01a payload is one GBZ component per command, numbered 0, 1, … in order: Publish Calendar,
Publish Day Profile(s), Publish Week Profile(s), Publish Seasons, Publish Special Days, Publish
Tariff Information, Publish Block Thresholds (block tariffs), Publish Price Matrix. ZCL fields are
little-endian; times are GBZ seconds since 2000. Block thresholds are GasThresholdType, at most
2^48 - 1 = 281,474,976,710,655 (seed 002); a larger one raises :class:`GasThresholdError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from rig.gbcs.errors import DecodeError
from rig.gbcs.gbz import (
    CLUSTER_SPECIFIC,
    SERVER_TO_CLIENT,
    Gbz,
    GbzComponent,
    ZclFrame,
    decode_gbz,
    le,
)
from rig.gbcs.wire import Reader, require_canonical

CALENDAR = 0x0707
PRICE = 0x0700
#: The publish commands are server-to-client, cluster-specific (RTDS frame control 0x09).
_FRAME_CONTROL = CLUSTER_SPECIFIC | SERVER_TO_CLIENT
#: GasThresholdType (SRV 1.1.1) is a uint48: the maximum is 2^48 - 1 (seed 002, domain.md §5).
GAS_THRESHOLD_MAX = (1 << 48) - 1
_THRESHOLD_BYTES = 6
_ANY = 0xFF
_YEAR_BASE = 1900


class GasThresholdError(ValueError):
    """A GasThresholdType above 2^48 - 1 (the consistent error of seed 002 / DUIS 4.0 §4.2)."""

    def __init__(self, value: int) -> None:
        super().__init__(
            f"GasThresholdType {value} outside 0..{GAS_THRESHOLD_MAX} (2^48 - 1, SRV 1.1.1)"
        )
        self.value = value


def _u(reader: Reader, size: int, what: str) -> int:
    return int.from_bytes(reader.take(size, what), "little")


def _string(reader: Reader, what: str) -> bytes:
    return reader.take(reader.byte(f"{what} length"), what)


def _zcl_string(value: bytes) -> bytes:
    if len(value) > 0xFE:
        raise ValueError("a ZCL octet string holds at most 254 bytes")
    return bytes([len(value)]) + value


@dataclass(frozen=True)
class ZclDate:
    """A ZCL Date: year (full, stored as year - 1900), month, day, day of week; None = any."""

    year: int | None
    month: int | None
    day: int | None
    day_of_week: int | None = None

    def encode(self) -> bytes:
        """Four bytes, 0xFF for "any"."""
        year = _ANY if self.year is None else self.year - _YEAR_BASE
        rest = (_ANY if v is None else v for v in (self.month, self.day, self.day_of_week))
        return bytes([year, *rest])

    def __str__(self) -> str:
        """``YYYY-MM-DD`` with ``*`` for "any", and the day of week if given."""
        year, month, day = (
            "*" * w if v is None else f"{v:0{w}d}"
            for v, w in ((self.year, 4), (self.month, 2), (self.day, 2))
        )
        dow = "" if self.day_of_week is None else f" (day of week {self.day_of_week})"
        return f"{year}-{month}-{day}{dow}"

    @classmethod
    def read(cls, reader: Reader) -> ZclDate:
        """Inverse of :meth:`encode`."""
        raw = reader.take(4, "ZCL date")
        year, month, day, dow = (None if b == _ANY else b for b in raw)
        return cls(None if year is None else year + _YEAR_BASE, month, day, dow)


class _Publish:
    """Base of the publish commands: cluster, command id, ZCL payload <-> object."""

    CLUSTER: ClassVar[int]
    COMMAND: ClassVar[int]

    def payload(self) -> bytes:
        raise NotImplementedError

    def encode(self) -> bytes:
        """The ZCL payload (the body protocol of rig.gbcs.gbz_message)."""
        return self.payload()

    @classmethod
    def read(cls, reader: Reader) -> Self:
        raise NotImplementedError

    @classmethod
    def parse(cls, payload: bytes) -> Self:
        """The command of a ZCL payload, which it must fill exactly."""
        reader = Reader(payload)
        obj = cls.read(reader)
        reader.expect_end(cls.__name__)
        return obj


def _ids(provider: int, event: int, third: int) -> bytes:
    return le(provider, 4) + le(event, 4) + le(third, 4)


@dataclass(frozen=True)
class PublishCalendar(_Publish):
    """ZSE Publish Calendar: when the calendar starts and how many of each profile follow."""

    CLUSTER: ClassVar[int] = CALENDAR
    COMMAND: ClassVar[int] = 0x00
    issuer_event_id: int
    issuer_calendar_id: int
    start_time: int
    seasons: int
    weeks: int
    days: int
    calendar_type: int = 0
    time_reference: int = 0
    name: bytes = b""
    provider_id: int = 0

    def payload(self) -> bytes:
        """The ZCL payload."""
        return (
            _ids(self.provider_id, self.issuer_event_id, self.issuer_calendar_id)
            + le(self.start_time, 4)
            + bytes([self.calendar_type, self.time_reference])
            + _zcl_string(self.name)
            + bytes([self.seasons, self.weeks, self.days])
        )

    @classmethod
    def read(cls, reader: Reader) -> PublishCalendar:
        """Inverse of :meth:`payload`."""
        provider, event, calendar, start = (_u(reader, 4, "calendar id") for _ in range(4))
        kind, reference = reader.byte("calendar type"), reader.byte("time reference")
        name = _string(reader, "calendar name")
        seasons, weeks, days = (reader.byte("profile count") for _ in range(3))
        return cls(event, calendar, start, seasons, weeks, days, kind, reference, name, provider)


@dataclass(frozen=True)
class DaySchedule:
    """One entry of a day profile: from ``start`` (minutes after midnight) use ``price_tier``."""

    start: int
    price_tier: int


@dataclass(frozen=True)
class PublishDayProfile(_Publish):
    """ZSE Publish Day Profile (rate start times). ``total_entries`` None is ``len(entries)``."""

    CLUSTER: ClassVar[int] = CALENDAR
    COMMAND: ClassVar[int] = 0x01
    issuer_event_id: int
    issuer_calendar_id: int
    day: int
    entries: tuple[DaySchedule, ...]
    total_entries: int | None = None
    command_index: int = 0
    total_commands: int = 1
    calendar_type: int = 0
    provider_id: int = 0

    def payload(self) -> bytes:
        """The ZCL payload."""
        total = len(self.entries) if self.total_entries is None else self.total_entries
        head = bytes([self.day, total, self.command_index, self.total_commands, self.calendar_type])
        body = b"".join(le(e.start, 2) + bytes([e.price_tier]) for e in self.entries)
        return _ids(self.provider_id, self.issuer_event_id, self.issuer_calendar_id) + head + body

    @classmethod
    def read(cls, reader: Reader) -> PublishDayProfile:
        """Inverse of :meth:`payload`."""
        provider, event, calendar = (_u(reader, 4, "id") for _ in range(3))
        day, total, index, commands, kind = (reader.byte("day profile") for _ in range(5))
        entries = []
        while reader.remaining:
            entries.append(DaySchedule(_u(reader, 2, "start time"), reader.byte("price tier")))
        return cls(
            event,
            calendar,
            day,
            tuple(entries),
            None if total == len(entries) else total,
            index,
            commands,
            kind,
            provider,
        )


@dataclass(frozen=True)
class PublishWeekProfile(_Publish):
    """ZSE Publish Week Profile: the day profile of Monday .. Sunday."""

    CLUSTER: ClassVar[int] = CALENDAR
    COMMAND: ClassVar[int] = 0x02
    issuer_event_id: int
    issuer_calendar_id: int
    week: int
    days: tuple[int, ...]
    provider_id: int = 0

    def __post_init__(self) -> None:
        if len(self.days) != 7:
            raise ValueError(f"a week profile names 7 days, not {len(self.days)}")

    def payload(self) -> bytes:
        """The ZCL payload."""
        ids = _ids(self.provider_id, self.issuer_event_id, self.issuer_calendar_id)
        return ids + bytes([self.week, *self.days])

    @classmethod
    def read(cls, reader: Reader) -> PublishWeekProfile:
        """Inverse of :meth:`payload`."""
        provider, event, calendar = (_u(reader, 4, "id") for _ in range(3))
        week = reader.byte("week id")
        days = tuple(reader.byte("day id") for _ in range(7))
        return cls(event, calendar, week, days, provider)


@dataclass(frozen=True)
class SeasonEntry:
    """A season: start date and its week profile."""

    start: ZclDate
    week: int


@dataclass(frozen=True)
class PublishSeasons(_Publish):
    """ZSE Publish Seasons."""

    CLUSTER: ClassVar[int] = CALENDAR
    COMMAND: ClassVar[int] = 0x03
    issuer_event_id: int
    issuer_calendar_id: int
    entries: tuple[SeasonEntry, ...]
    command_index: int = 0
    total_commands: int = 1
    provider_id: int = 0

    def payload(self) -> bytes:
        """The ZCL payload."""
        body = b"".join(e.start.encode() + bytes([e.week]) for e in self.entries)
        ids = _ids(self.provider_id, self.issuer_event_id, self.issuer_calendar_id)
        return ids + bytes([self.command_index, self.total_commands]) + body

    @classmethod
    def read(cls, reader: Reader) -> PublishSeasons:
        """Inverse of :meth:`payload`."""
        provider, event, calendar = (_u(reader, 4, "id") for _ in range(3))
        index, commands = reader.byte("command index"), reader.byte("total commands")
        entries = []
        while reader.remaining:
            entries.append(SeasonEntry(ZclDate.read(reader), reader.byte("week id")))
        return cls(event, calendar, tuple(entries), index, commands, provider)


@dataclass(frozen=True)
class SpecialDayEntry:
    """A special day: date and the day profile used on it."""

    date: ZclDate
    day: int


@dataclass(frozen=True)
class PublishSpecialDays(_Publish):
    """ZSE Publish Special Days. ``total_days`` None is ``len(entries)``."""

    CLUSTER: ClassVar[int] = CALENDAR
    COMMAND: ClassVar[int] = 0x04
    issuer_event_id: int
    issuer_calendar_id: int
    start_time: int
    entries: tuple[SpecialDayEntry, ...]
    total_days: int | None = None
    command_index: int = 0
    total_commands: int = 1
    calendar_type: int = 0
    provider_id: int = 0

    def payload(self) -> bytes:
        """The ZCL payload."""
        total = len(self.entries) if self.total_days is None else self.total_days
        head = le(self.start_time, 4) + bytes(
            [self.calendar_type, total, self.command_index, self.total_commands]
        )
        body = b"".join(e.date.encode() + bytes([e.day]) for e in self.entries)
        return _ids(self.provider_id, self.issuer_event_id, self.issuer_calendar_id) + head + body

    @classmethod
    def read(cls, reader: Reader) -> PublishSpecialDays:
        """Inverse of :meth:`payload`."""
        provider, event, calendar, start = (_u(reader, 4, "id") for _ in range(4))
        kind, total, index, commands = (reader.byte("special days") for _ in range(4))
        entries = []
        while reader.remaining:
            entries.append(SpecialDayEntry(ZclDate.read(reader), reader.byte("day id")))
        total_days = None if total == len(entries) else total
        return cls(
            event, calendar, start, tuple(entries), total_days, index, commands, kind, provider
        )


#: ISO 4217 numeric code of GBP, the currency of every RTDS GCS01a.
GBP = 826


@dataclass(frozen=True)
class PublishTariffInformation(_Publish):
    """ZSE Publish Tariff Information: type (0x00 TOU, 0x10 block in RTDS), tiers and block
    thresholds in use, currency, price trailing digits (high nibble), standing charge, block
    threshold multiplier and divisor."""

    CLUSTER: ClassVar[int] = PRICE
    COMMAND: ClassVar[int] = 0x04
    issuer_event_id: int
    issuer_tariff_id: int
    start_time: int
    tariff_type: int
    price_tiers: int
    block_thresholds: int
    standing_charge: int
    label: bytes = b""
    unit_of_measure: int = 0
    currency: int = GBP
    price_trailing_digit: int = 0x50
    tier_block_mode: int = 0xFF
    block_threshold_multiplier: int = 1
    block_threshold_divisor: int = 1000
    provider_id: int = 0

    def payload(self) -> bytes:
        """The ZCL payload."""
        return (
            _ids(self.provider_id, self.issuer_event_id, self.issuer_tariff_id)
            + le(self.start_time, 4)
            + bytes([self.tariff_type])
            + _zcl_string(self.label)
            + bytes([self.price_tiers, self.block_thresholds, self.unit_of_measure])
            + le(self.currency, 2)
            + bytes([self.price_trailing_digit])
            + le(self.standing_charge, 4)
            + bytes([self.tier_block_mode])
            + le(self.block_threshold_multiplier, 3)
            + le(self.block_threshold_divisor, 3)
        )

    @classmethod
    def read(cls, reader: Reader) -> PublishTariffInformation:
        """Inverse of :meth:`payload`."""
        provider, event, tariff, start = (_u(reader, 4, "id") for _ in range(4))
        kind = reader.byte("tariff type")
        label = _string(reader, "tariff label")
        tiers, thresholds, unit = (reader.byte("tariff information") for _ in range(3))
        currency = _u(reader, 2, "currency")
        digits = reader.byte("price trailing digit")
        standing = _u(reader, 4, "standing charge")
        mode = reader.byte("tier block mode")
        multiplier, divisor = _u(reader, 3, "multiplier"), _u(reader, 3, "divisor")
        return cls(
            event,
            tariff,
            start,
            kind,
            tiers,
            thresholds,
            standing,
            label,
            unit,
            currency,
            digits,
            mode,
            multiplier,
            divisor,
            provider,
        )


@dataclass(frozen=True)
class PriceEntry:
    """A price matrix entry: tier (TOU) or block (block tariff, 0-based) id and its price."""

    id: int
    price: int


#: Sub-payload control of the price matrix: TOU-based (1) or block-based (0) ids.
TOU_BASED = 1
BLOCK_BASED = 0


@dataclass(frozen=True)
class PublishPriceMatrix(_Publish):
    """ZSE Publish Price Matrix: prices in 10^-trailing-digits of the currency."""

    CLUSTER: ClassVar[int] = PRICE
    COMMAND: ClassVar[int] = 0x05
    issuer_event_id: int
    start_time: int
    issuer_tariff_id: int
    sub_payload_control: int
    entries: tuple[PriceEntry, ...]
    command_index: int = 0
    total_commands: int = 1
    provider_id: int = 0

    def payload(self) -> bytes:
        """The ZCL payload."""
        ids = _ids(self.provider_id, self.issuer_event_id, self.start_time)
        head = le(self.issuer_tariff_id, 4) + bytes(
            [self.command_index, self.total_commands, self.sub_payload_control]
        )
        return ids + head + b"".join(bytes([e.id]) + le(e.price, 4) for e in self.entries)

    @classmethod
    def read(cls, reader: Reader) -> PublishPriceMatrix:
        """Inverse of :meth:`payload`."""
        provider, event, start, tariff = (_u(reader, 4, "id") for _ in range(4))
        index, commands, control = (reader.byte("price matrix") for _ in range(3))
        entries = []
        while reader.remaining:
            entries.append(PriceEntry(reader.byte("tier/block id"), _u(reader, 4, "price")))
        return cls(event, start, tariff, control, tuple(entries), index, commands, provider)


@dataclass(frozen=True)
class PublishBlockThresholds(_Publish):
    """ZSE Publish Block Thresholds: each a GasThresholdType, 0 .. 2^48 - 1 (seed 002).

    ``thresholds`` is one tier's list (``tier`` 0: all tiers, sub-payload control 1 in RTDS).
    """

    CLUSTER: ClassVar[int] = PRICE
    COMMAND: ClassVar[int] = 0x06
    issuer_event_id: int
    start_time: int
    issuer_tariff_id: int
    thresholds: tuple[int, ...]
    tier: int = 0
    sub_payload_control: int = 1
    command_index: int = 0
    total_commands: int = 1
    provider_id: int = 0

    def __post_init__(self) -> None:
        for value in self.thresholds:
            if not 0 <= value <= GAS_THRESHOLD_MAX:
                raise GasThresholdError(value)
        if not 0 <= self.tier <= 0x0F or len(self.thresholds) > 0x0F:
            raise ValueError("tier and threshold count must each fit in 4 bits")

    def payload(self) -> bytes:
        """The ZCL payload."""
        ids = _ids(self.provider_id, self.issuer_event_id, self.start_time)
        head = le(self.issuer_tariff_id, 4) + bytes(
            [self.command_index, self.total_commands, self.sub_payload_control]
        )
        count = bytes([self.tier << 4 | len(self.thresholds)])
        return ids + head + count + b"".join(le(v, _THRESHOLD_BYTES) for v in self.thresholds)

    @classmethod
    def read(cls, reader: Reader) -> PublishBlockThresholds:
        """Inverse of :meth:`payload`."""
        provider, event, start, tariff = (_u(reader, 4, "id") for _ in range(4))
        index, commands, control = (reader.byte("block thresholds") for _ in range(3))
        count = reader.byte("tier / number of block thresholds")
        thresholds = tuple(_u(reader, _THRESHOLD_BYTES, "threshold") for _ in range(count & 0x0F))
        return cls(event, start, tariff, thresholds, count >> 4, control, index, commands, provider)


PublishCommand = (
    PublishCalendar
    | PublishDayProfile
    | PublishWeekProfile
    | PublishSeasons
    | PublishSpecialDays
    | PublishTariffInformation
    | PublishPriceMatrix
    | PublishBlockThresholds
)
_COMMANDS: dict[tuple[int, int], type[_Publish]] = {
    (c.CLUSTER, c.COMMAND): c
    for c in (
        PublishCalendar,
        PublishDayProfile,
        PublishWeekProfile,
        PublishSeasons,
        PublishSpecialDays,
        PublishTariffInformation,
        PublishPriceMatrix,
        PublishBlockThresholds,
    )
}


@dataclass(frozen=True)
class UpdateTariffGsme:
    """GCS01a (0x006B): the publish commands, one GBZ component each, in order."""

    MESSAGE_CODE: ClassVar[int] = 0x006B
    commands: tuple[PublishCommand, ...]

    @property
    def block_thresholds(self) -> PublishBlockThresholds | None:
        """The Publish Block Thresholds command, if any."""
        found = (c for c in self.commands if isinstance(c, PublishBlockThresholds))
        return next(found, None)

    def encode(self, invoke_counter: int) -> bytes:
        """The GBZ bytes (no invoke id in GBZ), ZCL sequence numbers 0, 1, …."""
        return Gbz(
            tuple(
                GbzComponent(c.CLUSTER, ZclFrame(_FRAME_CONTROL, i, c.COMMAND, c.payload()))
                for i, c in enumerate(self.commands)
            )
        ).encode()

    @classmethod
    def decode(cls, payload: bytes) -> UpdateTariffGsme:
        """Inverse of :meth:`encode`; DecodeError naming the component otherwise."""
        commands = []
        for i, component in enumerate(decode_gbz(payload).components):
            frame = component.frame
            kind = _COMMANDS.get((component.cluster, frame.command))
            if (
                kind is None
                or component.encrypted
                or component.from_date_time is not None
                or frame.frame_control != _FRAME_CONTROL
                or frame.sequence != i
            ):
                raise DecodeError(0, f"GCS01a component {i}: not a ZSE publish command in order")
            try:
                commands.append(kind.parse(frame.payload))
            except DecodeError as exc:
                raise DecodeError(0, f"GCS01a component {i}: {exc.reason}") from None
        obj = cls(tuple(commands))  # type: ignore[arg-type]
        require_canonical("GCS01a", payload, lambda: obj.encode(0))
        return obj
