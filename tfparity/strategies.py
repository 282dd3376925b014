"""Hypothesis strategies over case specs: shrinking moves to low rank, the pool's first shape (or
the first of the given slots), the default axis, the first label kind, the ordinary regime and
seed 0."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

from tfparity.dtypes import DTYPES
from tfparity.inputs import Case
from tfparity.records import OpRecord
from tfparity.shapes import pool
from tfparity.sweep import axes


@st.composite
def cases(draw: st.DrawFn, record: OpRecord, dtype: str | None = None,
          slots: Sequence[tuple] | None = None) -> Case:
    """A case of `record`; with `slots` ((dtype, shape, axis), as `sweep.slot` gives them, of
    `dtype`), its shape and axis are one of theirs, a rank drawn first."""
    dtype = dtype or draw(st.sampled_from(DTYPES))
    if slots is None:
        rank = draw(st.integers(record.min_rank, record.max_rank))
        shape, axis = draw(st.sampled_from(pool(rank))), draw(st.sampled_from(axes(record, rank)))
    else:
        rank = draw(st.sampled_from(sorted({len(shape) for _, shape, _ in slots})))
        _, shape, axis = draw(st.sampled_from([s for s in slots if len(s[1]) == rank]))
    return Case(
        op=record.name,
        dtype=dtype,
        shape=shape,
        axis=axis,
        labels=draw(st.sampled_from(record.label_kinds)),
        regime=draw(st.sampled_from(record.regimes)),
        seed=draw(st.integers(0, 2**32 - 1)),
        broadcast=record.broadcast_labels and draw(st.booleans()),
    )
