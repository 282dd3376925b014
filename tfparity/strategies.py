"""Hypothesis strategies over case specs: shrinking moves to low rank, the pool's first shape,
the default axis, the first label kind, the ordinary regime and seed 0."""

from __future__ import annotations

from hypothesis import strategies as st

from tfparity.dtypes import DTYPES
from tfparity.inputs import Case
from tfparity.records import OpRecord
from tfparity.shapes import pool
from tfparity.sweep import axes


@st.composite
def cases(draw: st.DrawFn, record: OpRecord, dtype: str | None = None) -> Case:
    dtype = dtype or draw(st.sampled_from(DTYPES))
    rank = draw(st.integers(record.min_rank, record.max_rank))
    return Case(
        op=record.name,
        dtype=dtype,
        shape=draw(st.sampled_from(pool(rank))),
        axis=draw(st.sampled_from(axes(record, rank))),
        labels=draw(st.sampled_from(record.label_kinds)),
        regime=draw(st.sampled_from(record.regimes)),
        seed=draw(st.integers(0, 2**32 - 1)),
        broadcast=record.broadcast_labels and draw(st.booleans()),
    )
