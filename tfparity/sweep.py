"""The deterministic sweep: every rank, axis, label kind and value regime of an op, once per dtype."""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Iterator

from tfparity.dtypes import DTYPES
from tfparity.inputs import Case
from tfparity.records import OpRecord
from tfparity.shapes import pool


def axes(record: OpRecord, rank: int) -> tuple[int | None, ...]:
    """None (the op's default axis), then every valid axis, negative ones too."""
    return (None, *range(-rank, rank)) if record.has_axis else (None,)


def stable_seed(*parts: object) -> int:
    return zlib.crc32(repr(parts).encode())


def _slots(record: OpRecord, rank: int) -> list[tuple[int, ...]]:
    """The sweep's shape slots of a rank: its axes; with its label kinds too where the axes of
    every dtype are fewer than the pool's shapes, and its regimes where both are. A slot's cases
    share a shape, so a compiling mode builds one program for the regimes (and label kinds) in it."""
    layers = [len(axes(record, rank)), len(record.label_kinds) * (2 if record.broadcast_labels else 1),
              len(record.regimes)]
    used, size = 0, 1
    while used < len(layers) and size * len(DTYPES) < len(pool(rank)):
        size, used = size * layers[used], used + 1
    return list(itertools.product(*(range(n) for n in layers[:used])))


def sweep(record: OpRecord, dtype: str) -> Iterator[Case]:
    """The sweep's cases; shapes from the pool, the slots of a rank taking its shapes in turn,
    each dtype going on where the one before it stopped."""
    broadcasts = (False, True) if record.broadcast_labels else (False,)
    for rank in range(record.min_rank, record.max_rank + 1):
        shapes, slots = pool(rank), _slots(record, rank)
        for (a, axis), (l, (labels, broadcast)), (r, regime) in itertools.product(
            enumerate(axes(record, rank)), enumerate(itertools.product(record.label_kinds, broadcasts)),
            enumerate(record.regimes),
        ):
            slot = slots.index((a, l, r)[:len(slots[0])])
            seed = stable_seed(record.name, dtype, rank, axis, labels, regime, broadcast)
            turn = slot + DTYPES.index(dtype) * len(slots)
            yield Case(record.name, dtype, shapes[turn % len(shapes)], axis, labels, regime, seed, broadcast)
