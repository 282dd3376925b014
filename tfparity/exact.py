"""The exact answer, element by element, in arbitrary precision: who is right when two sides differ.

Each op's value and VJP are written here from the mathematics, independently of `impl`, and
evaluated with mpmath at a precision that doubles until two evaluations agree far below the
dtype's last bit (cancellation included), so the result is exact to well under 1/1000 of an ULP.
An element costs a row of exponentials, so the engine asks only where the sides differ.

Each function takes the check (`value`, `vjp_<input>`), the inputs, the class axis, the cotangent
and one output index, and returns the exact mpf, or None where the answer is not finite or the
check is not one it evaluates (a labels gradient summed over broadcast labels).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import ml_dtypes
import numpy as np
from mpmath import mp, mpf

Index = tuple[int, ...]
MAX_PRECISION = 1 << 14
AGREE = mpf(2) ** -16


def evaluate(compute: Callable[[], mpf | None], dtype: np.dtype) -> mpf | None:
    """`compute()` at doubling precision until two evaluations agree to 2^-16 of the dtype's last
    place there (the subnormal spacing at zero, so a result that cancels to zero converges too)."""
    bits = int(ml_dtypes.finfo(dtype).nmant) + 16
    precision, previous = max(2 * bits, 128), None
    while True:
        with mp.workprec(precision):
            value = compute()
        if value is None or not mp.isfinite(value):
            return None
        if previous is not None and abs(value - previous) <= AGREE * spacing(max(abs(value), abs(previous)), dtype):
            return value
        if precision >= MAX_PRECISION:
            return None
        previous, precision = value, precision * 2


def spacing(exact: mpf, dtype: np.dtype) -> mpf:
    """The dtype's last place at `exact` (the subnormal spacing below the smallest normal)."""
    info = ml_dtypes.finfo(dtype)
    exponent = mp.frexp(exact)[1] - 1 if exact else int(info.minexp)
    return mpf(2) ** (max(exponent, int(info.minexp)) - int(info.nmant))


def error(value: float, exact: mpf, dtype: np.dtype) -> mpf:
    """|value - exact|: infinite for a non-finite value, but 0 for the infinity `exact` rounds to
    when it lies past the dtype's largest finite value."""
    value = float(value)
    if np.isfinite(value):
        return abs(mpf(value) - exact)
    top = mpf(float(ml_dtypes.finfo(dtype).max))
    rounds_to_inf = abs(exact) >= top + spacing(top, dtype) / 2 and np.sign(value) == mp.sign(exact)
    return mpf(0) if rounds_to_inf else mp.inf


def ulps(value: float, exact: mpf, dtype: np.dtype) -> float:
    """|value - exact| in units of the dtype's last place at `exact`: 0.5 is correctly rounded."""
    return float(error(value, exact, dtype) / spacing(exact, dtype))


# --- pieces -------------------------------------------------------------------------------------

def _mp(values: Sequence[float], masked: bool = False) -> list[mpf] | None:
    """The values as mpf; None for nan or +-inf, except -inf where `masked` (a logit whose
    exponential is 0) and some value is finite (an all-masked row has no softmax)."""
    floats = [float(v) for v in values]
    ok = all(np.isfinite(v) or (masked and v == -np.inf) for v in floats) and any(np.isfinite(floats))
    return [mpf(v) for v in floats] if ok else None


def _row(x: np.ndarray, axis: int, index: Index) -> np.ndarray:
    """The 1-D slice along `axis` through `index` (an index of the output without that axis)."""
    return np.moveaxis(np.asarray(x), axis, -1)[index]


def _split(index: Index, axis: int) -> tuple[Index, int]:
    """A full index into (the row's index, the position along the axis)."""
    return index[:axis] + index[axis + 1:], index[axis]


def _shifted_lse(row: list[mpf]) -> list[mpf]:
    """logsumexp(row) - row[i] for every i, written so that nothing cancels: (max - row[i]) +
    log1p(the sum of exp(row[j] - max) over every j but one maximal entry)."""
    if not row:
        return []
    top = row.index(max(row))
    log_rest = mp.log1p(mp.fsum(mp.exp(r - row[top]) for j, r in enumerate(row) if j != top))
    return [(row[top] - r) + log_rest for r in row]


def _softplus(x: mpf) -> mpf:
    """log(1 + e^x)."""
    return x + mp.log1p(mp.exp(-x)) if x > 0 else mp.log1p(mp.exp(x))


def _sigmoid(x: mpf) -> mpf:
    return 1 / (1 + mp.exp(-x))


# --- the ops ------------------------------------------------------------------------------------

def softmax(check, inputs, axis, g, index) -> mpf | None:
    rest, i = _split(index, axis)
    x = _mp(_row(inputs["logits"], axis, rest), masked=True)
    if x is None:
        return None
    y = [mp.exp(-d) for d in _shifted_lse(x)]
    if check == "value":
        return y[i]
    ct = _mp(_row(g, axis, rest))
    return None if ct is None else y[i] * (ct[i] - mp.fsum(c * p for c, p in zip(ct, y, strict=True)))


def log_softmax(check, inputs, axis, g, index) -> mpf | None:
    rest, i = _split(index, axis)
    x = _mp(_row(inputs["logits"], axis, rest), masked=True)
    if x is None:
        return None
    if check == "value":
        return -_shifted_lse(x)[i]
    ct = _mp(_row(g, axis, rest))
    return None if ct is None else ct[i] - mp.exp(-_shifted_lse(x)[i]) * mp.fsum(ct)


def sigmoid(check, inputs, axis, g, index) -> mpf | None:
    x = _mp([np.asarray(inputs["x"])[index]])
    if x is None:
        return None
    s = _sigmoid(x[0])
    return s if check == "value" else mpf(float(np.asarray(g)[index])) * s * _sigmoid(-x[0])


def softmax_cross_entropy_with_logits(check, inputs, axis, g, index) -> mpf | None:
    logits = np.asarray(inputs["logits"])
    labels = np.asarray(inputs["labels"])
    if check == "vjp_labels" and labels.shape != logits.shape:
        return None  # summed over the broadcast: TF raises for it anyway
    try:
        labels = _labels_like(labels, logits, axis)
    except ValueError:
        return None  # a label shape this reading of TF's broadcasting does not cover
    rest, i = (index, None) if check == "value" else _split(index, axis)
    x, z = _mp(_row(logits, axis, rest), masked=True), _mp(_row(labels, axis, rest))
    if x is None or z is None:
        return None
    if check == "value":  # a zero label times an infinite log term adds nothing
        return mp.fsum(zj * d for zj, d in zip(z, _shifted_lse(x), strict=True) if zj)
    ct = mpf(float(np.asarray(g)[rest]))
    if check == "vjp_labels":
        return ct * _shifted_lse(x)[i]
    return ct * (mp.fsum(z) * mp.exp(-_shifted_lse(x)[i]) - z[i])


def _labels_like(labels: np.ndarray, logits: np.ndarray, axis: int) -> np.ndarray:
    """TF v2's label broadcasting: lower-rank labels align with the class axis last."""
    if labels.ndim < logits.ndim:
        labels = labels.reshape(labels.shape + (1,) * (logits.ndim - 1 - axis))
    return np.broadcast_to(labels, logits.shape)  # raises for shapes TF rejects too


def sparse_softmax_cross_entropy_with_logits(check, inputs, axis, g, index) -> mpf | None:
    logits, labels = np.asarray(inputs["logits"]), np.asarray(inputs["labels"])
    rest, i = (index, None) if check == "value" else (index[:-1], index[-1])
    x = _mp(_row(logits, logits.ndim - 1, rest), masked=True)
    label = int(labels[rest])
    if x is None or not 0 <= label < len(x):
        return None
    if check == "value":
        return _shifted_lse(x)[label]
    return mpf(float(np.asarray(g)[rest])) * (mp.exp(-_shifted_lse(x)[i]) - (1 if i == label else 0))


def sigmoid_cross_entropy_with_logits(check, inputs, axis, g, index) -> mpf | None:
    values = _mp([np.asarray(inputs["logits"])[index], np.asarray(inputs["labels"])[index]])
    if values is None:
        return None
    x, z = values
    if check == "value":
        return _softplus(x) - x * z
    ct = mpf(float(np.asarray(g)[index]))
    return ct * (_sigmoid(x) - z) if check == "vjp_logits" else -ct * x


def weighted_cross_entropy_with_logits(check, inputs, axis, g, index) -> mpf | None:
    """(1 - z) x + (1 + (q - 1) z) softplus(-x); the pos_weight gradient sums every element."""
    logits = np.asarray(inputs["logits"])
    q = np.broadcast_to(inputs["pos_weight"], logits.shape)
    if check == "vjp_pos_weight":
        if np.ndim(inputs["pos_weight"]):
            return None  # the sum runs over the broadcast, not every element
        terms = [_weighted_term(check, logits, inputs["labels"], q, g, i) for i in np.ndindex(logits.shape)]
        return None if any(t is None for t in terms) else mp.fsum(terms)
    return _weighted_term(check, logits, inputs["labels"], q, g, index)


def _weighted_term(check, logits, labels, q, g, index) -> mpf | None:
    values = _mp([logits[index], np.asarray(labels)[index], q[index]])
    if values is None:
        return None
    x, z, w = values
    if check == "value":
        return (1 - z) * x + (1 + (w - 1) * z) * _softplus(-x)
    ct = mpf(float(np.asarray(g)[index]))
    if check == "vjp_logits":
        return ct * ((1 - z) - (1 + (w - 1) * z) * _sigmoid(-x))
    if check == "vjp_labels":
        return ct * (-x + (w - 1) * _softplus(-x))
    return ct * z * _softplus(-x)
