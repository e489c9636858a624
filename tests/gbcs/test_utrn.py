"""UTRN generation and device-side checks with bench keys (reference/gbcs.md §2)."""

from __future__ import annotations

import pytest
from gbcs_testdata import ESME, SUPPLIER
from hypothesis import given, settings
from hypothesis import strategies as st

from rig.gbcs.errors import VerifyError
from rig.gbcs.eui import Eui64
from rig.gbcs.utrn import (
    MAX_VALUE,
    UtrnError,
    UtrnRejection,
    ValueClass,
    check_digit,
    make_utrn,
    parse_utrn,
    pence,
    verify_utrn,
)
from rig.keys.keystore import KeyStore


def issue(keys: KeyStore, counter: int, value: int, value_class: ValueClass) -> str:
    pp = keys.ka_private(SUPPLIER, prepayment=True)
    return make_utrn(pp, keys.ka_public(ESME), SUPPLIER, ESME, counter, value, value_class)


def check(keys: KeyStore, digits: str, counter: int, target: Eui64 = ESME) -> int:
    pp_public = keys.ka_public(SUPPLIER, prepayment=True)
    utrn = verify_utrn(digits, pp_public, keys.ka_private(ESME), SUPPLIER, target, counter)
    return pence(utrn)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, (1 << 32) - 1), st.integers(0, MAX_VALUE), st.sampled_from(ValueClass))
def test_issue_then_verify(bench_keys: KeyStore, high: int, value: int, cls: ValueClass) -> None:
    counter = high << 32
    digits = issue(bench_keys, counter, value, cls)
    assert len(digits) == 20 and digits.startswith("7")
    assert check(bench_keys, digits, counter) == (
        value * 100 if cls is ValueClass.POUNDS else value
    )


def test_wrong_counter_or_device_is_not_for_this_device(bench_keys: KeyStore) -> None:
    digits = issue(bench_keys, 0x300000000, 10, ValueClass.POUNDS)
    for counter, target in ((0x400000000, ESME), (0x300000000 + (1 << 42), ESME),
                            (0x300000000, Eui64.parse("00DB1234567890A1"))):  # fmt: skip
        with pytest.raises(UtrnError) as caught:
            check(bench_keys, digits, counter, target)
        assert caught.value.rejection is UtrnRejection.NOT_FOR_DEVICE


@given(st.integers(0, 18), st.integers(1, 9))
def test_any_single_digit_change_fails_the_check_digit(position: int, delta: int) -> None:
    digits = "73946144332040217315"
    changed = digits[:position] + str((int(digits[position]) + delta) % 10) + digits[position + 1 :]
    with pytest.raises(UtrnError, match="check digit"):
        parse_utrn(changed)


def test_adjacent_transpositions_fail_the_check_digit() -> None:
    digits = "73946144332040217315"
    for i in range(19):
        swapped = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]
        if swapped != digits:
            with pytest.raises(UtrnError):
                parse_utrn(swapped)


@pytest.mark.parametrize(
    "bad", ["", "7394614433204021731", "7394614433204021731x", "\u0667" * 20, 5]
)
def test_malformed_utrn_is_value_error_and_verify_error(bad: object) -> None:
    with pytest.raises(ValueError, match="not 20 digits"):
        parse_utrn(bad)  # type: ignore[arg-type]
    with pytest.raises(VerifyError):
        parse_utrn(bad)  # type: ignore[arg-type]


def test_reserved_bits_and_value_class_rejected() -> None:
    for hi32 in (1 << 25, 3 << 13):
        pptd = str((hi32 << 32) + 7394156990786306048)
        with pytest.raises(UtrnError):
            parse_utrn(pptd + check_digit(pptd))


@pytest.mark.parametrize(
    ("counter", "value"), [(0x300000001, 10), (1 << 64, 10), (0x300000000, MAX_VALUE + 1), (0, -1)]
)
def test_make_utrn_rejects_bad_inputs(bench_keys: KeyStore, counter: int, value: int) -> None:
    with pytest.raises(ValueError):
        issue(bench_keys, counter, value, ValueClass.PENNIES)
