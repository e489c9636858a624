from hypothesis import given
from hypothesis import strategies as st

from rig.duis.counter import OriginatorCounter


@given(st.lists(st.booleans(), max_size=200), st.integers(1, 2**40))
def test_counters_strictly_increase_and_utrn_counters_have_zero_low_bits(utrns, start):
    counter = OriginatorCounter(start)
    previous = start - 1
    for utrn in utrns:
        value = counter.next_for_utrn() if utrn else counter.next()
        assert value > previous
        if utrn:
            assert value % 2**32 == 0
        previous = value


def test_first_counter_is_the_start():
    assert OriginatorCounter(2**32).next_for_utrn() == 2**32
    assert OriginatorCounter(5).next() == 5
