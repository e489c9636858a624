"""The contactor model, sans I/O."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.benchio.contactor import ContactorModel, contactor_closed


def test_contact_follows_the_command_after_the_actuation_delay() -> None:
    model = ContactorModel(actuation_delay_s=0.5)
    assert model.sensed(0.0) and model.commanded
    assert model.command(False, 1.0) == 1.5
    assert model.command(False, 1.2) is None  # already going there
    assert not model.commanded
    assert model.sensed(1.49) and not model.sensed(1.5)
    assert model.command(True, 2.0) == 2.5
    assert [model.sensed(t) for t in (1.0, 1.5, 2.4, 2.5)] == [True, False, False, True]


def test_commands_out_of_time_order_are_refused() -> None:
    model = ContactorModel(actuation_delay_s=0.5)
    model.command(False, 2.0)
    with pytest.raises(ValueError):
        model.command(True, 1.0)


def test_pulses_count_only_while_closed() -> None:
    model = ContactorModel(actuation_delay_s=0.0, pulses_per_second=10.0)
    model.command(False, 1.0)
    model.command(True, 3.0)
    assert model.pulses(1.0) == 10
    assert model.pulses(3.0) == 10
    assert model.pulses(4.0) == 20
    assert model.pulses(4.0, since=2.0) == 10
    assert model.pulses(0.5, since=2.0) == 0


@pytest.mark.parametrize(
    ("supply", "closed"),
    [("connected", True), ("CONNECTED", True), ("disconnected", False), ("armed", False)],
)
def test_supply_state_to_contact(supply: str, closed: bool) -> None:
    assert contactor_closed(supply) is closed


def test_bad_settings() -> None:
    with pytest.raises(ValueError):
        ContactorModel(actuation_delay_s=-1)
    with pytest.raises(ValueError):
        ContactorModel(pulses_per_second=-1)


@given(st.lists(st.tuples(st.floats(0, 100), st.booleans()), max_size=20))
def test_sensed_is_the_last_command_older_than_the_delay(
    commands: list[tuple[float, bool]],
) -> None:
    model = ContactorModel(actuation_delay_s=0.25)
    effective = []
    for now, closed in sorted(commands, key=lambda c: c[0]):
        if model.command(closed, now) is not None:
            effective.append((now + 0.25, closed))
    for probe in [0.0, *(at for at, _ in effective), 200.0]:
        expected = [closed for at, closed in effective if at <= probe]
        assert model.sensed(probe) == (expected[-1] if expected else True)
