"""The exact answer of a whole check at once, in long double, within a stated bound.

`tfparity.exact` evaluates one element in mpmath (about half a millisecond); the verdicts need
every element where two sides differ. These are the same formulas as `tfparity.exact` over whole
arrays in the platform's long double (x87 extended: 64-bit significand, 11 bits past float64),
written so that nothing cancels that the exact forms avoid. Each value is within `BOUND_EPS`
long-double eps of the terms' size (`|value| + scale`, the record's `scales`) of the exact
answer; `tfparity.accuracy` decides a verdict from it only where the verdict's margin exceeds
that bound, and asks mpmath elsewhere (tests/test_wide.py holds the bound against mpmath).

Elements the exact forms do not evaluate (a non-finite input, an out-of-range label) are nan.
Batched inputs work as they are: the pos_weight gradient sums to pos_weight's own shape.
"""

from __future__ import annotations

import numpy as np
from mpmath import mp, mpf

from tfparity.exact import _labels_like

WIDE = np.longdouble
USABLE = np.finfo(WIDE).nmant >= 63  # where long double is float64 (ARM, Windows), mpmath decides alone
BOUND_EPS = 64.0


def bound(value: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """How far a wide value may sit from the exact answer: unbounded where long double is float64."""
    if not USABLE:
        return np.full(np.shape(value), np.inf, WIDE)
    return BOUND_EPS * np.finfo(WIDE).eps * (np.abs(value) + np.asarray(scale, WIDE))


def _wide(x: object) -> np.ndarray:
    return np.asarray(x).astype(WIDE)


def _rows_ok(x: np.ndarray, axis: int, masked: bool = True) -> np.ndarray:
    """Rows the exact forms evaluate: finite, or -inf (a masked logit) beside a finite entry."""
    finite = np.isfinite(x)
    ok = finite | (masked & np.isneginf(x))
    return ok.all(axis=axis, keepdims=True) & finite.any(axis=axis, keepdims=True)


def _shifted_lse(x: np.ndarray, axis: int) -> np.ndarray:
    """logsumexp(x) - x along `axis`, as (max - x) + log1p(sum of the others' exp(x - max))."""
    if not x.shape[axis]:
        return x
    top = np.max(x, axis=axis, keepdims=True)
    first = np.arange(x.shape[axis]).reshape([-1 if i == axis % x.ndim else 1 for i in range(x.ndim)])
    is_top = first == np.argmax(x, axis=axis, keepdims=True)
    with np.errstate(invalid="ignore"):
        rest = np.where(is_top, 0, np.exp(x - top)).sum(axis=axis, keepdims=True)
        return (top - x) + np.log1p(rest)


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x + np.log1p(np.exp(-np.abs(x))), np.log1p(np.exp(np.minimum(x, 0))))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _only(ok: np.ndarray, value: np.ndarray) -> np.ndarray:
    return np.where(np.broadcast_to(ok, np.shape(value)), value, np.nan)


def softmax(check, inputs, axis, g):
    x = _wide(inputs["logits"])
    y = np.exp(-_shifted_lse(x, axis))
    if check == "value":
        return _only(_rows_ok(x, axis), y)
    g = _wide(g)
    return _only(_rows_ok(x, axis) & _rows_ok(g, axis, False), y * (g - (g * y).sum(axis=axis, keepdims=True)))


def log_softmax(check, inputs, axis, g):
    x = _wide(inputs["logits"])
    d = _shifted_lse(x, axis)
    if check == "value":
        return _only(_rows_ok(x, axis), -d)
    g = _wide(g)
    return _only(_rows_ok(x, axis) & _rows_ok(g, axis, False), g - np.exp(-d) * g.sum(axis=axis, keepdims=True))


def sigmoid(check, inputs, axis, g):
    x = _wide(inputs["x"])
    s = _sigmoid(x)
    if check == "value":
        return _only(np.isfinite(x), s)
    g = _wide(g)
    return _only(np.isfinite(x) & np.isfinite(g), g * s * _sigmoid(-x))


def softmax_cross_entropy_with_logits(check, inputs, axis, g):
    x = _wide(inputs["logits"])
    labels = np.asarray(inputs["labels"])
    if check == "vjp_labels" and labels.shape != x.shape:
        return np.full(labels.shape, np.nan, WIDE)
    z = _wide(_labels_like(labels, x, axis % x.ndim))
    ok = _rows_ok(x, axis) & _rows_ok(z, axis, False)
    d = _shifted_lse(x, axis)
    if check == "value":
        with np.errstate(invalid="ignore"):
            return _only(ok.squeeze(axis), np.where(z == 0, 0, z * d).sum(axis=axis))
    g = np.expand_dims(_wide(g), axis)
    ok = ok & np.isfinite(g)
    if check == "vjp_labels":
        return _only(ok, g * d)
    return _only(ok, g * (z.sum(axis=axis, keepdims=True) * np.exp(-d) - z))


def sparse_softmax_cross_entropy_with_logits(check, inputs, axis, g):
    x = _wide(inputs["logits"])
    labels = np.asarray(inputs["labels"]).astype(np.int64)[..., None]
    inside = (labels >= 0) & (labels < x.shape[-1])
    ok = _rows_ok(x, -1) & inside
    d = _shifted_lse(x, -1)
    if check == "value":
        return _only(ok[..., 0], np.take_along_axis(d, np.clip(labels, 0, x.shape[-1] - 1), axis=-1)[..., 0])
    g = _wide(g)[..., None]
    one_hot = np.arange(x.shape[-1]) == labels
    return _only(ok & np.isfinite(g), g * (np.exp(-d) - one_hot))


def sigmoid_cross_entropy_with_logits(check, inputs, axis, g):
    x, z = _wide(inputs["logits"]), _wide(inputs["labels"])
    ok = np.isfinite(x) & np.isfinite(z)
    if check == "value":
        return _only(ok, _softplus(x) - x * z)
    g = _wide(g)
    return _only(ok & np.isfinite(g), g * (_sigmoid(x) - z) if check == "vjp_logits" else -g * x)


def weighted_cross_entropy_with_logits(check, inputs, axis, g):
    """(1 - z) x + (1 + (q - 1) z) softplus(-x); the pos_weight gradient sums to q's shape."""
    x, z, q = _wide(inputs["logits"]), _wide(inputs["labels"]), _wide(inputs["pos_weight"])
    ok = np.isfinite(x) & np.isfinite(z) & np.isfinite(q)
    weight = 1 + (q - 1) * z
    if check == "value":
        return _only(ok, (1 - z) * x + weight * _softplus(-x))
    g = _wide(g)
    ok = ok & np.isfinite(g)
    if check == "vjp_logits":
        return _only(ok, g * ((1 - z) - weight * _sigmoid(-x)))
    if check == "vjp_labels":
        return _only(ok, g * (-x + (q - 1) * _softplus(-x)))
    terms = np.broadcast_to(_only(ok, g * z * _softplus(-x)), np.broadcast_shapes(x.shape, q.shape))
    return np.array(sum_to_shape(terms, q.shape))


def sum_to_shape(array: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The adjoint of broadcasting `shape` to `array`'s shape: `array` summed back down to `shape`."""
    extra = array.ndim - len(shape)
    array = array.sum(axis=tuple(range(extra))) if extra else array
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and array.shape[i] != 1)
    return array.sum(axis=stretched, keepdims=True) if stretched else array


def to_mpf(value: np.generic) -> mpf:
    """A long double as the mpf it is, digit for digit."""
    with mp.workprec(128):
        return mpf(np.format_float_scientific(value, unique=True))
