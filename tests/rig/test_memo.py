"""Bounded memo tables (rig/util/memo.py)."""

from hypothesis import given
from hypothesis import strategies as st

from rig.util.memo import remember


@given(st.lists(st.integers(0, 50)), st.integers(1, 8))
def test_a_table_never_outgrows_its_limit_and_keeps_the_latest(keys, limit):
    table: dict[int, str] = {}
    for key in keys:
        assert remember(table, key, f"v{key}", limit) == f"v{key}"
        assert len(table) <= limit
        assert table[key] == f"v{key}"
