"""The gas meter (GSME) as a pure state machine: a battery device that sleeps.

The GSME answers only when awake: the Comms Hub's GPF holds its commands until its next wake
window (:meth:`Gsme.next_wake`, used by :mod:`firmware_stubs.comms_hub`); given a frame, the
GSME itself answers at once after its processing time. Payloads are GBZ (reference/gbcs.md §1.7).

Commands answered: CS01b top-up (SRV 2.2), GCS32 valve off / GCS39 arm (SRV 7.2 / 7.3,
critical: signed response; gas supply cannot be enabled remotely, §1.6), GCS33 valve status and
battery life (SRV 7.4), GCS13a consumption (SRV 4.1.1, encrypted component), GCS14 prepayment
registers (SRV 4.3, encrypted prepayment component), GCS60 balance (SRV 4.18) and GCS24 /
GCS24a uncontrolled gas flow (SRV 6.7): GCS24a carries the rate x 10^4 with divisor 10000, the
SMETS2 decimal scaling DUIS 4.0 extends to SMETS1 (seed 002; domain.md §5).

Valve (ZSE Supply Status): ON, ARMED (closed, waiting for the consumer's button), OFF. In
prepayment mode the valve closes when credit and emergency credit run out; credit made
available again arms it. A flow above the configured uncontrolled-flow threshold closes it.
The battery runs down with time and with every wake; below a threshold a low-battery alert
goes out once.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import IntEnum
from functools import cached_property

from firmware_stubs.device import Output
from firmware_stubs.load_profile import LoadProfile
from firmware_stubs.meter import MeterState, PrepaymentAlerts, PrepaymentMeter
from firmware_stubs.object_model import CosemModel, ZclKey, ZclModel
from firmware_stubs.prepayment import PrepaymentSettings
from firmware_stubs.utrn_gate import UtrnSettings
from rig.gbcs import gbz_usecases as gbz_uc
from rig.gbcs import usecases
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import Message
from rig.gbcs.gbz import (
    AttributeRecord,
    DefaultResponse,
    Gbz,
    GbzComponent,
    ZclFrame,
    ZclValue,
)

#: ZCL frame controls of responses: server-to-client; and with default responses disabled.
_FC_RESPONSE = 0x08
_FC_RESPONSE_NO_DEFAULT = 0x18
_READ_ATTRIBUTES_RESPONSE = 0x01
_DEFAULT_RESPONSE = 0x0B
#: ZCL data types used in the answers (as in the RTDS responses).
_BITMAP8, _UINT16, _UINT24, _UINT32, _UINT48, _INT32, _ENUM8 = (
    0x18,
    0x21,
    0x22,
    0x23,
    0x25,
    0x2B,
    0x30,
)
#: ZCL unit of measure 0x01: cubic metres; GBP's ISO 4217 number; 0x50: price trailing digits.
_UNIT_M3, _CURRENCY_GBP, _TRAILING_DIGITS = 1, 826, 0x50
#: Current Summation is in litres: divisor 1000 as in the RTDS GCS13a part.
_SUMMATION_DIVISOR = 1000
#: CS01b failure: result type 1 and -1 values, as in the RTDS CS01b ERROR response.
_TOP_UP_FAILED = gbz_uc.TopUpGsmeResponse(1, -1, 0, -1)


class Valve(IntEnum):
    """ZSE Metering Supply Status (attribute 0x0014; RTDS: 2 is ON)."""

    OFF = 0
    ARMED = 1
    ON = 2


@dataclass(frozen=True)
class GsmeAlerts(PrepaymentAlerts):
    """The prepayment alerts and the gas meter's own: [ASSUMED] placeholder codes."""

    low_battery: int = 0x8F84
    uncontrolled_flow: int = 0x8F85


@dataclass(frozen=True)
class GsmeSettings:
    """Behaviour knobs. Every default is [ASSUMED]: no public source gives these values."""

    max_credit_pence: int = 50_000
    processing_time: float = 0.05
    processing_jitter: float = 0.0
    seed: int = 0
    #: Seconds between wake windows; a real GSME sleeps far longer, a bench wants answers.
    wake_interval: float = 5.0
    #: Uniform random shift of each wake window, seconds (drawn from ``seed``).
    wake_jitter: float = 0.0
    #: How long each wake window stays open, seconds: commands arriving meanwhile are taken.
    wake_window: float = 1.0
    prepayment: bool = False
    tariff: PrepaymentSettings = field(default_factory=PrepaymentSettings)
    #: Gas demand in watts (a 12,000 kWh/year home averages about 1.4 kW).
    load: LoadProfile = field(default_factory=lambda: LoadProfile(mean_w=1_400.0, swing=0.8))
    #: kWh per cubic metre (calorific value 39.5 MJ/m3 x 1.02264 volume correction / 3.6).
    kwh_per_m3: float = 11.2
    battery_days: float = 5_475.0
    #: Battery used by each wake, days.
    battery_days_per_wake: float = 0.001
    low_battery_days: float = 180.0
    alerts: GsmeAlerts = field(default_factory=GsmeAlerts)
    alert_recipient: Eui64 | None = None
    utrn: UtrnSettings = field(default_factory=UtrnSettings)

    def __post_init__(self) -> None:
        if (
            self.wake_interval <= 0
            or self.wake_jitter < 0
            or self.wake_window < 0
            or self.wake_jitter + self.wake_window >= self.wake_interval
        ):
            raise ValueError(
                f"wake_interval {self.wake_interval} must be positive, wake_jitter"
                f" {self.wake_jitter} and wake_window {self.wake_window} not negative, and"
                " wake_jitter + wake_window below wake_interval (windows must not overlap)"
            )


@dataclass(frozen=True)
class FlowConfig:
    """The 6.7 uncontrolled gas flow configuration as the meter stores it."""

    rate: Decimal
    unit_of_measure: int
    stabilisation_period: int
    measurement_period: int
    decimal: bool


@dataclass
class GsmeState(MeterState):
    """What the gas meter remembers."""

    valve: Valve = Valve.ON
    volume_m3: float = 0.0
    battery_used_days: float = 0.0
    low_battery: bool = False
    flow: FlowConfig | None = None
    accounted_to: float | None = None
    wakes: int = 0
    #: Every other ZCL attribute (firmware_stubs.object_model): RTDS values, then writes.
    zcl: ZclModel = field(default_factory=ZclModel.seeded)


class Gsme(PrepaymentMeter):
    """A GSME answering CS01b, GCS13a/14/24/24a/32/33/39/60."""

    default_settings = GsmeSettings
    state_type = GsmeState
    exemplar_device = "gsme"
    settings: GsmeSettings
    state: GsmeState

    def _models(self) -> tuple[CosemModel | None, ZclModel | None]:
        """The ZCL model, its live attributes bound to this meter's state."""
        model = self.state.zcl
        if not model.live:
            model.live.update(self._live_attributes())
        return None, model

    def _live_attributes(self) -> dict[ZclKey, Callable[[], tuple[int, ZclValue]]]:
        """ZCL attributes read from the meter's state, typed as the hand-made reads answer
        them (ZSE Metering and Prepayment clusters)."""
        state = self.state
        ledger = state.ledger
        return {
            (gbz_uc.METERING, 0x0014): lambda: (_ENUM8, int(state.valve)),
            (gbz_uc.METERING, 0x0000): lambda: (
                _UINT48,
                round(state.volume_m3 * _SUMMATION_DIVISOR),
            ),
            (gbz_uc.METERING, 0x0205): lambda: (_UINT16, int(self.battery_days_left)),
            (gbz_uc.PREPAYMENT, 0x0001): lambda: (_INT32, ledger.credit),
            (gbz_uc.PREPAYMENT, 0x0002): lambda: (_INT32, ledger.emergency or 0),
            (gbz_uc.PREPAYMENT, 0x0005): lambda: (_INT32, ledger.debt),
        }

    @cached_property
    def _wake_phase(self) -> float:
        """Where in the wake interval the windows open (drawn from the seed)."""
        return random.Random(self.settings.seed).uniform(0.0, self.settings.wake_interval)

    # -- sleeping ---------------------------------------------------------------------------

    def _wake_time(self, k: int) -> float:
        s = self.settings
        shift = random.Random(s.seed * 1_000_003 + k).uniform(0.0, s.wake_jitter)
        return self._wake_phase + k * s.wake_interval + shift

    def next_wake(self, after: float) -> float:
        """The first moment at or after ``after`` (monotonic seconds) when the GSME is awake:
        ``after`` itself inside a wake window, else the next window's opening.

        Window ``k`` opens at phase + k x interval + a seeded shift below ``wake_jitter`` and
        stays open ``wake_window`` seconds; windows never overlap or overtake each other."""
        s = self.settings
        k = math.floor((after - self._wake_phase - s.wake_jitter) / s.wake_interval) - 1
        while True:
            wake = self._wake_time(k)
            if after < wake:
                return wake
            if after <= wake + s.wake_window:
                return after
            k += 1

    # -- local actions ------------------------------------------------------------------------

    def press_button(self, now: float) -> Output:
        """The consumer's button: open an armed valve if credit allows."""
        alerts = self._advance(now)
        if self.state.valve is Valve.ARMED and self._may_supply():
            self.state.valve = Valve.ON
            self._note("button pressed: valve open")
        return alerts

    def gas_flow(self, rate_m3_per_hour: Decimal, now: float) -> Output:
        """A measured flow: above the 6.7 threshold the valve closes with an alert."""
        alerts = self._advance(now)
        flow = self.state.flow
        if flow is None or self.state.valve is not Valve.ON or rate_m3_per_hour <= flow.rate:
            return alerts
        self.state.valve = Valve.OFF
        why = f"uncontrolled flow {rate_m3_per_hour} > {flow.rate}: valve closed"
        return alerts + self._unsolicited(
            self._alert_payload(self.settings.alerts.uncontrolled_flow, now), why
        )

    # -- use cases ------------------------------------------------------------------------------

    def _dispatch(self, command: Message, body: object, now: float) -> Output:
        if isinstance(body, gbz_uc.TopUpGsme):
            return self._top_up(
                command,
                body.utrn,
                now,
                refused=_TOP_UP_FAILED,
                accepted=lambda pence: gbz_uc.TopUpGsmeResponse(
                    0, pence * 1_000, 0, self.state.ledger.credit
                ),
            )
        if isinstance(body, gbz_uc.ChangeSupplyGsme):
            self.state.valve = (
                Valve.OFF if body.target is gbz_uc.GasSupplyState.OFF else Valve.ARMED
            )
            reply = gbz_uc.SupplyStatusResponse(body.issuer_event_id, int(body.target))
            return [self._respond(command, reply)]
        if isinstance(body, gbz_uc.ReadSupplyStatusGsme):
            records: tuple[AttributeRecord, ...] = (
                AttributeRecord(0x0205, 0, _UINT16, int(self.battery_days_left)),
                AttributeRecord(0x0014, 0, _ENUM8, int(self.state.valve)),
            )
            return [self._gbz_reply(command, (gbz_uc.METERING, records, None))]
        if isinstance(body, gbz_uc.ReadGsmeConsumption):
            litres = round(self.state.volume_m3 * _SUMMATION_DIVISOR)
            records = (
                AttributeRecord(0x0302, 0, _UINT24, _SUMMATION_DIVISOR),
                AttributeRecord(0x0301, 0, _UINT24, 1),
                AttributeRecord(0x0300, 0, _ENUM8, _UNIT_M3),
                AttributeRecord(0x0000, 0, _UINT48, litres),
            )
            return [
                self._gbz_reply(
                    command, (gbz_uc.METERING, records, _FC_RESPONSE_NO_DEFAULT), now=now
                )
            ]
        if isinstance(body, gbz_uc.ReadGsmePrepaymentRegisters):
            ledger = self.state.ledger
            price = (
                AttributeRecord(0x0617, 0, _BITMAP8, _TRAILING_DIGITS),
                AttributeRecord(0x0616, 0, _UINT16, _CURRENCY_GBP),
            )
            prepayment = (
                AttributeRecord(0x0005, 0, _INT32, ledger.debt),
                AttributeRecord(0x0002, 0, _INT32, ledger.emergency or 0),
                AttributeRecord(0x0001, 0, _INT32, ledger.credit),
                AttributeRecord(0x0231, 0, _UINT32, 0),
                AttributeRecord(0x0211, 0, _UINT32, ledger.debt),
                AttributeRecord(0x0221, 0, _UINT32, 0),
            )
            return [
                self._gbz_reply(
                    command,
                    (gbz_uc.PRICE, price, None),
                    (gbz_uc.PREPAYMENT, prepayment, _FC_RESPONSE),  # as RTDS GCS14
                    now=now,
                )
            ]
        if isinstance(body, gbz_uc.ReadGsmeBalance):
            ledger = self.state.ledger
            return [
                self._gbz_reply(
                    command,
                    (gbz_uc.METERING, (AttributeRecord(0x0A00, 0, _UINT32, ledger.spent),), None),
                    (
                        gbz_uc.PREPAYMENT,
                        (AttributeRecord(0x0001, 0, _INT32, ledger.balance),),
                        None,
                    ),
                )
            ]
        if isinstance(body, gbz_uc.SetUncontrolledGasFlow):
            return [self._set_gas_flow(command, body)]
        return self._answer(command, now)

    def _set_gas_flow(
        self, command: Message, body: gbz_uc.SetUncontrolledGasFlow
    ) -> tuple[float, bytes]:
        """GCS24 / GCS24a: store the threshold (already unscaled by the decoder)."""
        self.state.flow = FlowConfig(
            Decimal(body.rate),
            body.unit_of_measure,
            body.stabilisation_period,
            body.measurement_period,
            body.decimal,
        )
        self._note(f"uncontrolled gas flow threshold {body.rate} (decimal {body.decimal})")
        frames = [
            GbzComponent(
                gbz_uc.METERING,
                ZclFrame(_FC_RESPONSE, seq, _DEFAULT_RESPONSE, DefaultResponse(cmd, 0).encode()),
            )
            for seq, cmd in enumerate((0x0E, 0x0D))
        ]
        return self._respond(command, gbz_uc.GbzResponse.of(Gbz(tuple(frames))))

    def _gbz_reply(
        self,
        command: Message,
        *parts: tuple[int, tuple[AttributeRecord, ...], int | None],
        now: float | None = None,
    ) -> tuple[float, bytes]:
        """A Read Attributes Response per (cluster, records, frame control of an encrypted
        part or None for a clear one) part, in order."""
        components = []
        for seq, (cluster, records, encrypted) in enumerate(parts):
            payload = b"".join(r.encode() for r in records)
            if encrypted is not None:
                block = self._encrypt(command, payload)
                frame = ZclFrame(encrypted, seq, _READ_ATTRIBUTES_RESPONSE, block)
            else:
                frame = ZclFrame(_FC_RESPONSE, seq, _READ_ATTRIBUTES_RESPONSE, payload)
            components.append(GbzComponent(cluster, frame, encrypted=encrypted is not None))
        return self._respond(command, gbz_uc.GbzResponse.of(Gbz(tuple(components))), now)

    # -- time, consumption, battery ------------------------------------------------------------

    @property
    def battery_days_left(self) -> float:
        """Battery life remaining, days (GCS33 attribute 0x0205)."""
        return max(0.0, self.settings.battery_days - self.state.battery_used_days)

    def _alert_payload(self, code: int, now: float) -> usecases.Payload:
        return usecases.GbzAlert(code, self._gbz_time(now))

    def _interrupt_supply(self) -> None:
        if self.state.valve is Valve.ON:
            self.state.valve = Valve.OFF

    def _arm_if_credit(self) -> None:
        if self.state.valve is Valve.OFF and self.state.ledger.available > 0:
            self.state.valve = Valve.ARMED

    def _frame_arrived(self) -> Output:
        """A frame means a wake: counted, and it uses battery."""
        self.state.wakes += 1
        self.state.battery_used_days += self.settings.battery_days_per_wake
        return []

    def _advance(self, now: float) -> Output:
        state, s = self.state, self.settings
        since = state.accounted_to
        if since is None or now <= since:
            state.accounted_to = now if since is None else since
            return self._battery_check(now)
        state.accounted_to = now
        state.battery_used_days += (now - since) / 86_400.0
        energy_kwh = 0.0
        if state.valve is Valve.ON:
            demand = s.load.energy_wh(self.wall_time(since), self.wall_time(now)) / 1000
            energy_kwh = self._affordable(demand, now - since)
        state.volume_m3 += energy_kwh / s.kwh_per_m3
        return self._battery_check(now) + self._charge(energy_kwh, now - since, now)

    def _battery_check(self, now: float) -> Output:
        if self.state.low_battery or self.battery_days_left >= self.settings.low_battery_days:
            return []
        self.state.low_battery = True
        why = f"battery low: {self.battery_days_left:.0f} days left"
        return self._unsolicited(self._alert_payload(self.settings.alerts.low_battery, now), why)
