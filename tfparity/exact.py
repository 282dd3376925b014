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
ZERO_PRECISION = 1 << 11


def evaluate(compute: Callable[[], mpf | None], dtype: np.dtype) -> mpf | None:
    """`compute()` at doubling precision until two evaluations agree to 2^-(mantissa + 16); a zero
    must survive up to ZERO_PRECISION bits (a cancellation below the working precision is one)."""
    bits = int(ml_dtypes.finfo(dtype).nmant) + 16
    precision, previous = max(2 * bits, 128), None
    while True:
        with mp.workprec(precision):
            value = compute()
        if value is None or not mp.isfinite(value):
            return None
        if previous is not None and (abs(value - previous) <= abs(value) * mpf(2) ** -bits if value
                                     else previous == 0 and precision >= ZERO_PRECISION):
            return value
        if precision >= MAX_PRECISION:
            return None
        previous, precision = value, precision * 2


def spacing(exact: mpf, dtype: np.dtype) -> mpf:
    """The dtype's last place at `exact` (the subnormal spacing below the smallest normal)."""
    info = ml_dtypes.finfo(dtype)
    exponent = mp.frexp(exact)[1] - 1 if exact else int(info.minexp)
    return mpf(2) ** (max(exponent, int(info.minexp)) - int(info.nmant))


def error(value: float, exact: mpf) -> mpf:
    """|value - exact|, infinite for a non-finite value."""
    return abs(mpf(float(value)) - exact) if np.isfinite(float(value)) else mp.inf


def ulps(value: float, exact: mpf, dtype: np.dtype) -> float:
    """|value - exact| in units of the dtype's last place at `exact`: 0.5 is correctly rounded."""
    return float(error(value, exact) / spacing(exact, dtype))


# --- pieces -------------------------------------------------------------------------------------

def _mp(values: Sequence[float]) -> list[mpf] | None:
    floats = [float(v) for v in values]
    return [mpf(v) for v in floats] if all(np.isfinite(floats)) else None


def _row(x: np.ndarray, axis: int, index: Index) -> np.ndarray:
    """The 1-D slice along `axis` through `index` (an index of the output without that axis)."""
    return np.moveaxis(np.asarray(x), axis, -1)[index]


def _split(index: Index, axis: int) -> tuple[Index, int]:
    """A full index into (the row's index, the position along the axis)."""
    return index[:axis] + index[axis + 1:], index[axis]


def _shifted_lse(row: list[mpf]) -> list[mpf]:
    """logsumexp(row) - row[i] for every i, written so that nothing cancels: (max - row[i]) +
    log1p(the sum of exp(row[j] - max) over every j but one maximal entry)."""
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
    x = _mp(_row(inputs["logits"], axis, rest))
    if x is None:
        return None
    y = [mp.exp(-d) for d in _shifted_lse(x)]
    if check == "value":
        return y[i]
    ct = _mp(_row(g, axis, rest))
    return None if ct is None else y[i] * (ct[i] - mp.fsum(c * p for c, p in zip(ct, y, strict=True)))


def log_softmax(check, inputs, axis, g, index) -> mpf | None:
    rest, i = _split(index, axis)
    x = _mp(_row(inputs["logits"], axis, rest))
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
    labels = _labels_like(labels, logits, axis)
    rest, i = (index, None) if check == "value" else _split(index, axis)
    x, z = _mp(_row(logits, axis, rest)), _mp(_row(labels, axis, rest))
    if x is None or z is None:
        return None
    if check == "value":
        return mp.fsum(zj * d for zj, d in zip(z, _shifted_lse(x), strict=True))
    ct = mpf(float(np.asarray(g)[rest]))
    if check == "vjp_labels":
        return ct * _shifted_lse(x)[i]
    return ct * (mp.fsum(z) * mp.exp(-_shifted_lse(x)[i]) - z[i])


def _labels_like(labels: np.ndarray, logits: np.ndarray, axis: int) -> np.ndarray:
    """TF v2's label broadcasting: lower-rank labels align with the class axis last."""
    if labels.ndim < logits.ndim:
        labels = labels.reshape(labels.shape + (1,) * (logits.ndim - 1 - axis))
    return np.broadcast_to(labels, logits.shape)


def sparse_softmax_cross_entropy_with_logits(check, inputs, axis, g, index) -> mpf | None:
    logits, labels = np.asarray(inputs["logits"]), np.asarray(inputs["labels"])
    rest, i = (index, None) if check == "value" else (index[:-1], index[-1])
    x = _mp(_row(logits, logits.ndim - 1, rest))
    if x is None:
        return None
    label = int(labels[rest])
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
