"""What every misuse family shares: the `Misuse` record, the regimes and tolerances, shapes and
input pieces, and the float64 pieces of the gap laws."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ml_dtypes
import numpy as np
from hypothesis import strategies as st

from tfparity.compare import Tolerance
from tfparity.dtypes import np_dtype
from tfparity.inputs import Case, one_hot_along
from tfparity.records import Inputs
from tfparity.shapes import sides

DIVERGING, COINCIDING = "diverging", "coinciding"
MISUSE_DTYPES = ("float32", "float64")
# Coinciding means within 1000 eps of TF's dtype, relative to 1 + |TF's value|: loose enough for
# any formula's rounding. Diverging inputs are built so the misuse is off by at least DIVERGES_BY
# of 1 + |TF| (about 80 times the float32 match tolerance), or in nan / inf places.
MATCH = Tolerance(1000, 1000, "a misuse coincides when within 1000 ULP or 1000 eps * (1 + |TF|)")
DIVERGES_BY = 1e-2
CONFIDENT = 40.0  # |logit| at which sigmoid and softmax losses of a right answer are ~exp(-40)


@dataclass(frozen=True)
class Misuse:
    """A formula standing in for a TF op: the misuse (impl.misuses), the correct call (TF), and
    the inputs where they part and where they meet."""

    name: str
    source: str
    what: str
    correct: str
    build: Callable[[Case], Inputs]
    misused: Callable[[Inputs], np.ndarray]
    reference: Callable[[Inputs], np.ndarray]
    shapes: Callable[[str], st.SearchStrategy[tuple[int, ...]]]
    gap: Callable[[Inputs], np.ndarray] | None = None  # misused - correct, from the mathematics
    dtypes: tuple[str, ...] = MISUSE_DTYPES  # the input dtypes it is fuzzed in
    family: str = "tf.nn"  # the family of the correct call (`tfparity run --families`)


# --- shapes and input pieces ------------------------------------------------------------------

def side(low: int, high: int) -> st.SearchStrategy[int]:
    """A side from `low` to `high`, pooled (`shapes.sides`) so a compiling mode builds few programs."""
    return st.sampled_from(sides(low, high))


def _batch_by_classes(regime: str) -> st.SearchStrategy[tuple[int, ...]]:
    """(N, C), the same in both regimes: the builder makes the inputs diverge or coincide."""
    return st.tuples(side(1, 6), side(2, 8))


def _batch_of(coinciding_batch: int | None = None, coinciding_classes: int | None = None):
    """(N, C) shapes; in the coinciding regime N or C is pinned."""
    def shapes(regime: str) -> st.SearchStrategy[tuple[int, ...]]:
        if regime == DIVERGING:
            return st.tuples(side(2, 6), side(2, 8))
        return st.tuples(st.just(coinciding_batch) if coinciding_batch else side(1, 6),
                         st.just(coinciding_classes) if coinciding_classes else side(2, 8))
    return shapes


def _seed_axis_shapes(regime: str) -> st.SearchStrategy[tuple[int, ...]]:
    """Diverging: the first axis longer than 1 is not the last. Coinciding: it is."""
    if regime == DIVERGING:
        return st.tuples(side(2, 5), side(2, 5)).flatmap(
            lambda s: st.lists(side(1, 4), max_size=3).map(lambda mid: (s[0], *mid, s[1])))
    return st.tuples(st.integers(0, 3), side(2, 8)).map(lambda s: (1,) * s[0] + (s[1],))


def _logits(case: Case, scale: float = 3.0) -> np.ndarray:
    return case.rng().normal(0.0, scale, case.shape)


def _one_hot(case: Case) -> np.ndarray:
    return one_hot_along(case.rng(1), case.shape, len(case.shape) - 1)


def _confident(labels: np.ndarray) -> np.ndarray:
    """Logits that are right and sure: +40 on each positive, -40 elsewhere."""
    return np.where(labels > 0, CONFIDENT, -CONFIDENT)


def _cast(case: Case, **arrays: np.ndarray) -> Inputs:
    return {k: np.asarray(v).astype(np_dtype(case.dtype)) for k, v in arrays.items()}


def _max_exponent(case: Case) -> float:
    return float(np.log(float(ml_dtypes.finfo(np_dtype(case.dtype)).max)))


def _min_exponent(case: Case) -> float:
    return float(np.log(float(ml_dtypes.finfo(np_dtype(case.dtype)).smallest_subnormal)))


# --- exact pieces, in float64 ----------------------------------------------------------------------

def _lse(x: np.ndarray) -> np.ndarray:
    return np.logaddexp.reduce(x, axis=-1)


def _softmax_ce(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return (p * (_lse(q)[..., None] - q)).sum(-1)

