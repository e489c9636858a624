"""The payload codec's memos (issue 6) give exactly what a fresh encode or decode gives."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rig.gbcs import usecases
from rig.gbcs.dlms import AccessKind, AccessRequest, AccessResponse, AccessResult, Data, invoke_id
from rig.gbcs.dlms_usecases import MeterBalanceResponse, ReadMeterBalanceEsme
from rig.gbcs.frame import Cra
from rig.gbcs.usecases import (
    ChangeSupplyEsme,
    ChangeSupplyEsmeResponse,
    Payload,
    ReadSupplyStatusEsme,
    ReadSupplyStatusEsmeResponse,
    SupplyState,
    TopUpEsme,
    TopUpEsmeResponse,
    decode_payload,
    encode_payload,
)

counters = st.integers(0, (1 << 64) - 1)
results = st.integers(0, 255)
states = st.sampled_from([*SupplyState, None, 7])
#: (message code, CRA, object) of DLMS use cases, with the varieties their fields take.
samples = st.one_of(
    st.just((0x0052, Cra.COMMAND, ReadSupplyStatusEsme())),
    st.builds(
        lambda s, r: (0x0052, Cra.RESPONSE, ReadSupplyStatusEsmeResponse(s, r)), states, results
    ),
    st.builds(lambda r: (0x0007, Cra.RESPONSE, TopUpEsmeResponse(r)), results),
    st.builds(lambda u: (0x0007, Cra.COMMAND, TopUpEsme(u)), st.text("0123456789", min_size=20)),
    st.builds(
        lambda s: (ChangeSupplyEsme(s).message_code, Cra.COMMAND, ChangeSupplyEsme(s)),
        st.sampled_from(SupplyState),
    ),
    st.builds(lambda r: (0x0050, Cra.RESPONSE, ChangeSupplyEsmeResponse(r)), results),
    st.just((0x0069, Cra.COMMAND, ReadMeterBalanceEsme())),
    st.builds(
        lambda b: (0x0069, Cra.RESPONSE, MeterBalanceResponse(b)),
        st.one_of(st.none(), st.integers(-(1 << 31), (1 << 31) - 1)),
    ),
)


def _outcome(decode: object, payload: bytes) -> tuple[str, object]:
    try:
        return "ok", decode(payload)  # type: ignore[operator]
    except Exception as exc:
        return type(exc).__name__, str(exc)


@given(samples, counters, counters, st.data())
def test_memoised_decode_is_the_fresh_decode(
    sample: tuple[int, Cra, Payload], first: int, second: int, data: st.DataObject
) -> None:
    """A payload decoded after another of the same use case, the invoke-id different and
    perhaps a byte damaged anywhere, decodes as the decoder alone decodes it."""
    code, cra, obj = sample
    decoder = usecases._DECODERS[(code, cra)]
    assert decode_payload(code, encode_payload(obj, first), cra) == obj
    payload = bytearray(encode_payload(obj, second))
    if data.draw(st.booleans()):
        at = data.draw(st.integers(0, len(payload) - 1))
        payload[at] = data.draw(st.integers(0, 255))
    fresh = _outcome(decoder, bytes(payload))
    assert _outcome(lambda p: decode_payload(code, p, cra), bytes(payload)) == fresh
    assert _outcome(lambda p: decode_payload(code, p, int(cra)), bytes(payload)) == fresh


@given(samples, counters)
def test_encode_templates_are_the_fresh_encoding(
    sample: tuple[int, Cra, Payload], counter: int
) -> None:
    """The APDU encoded once per class or per value, with the invoke-id spliced in, is what
    building the APDU for this counter gives."""
    _, _, obj = sample
    payload = encode_payload(obj, counter)
    assert encode_payload(obj, counter) == payload
    if isinstance(obj, ReadSupplyStatusEsme | ReadMeterBalanceEsme):
        fresh = AccessRequest(invoke_id(counter), (obj.SPEC,), (Data.null(),)).encode()
        assert payload == fresh
    if isinstance(obj, ReadSupplyStatusEsmeResponse):
        state = obj.control_state
        data = Data.null() if state is None else Data.enum(int(state))
        result = (AccessResult(AccessKind.GET, obj.result),)
        assert payload == AccessResponse(invoke_id(counter), (data,), result).encode()


def test_values_equal_to_ints_are_not_memoised() -> None:
    """A bool compares equal to an int; it is encoded afresh, not taken from the memo."""
    encode_payload(ReadSupplyStatusEsmeResponse(1, 1), 5)
    assert encode_payload(ReadSupplyStatusEsmeResponse(1, True), 5) == encode_payload(
        ReadSupplyStatusEsmeResponse(1, 1), 5
    )
    assert all(type(key[3]) is int for key in usecases._RESPONSES)


def test_decode_memo_is_bounded() -> None:
    for balance in range(usecases.DECODE_MEMO_SIZE + 10):
        payload = encode_payload(MeterBalanceResponse(balance), 1)
        assert decode_payload(0x0069, payload, Cra.RESPONSE) == MeterBalanceResponse(balance)
        assert len(usecases._DECODED) <= usecases.DECODE_MEMO_SIZE
