"""Element-wise comparison of a candidate's output with TensorFlow's.

Errors are measured in the op's own dtype: absolute, relative (to TF's value) and
ULP distance.  Non-finite values are compared by position: nan must meet nan and
+-inf the same infinity.  A finite element passes when it is within the tolerance's
ULP budget, or within its absolute budget `abs_eps * eps * scale`, where `scale` is
the size of the terms TF's formula adds (its rounding error is absolute in them), or
when it is flushed: where the probed backend flushes subnormals, TF's CPU arithmetic
(float32 for the half types, float64 for float64) runs flush-to-zero and
denormals-are-zero, and a flushed intermediate is then scaled by factors of order one
(cotangents, labels, pos_weight <= e**2), so a side below FLUSH_FACTOR times that type's
smallest normal may differ by as much.

`budget_used` is the share of the tolerance the worst checked element spends: under 1
passes, and unlike a raw ULP count it means the same on every backend and dtype. Flushed
elements spend none of it; they are counted apart. `abs_eps_needed` is the smallest `abs_eps`
that would still pass the check at its ULP budget: the measurement tolerances are derived from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ml_dtypes
import numpy as np

_SIGNED = {2: np.int16, 4: np.int32, 8: np.int64}
FLUSH_FACTOR = 8.0


def flush_floor(dtype: np.dtype) -> float:
    """Below this, TF's flush-to-zero arithmetic may have zeroed an intermediate."""
    compute = np.float64 if dtype == np.float64 else np.float32
    return FLUSH_FACTOR * float(np.finfo(compute).smallest_normal)


@dataclass(frozen=True)
class Tolerance:
    """How far a candidate may sit from TF, and why."""

    ulp: float
    abs_eps: float = 0.0
    reason: str = ""
    floor: float = 1.0  # ULPs the candidate may sit further from exact than TF (see tfparity.accuracy)
    computes_in: str = ""  # the dtype TF computes in where it is narrower than the output's (its flush floor)

    def rtol(self, dtype: np.dtype) -> float:
        """The relative error the ULP budget amounts to (for reports)."""
        return self.ulp * float(ml_dtypes.finfo(dtype).eps)

    def atol(self, dtype: np.dtype) -> float:
        """The absolute budget per unit of `scale`."""
        return self.abs_eps * float(ml_dtypes.finfo(dtype).eps)


@dataclass(frozen=True)
class Comparison:
    """The worst errors over the checked elements, and how many failed."""

    max_abs_err: float
    max_rel_err: float
    max_ulp: float
    mismatches: int
    special_mismatch: int
    worst_index: tuple[int, ...] | None
    ignored_mismatches: int
    flushed: int
    budget_used: float
    abs_eps_needed: float
    need_index: tuple[int, ...] | None
    failing: np.ndarray = field(repr=False, compare=False)
    used: np.ndarray = field(repr=False, compare=False)  # each element's share of the tolerance (inf: special)

    @property
    def passed(self) -> bool:
        return self.mismatches == 0 and self.special_mismatch == 0


def as_scale(scale: np.ndarray | float, shape: tuple[int, ...]) -> np.ndarray:
    """`scale` in float64 over `shape`, nan read as 0 (no absolute budget)."""
    return np.broadcast_to(np.nan_to_num(np.asarray(scale, np.float64), posinf=np.inf), shape)


def ulp_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Number of representable values between a and b (same float dtype), as float64."""
    signed = _SIGNED[a.dtype.itemsize]
    mask = np.uint64(np.iinfo(signed).max)

    def sign_and_magnitude(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        bits = np.ascontiguousarray(x).view(signed)
        return bits < 0, bits.astype(np.int64).astype(np.uint64) & mask

    a_neg, a_mag = sign_and_magnitude(a)
    b_neg, b_mag = sign_and_magnitude(b)
    apart = np.where(a_neg == b_neg, np.maximum(a_mag, b_mag) - np.minimum(a_mag, b_mag), a_mag + b_mag)
    return apart.astype(np.float64).reshape(np.shape(a))  # ascontiguousarray made 0-d arrays 1-d


def compare(
    candidate: np.ndarray,
    reference: np.ndarray,
    tolerance: Tolerance,
    scale: np.ndarray | float = 0.0,
    ignore: np.ndarray | bool = False,
    *,
    flush: bool,
) -> Comparison:
    """Compare `candidate` with TF's `reference` (same shape and dtype) element by element.

    `ignore` marks elements a known divergence explains: they are counted apart and
    cannot fail the comparison. `flush` says whether TF flushes subnormals on this backend;
    the elements accepted only because of it are counted in `flushed`.
    """
    if candidate.shape != reference.shape or candidate.dtype != reference.dtype:
        raise ValueError(
            f"candidate {candidate.dtype}{list(candidate.shape)} vs "
            f"reference {reference.dtype}{list(reference.shape)}"
        )
    scale, ignore = as_scale(scale, reference.shape), np.broadcast_to(ignore, reference.shape)
    return compare_batch(candidate[None], reference[None], tolerance, scale[None], ignore[None], flush=flush)[0]


def compare_batch(candidate: np.ndarray, reference: np.ndarray, tolerance: Tolerance, scale: np.ndarray,
                  ignore: np.ndarray, *, flush: bool) -> list[Comparison]:
    """`compare` for each case of a batch stacked on the leading axis (scale and ignore given in
    full), in one pass over the elements."""
    floor = flush_floor(np.dtype(tolerance.computes_in or reference.dtype))
    a, b = candidate.astype(np.float64), reference.astype(np.float64)

    finite = np.isfinite(a) & np.isfinite(b)
    same_special = (np.isnan(a) & np.isnan(b)) | (np.isinf(a) & (a == b))
    special_bad = ~finite & ~same_special

    with np.errstate(all="ignore"):
        abs_err = np.where(finite, np.abs(a - b), 0.0)
        rel_err = np.where(finite & (abs_err > 0), abs_err / np.abs(b), 0.0)
        ulp = np.where(finite, ulp_distance(candidate, reference), 0.0)
        allowed = tolerance.atol(reference.dtype) * scale
        within = (ulp <= tolerance.ulp) | (abs_err <= allowed)
        flushed = flush & finite & ~within & (abs_err <= floor) & ((np.abs(a) < floor) | (np.abs(b) < floor))
        used = np.fmin(_share(ulp, tolerance.ulp), _share(abs_err, allowed))  # an absolute budget of 0 x inf: none
        used = np.where(special_bad, np.inf, np.where(finite & ~flushed, used, 0.0))
        bad = finite & ~within & ~flushed
        beyond_ulp = finite & ~flushed & (ulp > tolerance.ulp) & ~ignore
        needed = np.where(beyond_ulp, _share(abs_err, float(ml_dtypes.finfo(reference.dtype).eps) * scale), 0.0)

    batch, shape = len(reference), reference.shape[1:]
    checked = (~ignore).reshape(batch, -1)
    failing = bad | special_bad

    def top(values: np.ndarray) -> np.ndarray:
        return np.where(checked, values.reshape(batch, -1), 0.0).max(axis=1, initial=0.0)

    def count(mask: np.ndarray) -> np.ndarray:
        return mask.reshape(batch, -1).sum(axis=1)

    worst = np.where(checked, np.where(failing.reshape(batch, -1), np.inf, ulp.reshape(batch, -1)), -1.0)
    worst_at, need = worst.argmax(axis=1) if worst.size else np.zeros(batch, int), needed.reshape(batch, -1)
    need_at = need.argmax(axis=1) if need.size else np.zeros(batch, int)
    worst_index = _indices(worst_at, shape) if worst.size else [None] * batch
    need_index = _indices(need_at, shape) if need.size else [None] * batch
    columns = zip(*(c.tolist() for c in (
        top(abs_err), top(rel_err), top(ulp), count(bad & ~ignore), count(special_bad & ~ignore),
        count(failing & ignore), count(flushed & ~ignore), top(used), need.max(axis=1, initial=0.0))), strict=True)
    return [Comparison(
        max_abs_err=m_abs, max_rel_err=m_rel, max_ulp=m_ulp, mismatches=n_bad, special_mismatch=n_special,
        worst_index=worst_index[i], ignored_mismatches=n_ignored, flushed=n_flushed,
        budget_used=m_used, abs_eps_needed=m_need, need_index=need_index[i] if m_need > 0 else None, failing=failing[i],
        used=used[i],
    ) for i, (m_abs, m_rel, m_ulp, n_bad, n_special, n_ignored, n_flushed, m_used, m_need) in enumerate(columns)]


def _indices(flat: np.ndarray, shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Flat positions, one per case, as index tuples into `shape`."""
    return list(zip(*(a.tolist() for a in np.unravel_index(flat, shape)), strict=True)) if shape else [()] * len(flat)


def _share(error: np.ndarray, budget: np.ndarray | float) -> np.ndarray:
    """error / budget, with 0 / 0 = 0 and x / 0 = inf."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(error == 0, 0.0, error / budget)
