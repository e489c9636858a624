"""Frame counters (rig/zigbee/counters.py): per-sender freshness, drops counted with the reason,
the outgoing counter never repeated across runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rig.util.kept_counters import RESERVE, CounterStateError, CounterStore
from rig.zigbee.codec import NWK_DATA, NwkFrame, nwk_encode
from rig.zigbee.counters import (
    MAX_COUNTER,
    CounterExhausted,
    Drop,
    FrameCounters,
    KeptFrameCounter,
    OutgoingCounter,
)
from rig.zigbee.seam import Refusal
from rig.zigbee.secured import SecuredNwk


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 20)), max_size=60))
def test_only_counters_above_the_last_accepted_pass_and_every_drop_is_counted(
    frames: list[tuple[int, int]],
) -> None:
    state, accepted = FrameCounters(), {}
    for source, counter in frames:
        verdict = state.verdict(source, counter)
        fresh = counter > accepted.get(source, -1)
        assert (verdict is None) == fresh
        if fresh:
            state, accepted[source] = state.accept(source, counter), counter
        else:
            assert verdict == (Drop.REPLAY if counter == accepted[source] else Drop.STALE)
            state = state.drop(source, verdict)
    assert state.last == accepted
    assert state.dropped() == len(frames) - sum(
        1
        for i, (s, c) in enumerate(frames)
        if c > max([-1] + [c2 for s2, c2 in frames[:i] if s2 == s])
    )


def test_states_are_values() -> None:
    before = FrameCounters()
    after = before.accept(1, 5).drop(1, Drop.MIC)
    assert before.last == {} and before.dropped() == 0
    assert after.dropped(Drop.MIC, 1) == 1 and after.dropped(Drop.MIC, 2) == 0
    with pytest.raises(TypeError):
        after.last[1] = 0  # type: ignore[index]


def test_the_outgoing_counter_stops_at_its_last_value() -> None:
    counter, after = OutgoingCounter(7).take()
    assert (counter, after) == (7, OutgoingCounter(8))
    with pytest.raises(CounterExhausted, match="0xffffffff"):
        OutgoingCounter(MAX_COUNTER).take()


def test_the_outgoing_counter_resumes_above_every_counter_sent(tmp_path: Path) -> None:
    path = tmp_path / "han.counters.json"
    first = KeptFrameCounter(path, "00-0D-6F-FF-FE-21-AE-85")
    state = first.resume()
    assert state == OutgoingCounter(1)
    for _ in range(3):
        counter, state = state.take()
        first.sent(counter)
    # killed now: the next run starts above the block claimed ahead, never below a counter sent
    assert (
        KeptFrameCounter(path, "00-0D-6F-FF-FE-21-AE-85").resume().next == 1 + RESERVE + 1
    )  # first claim
    first.close()
    assert KeptFrameCounter(path, "00-0D-6F-FF-FE-21-AE-85").resume().next == 4
    assert KeptFrameCounter(path, "00-0D-6F-FF-FE-21-AE-85", "aps").resume().next == 1
    assert json.loads(path.read_text())["counters"] == {"00-0D-6F-FF-FE-21-AE-85": {"nwk": 3}}


def test_a_file_that_cannot_be_kept_is_named(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "han.counters.json"
    with pytest.raises(CounterStateError, match="cannot keep counters there"):
        KeptFrameCounter(path, "node").resume()


def test_a_store_in_memory_keeps_the_counters_across_boots_as_the_file_does() -> None:
    """An emulated meter's counters (devices/han/emulated.py): a node booted on the same store
    after a power cycle sends above every counter sent and refuses a frame replayed from before."""
    key, meter, hub = bytes(range(16)), bytes.fromhex("00DB123456789101"), bytes(8)
    frame = nwk_encode(NwkFrame(NWK_DATA, 0, 0x1234, 1, b"data", src_ext=meter))
    meter_store: CounterStore = {}
    hub_store: CounterStore = {}
    sender = SecuredNwk(meter, network_key=key, kept=meter_store)
    receiver = SecuredNwk(hub, network_key=key, kept=hub_store)
    sent = [sender.secure(frame, source=meter) for _ in range(3)]
    assert isinstance(receiver.open(sent[0], allow_unsecured=False), bytes)
    sender.close()
    receiver.close()
    assert SecuredNwk(meter, network_key=key, kept=meter_store).outgoing == OutgoingCounter(4)
    rebooted = SecuredNwk(hub, network_key=key, kept=hub_store)
    refused = rebooted.open(sent[0], allow_unsecured=False)
    assert isinstance(refused, Refusal) and refused.reason.startswith("replay")
    assert isinstance(rebooted.open(sent[1], allow_unsecured=False), bytes)


def test_the_outgoing_counter_claims_past_its_claim_and_close_keeps_the_last_sent(
    tmp_path: Path,
) -> None:
    """``sent`` writes only past the claim; ``close`` keeps exactly the last counter sent, and a
    frame sent after ``close`` claims a block again (a claim lost at close is never relied on)."""
    path = tmp_path / "han.counters.json"
    kept = KeptFrameCounter(path, "node")
    state = kept.resume()
    for _ in range(RESERVE + 5):  # past the first claim: a second one
        counter, state = state.take()
        kept.sent(counter)
    claims = json.loads(path.read_text())["claims"]
    # claimed at 1 (up to 1 + RESERVE), then at the first counter past that
    assert [names["node"]["nwk"] for names in claims.values()] == [RESERVE + 2 + RESERVE]
    kept.close()
    assert json.loads(path.read_text()) == {
        "version": 2,
        "counters": {"node": {"nwk": RESERVE + 5}},
        "claims": {},
    }
    counter, state = state.take()
    kept.sent(counter)
    assert KeptFrameCounter(path, "node").resume().next == counter + RESERVE + 1
