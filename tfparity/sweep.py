"""The deterministic sweep: every rank, axis, label kind and value regime of an op, once per dtype;
and the covering part of it that the derandomized profiles check."""

from __future__ import annotations

import itertools
import math
import zlib
from collections.abc import Iterator

from tfparity.dtypes import DTYPES
from tfparity.inputs import Case
from tfparity.records import OpRecord
from tfparity.shapes import coverage, pool


def axes(record: OpRecord, rank: int) -> tuple[int | None, ...]:
    """None (the op's default axis), then every valid axis, negative ones too."""
    return (None, *range(-rank, rank)) if record.has_axis else (None,)


def stable_seed(*parts: object) -> int:
    return zlib.crc32(repr(parts).encode())


def _per_slot(rank: int, layers: tuple[int, ...]) -> int:
    """How many consecutive sweep cases of a rank share a shape (a slot), its cases running axis by
    axis, then label kind, then regime (`layers`, the count of each): a slot is an axis; a label
    kind too where the axes of every dtype are fewer than the pool's shapes, and a regime where
    both are. A compiling mode builds one program for the regimes (and label kinds) of a slot."""
    used, size = 0, 1
    while used < len(layers) and size * len(DTYPES) < len(pool(rank)):
        size, used = size * layers[used], used + 1
    return math.prod(layers[used:])


def sweep(record: OpRecord, dtype: str) -> Iterator[Case]:
    """The sweep's cases; shapes from the pool, the slots of a rank taking its shapes in turn,
    each dtype going on where the one before it stopped."""
    labelled = list(itertools.product(record.label_kinds, (False, True) if record.broadcast_labels else (False,)))
    for rank in range(record.min_rank, record.max_rank + 1):
        shapes, layers = pool(rank), (len(axes(record, rank)), len(labelled), len(record.regimes))
        per_slot = _per_slot(rank, layers)
        start = DTYPES.index(dtype) * math.prod(layers) // per_slot
        for i, (axis, (labels, broadcast), regime) in enumerate(
                itertools.product(axes(record, rank), labelled, record.regimes)):
            seed = stable_seed(record.name, dtype, rank, axis, labels, regime, broadcast)
            shape = shapes[(start + i // per_slot) % len(shapes)]
            yield Case(record.name, dtype, shape, axis, labels, regime, seed, broadcast)


def covering(record: OpRecord) -> frozenset[tuple]:
    """The slots (dtype, shape, axis: the cases of one shape, which a compiling mode builds one
    program for, or one per label shape) whose cases a derandomized profile sweeps: chosen
    greedily, each meeting the most classes no earlier one met (ties: the dtype chosen least, then
    sweep order), until every class of the whole sweep is met. Each keeps all of its cases: every
    label kind and regime. The classes (`classes`) pair rank, dtype, axis and
    label kind, and hold the shape pool's side classes at every dimension and class axis."""
    if record.name not in _COVERINGS:
        _COVERINGS[record.name] = _covering(record)
    return _COVERINGS[record.name]


_COVERINGS: dict[str, frozenset[tuple]] = {}  # by record name (a candidate's record is the op's)


def slot(case: Case) -> tuple:
    """A swept case's slot: its dtype, shape and axis."""
    return case.dtype, case.shape, case.axis


def _covering(record: OpRecord) -> frozenset[tuple]:
    meets: dict[tuple, set] = {}
    for dtype in DTYPES:
        for case in sweep(record, dtype):
            meets.setdefault(slot(case), set()).update(classes(record, case))
    order = {key: i for i, key in enumerate(meets)}
    unmet = set().union(*meets.values())
    chosen: list[tuple] = []
    while unmet:
        per_dtype = {dtype: sum(key[0] == dtype for key in chosen) for dtype in DTYPES}
        best = max(meets, key=lambda key: (len(meets[key] & unmet), -per_dtype[key[0]], -order[key]))
        chosen.append(best)
        unmet -= meets.pop(best)
    return frozenset(chosen)


def classes(record: OpRecord, case: Case) -> set[tuple]:
    """The classes a case meets: (rank, dtype), (rank, axis), (dtype, label kind), (rank, label
    kind), and the pool's (rank, dimension or row, side class)."""
    rank, labels = len(case.shape), (case.labels, case.broadcast)
    return {("dtype", rank, case.dtype), ("axis", rank, case.axis), ("labels", case.dtype, labels),
            ("labels", rank, labels)} | coverage([(case.shape, record.class_axis(case))])
