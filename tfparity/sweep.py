"""The deterministic sweep: every rank, axis, label kind and value regime of an op, once per dtype."""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Iterator

from tfparity.inputs import Case
from tfparity.records import OpRecord

# Sides per rank keep every case at a few hundred elements at most.
MAX_SIDE = {1: 16, 2: 12, 3: 6, 4: 4, 5: 3, 6: 3}


def axes(record: OpRecord, rank: int) -> tuple[int | None, ...]:
    """None (the op's default axis), then every valid axis, negative ones too."""
    return (None, *range(-rank, rank)) if record.has_axis else (None,)


def stable_seed(*parts: object) -> int:
    return zlib.crc32(repr(parts).encode())


def sweep(record: OpRecord, dtype: str) -> Iterator[Case]:
    for rank in range(record.min_rank, record.max_rank + 1):
        for axis, labels, regime, broadcast in itertools.product(
            axes(record, rank), record.label_kinds, record.regimes,
            (False, True) if record.broadcast_labels else (False,),
        ):
            seed = stable_seed(record.name, dtype, rank, axis, labels, regime, broadcast)
            sides = [1 + (seed >> (4 * i)) % MAX_SIDE[rank] for i in range(rank)]
            yield Case(record.name, dtype, tuple(sides), axis, labels, regime, seed, broadcast)
