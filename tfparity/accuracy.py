"""The accuracy verdict: where the candidate and TF differ, which of them is right.

Parity asks whether the candidate is within a tolerance of TF. Accuracy asks, at every element
where the two differ, how far each is from the exact answer, in ULPs of the dtype:

- the candidate is *accurate* when, everywhere, it is no further from exact than TF, plus the
  tolerance's `floor` in ULPs, plus ABS_SHARE of its absolute budget (`atol * scale`): where the
  op's terms cancel, a careful implementation in a wider type is accurate to that budget's scale,
  not to ULPs of the small result;
- a parity mismatch is *TF's error* when at every mismatching element the candidate is closer to
  exact than TF and within the tolerance's ULP budget of it: reported, with the evidence, not failed.

The exact answer comes from `tfparity.wide` (long double, whole arrays, within a stated bound);
where a verdict's margin is within that bound, mpmath (`tfparity.exact`) decides the element.
Arrays carry a leading batch axis: one call judges every case of a batch.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import ml_dtypes
import numpy as np
from mpmath import mpf

from tfparity import exact, wide
from tfparity.compare import Tolerance
from tfparity.exact import Index

ABS_SHARE = 1 / 8
CANDIDATE, TF, SAME = "candidate", "tf", "same"


@dataclass(frozen=True)
class Accuracy:
    """Both sides against the exact answer at the element where the candidate fares worst."""

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
                f"TF {self.tf_ulp:.3g} ULP ({self.evaluated} differing elements evaluated)")


@dataclass(frozen=True)
class Exact:
    """One check's exact answer over a batch of outputs: long-double `value`s within `bound` of
    it (nan where it is not finite), and `precise(index)` in mpmath where that is not enough."""

    value: np.ndarray
    bound: np.ndarray
    precise: Callable[[Index], mpf | None]
    dtype: np.dtype


def exact_of(exact_fn: Callable, wide_fn: Callable, check: str, inputs: dict, axis: int,
             cotangent: np.ndarray | None, dtype: np.dtype, scale: np.ndarray) -> Exact:
    """One case's exact answer, as a batch of one."""
    with np.errstate(all="ignore"):
        value = np.asarray(wide_fn(check, inputs, axis, cotangent))
        bound = wide.bound(value, scale)

    @functools.cache
    def precise(index: Index) -> mpf | None:
        return exact.evaluate(lambda: exact_fn(check, inputs, axis, cotangent, index[1:]), dtype)
    return Exact(value[None], bound[None], precise, np.dtype(dtype))


def spacing_of(w: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """`exact.spacing` over an array."""
    info = ml_dtypes.finfo(dtype)
    _, e = np.frexp(np.abs(w))
    exponent = np.where(w != 0, e.astype(np.int64) - 1, int(info.minexp))
    return np.ldexp(wide.WIDE(1), np.maximum(exponent, int(info.minexp)) - int(info.nmant))


def _error(values: np.ndarray, w: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """`exact.error` over an array."""
    v = values.astype(np.float64).astype(wide.WIDE)
    top = wide.WIDE(float(ml_dtypes.finfo(dtype).max))
    rounds_to_inf = (np.abs(w) >= top + spacing_of(top, dtype) / 2) & (np.sign(v) == np.sign(w))
    with np.errstate(invalid="ignore"):
        return np.where(np.isfinite(v), np.abs(v - w), np.where(rounds_to_inf, 0, np.inf))


@dataclass
class _Elements:
    """Per-element errors against exact (float64 ULPs and booleans), knife edges settled by mpmath."""

    exact: np.ndarray
    candidate_error: np.ndarray
    candidate_ulp: np.ndarray
    tf_ulp: np.ndarray
    accurate: np.ndarray
    tf_wrong: np.ndarray
    known: np.ndarray
    headroom: np.ndarray
    knife: np.ndarray  # where the bound leaves a verdict open: mpmath decides


def _elements(ex: Exact, got: np.ndarray, want: np.ndarray, where: np.ndarray, tolerance: Tolerance,
              scale: np.ndarray, order: np.ndarray | bool = False, budget: np.ndarray | bool = False) -> _Elements:
    """The errors at `where`. Every verdict is settled by mpmath where the wide value's bound
    leaves it open: accuracy everywhere; TF's error at `order` (the candidate nearer exact and
    within the ULP budget of it); the candidate within the ULP or absolute budget at `budget`.
    Outside `where` the sides agree (or a divergence explains them): only the candidate's error
    and the headroom are computed there, TF's error being the candidate's."""
    w, dtype, b = ex.value, ex.dtype, ex.bound
    finite = np.isfinite(w)
    with np.errstate(all="ignore"):
        sp = spacing_of(w, dtype)
        ec = _error(got, w, dtype)
        atol = tolerance.atol(dtype) * scale.astype(wide.WIDE)
        slack = tolerance.floor * sp + ABS_SHARE * atol
        # How many slacks TF may move nearer exact before the element could turn inaccurate:
        # unlimited where the candidate is within the slack of exact by itself. Where the sides
        # agree the margin is the slack (nan where both are not finite, as inf - inf).
        margin = np.where(np.isfinite(ec), slack, np.nan)
        headroom = np.where(ec + b <= slack, np.inf, (margin - 2 * b) / slack)
        cand = (ec / sp).astype(np.float64)
        out = _Elements(w.astype(np.float64), ec.astype(np.float64), cand, cand.copy(), np.ones(w.shape, bool),
                        np.zeros(w.shape, bool), where & finite, headroom, np.zeros(w.shape, bool))
        at = np.nonzero(where)
        if at[0].size:
            _differing(out, at, w[at], b[at], sp[at], ec[at], _error(want[at], w[at], dtype), atol[at],
                       np.broadcast_to(order, w.shape)[at], np.broadcast_to(budget, w.shape)[at], tolerance, dtype)
        out.headroom = np.where(finite, out.headroom, np.inf).astype(np.float64)
    for index in map(tuple, np.argwhere(out.knife)):
        value = ex.precise(index)
        if value is None:
            out.known[index] = False
            continue
        slack = tolerance.floor * exact.spacing(value, dtype) + ABS_SHARE * tolerance.atol(dtype) * float(scale[index])
        mine, tf = exact.ulps(got[index], value, dtype), exact.ulps(want[index], value, dtype)
        out.exact[index], out.candidate_ulp[index], out.tf_ulp[index] = float(value), mine, tf
        out.candidate_error[index] = float(exact.error(got[index], value, dtype))
        out.accurate[index] = exact.error(got[index], value, dtype) <= exact.error(want[index], value, dtype) + slack
        out.tf_wrong[index] = mine < tf and mine <= tolerance.ulp
    return out


def _differing(out: _Elements, at: tuple[np.ndarray, ...], w, b, sp, ec, et, atol, order, budget,
               tolerance: Tolerance, dtype: np.dtype) -> None:
    """`_elements` at the positions `at` (each argument taken there): TF's error, the verdicts,
    the headroom, and the knife edges the bound leaves open."""
    sp_low, sp_high = spacing_of(np.abs(w) - b, dtype), spacing_of(np.abs(w) + b, dtype)
    margin = et + tolerance.floor * sp + ABS_SHARE * atol - ec
    open_accuracy = (margin - tolerance.floor * (sp - sp_low) - 2 * b < 0) & (margin + tolerance.floor * (sp_high - sp) + 2 * b >= 0)
    ulp_in, ulp_out = ec + b <= tolerance.ulp * sp_low, ec - b > tolerance.ulp * sp_high
    abs_in, abs_out = ec + b <= atol, ec - b > atol
    open_order = order & ~(ec - et > 2 * b) & ((np.abs(ec - et) <= 2 * b) | ~(ulp_in | ulp_out))
    open_budget = budget & ~(ulp_in | abs_in | (ulp_out & abs_out))
    theirs = (et / sp).astype(np.float64)
    slack = tolerance.floor * sp + ABS_SHARE * atol
    out.tf_ulp[at] = theirs
    out.accurate[at] = margin >= 0
    out.tf_wrong[at] = (out.candidate_ulp[at] < theirs) & (out.candidate_ulp[at] <= tolerance.ulp)
    out.headroom[at] = np.where(ec + b <= slack, np.inf, (margin - 2 * b) / slack)
    out.knife[at] = np.isfinite(w) & (open_accuracy | open_order | open_budget)


def assess(ex: Exact, got: np.ndarray, want: np.ndarray, failing: np.ndarray, ignore: np.ndarray,
           tolerance: Tolerance, scale: np.ndarray) -> tuple[list[Accuracy | None], np.ndarray]:
    """Accuracy of each case of a batch at every element where the sides differ (None where they
    agree everywhere, a known divergence explains it, or the exact answer is not finite), and
    each case's headroom: the fewest slacks TF's answer may move, at any element, before the
    verdict could change (a batched answer is final only with headroom for TF's batch spread)."""
    differ = ~((got == want) | (np.isnan(got.astype(np.float64)) & np.isnan(want.astype(np.float64)))) & ~ignore
    mismatch = failing & ~ignore
    e = _elements(ex, got, want, differ | mismatch, tolerance, scale, order=mismatch, budget=mismatch)
    batch = len(got)
    flat = lambda a: a.reshape(batch, -1)
    known, accurate, mismatch = flat(e.known), flat(e.accurate), flat(mismatch)
    with np.errstate(invalid="ignore"):
        apart = np.nan_to_num(flat(e.candidate_ulp - e.tf_ulp), nan=1e299, posinf=1e299, neginf=-1e299)
    key = np.where(known, np.where(accurate, 0.0, 1e300) + apart, -np.inf)
    worst = key.argmax(axis=1) if key.size else np.zeros(batch, int)
    evaluated = (known & flat(differ)).sum(axis=1)
    all_accurate = ~(known & ~accurate).any(axis=1)
    complete = mismatch.any(axis=1) & ~(mismatch & ~known).any(axis=1)
    tf_wrong = complete & ~(mismatch & ~flat(e.tf_wrong)).any(axis=1)
    shape = got.shape[1:]
    headroom = np.where(flat(ignore), np.inf, flat(e.headroom)).min(axis=1, initial=np.inf)
    if not key.size:
        return [None] * batch, headroom
    rows = np.arange(batch)
    at = [flat(a)[rows, worst].tolist() for a in (e.exact, e.candidate_ulp, e.tf_ulp)]
    index = list(zip(*(a.tolist() for a in np.unravel_index(worst, shape)), strict=True)) if shape else [()] * batch
    results = [Accuracy(index=index[b], exact=at[0][b], candidate_ulp=at[1][b], tf_ulp=at[2][b],
                        evaluated=int(evaluated[b]), accurate=bool(all_accurate[b]), tf_wrong=bool(tf_wrong[b]))
               if any_known else None for b, any_known in enumerate(known.any(axis=1).tolist())]
    return results, headroom


def excused(ex: Exact, got: np.ndarray, where: np.ndarray, tolerance: Tolerance, scale: np.ndarray) -> list[str]:
    """Where a known divergence excuses TF, each case's candidate must be the exact answer within
    the tolerance: "" where it is, else why not."""
    return excused_within(ex, got, [(where, tolerance, scale)])


def excused_within(ex: Exact, got: np.ndarray, allowances: list[tuple[np.ndarray, Tolerance, np.ndarray]],
                   flush: bool = False) -> list[str]:
    """`excused` where elements have tolerances of their own (a candidate's divergences' bounds):
    each allowance is (where, tolerance, scale), and an element is off only if it is off under
    every allowance that covers it. With `flush` (TF zeroes subnormal results on this backend, as
    the comparison with TF allows), a zero where the exact answer is subnormal is not off."""
    off = np.logical_or.reduce([where for where, _, _ in allowances])
    if flush:
        off &= ~((got == 0) & (np.abs(ex.value) < float(ml_dtypes.finfo(ex.dtype).tiny)))
    if not off.any():
        return [""] * len(got)
    measured = []
    for where, tolerance, scale in allowances:
        if where.any():
            e = _elements(ex, got, got, where, tolerance, scale, budget=where)
            off &= ~where | (e.known & (e.candidate_ulp > tolerance.ulp)
                             & (e.candidate_error > tolerance.atol(ex.dtype) * scale))
            measured.append((where, e))
    details = []
    for b in range(len(got)):
        bad = np.argwhere(off[b])
        index = (b, *bad[0]) if len(bad) else None
        e = None if index is None else next(e for where, e in measured if where[index])
        details.append("" if index is None else
                       f"where a known divergence excuses TF, the candidate is {e.candidate_ulp[index]:.3g} ULP from "
                       f"the exact {e.exact[index]!r} at {tuple(int(i) for i in index[1:])} (it gives {got[index]!r})")
    return details


def tf_abs_eps_needed(ex: Exact, want: np.ndarray, need: list[Index | None], tolerance: Tolerance,
                      scale: np.ndarray) -> list[float]:
    """TF's own need, against the exact answer, at the element of each case that sets the check's
    `abs_eps_needed` (`need`): 0 where TF is within the ULP budget of exact there, nan where the
    exact answer is not finite. The measurement tolerances are derived from."""
    cases = [b for b, index in enumerate(need) if index is not None]
    out = [0.0] * len(need)
    if not cases:
        return out
    at = tuple(np.array(axis) for axis in zip(*[(b, *need[b]) for b in cases], strict=True))
    w = ex.value[at]
    with np.errstate(all="ignore"):
        err = _error(want[at], w, ex.dtype)
        unit = float(ml_dtypes.finfo(ex.dtype).eps) * scale[at]
        needs = np.where(~np.isfinite(w), np.nan, np.where(err <= tolerance.ulp * spacing_of(w, ex.dtype), 0.0,
                                                           np.where(unit > 0, err / unit, np.inf))).astype(np.float64)
    for b, value in zip(cases, needs.tolist(), strict=True):
        out[b] = value
    return out
