"""The PPMID keypad and the proportional load controllers (SAPC, and the ESME's APC)."""

from __future__ import annotations

import pytest
from firmware_parties import ESME, PPMID, SAPC, SUPPLIER, Supplier
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from firmware_stubs.esme import Esme, EsmeSettings
from firmware_stubs.load_control import ProportionalController
from firmware_stubs.meter import ALERT_CREDIT_ADDED_LOCALLY
from firmware_stubs.ppmid import Ppmid, PpmidSettings
from firmware_stubs.sapc import Sapc
from rig.keys.keystore import KeyStore


def esme(keys: KeyStore) -> Esme:
    return Esme.from_keys(ESME, keys, EsmeSettings(alert_recipient=SUPPLIER))


def test_a_utrn_typed_on_the_ppmid_credits_the_meter(pki: KeyStore, supplier: Supplier) -> None:
    meter = esme(pki)
    ppmid = Ppmid(PPMID, [meter], PpmidSettings(han_latency=0.02))
    utrn = supplier.utrn(ESME, 300, 1 << 32)
    [(delay, frame)] = ppmid.type_utrn(utrn, 10.0)
    assert delay >= 0.02
    assert supplier.open(frame)[1].alert_code == ALERT_CREDIT_ADDED_LOCALLY  # type: ignore[attr-defined]
    assert meter.state.credit_pence == 300
    assert ppmid.type_utrn(utrn, 11.0) != []  # the same UTRN again: a duplicate alert
    assert meter.state.credit_pence == 300


class Keypad(RuleBasedStateMachine):
    """The entry is always the digits typed since the last clear, enter or timeout, at most
    20 of them; enter sends only a complete UTRN."""

    keys: KeyStore

    def __init__(self) -> None:
        super().__init__()
        self.meter = esme(self.keys)
        self.ppmid = Ppmid(PPMID, [self.meter], PpmidSettings(entry_timeout=30.0))
        self.model = ""
        self.now = 0.0

    def _press(self, key: str, wait: float) -> list[tuple[float, bytes]]:
        self.now += wait
        if wait > 30.0:
            self.model = ""
        return self.ppmid.press(key, self.now)

    @rule(digit=st.sampled_from("0123456789"), wait=st.sampled_from([0.5, 5.0, 40.0]))
    def digit(self, digit: str, wait: float) -> None:
        assert self._press(digit, wait) == []
        self.model = (self.model + digit)[:20] if len(self.model) < 20 else self.model

    @rule(wait=st.sampled_from([0.5, 40.0]))
    def clear(self, wait: float) -> None:
        self._press("C", wait)
        self.model = ""

    @rule(wait=st.sampled_from([0.5, 40.0]))
    def backspace(self, wait: float) -> None:
        self._press("B", wait)
        self.model = self.model[:-1]

    @precondition(lambda self: len(self.model) != 20)
    @rule()
    def enter_incomplete(self) -> None:
        assert self._press("E", 0.5) == []
        assert "digits" in self.ppmid.display[-1]

    @precondition(lambda self: len(self.model) == 20)
    @rule()
    def enter_complete(self) -> None:
        self._press("E", 0.5)  # almost surely not a valid UTRN: a rejection alert, or none
        self.model = ""
        assert self.ppmid.display[-1] == "UTRN sent"

    @invariant()
    def entry_matches(self) -> None:
        assert self.ppmid.entry == self.model


def test_keypad_state_machine(pki: KeyStore) -> None:
    Keypad.keys = pki
    run = Keypad.TestCase
    run.settings = settings(max_examples=30, stateful_step_count=40, deadline=None)
    run().runTest()


def test_unknown_keys_are_refused(pki: KeyStore) -> None:
    with pytest.raises(ValueError, match="PPMID key"):
        Ppmid(PPMID, [esme(pki)]).press("*", 0.0)


@settings(max_examples=60, deadline=None)
@given(
    levels=st.integers(1, 8),
    seed=st.integers(0, 100),
    plan=st.lists(
        st.tuples(st.floats(0, 1e4), st.integers(0, 8), st.none() | st.floats(1, 1e3)),
        max_size=6,
    ),
    probe=st.floats(0, 2e4),
)
def test_a_controller_is_always_at_an_allowed_level(
    levels: int, seed: int, plan: list[tuple[float, int, float | None]], probe: float
) -> None:
    controller = ProportionalController(levels=levels, max_offset=60.0, seed=seed)
    twin = ProportionalController(levels=levels, max_offset=60.0, seed=seed)
    for at, step, duration in plan:
        level = controller.allowed[step % len(controller.allowed)]
        change = controller.schedule(level, at, duration)
        assert at <= change.start <= at + 60.0
        assert twin.schedule(level, at, duration) == change  # seeded: reproducible
    assert controller.level(probe) in controller.allowed


def test_a_sapc_steps_through_levels_and_returns_to_default() -> None:
    sapc = Sapc(SAPC, ProportionalController(levels=4, max_offset=0.0), rated_w=8_000)
    sapc.schedule(25, at=100.0, duration=50.0)
    assert sapc.load_w(99.0) == 8_000
    assert sapc.level(120.0) == 25 and sapc.load_w(120.0) == 2_000
    assert sapc.level(151.0) == 100
    with pytest.raises(ValueError, match="not one of"):
        sapc.schedule(30, at=0.0)
    assert sapc.handle(b"frame", 0.0) == []
