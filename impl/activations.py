"""softmax, log_softmax and sigmoid, with their vector-Jacobian products.

The `*_wide` helpers work on already-widened arrays and are shared with the
losses; the public functions convert, compute wide and round once.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from impl._tensors import FLOATX, class_axis, float_tensor, narrow, widen
from impl.errors import InvalidArgumentError


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


# --- Keras's softmax over several axes, and its masked layer -----------------------------------

def _grouped(x: np.ndarray, axis: int | tuple[int, ...] | None) -> tuple[np.ndarray, Callable]:
    """x with the axes `keras.activations` softmax joins (None: every axis; a tuple: those, negative
    ones too) moved last and merged into one, and the function that undoes it."""
    axes = tuple(range(x.ndim)) if axis is None else tuple(
        class_axis(a, x.ndim) for a in (axis if isinstance(axis, (tuple, list)) else (axis,)))
    if len(set(axes)) != len(axes):
        raise InvalidArgumentError(f"axis {axis} names an axis twice")
    order = [i for i in range(x.ndim) if i not in axes] + list(axes)
    moved = np.transpose(x, order)
    kept = moved.shape[:x.ndim - len(axes)]
    merged = moved.reshape(*kept, int(np.prod(moved.shape[len(kept):], dtype=np.int64)))
    return merged, lambda y: np.transpose(np.reshape(y, moved.shape), np.argsort(order))


def _keras(fn: Callable, x: object, axis: int | tuple[int, ...] | None, name: str = "x") -> np.ndarray:
    x = float_tensor(x, name)
    merged, undo = _grouped(x, axis)
    return undo(fn(merged, -1))


def _keras_vjp(fn: Callable, cotangent: object, x: object, axis, name: str = "x") -> dict[str, np.ndarray]:
    x = float_tensor(x, name)
    merged, undo = _grouped(x, axis)
    return {name: undo(fn(_grouped(np.asarray(cotangent, x.dtype), axis)[0], merged, -1)["logits"])}


def keras_softmax(x: object, axis: int | tuple[int, ...] | None = -1) -> np.ndarray:
    """`keras.activations.softmax`: `tf.nn.softmax` along `axis`, or jointly over every axis
    (None) or the axes a tuple names."""
    return _keras(softmax, x, axis)


def keras_softmax_vjp(cotangent: object, x: object, axis: int | tuple[int, ...] | None = -1) -> dict[str, np.ndarray]:
    return _keras_vjp(softmax_vjp, cotangent, x, axis)


def keras_log_softmax(x: object, axis: int | tuple[int, ...] | None = -1) -> np.ndarray:
    """`keras.activations.log_softmax`, over `axis` as `keras_softmax` reads it."""
    return _keras(log_softmax, x, axis)


def keras_log_softmax_vjp(cotangent: object, x: object,
                          axis: int | tuple[int, ...] | None = -1) -> dict[str, np.ndarray]:
    return _keras_vjp(log_softmax_vjp, cotangent, x, axis)


def _kept(mask: object, x: np.ndarray) -> np.ndarray:
    """The mask (True or > 0.5 keeps an entry) broadcast to the inputs' shape."""
    keep = np.asarray(mask)
    keep = keep if keep.dtype == bool else keep > 0.5
    try:
        return np.broadcast_to(keep, x.shape)
    except ValueError:
        raise InvalidArgumentError(f"mask {keep.shape} does not broadcast to inputs {x.shape}") from None


def _masked_softmax_wide(x: np.ndarray, keep: np.ndarray, axis: int) -> np.ndarray:
    """The softmax of the kept entries of each row along `axis`; 0 where masked (a row with none kept: all 0)."""
    return np.where(keep, softmax_wide(np.where(keep, x, -np.inf), axis), 0.0)


def _layer_inputs(inputs: object, mask: object) -> tuple[np.ndarray, np.ndarray, np.dtype]:
    """The inputs as the layer computes them (cast to float32), the kept entries, and the inputs' dtype."""
    x = float_tensor(inputs, "inputs")
    keep = np.ones(x.shape, bool) if mask is None else _kept(mask, x)
    return x.astype(FLOATX), keep, x.dtype


def keras_softmax_layer(inputs: object, mask: object = None, axis: int = -1) -> np.ndarray:
    """`keras.layers.Softmax(axis)(inputs, mask=mask)`: computed in float32 (the layer's compute
    dtype, whatever the inputs'), the softmax of the entries the mask keeps, 0 where it masks
    (and in a row it masks whole)."""
    x, keep, _ = _layer_inputs(inputs, mask)
    axis = class_axis(axis, x.ndim)
    with np.errstate(all="ignore"):
        return narrow(_masked_softmax_wide(widen(x), keep, axis), FLOATX)


def keras_softmax_layer_vjp(cotangent: object, inputs: object, mask: object = None,
                            axis: int = -1) -> dict[str, np.ndarray]:
    """y * (g - sum(g * y)) over the kept entries, 0 where masked, in the inputs' dtype."""
    x, keep, dtype = _layer_inputs(inputs, mask)
    axis = class_axis(axis, x.ndim)
    with np.errstate(all="ignore"):
        g, y = widen(np.asarray(cotangent, FLOATX)), _masked_softmax_wide(widen(x), keep, axis)
        # a masked input reaches nothing (Keras replaces it): its gradient is 0 even in a nan row
        return {"inputs": narrow(np.where(keep, y * (g - (g * y).sum(axis=axis, keepdims=True)), 0.0), dtype)}
