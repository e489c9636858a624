"""General Block Transfer: segmenting and reassembly (reference/gbcs.md §1.8)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rig.gbcs.errors import DecodeError
from rig.gbcs.frame import decode
from rig.gbcs.gbt import Reassembler, decode_block, is_gbt, reassemble, segment

#: The ECS45 command of RTDS (§1.2).
ECS45 = bytes.fromhex(
    "DD000000000000471100000000DF090100000000000003E80890B3D51F300100000800DB1234567890A00002"
    "005213D9200003E80001010046000060030AFF0301000052E8965230E91EE41782CE42"
)


def test_two_blocks_carry_the_routing_header() -> None:
    blocks = segment(ECS45, 40)
    assert len(blocks) == 2 and all(is_gbt(b) for b in blocks)
    first, last = (decode_block(b) for b in blocks)
    assert (first.number, first.last, last.number, last.last) == (1, False, 2, True)
    assert first.counter == 1000 and first.message_code == 0x0052
    assert first.encode() == blocks[0]
    assert first.data + last.data == ECS45


@given(st.integers(1, 100), st.randoms(use_true_random=False))
def test_any_block_size_and_order_reassembles(size: int, rnd: object) -> None:
    blocks = segment(ECS45, size)
    shuffled = list(blocks)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert reassemble(shuffled) == ECS45
    assert decode(reassemble(shuffled)).encode() == ECS45


def test_out_of_order_and_missing_are_reported() -> None:
    blocks = segment(ECS45, 20)
    assembler = Reassembler()
    assert assembler.add(blocks[2]) is None
    assert assembler.add(blocks[0]) is None
    assert assembler.missing == [2]
    assert assembler.out_of_order == [1]
    assert assembler.add(blocks[-1]) is None
    assert assembler.missing == [2]
    assert assembler.add(blocks[1]) == ECS45
    with pytest.raises(DecodeError, match=r"missing blocks \[2\]"):
        reassemble([blocks[0], blocks[2], blocks[3]])
    with pytest.raises(DecodeError, match="no last block"):
        reassemble(blocks[:2])


def test_duplicate_foreign_and_late_blocks_are_refused() -> None:
    blocks = segment(ECS45, 40)
    assembler = Reassembler()
    assembler.add(blocks[0])
    with pytest.raises(DecodeError, match="duplicate block 1"):
        assembler.add(blocks[0])
    other = bytearray(blocks[1])
    other[10] ^= 1  # the counter
    with pytest.raises(DecodeError, match="another message"):
        assembler.add(bytes(other))
    assert assembler.add(blocks[1]) == ECS45
    with pytest.raises(DecodeError, match="after last block"):
        assembler.add(segment(ECS45, 20)[2])


@pytest.mark.parametrize(
    ("edits", "message"),
    [
        ({2: 7}, "offset 2: CRA flag 0x07"),
        ({11: 7}, "offset 11: originator system title length"),
        ({29: 1}, "offset 29: routing header date-time length"),
        ({34: 0}, "offset 34: ciphered-content length 0, but"),
        ({35: 1}, "offset 35: routing security header"),
        ({40: 0xE1}, "offset 40: GBT tag"),
        ({42: 0, 43: 0}, "offset 42: block number 0"),
    ],
)
def test_bad_block_names_offset(edits: dict[int, int], message: str) -> None:
    block = bytearray(segment(ECS45, 40)[0])
    for offset, value in edits.items():
        block[offset] = value
    with pytest.raises(DecodeError, match=message):
        decode_block(bytes(block))


def test_block_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="block size"):
        segment(ECS45, 0)
