"""Hypothesis strategies for GBCS values (shared by the property tests in this folder)."""

from __future__ import annotations

from hypothesis import strategies as st

from rig.gbcs.dlms import Data, Tag
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import Cra, GeneralSigning

euis = st.binary(min_size=8, max_size=8).map(Eui64)
counters = st.integers(0, (1 << 64) - 1)


@st.composite
def general_signings(draw: st.DrawFn) -> GeneralSigning:
    """Any valid General-Signing APDU, supplementary fields and signature forms included."""
    depth = draw(st.integers(0, 4))
    has_field = draw(st.booleans())
    return GeneralSigning(
        cra=draw(st.sampled_from(Cra)),
        counter=draw(counters),
        originator=draw(euis),
        recipient=draw(euis),
        message_code=draw(st.integers(0, 0xFFFF)),
        payload=draw(st.binary(max_size=300)),
        date_time=draw(st.none() | st.binary(min_size=12, max_size=12)),
        supplementary_remote_party_id=draw(euis) if depth >= 1 else None,
        supplementary_remote_party_counter=draw(counters) if depth >= 2 else None,
        supplementary_originator_counter=draw(counters) if depth >= 3 else None,
        supplementary_remote_party_ka_certificate=(
            draw(st.binary(min_size=1, max_size=200)) if depth >= 4 else None
        ),
        signature=draw(st.none() | st.binary(min_size=64, max_size=64)) if has_field else None,
        has_signature_field=has_field,
    )


_INTS = {
    Tag.BOOLEAN: (0, 1),
    Tag.DOUBLE_LONG: (-(1 << 31), (1 << 31) - 1),
    Tag.DOUBLE_LONG_UNSIGNED: (0, (1 << 32) - 1),
    Tag.BCD: (0, 255),
    Tag.INTEGER: (-128, 127),
    Tag.LONG: (-(1 << 15), (1 << 15) - 1),
    Tag.UNSIGNED: (0, 255),
    Tag.LONG_UNSIGNED: (0, 0xFFFF),
    Tag.LONG64: (-(1 << 63), (1 << 63) - 1),
    Tag.LONG64_UNSIGNED: (0, (1 << 64) - 1),
    Tag.ENUM: (0, 255),
}
_FIXED = {Tag.FLOAT32: 4, Tag.FLOAT64: 8, Tag.DATE_TIME: 12, Tag.DATE: 5, Tag.TIME: 4}

_leaves = st.one_of(
    st.sampled_from([Data(Tag.NULL), Data(Tag.DONT_CARE)]),
    *(st.integers(lo, hi).map(lambda v, t=t: Data(t, v)) for t, (lo, hi) in _INTS.items()),
    *(st.binary(min_size=n, max_size=n).map(lambda v, t=t: Data(t, v)) for t, n in _FIXED.items()),
    *(
        st.binary(max_size=140).map(lambda v, t=t: Data(t, v))
        for t in (Tag.OCTET_STRING, Tag.VISIBLE_STRING, Tag.UTF8_STRING)
    ),
    st.text("01", max_size=40).map(lambda v: Data(Tag.BIT_STRING, v)),
)

data_values = st.recursive(
    _leaves,
    lambda children: st.builds(
        Data, st.sampled_from([Tag.ARRAY, Tag.STRUCTURE]), st.lists(children, max_size=5).map(tuple)
    ),
    max_leaves=20,
)
