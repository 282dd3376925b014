"""Hypothesis strategies over case specs: shrinking moves to low rank, small sides, the default
axis, the first label kind, the ordinary regime and seed 0."""

from __future__ import annotations

from hypothesis import strategies as st

from tfparity.dtypes import DTYPES
from tfparity.inputs import Case
from tfparity.records import OpRecord
from tfparity.sweep import MAX_SIDE, axes


@st.composite
def cases(draw: st.DrawFn, record: OpRecord, dtype: str | None = None) -> Case:
    dtype = dtype or draw(st.sampled_from(DTYPES))
    rank = draw(st.integers(record.min_rank, record.max_rank))
    side = st.integers(1, MAX_SIDE.get(rank, 16))
    shape = tuple(draw(st.lists(side, min_size=rank, max_size=rank)))
    return Case(
        op=record.name,
        dtype=dtype,
        shape=shape,
        axis=draw(st.sampled_from(axes(record, rank))),
        labels=draw(st.sampled_from(record.label_kinds)),
        regime=draw(st.sampled_from(record.regimes)),
        seed=draw(st.integers(0, 2**32 - 1)),
        broadcast=record.broadcast_labels and draw(st.booleans()),
    )
