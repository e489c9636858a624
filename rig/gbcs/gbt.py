"""General Block Transfer: segmenting a GBCS frame into blocks and reassembling it
(reference/gbcs.md §1.8).

Each block travels behind a Message Routing Header (a general-ciphering header whose
transaction id, system titles and message code are those of the carried frame):

``DD 09 <CRA> <counter 8> 08 <orig> 08 <recip> 00 02 <code 2> 00 <len> <SC> <IC 4>``
then ``E0 <block-control> <block-number 2> <block-number-ack 2> <len> <block data>``.

Block control: bit 7 last block, bit 6 streaming, bits 0-5 window. Blocks are numbered from 1.
The routing header's security control 0x00 is what tshark accepts (§1.8; not checked against
GBCS text).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rig.gbcs.errors import DecodeError
from rig.gbcs.eui import Eui64
from rig.gbcs.frame import GENERAL_BLOCK_TRANSFER, GENERAL_CIPHERING, Cra, decode
from rig.gbcs.wire import Reader, encode_length

ROUTING_SECURITY_HEADER = bytes(5)
LAST_BLOCK = 0x80
STREAMING = 0x40
WINDOW_MASK = 0x3F
DEFAULT_BLOCK_SIZE = 256
_MAX_BLOCKS = 0xFFFF


@dataclass(frozen=True)
class GbtBlock:
    """One GBT block with its routing header."""

    cra: Cra
    counter: int
    originator: Eui64
    recipient: Eui64
    message_code: int
    number: int
    last: bool
    data: bytes
    streaming: bool = False
    window: int = 1
    ack: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "cra", Cra(self.cra))
        if not 1 <= self.number <= _MAX_BLOCKS:
            raise ValueError(f"block number {self.number} outside 1..{_MAX_BLOCKS}")
        if not 0 <= self.window <= WINDOW_MASK or not 0 <= self.ack <= _MAX_BLOCKS:
            raise ValueError("window or block-number-ack out of range")

    @property
    def transaction(self) -> tuple[Cra, int, Eui64, Eui64, int]:
        """What identifies the message the block belongs to."""
        return (self.cra, self.counter, self.originator, self.recipient, self.message_code)

    def encode(self) -> bytes:
        """Routing header and GBT APDU."""
        control = (LAST_BLOCK if self.last else 0) | (STREAMING if self.streaming else 0)
        gbt = (
            bytes([GENERAL_BLOCK_TRANSFER, control | self.window])
            + self.number.to_bytes(2, "big")
            + self.ack.to_bytes(2, "big")
            + encode_length(len(self.data))
            + self.data
        )
        content = ROUTING_SECURITY_HEADER + gbt
        return (
            bytes([GENERAL_CIPHERING, 9, self.cra])
            + self.counter.to_bytes(8, "big")
            + b"\x08"
            + self.originator.raw
            + b"\x08"
            + self.recipient.raw
            + b"\x00\x02"
            + self.message_code.to_bytes(2, "big")
            + b"\x00"
            + encode_length(len(content))
            + content
        )


def is_gbt(data: bytes) -> bool:
    """Whether ``data`` starts like a GBT block (``DD 09``), not a MAC Header (``DD 00``)."""
    return data[:2] == bytes([GENERAL_CIPHERING, 9])


def decode_block(data: bytes) -> GbtBlock:
    """Parse one routed GBT block; DecodeError naming the offset otherwise."""
    reader = Reader(bytes(data))
    reader.expect(GENERAL_CIPHERING, "routing header tag")
    reader.expect(9, "routing header transaction-id length")
    at = reader.offset
    cra = reader.byte("CRA flag")
    if cra not in Cra._value2member_map_:
        raise DecodeError(at, f"CRA flag 0x{cra:02X}, expected 01, 02 or 03")
    counter = reader.uint(8, "originator counter")
    titles = []
    for what in ("originator system title", "recipient system title"):
        reader.expect(8, f"{what} length")
        titles.append(Eui64(reader.take(8, what)))
    reader.expect(0, "routing header date-time length")
    reader.expect(2, "routing header other-information length")
    code = reader.uint(2, "message code")
    reader.expect(0, "routing header key-info")
    at = reader.offset
    length = reader.length("ciphered-content length")
    if length != reader.remaining:
        raise DecodeError(at, f"ciphered-content length {length}, but {reader.remaining} follow")
    at = reader.offset
    if reader.take(len(ROUTING_SECURITY_HEADER), "routing security header") != bytes(5):
        raise DecodeError(at, "routing security header is not 00 00000000")
    reader.expect(GENERAL_BLOCK_TRANSFER, "GBT tag")
    control = reader.byte("block control")
    at = reader.offset
    number = reader.uint(2, "block number")
    if number == 0:
        raise DecodeError(at, "block number 0 (blocks count from 1)")
    ack = reader.uint(2, "block number ack")
    block = reader.take(reader.length("block data length"), "block data")
    reader.expect_end("the block data")
    return GbtBlock(
        Cra(cra),
        counter,
        titles[0],
        titles[1],
        code,
        number,
        bool(control & LAST_BLOCK),
        block,
        bool(control & STREAMING),
        control & WINDOW_MASK,
        ack,
    )


def segment(frame: bytes, block_size: int = DEFAULT_BLOCK_SIZE) -> list[bytes]:
    """Split a complete GBCS frame into routed GBT blocks of at most ``block_size`` data bytes."""
    if block_size < 1:
        raise ValueError(f"block size {block_size}, must be positive")
    s = decode(frame).signing
    chunks = [frame[i : i + block_size] for i in range(0, len(frame), block_size)]
    if len(chunks) > _MAX_BLOCKS:
        raise ValueError(f"{len(chunks)} blocks, more than {_MAX_BLOCKS}")
    return [
        GbtBlock(
            s.cra,
            s.counter,
            s.originator,
            s.recipient,
            s.message_code,
            n,
            n == len(chunks),
            chunk,
        ).encode()
        for n, chunk in enumerate(chunks, 1)
    ]


@dataclass
class Reassembler:
    """Collects the blocks of one message in any order and reports gaps and disorder.

    :meth:`add` returns the complete frame once the last block and every block before it have
    arrived; a block of another message, a duplicate or a block beyond the last raises
    :class:`DecodeError` (offset 0 of that block).
    """

    blocks: dict[int, bytes] = field(default_factory=dict)
    transaction: tuple[Cra, int, Eui64, Eui64, int] | None = None
    last_number: int | None = None
    #: Block numbers that arrived after a higher-numbered block.
    out_of_order: list[int] = field(default_factory=list)

    @property
    def missing(self) -> list[int]:
        """Numbers not yet received below the last block (or the highest block seen)."""
        top = self.last_number or max(self.blocks, default=0)
        return [n for n in range(1, top + 1) if n not in self.blocks]

    def add(self, block: GbtBlock | bytes) -> bytes | None:
        """Take one block; the reassembled frame when complete, else None."""
        if not isinstance(block, GbtBlock):
            block = decode_block(block)
        if self.transaction is None:
            self.transaction = block.transaction
        elif block.transaction != self.transaction:
            raise DecodeError(0, f"block {block.number} belongs to another message")
        if block.number in self.blocks:
            raise DecodeError(0, f"duplicate block {block.number}")
        if self.last_number is not None and (block.last or block.number > self.last_number):
            raise DecodeError(0, f"block {block.number} after last block {self.last_number}")
        if block.last:
            if any(n > block.number for n in self.blocks):
                raise DecodeError(0, f"last block {block.number} below a block already received")
            self.last_number = block.number
        if self.blocks and block.number < max(self.blocks):
            self.out_of_order.append(block.number)
        self.blocks[block.number] = block.data
        if self.last_number is None or self.missing:
            return None
        return b"".join(self.blocks[n] for n in range(1, self.last_number + 1))


def reassemble(blocks: list[bytes]) -> bytes:
    """The frame carried by ``blocks`` (any order); DecodeError naming missing blocks."""
    assembler = Reassembler()
    frame = None
    for block in blocks:
        frame = assembler.add(block)
    if frame is None:
        detail = "no last block" if assembler.last_number is None else "missing blocks"
        raise DecodeError(0, f"incomplete GBT message: {detail} {assembler.missing}")
    return frame
