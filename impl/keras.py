"""Keras 3's cross-entropy losses (`keras.losses.<name>`), with their vector-Jacobian products.

Each function takes Keras's names and keywords and gives the per-sample loss Keras's function
gives (the class axis reduced; the binary losses average it). What Keras documents, impl
reproduces: probabilities are clipped to [epsilon, 1 - epsilon] (epsilon = 1e-7, held in the
input's dtype as Keras's constant is), categorical probabilities are normalised by their sum
first, label smoothing moves labels toward 1/K (K the classes along `axis`; binary: toward 1/2),
rows of `ignore_class` give 0. Everything else is the exact math, computed wide and rounded
once, so where Keras's own arithmetic departs (the class count of the last axis, clipping
before normalising, nan from 0 * log 0) the records name the divergence.

With `from_logits=True` the losses use the logits directly (log_softmax, log-sigmoid): the
binary focal loss too, as Keras does on TensorFlow, where its sigmoid carries its logits.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

import numpy as np

from impl._tensors import cast_like, class_axis, float_tensor, narrow, widen
from impl.activations import log_softmax_wide, sigmoid_wide, softmax_wide
from impl.errors import InvalidArgumentError

EPSILON = 1e-7  # keras.backend.epsilon()


def _weighted(weight: np.ndarray, term: np.ndarray) -> np.ndarray:
    """weight * term, where a zero weight contributes zero even against an infinite term."""
    return np.where((weight == 0) & np.isinf(term), 0.0, weight * term)


def _softplus(t: np.ndarray) -> np.ndarray:
    return np.maximum(t, 0.0) + np.log1p(np.exp(-np.abs(t)))


# The dtype the clip bounds are held in when it is not the input's: a loss class computes its
# float32 losses here in float64 (impl.reduction), rounding once, with float32's bounds.
_CLIP_DTYPE: contextvars.ContextVar[np.dtype | None] = contextvars.ContextVar("clip_dtype", default=None)


@contextlib.contextmanager
def clipping_as(dtype: np.dtype) -> Iterator[None]:
    """Within it, the losses clip probabilities to [epsilon, 1 - epsilon] as `dtype` holds them."""
    token = _CLIP_DTYPE.set(np.dtype(dtype))
    try:
        yield
    finally:
        _CLIP_DTYPE.reset(token)


def _bounds(dtype: np.dtype, wide: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """[epsilon, 1 - epsilon] as the input's dtype holds them (float16: 1 - epsilon is 1)."""
    dtype = _CLIP_DTYPE.get() or dtype
    return np.asarray(EPSILON, dtype).astype(wide), np.asarray(1.0 - EPSILON, dtype).astype(wide)


def _inputs(y_true: object, y_pred: object, same_shape: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """y_pred as a float tensor and y_true cast to its dtype, of one shape and rank >= 1."""
    p = float_tensor(y_pred, "y_pred")
    y = cast_like(y_true, p, "y_true")
    if same_shape and (y.shape != p.shape or p.ndim == 0):
        raise InvalidArgumentError(f"y_true and y_pred must have one shape of rank >= 1: {y.shape} vs {p.shape}")
    return y, p


def _smoothed(y: np.ndarray, smoothing: float, classes: int | None) -> np.ndarray:
    """Labels moved toward 1/classes (None: toward 1/2)."""
    if not smoothing:
        return y
    return y * (1.0 - smoothing) + smoothing * (0.5 if classes is None else 1.0 / classes)


def _normalised(p: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """p / sum(p) along the class axis, and the sum."""
    total = p.sum(axis=axis, keepdims=True)
    return p / total, total


def _normalised_vjp(u: np.ndarray, q: np.ndarray, total: np.ndarray, axis: int) -> np.ndarray:
    """The gradient through q = p / sum(p): (u - sum(u * q)) / sum(p)."""
    return (u - (u * q).sum(axis=axis, keepdims=True)) / total


def _clipped(q: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """clip(q, lo, hi), and where its gradient passes (inside the bounds, the bounds included)."""
    return np.clip(q, lo, hi), (q >= lo) & (q <= hi)


# --- categorical --------------------------------------------------------------------------------

def _categorical_parts(y_true, y_pred, from_logits, label_smoothing, axis):
    y, p = _inputs(y_true, y_pred)
    axis = class_axis(axis, p.ndim)
    return widen(y), widen(p), _smoothed(widen(y), label_smoothing, p.shape[axis]), axis, p.dtype


def _probabilities(p: np.ndarray, axis: int, dtype: np.dtype):
    """Normalised, then clipped: the probabilities Keras takes the log of, and what the
    gradient needs (the normalised values, their sum, the clip's pass mask)."""
    q, total = _normalised(p, axis)
    c, passes = _clipped(q, *_bounds(dtype, p.dtype))
    return c, q, total, passes


def categorical_crossentropy(y_true: object, y_pred: object, from_logits: bool = False,
                             label_smoothing: float = 0.0, axis: int = -1) -> np.ndarray:
    """`keras.losses.categorical_crossentropy`: -sum(y * log p) along `axis`."""
    _, p, y, axis, dtype = _categorical_parts(y_true, y_pred, from_logits, label_smoothing, axis)
    with np.errstate(all="ignore"):
        log_p = log_softmax_wide(p, axis) if from_logits else np.log(_probabilities(p, axis, dtype)[0])
        return narrow(-_weighted(y, log_p).sum(axis=axis), dtype)


def categorical_crossentropy_vjp(cotangent: object, y_true: object, y_pred: object, from_logits: bool = False,
                                 label_smoothing: float = 0.0, axis: int = -1) -> dict[str, np.ndarray]:
    """Gradients for y_pred (logits or probabilities) and y_true."""
    _, p, y, axis, dtype = _categorical_parts(y_true, y_pred, from_logits, label_smoothing, axis)
    with np.errstate(all="ignore"):
        g = np.expand_dims(widen(np.asarray(cotangent, dtype)), axis)
        if from_logits:
            log_p = log_softmax_wide(p, axis)
            d_pred = g * (y.sum(axis=axis, keepdims=True) * softmax_wide(p, axis) - y)
        else:
            c, q, total, passes = _probabilities(p, axis, dtype)
            log_p = np.log(c)
            d_pred = _normalised_vjp(np.where(passes, -g * y / c, 0.0), q, total, axis)
        return {"y_pred": narrow(d_pred, dtype), "y_true": narrow(-g * log_p * (1.0 - label_smoothing), dtype)}


def categorical_focal_crossentropy(y_true: object, y_pred: object, alpha: float = 0.25, gamma: float = 2.0,
                                   from_logits: bool = False, label_smoothing: float = 0.0,
                                   axis: int = -1) -> np.ndarray:
    """`keras.losses.categorical_focal_crossentropy`: sum(alpha (1 - p)^gamma (-y log p)) along
    `axis`, with p the clipped probabilities (a softmax first, from logits)."""
    _, p, y, axis, dtype = _categorical_parts(y_true, y_pred, from_logits, label_smoothing, axis)
    with np.errstate(all="ignore"):
        c = _probabilities(softmax_wide(p, axis) if from_logits else p, axis, dtype)[0]
        return narrow((alpha * (1.0 - c) ** gamma * -_weighted(y, np.log(c))).sum(axis=axis), dtype)


def categorical_focal_crossentropy_vjp(cotangent: object, y_true: object, y_pred: object, alpha: float = 0.25,
                                       gamma: float = 2.0, from_logits: bool = False, label_smoothing: float = 0.0,
                                       axis: int = -1) -> dict[str, np.ndarray]:
    """Gradients for y_pred (through the softmax, from logits) and y_true."""
    _, x, y, axis, dtype = _categorical_parts(y_true, y_pred, from_logits, label_smoothing, axis)
    with np.errstate(all="ignore"):
        g = np.expand_dims(widen(np.asarray(cotangent, dtype)), axis)
        p = softmax_wide(x, axis) if from_logits else x
        c, q, total, passes = _probabilities(p, axis, dtype)
        log_c = np.log(c)
        slope = gamma * (1.0 - c) ** (gamma - 1.0) if gamma else 0.0  # d (1 - c)^gamma / d (1 - c)
        d_c = g * alpha * (slope * _weighted(y, log_c) - (1.0 - c) ** gamma * y / c)
        d_p = _normalised_vjp(np.where(passes, d_c, 0.0), q, total, axis)
        d_pred = p * (d_p - (d_p * p).sum(axis=axis, keepdims=True)) if from_logits else d_p
        d_true = -g * alpha * (1.0 - c) ** gamma * log_c * (1.0 - label_smoothing)
        return {"y_pred": narrow(d_pred, dtype), "y_true": narrow(d_true, dtype)}


def softmax_then_categorical_crossentropy(y_true: object, logits: object, axis: int = -1) -> np.ndarray:
    """`keras.losses.categorical_crossentropy(y_true, keras.activations.softmax(logits, axis), axis=axis)`,
    as users chain them: the loss of the softmax's probabilities, clipped as probabilities are.
    (Keras on TensorFlow recovers the logits from the softmax instead: a named divergence.)"""
    return categorical_focal_crossentropy(y_true, logits, alpha=1.0, gamma=0.0, from_logits=True, axis=axis)


def softmax_then_categorical_crossentropy_vjp(cotangent: object, y_true: object, logits: object,
                                              axis: int = -1) -> dict[str, np.ndarray]:
    grads = categorical_focal_crossentropy_vjp(cotangent, y_true, logits, alpha=1.0, gamma=0.0, from_logits=True,
                                               axis=axis)
    return {"logits": grads["y_pred"], "y_true": grads["y_true"]}


# --- sparse -------------------------------------------------------------------------------------

def _sparse_parts(y_true, y_pred, ignore_class, axis):
    """Logits or probabilities, and integer labels of the batch's shape (a trailing 1 dropped);
    labels equal to `ignore_class` are marked and read as class 0."""
    p = float_tensor(y_pred, "y_pred")
    class_axis(axis, p.ndim)
    if axis not in (-1, p.ndim - 1):
        raise InvalidArgumentError(f"sparse_categorical_crossentropy takes axis=-1 only, got {axis}")
    label = np.asarray(y_true)
    if label.ndim == p.ndim and label.shape[-1:] == (1,):
        label = label[..., 0]
    if label.shape != p.shape[:-1]:
        raise InvalidArgumentError(f"y_true {label.shape} must be y_pred {p.shape} without its last dim")
    if label.dtype.kind not in "iuf" or (label.dtype.kind == "f" and not np.all(label == np.trunc(label))):
        raise InvalidArgumentError(f"y_true must hold integer class indices, got {label.dtype}")
    ignored = np.zeros(label.shape, bool) if ignore_class is None else label == ignore_class
    label = np.where(ignored, 0, label).astype(np.int64)
    if label.size and (label.min() < 0 or label.max() >= p.shape[-1]):
        raise InvalidArgumentError(f"a label is outside the valid range of [0, {p.shape[-1]})")
    return label, ignored, widen(p), p.dtype


def sparse_categorical_crossentropy(y_true: object, y_pred: object, from_logits: bool = False,
                                    ignore_class: int | None = None, axis: int = -1) -> np.ndarray:
    """`keras.losses.sparse_categorical_crossentropy`: categorical cross entropy against the
    one-hot label (probabilities normalised, then clipped); `ignore_class` rows give 0."""
    label, ignored, p, dtype = _sparse_parts(y_true, y_pred, ignore_class, axis)
    with np.errstate(all="ignore"):
        log_p = log_softmax_wide(p, -1) if from_logits else np.log(_probabilities(p, -1, dtype)[0])
        picked = np.take_along_axis(log_p, label[..., None], axis=-1)[..., 0]
        return narrow(np.where(ignored, 0.0, -picked), dtype)


def sparse_categorical_crossentropy_vjp(cotangent: object, y_true: object, y_pred: object, from_logits: bool = False,
                                        ignore_class: int | None = None, axis: int = -1) -> dict[str, np.ndarray]:
    """The gradient for y_pred; integer labels have none."""
    label, ignored, p, dtype = _sparse_parts(y_true, y_pred, ignore_class, axis)
    with np.errstate(all="ignore"):
        g = np.where(ignored, 0.0, widen(np.asarray(cotangent, dtype)))[..., None]
        one_hot = np.arange(p.shape[-1]) == label[..., None]
        if from_logits:
            d_pred = g * (softmax_wide(p, -1) - one_hot)
        else:
            c, q, total, passes = _probabilities(p, -1, dtype)
            d_pred = _normalised_vjp(np.where(passes & one_hot, -g / c, 0.0), q, total, -1)
        return {"y_pred": narrow(d_pred, dtype)}


# --- binary -------------------------------------------------------------------------------------

def _binary_parts(y_true, y_pred, label_smoothing, axis):
    y, p = _inputs(y_true, y_pred)
    axis = class_axis(axis, p.ndim)
    return widen(p), _smoothed(widen(y), label_smoothing, None), axis, p.dtype


def _binary_terms(y: np.ndarray, p: np.ndarray, from_logits: bool, dtype: np.dtype):
    """Per element: the cross entropy, its derivative in y_pred and in the smoothed label."""
    if from_logits:
        loss = _weighted(y, _softplus(-p)) + _weighted(1.0 - y, _softplus(p))
        return loss, sigmoid_wide(p) - y, -p
    c, passes = _clipped(p, *_bounds(dtype, p.dtype))
    log_c, log_1c = np.log(c), np.log1p(-c)
    loss = -(_weighted(y, log_c) + _weighted(1.0 - y, log_1c))
    return loss, np.where(passes, (1.0 - y) / (1.0 - c) - y / c, 0.0), log_1c - log_c


def _sigmoid_terms(y: np.ndarray, x: np.ndarray, dtype: np.dtype):
    """Per element: the cross entropy of clip(sigmoid(x)), and its derivatives in x and the label."""
    lo, hi = _bounds(dtype, x.dtype)
    s = sigmoid_wide(x)
    passes = (s >= lo) & (s <= hi)
    c = np.clip(s, lo, hi)
    # unclipped, log c and log(1 - c) are log-sigmoids: neither cancels nor underflows
    log_c = np.where(passes, -_softplus(-x), np.log(c))
    log_1c = np.where(passes, -_softplus(x), np.log1p(-c))
    loss = -(_weighted(y, log_c) + _weighted(1.0 - y, log_1c))
    return loss, np.where(passes, s - y, 0.0), log_1c - log_c


def sigmoid_then_binary_crossentropy(y_true: object, logits: object, axis: int = -1) -> np.ndarray:
    """`keras.losses.binary_crossentropy(y_true, keras.activations.sigmoid(logits), axis=axis)`: the
    loss of the sigmoid's probabilities, clipped. (Keras on TensorFlow recovers the logits.)"""
    x, y, axis, dtype = _binary_parts(y_true, logits, 0.0, axis)
    with np.errstate(all="ignore"):
        return narrow(_sigmoid_terms(y, x, dtype)[0].mean(axis=axis), dtype)


def sigmoid_then_binary_crossentropy_vjp(cotangent: object, y_true: object, logits: object,
                                         axis: int = -1) -> dict[str, np.ndarray]:
    x, y, axis, dtype = _binary_parts(y_true, logits, 0.0, axis)
    with np.errstate(all="ignore"):
        g = np.expand_dims(widen(np.asarray(cotangent, dtype)), axis) / x.shape[axis]
        _, d_x, d_y = _sigmoid_terms(y, x, dtype)
        return {"logits": narrow(g * d_x, dtype), "y_true": narrow(g * d_y, dtype)}


def binary_crossentropy(y_true: object, y_pred: object, from_logits: bool = False,
                        label_smoothing: float = 0.0, axis: int = -1) -> np.ndarray:
    """`keras.losses.binary_crossentropy`: the mean along `axis` of -(y log p + (1 - y) log(1 - p))."""
    p, y, axis, dtype = _binary_parts(y_true, y_pred, label_smoothing, axis)
    with np.errstate(all="ignore"):
        return narrow(_binary_terms(y, p, from_logits, dtype)[0].mean(axis=axis), dtype)


def binary_crossentropy_vjp(cotangent: object, y_true: object, y_pred: object, from_logits: bool = False,
                            label_smoothing: float = 0.0, axis: int = -1) -> dict[str, np.ndarray]:
    """Gradients for y_pred and y_true."""
    p, y, axis, dtype = _binary_parts(y_true, y_pred, label_smoothing, axis)
    with np.errstate(all="ignore"):
        g = np.expand_dims(widen(np.asarray(cotangent, dtype)), axis) / p.shape[axis]
        _, d_pred, d_label = _binary_terms(y, p, from_logits, dtype)
        return {"y_pred": narrow(g * d_pred, dtype), "y_true": narrow(g * d_label * (1.0 - label_smoothing), dtype)}


def _focal_parts(y, p, apply_class_balancing, alpha, gamma, from_logits, dtype):
    """Per element: the focal loss and its derivatives in y_pred and in the smoothed label."""
    loss, d_loss, d_loss_y = _binary_terms(y, p, from_logits, dtype)
    s = sigmoid_wide(p) if from_logits else p
    s_off = sigmoid_wide(-p) if from_logits else 1.0 - p  # 1 - s, without cancelling
    ds = s * s_off if from_logits else 1.0  # d s / d y_pred
    away = y * s_off + (1.0 - y) * s  # 1 - p_t, written so that it does not cancel to 0 as p_t nears 1
    focal = away ** gamma
    d_focal = gamma * away ** (gamma - 1.0)  # d focal / d away
    weight, d_weight = ((y * alpha + (1.0 - y) * (1.0 - alpha)), 2.0 * alpha - 1.0) if apply_class_balancing else (1.0, 0.0)
    value = weight * _weighted(focal, loss)
    d_pred = weight * (focal * d_loss - d_focal * (2.0 * y - 1.0) * ds * loss)
    d_true = weight * (focal * d_loss_y - d_focal * (2.0 * s - 1.0) * loss) + d_weight * focal * loss
    return value, d_pred, d_true


def binary_focal_crossentropy(y_true: object, y_pred: object, apply_class_balancing: bool = False,
                              alpha: float = 0.25, gamma: float = 2.0, from_logits: bool = False,
                              label_smoothing: float = 0.0, axis: int = -1) -> np.ndarray:
    """`keras.losses.binary_focal_crossentropy`: the mean along `axis` of
    (1 - p_t)^gamma times the binary cross entropy, weighted by alpha if balancing classes."""
    p, y, axis, dtype = _binary_parts(y_true, y_pred, label_smoothing, axis)
    with np.errstate(all="ignore"):
        value = _focal_parts(y, p, apply_class_balancing, alpha, gamma, from_logits, dtype)[0]
        return narrow(value.mean(axis=axis), dtype)


def binary_focal_crossentropy_vjp(cotangent: object, y_true: object, y_pred: object,
                                  apply_class_balancing: bool = False, alpha: float = 0.25, gamma: float = 2.0,
                                  from_logits: bool = False, label_smoothing: float = 0.0,
                                  axis: int = -1) -> dict[str, np.ndarray]:
    """Gradients for y_pred and y_true."""
    p, y, axis, dtype = _binary_parts(y_true, y_pred, label_smoothing, axis)
    with np.errstate(all="ignore"):
        g = np.expand_dims(widen(np.asarray(cotangent, dtype)), axis) / p.shape[axis]
        _, d_pred, d_true = _focal_parts(y, p, apply_class_balancing, alpha, gamma, from_logits, dtype)
        return {"y_pred": narrow(g * d_pred, dtype), "y_true": narrow(g * d_true * (1.0 - label_smoothing), dtype)}
