"""APS fragmentation and reassembly (ZigBee specification 05-3474 §2.2.8.4.5): a message longer
than one frame's ASDU goes in blocks; the first block's extended header carries the block count,
the others their block number (at most 255 blocks). Pure; used by the stack (window size 1, each
block acknowledged)."""

from __future__ import annotations

from dataclasses import dataclass, field

from rig.zigbee.codec import FRAGMENT_FIRST, FRAGMENT_MORE, FRAGMENT_NONE, FrameError

MAX_BLOCKS = 255


def fragments(asdu: bytes, max_asdu: int, max_block: int) -> list[tuple[int, int, bytes]]:
    """(fragmentation, block field, bytes) for each frame carrying ``asdu``: one unfragmented
    frame when it fits ``max_asdu``, else blocks of ``max_block`` bytes."""
    if len(asdu) <= max_asdu:
        return [(FRAGMENT_NONE, 0, asdu)]
    chunks = [asdu[i : i + max_block] for i in range(0, len(asdu), max_block)]
    if len(chunks) > MAX_BLOCKS:
        raise ValueError(f"{len(asdu)} bytes need {len(chunks)} APS blocks, over {MAX_BLOCKS}")
    return [(FRAGMENT_FIRST, len(chunks), chunks[0])] + [
        (FRAGMENT_MORE, i, chunk) for i, chunk in enumerate(chunks[1:], 1)
    ]


@dataclass
class Reassembly:
    """Blocks of one sender, one message in progress at a time (a first block with another APS
    counter abandons an unfinished message: ``abandoned`` counts them)."""

    _counter: int | None = None
    _total: int = 0
    _blocks: dict[int, bytes] = field(default_factory=dict)
    abandoned: int = 0

    def feed(self, counter: int, fragmentation: int, block: int, payload: bytes) -> bytes | None:
        """Take one frame's ASDU; the whole message when this completes it; FrameError for a
        block that belongs to no message in progress."""
        if fragmentation == FRAGMENT_NONE:
            self._reset()
            return payload
        if fragmentation == FRAGMENT_FIRST:
            if self._counter is not None:
                self.abandoned += 1
            if block < 2:
                raise FrameError(f"first fragment of {block} blocks")
            self._counter, self._total = counter, block
            self._blocks = {0: payload}
        elif counter != self._counter or not 0 < block < self._total:
            raise FrameError(f"stray fragment {block} (APS counter {counter})")
        else:
            self._blocks[block] = payload
        if len(self._blocks) < self._total:
            return None
        whole = b"".join(self._blocks[i] for i in range(self._total))
        self._reset()
        return whole

    def _reset(self) -> None:
        self._counter, self._total, self._blocks = None, 0, {}
