"""softmax, log_softmax and sigmoid, with their vector-Jacobian products.

The `*_wide` helpers work on already-widened arrays and are shared with the
losses; the public functions convert, compute wide and round once.
"""

from __future__ import annotations

import numpy as np

from impl._tensors import class_axis, float_tensor, narrow, widen


def softmax_wide(x: np.ndarray, axis: int) -> np.ndarray:
    """exp(x - max) / sum(exp(x - max)): a row holding +inf or nan is all nan."""
    if x.size == 0:
        return x.copy()
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax_wide(x: np.ndarray, axis: int) -> np.ndarray:
    """(x - max) - log1p(sum of exp(x - max) over every entry but one maximum).

    Leaving one maximum (whose term is exactly 1) out of the sum and using log1p keeps
    the digits of a dominant entry, e.g. [30, 0, 0] -> -2*exp(-30), not -log(1 + tiny).
    """
    if x.size == 0:
        return x.copy()
    shifted = x - x.max(axis=axis, keepdims=True)
    is_max = shifted == 0
    first_max = is_max & (np.cumsum(is_max, axis=axis) == 1)
    rest = np.where(first_max, 0.0, np.exp(shifted))
    return shifted - np.log1p(rest.sum(axis=axis, keepdims=True))


def sigmoid_wide(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)), written so that neither branch overflows."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0, e) / (1.0 + e)


def softmax(logits: object, axis: int | None = -1) -> np.ndarray:
    """`tf.nn.softmax`."""
    x = float_tensor(logits, "logits")
    axis = class_axis(axis, x.ndim)
    with np.errstate(all="ignore"):
        return narrow(softmax_wide(widen(x), axis), x.dtype)


def log_softmax(logits: object, axis: int | None = -1) -> np.ndarray:
    """`tf.nn.log_softmax`."""
    x = float_tensor(logits, "logits")
    axis = class_axis(axis, x.ndim)
    with np.errstate(all="ignore"):
        return narrow(log_softmax_wide(widen(x), axis), x.dtype)


def sigmoid(x: object) -> np.ndarray:
    """`tf.nn.sigmoid`."""
    x = float_tensor(x, "x")
    with np.errstate(all="ignore"):
        return narrow(sigmoid_wide(widen(x)), x.dtype)


def softmax_vjp(cotangent: object, logits: object, axis: int | None = -1) -> dict[str, np.ndarray]:
    """d sum(g * softmax(x)) / dx = y * (g - sum(g * y))."""
    x = float_tensor(logits, "logits")
    axis = class_axis(axis, x.ndim)
    with np.errstate(all="ignore"):
        g, y = widen(np.asarray(cotangent, x.dtype)), softmax_wide(widen(x), axis)
        return {"logits": narrow(y * (g - (g * y).sum(axis=axis, keepdims=True)), x.dtype)}


def log_softmax_vjp(cotangent: object, logits: object, axis: int | None = -1) -> dict[str, np.ndarray]:
    """d sum(g * log_softmax(x)) / dx = g - softmax(x) * sum(g)."""
    x = float_tensor(logits, "logits")
    axis = class_axis(axis, x.ndim)
    with np.errstate(all="ignore"):
        g, y = widen(np.asarray(cotangent, x.dtype)), softmax_wide(widen(x), axis)
        return {"logits": narrow(g - y * g.sum(axis=axis, keepdims=True), x.dtype)}


def sigmoid_vjp(cotangent: object, x: object) -> dict[str, np.ndarray]:
    """d sum(g * sigmoid(x)) / dx = g * e / (1 + e)^2 with e = exp(-|x|), symmetric in x."""
    x = float_tensor(x, "x")
    with np.errstate(all="ignore"):
        g, e = widen(np.asarray(cotangent, x.dtype)), np.exp(-np.abs(widen(x)))
        return {"x": narrow(g * e / (1.0 + e) ** 2, x.dtype)}
