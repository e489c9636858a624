"""ECS01a Update Import Tariff (SRV 1.1.1) as a typed model of its 21 COSEM SETs (reference/
gbcs.md §1.6-1.7; layout as every RTDS 4.5.0 ECS01a command carries it).

The ACCESS-Request sets, in this order: the passive calendar (activity calendar class 20,
0-0:13.0.0.255: seasons, week profiles, day profiles), the special days table (class 11,
0-1:11.0.0.255), the eight block-threshold rows (register monitors class 21, 0-0:16.1.11..18.255),
a GBCS flag (class 9000, 0-0:94.44.2.0 attribute 4), the standing charge and the price matrix
(charge class 113, 0-0:19.20.4.255 / 0-0:19.20.0.255 attribute 6), then six activation
date-times, all equal (attribute 10 of the calendar, 7 of the charges, 6 of three class-9000
objects). A payload decodes only if the typed object re-encodes to the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

from rig.gbcs.dlms import AccessKind, AccessRequest, AccessSpec, Data, Tag, decode_apdu, invoke_id
from rig.gbcs.errors import DecodeError
from rig.gbcs.wire import require_canonical

_ANY8 = 0xFF
_ANY16 = 0xFFFF
_DEVIATION_UNSPECIFIED = 0x8000


def _wild(value: int | None, size: int) -> bytes:
    wildcard = _ANY16 if size == 2 else _ANY8
    return (wildcard if value is None else value).to_bytes(size, "big")


def _unwild(raw: bytes) -> int | None:
    value = int.from_bytes(raw, "big")
    return None if value == (_ANY16 if len(raw) == 2 else _ANY8) else value


def _show(value: int | None, width: int) -> str:
    return "*" * width if value is None else f"{value:0{width}d}"


@dataclass(frozen=True)
class CosemDate:
    """A 5-byte COSEM date; None is "not specified" (0xFFFF year, 0xFF otherwise)."""

    year: int | None
    month: int | None
    day: int | None
    day_of_week: int | None = None

    def encode(self) -> bytes:
        """year(2) month day day-of-week."""
        return (
            _wild(self.year, 2)
            + _wild(self.month, 1)
            + _wild(self.day, 1)
            + _wild(self.day_of_week, 1)
        )

    def __str__(self) -> str:
        """``YYYY-MM-DD`` with ``*`` for unspecified fields, and the day of week if given."""
        text = f"{_show(self.year, 4)}-{_show(self.month, 2)}-{_show(self.day, 2)}"
        return text if self.day_of_week is None else f"{text} (day of week {self.day_of_week})"

    @classmethod
    def parse(cls, raw: bytes) -> CosemDate:
        """Inverse of :meth:`encode`."""
        if len(raw) != 5:
            raise DecodeError(0, f"COSEM date of {len(raw)} bytes, expected 5")
        return cls(_unwild(raw[:2]), _unwild(raw[2:3]), _unwild(raw[3:4]), _unwild(raw[4:5]))


@dataclass(frozen=True)
class CosemTime:
    """A 4-byte COSEM time; None is "not specified" (0xFF)."""

    hour: int | None
    minute: int | None = 0
    second: int | None = 0
    hundredths: int | None = 0

    def encode(self) -> bytes:
        """hour minute second hundredths."""
        return b"".join(_wild(v, 1) for v in (self.hour, self.minute, self.second, self.hundredths))

    def __str__(self) -> str:
        """``hh:mm:ss.hh`` with ``*`` for unspecified fields."""
        hour, minute, second = (_show(v, 2) for v in (self.hour, self.minute, self.second))
        return f"{hour}:{minute}:{second}.{_show(self.hundredths, 2)}"

    @classmethod
    def parse(cls, raw: bytes) -> CosemTime:
        """Inverse of :meth:`encode`."""
        if len(raw) != 4:
            raise DecodeError(0, f"COSEM time of {len(raw)} bytes, expected 4")
        hour, minute, second, hundredths = (_unwild(raw[i : i + 1]) for i in range(4))
        return cls(hour, minute, second, hundredths)


@dataclass(frozen=True)
class CosemDateTime:
    """A 12-byte COSEM date-time; ``deviation`` None is 0x8000, ``status`` None is 0xFF."""

    date: CosemDate
    time: CosemTime
    deviation: int | None = None
    status: int | None = None

    def encode(self) -> bytes:
        """date, time, deviation (signed 16 bits), clock status."""
        deviation = (
            _DEVIATION_UNSPECIFIED.to_bytes(2, "big")
            if self.deviation is None
            else self.deviation.to_bytes(2, "big", signed=True)
        )
        return self.date.encode() + self.time.encode() + deviation + _wild(self.status, 1)

    def __str__(self) -> str:
        """Date, time, and deviation / clock status when specified."""
        text = f"{self.date} {self.time}"
        if self.deviation is not None:
            text += f" deviation {self.deviation}"
        return text if self.status is None else f"{text} status 0x{self.status:02X}"

    @classmethod
    def parse(cls, raw: bytes) -> CosemDateTime:
        """Inverse of :meth:`encode`."""
        if len(raw) != 12:
            raise DecodeError(0, f"COSEM date-time of {len(raw)} bytes, expected 12")
        deviation = int.from_bytes(raw[9:11], "big", signed=True)
        return cls(
            CosemDate.parse(raw[:5]),
            CosemTime.parse(raw[5:9]),
            None if raw[9:11] == b"\x80\x00" else deviation,
            _unwild(raw[11:12]),
        )

    @classmethod
    def at(cls, moment: datetime) -> CosemDateTime:
        """The UTC moment, day of week and deviation unspecified (RTDS future-dated form)."""
        if moment.tzinfo is None:
            raise ValueError("CosemDateTime.at needs an aware datetime")
        t = moment.astimezone(UTC)
        return cls(
            CosemDate(t.year, t.month, t.day),
            CosemTime(t.hour, t.minute, t.second, t.microsecond // 10_000),
        )


#: Activation "now": every date and time field zero (RTDS IMMEDIATE vectors).
IMMEDIATE = CosemDateTime(CosemDate(0, 0, 0, 0), CosemTime(0, 0, 0, 0))
#: Activation "never": every date and time field unspecified (RTDS CANCELLATION vectors).
CANCELLED = CosemDateTime(CosemDate(None, None, None, None), CosemTime(None, None, None, None))


@dataclass(frozen=True)
class Season:
    """One season of the passive calendar: name, start and the week profile it uses."""

    name: bytes
    start: CosemDateTime
    week: int

    def to_data(self) -> Data:
        """structure {season_profile_name, season_start, week_name}."""
        return Data.structure(
            Data.octet_string(self.name),
            Data.octet_string(self.start.encode()),
            Data.octet_string(bytes([self.week])),
        )


@dataclass(frozen=True)
class WeekProfile:
    """A week profile: its one-byte name and the day profile of Monday .. Sunday."""

    week: int
    days: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.days) != 7:
            raise ValueError(f"a week profile names 7 days, not {len(self.days)}")

    def to_data(self) -> Data:
        """structure {week_profile_name, monday .. sunday}."""
        days = (Data(Tag.UNSIGNED, d) for d in self.days)
        return Data.structure(Data.octet_string(bytes([self.week])), *days)


#: Script table run by a day-profile action: the tariffication script table 0-0:10.0.100.255.
_TARIFF_SCRIPTS = bytes.fromhex("00000A0064FF")
#: Script selectors: a TOU rate n is script n, a block rate n is 100 + n (RTDS, DUIS actions).
BLOCK_SCRIPT_BASE = 100


@dataclass(frozen=True)
class DayAction:
    """A switch in a day profile: from ``start`` run tariff script ``script``."""

    start: CosemTime
    script: int

    @classmethod
    def tou(cls, start: CosemTime, rate: int) -> DayAction:
        """Switch to TOU rate ``rate`` (DUIS TOUTariffAction)."""
        return cls(start, rate)

    @classmethod
    def block(cls, start: CosemTime, rate: int) -> DayAction:
        """Switch to block rate ``rate`` (DUIS BlockTariffAction)."""
        return cls(start, BLOCK_SCRIPT_BASE + rate)

    def to_data(self) -> Data:
        """structure {start_time, script_logical_name, script_selector}."""
        return Data.structure(
            Data.octet_string(self.start.encode()),
            Data.octet_string(_TARIFF_SCRIPTS),
            Data.long_unsigned(self.script),
        )


@dataclass(frozen=True)
class DayProfile:
    """A day profile: its id and the actions of the day."""

    day: int
    actions: tuple[DayAction, ...]

    def to_data(self) -> Data:
        """structure {day_id, array of actions}."""
        actions = Data(Tag.ARRAY, tuple(a.to_data() for a in self.actions))
        return Data.structure(Data(Tag.UNSIGNED, self.day), actions)


@dataclass(frozen=True)
class SpecialDay:
    """An entry of the special days table: index, date and the day profile used that day."""

    index: int
    date: CosemDate
    day: int

    def to_data(self) -> Data:
        """structure {index, specialday_date, day_id}."""
        return Data.structure(
            Data.long_unsigned(self.index),
            Data.octet_string(self.date.encode()),
            Data(Tag.UNSIGNED, self.day),
        )


#: Price matrix slots (RTDS ECS01a, 80 entries): 48 TOU prices at index 0x01..0x30, then the
#: price of block b (0..3) in tier t (1..8) at index 0xA0 + 0x10 * b + t (0xA1 .. 0xD8).
TOU_PRICES = 48
BLOCKS = 4
TIERS = 8
THRESHOLD_ROWS = 8
_PRICE_INDEXES = tuple(range(1, TOU_PRICES + 1)) + tuple(
    0xA0 + 0x10 * block + tier for block in range(BLOCKS) for tier in range(1, TIERS + 1)
)
_CALENDAR = (20, bytes.fromhex("00000D0000FF"))
_SPECIAL_DAYS = (11, bytes.fromhex("00010B0000FF"))
_MONITORS = tuple((21, bytes([0, 0, 16, 1, 11 + row, 0xFF])) for row in range(THRESHOLD_ROWS))
_FLAG = (9000, bytes.fromhex("00005E2C0200"))
_STANDING_CHARGE = (113, bytes.fromhex("0000131404FF"))
_PRICES = (113, bytes.fromhex("0000131400FF"))
_ACTIVATION_OBJECTS = (
    (*_CALENDAR, 10),
    (9000, bytes.fromhex("00005E2C801D"), 6),
    (*_FLAG, 6),
    (*_STANDING_CHARGE, 7),
    (*_PRICES, 7),
    (9000, bytes.fromhex("00003F0101FF"), 6),
)


def _set(class_id: int, obis: bytes, attribute: int) -> AccessSpec:
    return AccessSpec(AccessKind.SET, class_id, obis, attribute)


#: The 21 SETs of ECS01a, in RTDS order.
SPECS: tuple[AccessSpec, ...] = (
    _set(*_CALENDAR, 7),
    _set(*_CALENDAR, 8),
    _set(*_CALENDAR, 9),
    _set(*_SPECIAL_DAYS, 2),
    *(_set(*monitor, 2) for monitor in _MONITORS),
    _set(*_FLAG, 4),
    _set(*_STANDING_CHARGE, 6),
    _set(*_PRICES, 6),
    *(_set(*obj) for obj in _ACTIVATION_OBJECTS),
)
#: Charge commodity of the price matrix: active energy import register 1-0:1.8.0.255 (class 3,
#: attribute 2), commodity scale 3; the standing charge has none (RTDS ECS01a).
_PRICE_COMMODITY = Data.structure(
    Data.long_unsigned(3), Data.octet_string(bytes.fromhex("0100010800FF")), Data(Tag.INTEGER, 2)
)
_NO_COMMODITY = Data.structure(
    Data.long_unsigned(0), Data.octet_string(bytes(6)), Data(Tag.INTEGER, 0)
)
_PRICE_COMMODITY_SCALE = 3
_INT16 = range(-(1 << 15), 1 << 15)
_UINT32 = range(1 << 32)


def _charge(commodity_scale: int, price_scale: int, commodity: Data, table: list[Data]) -> Data:
    scaling = Data.structure(Data(Tag.INTEGER, commodity_scale), Data(Tag.INTEGER, price_scale))
    return Data.structure(scaling, commodity, Data(Tag.ARRAY, tuple(table)))


def _price_entry(index: bytes, price: int) -> Data:
    return Data.structure(Data.octet_string(index), Data(Tag.LONG, price))


@dataclass(frozen=True)
class UpdateTariffEsme:
    """ECS01a (0x0019): the electricity import tariff.

    ``thresholds`` holds the eight block-threshold rows (DUIS ThresholdMatrix, double-long-
    unsigned each); ``tou_prices`` the 48 TOU prices and ``block_prices`` the 4 blocks x 8 tiers
    (DUIS BlockPrices index = tier, BlockPrice index = block), all in units of 10^price_scale
    of the currency; ``standing_charge`` in 10^standing_charge_scale. ``flag`` is the boolean
    of class 9000 0-0:94.44.2.0 attribute 4, TRUE in every RTDS vector (its GBCS name is not in
    the reference). ``activation`` applies to every passive object (:data:`IMMEDIATE`,
    :data:`CANCELLED` or a moment).
    """

    MESSAGE_CODE: ClassVar[int] = 0x0019
    seasons: tuple[Season, ...]
    weeks: tuple[WeekProfile, ...]
    days: tuple[DayProfile, ...]
    special_days: tuple[SpecialDay, ...]
    thresholds: tuple[tuple[int, ...], ...]
    standing_charge: int
    standing_charge_scale: int
    price_scale: int
    tou_prices: tuple[int, ...]
    block_prices: tuple[tuple[int, ...], ...]
    activation: CosemDateTime = IMMEDIATE
    flag: bool = True

    def __post_init__(self) -> None:
        if len(self.thresholds) != THRESHOLD_ROWS:
            raise ValueError(f"ECS01a has {THRESHOLD_ROWS} threshold rows")
        if any(v not in _UINT32 for row in self.thresholds for v in row):
            raise ValueError("ECS01a block thresholds are double-long-unsigned (0..2^32 - 1)")
        if len(self.tou_prices) != TOU_PRICES or len(self.block_prices) != BLOCKS:
            raise ValueError(f"ECS01a has {TOU_PRICES} TOU prices and {BLOCKS} blocks of prices")
        if any(len(block) != TIERS for block in self.block_prices):
            raise ValueError(f"each ECS01a block has {TIERS} tier prices")
        prices = (*self.tou_prices, *(p for block in self.block_prices for p in block))
        if any(p not in _INT16 for p in (*prices, self.standing_charge)):
            raise ValueError("ECS01a prices and standing charge are long (-32768..32767)")

    def data(self) -> tuple[Data, ...]:
        """The 21 data items, one per :data:`SPECS` entry."""
        array = Tag.ARRAY
        rows = (
            Data(array, tuple(Data(Tag.DOUBLE_LONG_UNSIGNED, v) for v in row))
            for row in self.thresholds
        )
        standing = _charge(
            0, self.standing_charge_scale, _NO_COMMODITY, [_price_entry(b"", self.standing_charge)]
        )
        flat = (*self.tou_prices, *(p for block in self.block_prices for p in block))
        prices = _charge(
            _PRICE_COMMODITY_SCALE,
            self.price_scale,
            _PRICE_COMMODITY,
            [_price_entry(bytes([i]), p) for i, p in zip(_PRICE_INDEXES, flat, strict=True)],
        )
        activation = Data.octet_string(self.activation.encode())
        return (
            Data(array, tuple(s.to_data() for s in self.seasons)),
            Data(array, tuple(w.to_data() for w in self.weeks)),
            Data(array, tuple(d.to_data() for d in self.days)),
            Data(array, tuple(s.to_data() for s in self.special_days)),
            *rows,
            Data(Tag.BOOLEAN, 0xFF if self.flag else 0),
            standing,
            prices,
            *(activation,) * len(_ACTIVATION_OBJECTS),
        )

    def encode(self, invoke_counter: int) -> bytes:
        """ACCESS-Request of the 21 SETs."""
        return AccessRequest(invoke_id(invoke_counter), SPECS, self.data()).encode()

    @classmethod
    def decode(cls, payload: bytes) -> UpdateTariffEsme:
        """Inverse of :meth:`encode`; DecodeError if the payload is not that shape."""
        apdu = decode_apdu(payload)
        if not isinstance(apdu, AccessRequest) or apdu.specs != SPECS or apdu.date_time:
            raise DecodeError(0, "ECS01a: expected the ACCESS-Request of the 21 tariff SETs")
        try:
            obj = _from_data(apdu.data)
        except (TypeError, ValueError, IndexError, AttributeError) as exc:
            raise DecodeError(0, f"ECS01a: malformed tariff data ({exc})") from None
        require_canonical("ECS01a", payload, lambda: obj.encode(apdu.invoke_id))
        return obj


def _items(data: Data, tag: Tag, what: str) -> tuple[Data, ...]:
    if data.tag is not tag or not isinstance(data.value, tuple):
        raise ValueError(f"{what}: expected {tag.name.lower()}")
    return data.value


def _octets(data: Data, what: str) -> bytes:
    if data.tag is not Tag.OCTET_STRING or not isinstance(data.value, bytes):
        raise ValueError(f"{what}: expected octet-string")
    return data.value


def _int(data: Data, what: str) -> int:
    if not isinstance(data.value, int):
        raise ValueError(f"{what}: expected an integer")
    return data.value


def _from_data(data: tuple[Data, ...]) -> UpdateTariffEsme:
    """The typed tariff of the 21 data items (shape errors as ValueError / TypeError)."""
    if len(data) != len(SPECS):
        raise ValueError(f"{len(data)} data items for {len(SPECS)} SETs")
    seasons = tuple(
        Season(
            _octets(name, "season name"),
            CosemDateTime.parse(_octets(start, "season start")),
            _octets(week, "week name")[0],
        )
        for name, start, week in (
            _items(s, Tag.STRUCTURE, "season") for s in _items(data[0], Tag.ARRAY, "seasons")
        )
    )
    weeks = tuple(
        WeekProfile(_octets(w[0], "week name")[0], tuple(_int(d, "day id") for d in w[1:]))
        for w in (_items(w, Tag.STRUCTURE, "week") for w in _items(data[1], Tag.ARRAY, "weeks"))
    )
    days = tuple(
        DayProfile(
            _int(d[0], "day id"),
            tuple(
                DayAction(CosemTime.parse(_octets(a[0], "start time")), _int(a[2], "script"))
                for a in (
                    _items(a, Tag.STRUCTURE, "day action")
                    for a in _items(d[1], Tag.ARRAY, "day schedule")
                )
            ),
        )
        for d in (_items(d, Tag.STRUCTURE, "day") for d in _items(data[2], Tag.ARRAY, "days"))
    )
    special = tuple(
        SpecialDay(_int(i, "index"), CosemDate.parse(_octets(d, "date")), _int(day, "day id"))
        for i, d, day in (
            _items(s, Tag.STRUCTURE, "special day")
            for s in _items(data[3], Tag.ARRAY, "special days")
        )
    )
    thresholds = tuple(
        tuple(_int(v, "threshold") for v in _items(row, Tag.ARRAY, "thresholds"))
        for row in data[4 : 4 + THRESHOLD_ROWS]
    )
    flag, standing, prices = data[4 + THRESHOLD_ROWS : 7 + THRESHOLD_ROWS]
    s_scaling, _, s_table = _items(standing, Tag.STRUCTURE, "standing charge")
    p_scaling, _, p_table = _items(prices, Tag.STRUCTURE, "price matrix")
    (standing_entry,) = _items(s_table, Tag.ARRAY, "standing charge table")
    flat = [
        _int(_items(e, Tag.STRUCTURE, "price")[1], "price")
        for e in _items(p_table, Tag.ARRAY, "price table")
    ]
    if len(flat) != len(_PRICE_INDEXES):
        raise ValueError(f"{len(flat)} prices, expected {len(_PRICE_INDEXES)}")
    block_flat = flat[TOU_PRICES:]
    return UpdateTariffEsme(
        seasons,
        weeks,
        days,
        special,
        thresholds,
        _int(_items(standing_entry, Tag.STRUCTURE, "standing charge")[1], "standing charge"),
        _int(_items(s_scaling, Tag.STRUCTURE, "scaling")[1], "standing charge scale"),
        _int(_items(p_scaling, Tag.STRUCTURE, "scaling")[1], "price scale"),
        tuple(flat[:TOU_PRICES]),
        tuple(tuple(block_flat[b * TIERS : (b + 1) * TIERS]) for b in range(BLOCKS)),
        CosemDateTime.parse(_octets(data[-1], "activation time")),
        bool(_int(flag, "flag")),
    )
