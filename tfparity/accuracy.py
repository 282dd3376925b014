"""The accuracy verdict: where the candidate and TF differ, which of them is right.

Parity asks whether the candidate is within a tolerance of TF. Accuracy asks, at the elements
where the two differ (every mismatch, up to MAX_EVALUATED, or else the element where they differ
most), how far each is from the exact answer (`tfparity.exact`), in ULPs of the dtype:

- the candidate is *accurate* when it is no further from exact than TF, plus the tolerance's
  `floor` in ULPs, plus ABS_SHARE of its absolute budget (`atol * scale`): where the op's terms
  cancel, a careful implementation in a wider type is accurate to that budget's scale, not to ULPs
  of the small result;
- a parity mismatch is *TF's error* when at every mismatching element the candidate is closer to
  exact than TF and within the tolerance's ULP budget of it: reported, with the evidence, not failed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import ml_dtypes
import numpy as np
from mpmath import mpf

from tfparity import exact
from tfparity.compare import Comparison, Tolerance
from tfparity.exact import Index

MAX_EVALUATED = 16
ABS_SHARE = 1 / 8
CANDIDATE, TF, SAME = "candidate", "tf", "same"


@dataclass(frozen=True)
class Accuracy:
    """Both sides against the exact answer at the evaluated element where the candidate fares worst."""

    index: tuple[int, ...]
    exact: float
    candidate_ulp: float
    tf_ulp: float
    evaluated: int
    accurate: bool
    tf_wrong: bool

    @property
    def closer(self) -> str:
        if self.candidate_ulp == self.tf_ulp:
            return SAME
        return CANDIDATE if self.candidate_ulp < self.tf_ulp else TF

    def describe(self) -> str:
        return (f"exact at {self.index} = {self.exact!r}: candidate {self.candidate_ulp:.3g} ULP, "
                f"TF {self.tf_ulp:.3g} ULP ({self.evaluated} elements evaluated)")


ExactAt = Callable[[Index], mpf | None]


def exact_at(exact_fn: Callable, check: str, inputs: dict, axis: int, cotangent: np.ndarray | None,
             dtype: np.dtype) -> ExactAt:
    """The exact answer of one check at an output index, evaluated once per index however many
    verdicts ask for it."""
    @functools.cache
    def at(index: Index) -> mpf | None:
        return exact.evaluate(lambda: exact_fn(check, inputs, axis, cotangent, index), dtype)
    return at


def excused(at: ExactAt, got: np.ndarray, indices: list[Index], tolerance: Tolerance, scale: np.ndarray) -> str:
    """Where a known divergence excuses TF, the candidate must be the exact answer within the
    tolerance (at up to MAX_EVALUATED of those elements): "" if it is, else why not."""
    for index in indices[:MAX_EVALUATED]:
        value = at(index)
        if value is None:
            continue
        off = exact.ulps(got[index], value, got.dtype)
        if off > tolerance.ulp and exact.error(got[index], value, got.dtype) > tolerance.atol(got.dtype) * float(scale[index]):
            return (f"where a known divergence excuses TF, the candidate is {off:.3g} ULP from the exact "
                    f"{float(value)!r} at {index} (it gives {got[index]!r})")
    return ""


def tf_abs_eps_needed(at: ExactAt, want: np.ndarray, comparison: Comparison, tolerance: Tolerance,
                      scale: np.ndarray) -> float:
    """TF's own need, against the exact answer, at the element that sets the check's
    `abs_eps_needed`: 0 where TF is within the ULP budget of exact there, nan where the exact
    answer is not finite. The measurement tolerances are derived from."""
    index = comparison.need_index
    if index is None:
        return 0.0
    value = at(index)
    if value is None:
        return float("nan")
    if exact.ulps(want[index], value, want.dtype) <= tolerance.ulp:
        return 0.0
    unit = float(ml_dtypes.finfo(want.dtype).eps) * float(scale[index])
    return float(exact.error(want[index], value, want.dtype) / unit) if unit else float("inf")


def assess(at: ExactAt, got: np.ndarray, want: np.ndarray, comparison: Comparison, ignore: np.ndarray,
           tolerance: Tolerance, scale: np.ndarray) -> Accuracy | None:
    """Accuracy at the mismatches, or where the sides differ most; None where they agree there,
    a known divergence explains it, or the exact answer is not finite."""
    mismatches = np.argwhere(comparison.failing & ~ignore)
    worst = comparison.worst_index
    if len(mismatches):
        indices = [tuple(int(i) for i in row) for row in mismatches[:MAX_EVALUATED]]
    elif worst is not None and not ignore[worst] and got[worst] != want[worst]:
        indices = [worst]
    else:
        return None
    measured = []
    for index in indices:
        value = at(index)
        if value is None:
            continue
        slack = (tolerance.floor * exact.spacing(value, want.dtype)
                 + ABS_SHARE * tolerance.atol(want.dtype) * float(scale[index]))
        measured.append((index, value, exact.ulps(got[index], value, want.dtype), exact.ulps(want[index], value, want.dtype),
                         exact.error(got[index], value, want.dtype) <= exact.error(want[index], value, want.dtype) + slack))
    if not measured:
        return None
    index, value, mine, theirs, _ = max(measured, key=lambda m: (not m[4], np.nan_to_num(m[2] - m[3], nan=np.inf)))
    complete = len(measured) == len(mismatches) > 0
    return Accuracy(
        index=index, exact=float(value), candidate_ulp=mine, tf_ulp=theirs, evaluated=len(measured),
        accurate=all(m[4] for m in measured),
        tf_wrong=complete and all(m[2] < m[3] and m[2] <= tolerance.ulp for m in measured),
    )
