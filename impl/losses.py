"""The cross-entropy losses of `tf.nn`, with their vector-Jacobian products.

Every loss follows the convention of information theory that a zero weight times an
infinite log term contributes zero (0 * log 0 = 0): a masked (-inf) logit with label 0
adds nothing to softmax cross entropy, and sigmoid cross entropy at logits = +inf with
label 1 is 0.  TensorFlow returns nan there; the op records name those divergences.
"""

from __future__ import annotations

import numpy as np

from impl._tensors import (
    cast_like,
    class_axis,
    converted_like,
    float_tensor,
    narrow,
    same_dtype,
    same_shape,
    sum_to_shape,
    widen,
)
from impl.activations import log_softmax_wide, sigmoid_wide, softmax_wide
from impl.errors import InvalidArgumentError


def _weighted(weight: np.ndarray, term: np.ndarray) -> np.ndarray:
    """weight * term, where a zero weight contributes zero even against an infinite term."""
    return np.where((weight == 0) & np.isinf(term), 0.0, weight * term)


def _softplus(t: np.ndarray) -> np.ndarray:
    """log(1 + exp(t)) without overflow: max(t, 0) + log1p(exp(-|t|))."""
    return np.maximum(t, 0.0) + np.log1p(np.exp(-np.abs(t)))


def _class_labels(labels: object, x: np.ndarray, axis: int) -> np.ndarray:
    """Labels cast to the logits' dtype (as TF v2 does, whatever their dtype), checked against
    TF's v2 rule and broadcast to the logits' shape.

    TF flattens labels to [rows, classes] and broadcasts that against the logits'
    [rows, classes]: labels may omit leading dims and may be 1 on the class axis, but
    their non-class dims must all match the logits' or all be 1.
    """
    z = cast_like(labels, x, "labels")
    padded = (1,) * (x.ndim - z.ndim) + z.shape
    rows = [n for i, n in enumerate(padded) if i != axis]
    logit_rows = [n for i, n in enumerate(x.shape) if i != axis]
    if (
        z.ndim == 0
        or z.ndim > x.ndim
        or (z.ndim < x.ndim and axis != x.ndim - 1)
        or padded[axis] not in (1, x.shape[axis])
        or (rows != logit_rows and any(n != 1 for n in rows))
    ):
        raise InvalidArgumentError(
            f"logits and labels must be broadcastable: logits {x.shape}, labels {z.shape}, axis {axis}"
        )
    return z


def softmax_cross_entropy_with_logits(
    labels: object, logits: object, axis: int | None = -1
) -> np.ndarray:
    """`tf.nn.softmax_cross_entropy_with_logits` (v2): -sum(labels * log_softmax(logits), axis)."""
    x = float_tensor(logits, "logits")
    axis = class_axis(axis, x.ndim)
    z = _class_labels(labels, x, axis)
    with np.errstate(all="ignore"):
        terms = _weighted(widen(z), log_softmax_wide(widen(x), axis))
        return narrow(-terms.sum(axis=axis), x.dtype)


def softmax_cross_entropy_with_logits_vjp(
    cotangent: object, labels: object, logits: object, axis: int | None = -1
) -> dict[str, np.ndarray]:
    """Gradients: logits g * (sum(labels) * softmax - labels); labels -g * log_softmax."""
    x = float_tensor(logits, "logits")
    axis = class_axis(axis, x.ndim)
    z = _class_labels(labels, x, axis)
    with np.errstate(all="ignore"):
        g = np.expand_dims(widen(np.asarray(cotangent, x.dtype)), axis)
        wx, wz = widen(x), np.broadcast_to(widen(z), x.shape)
        d_logits = g * (wz.sum(axis=axis, keepdims=True) * softmax_wide(wx, axis) - wz)
        d_labels = sum_to_shape(-g * log_softmax_wide(wx, axis), z.shape)
        return {"logits": narrow(d_logits, x.dtype), "labels": narrow(d_labels, x.dtype)}


def _sparse_inputs(labels: object, logits: object) -> tuple[np.ndarray, np.ndarray]:
    """Logits of rank r+1 and int32/int64 labels of rank r, every label in [0, classes)."""
    x = float_tensor(logits, "logits")
    label = np.asarray(labels)
    if label.dtype not in (np.int32, np.int64):
        raise InvalidArgumentError(f"labels must be int32 or int64; got {label.dtype}")
    class_axis(-1, x.ndim)
    if label.shape != x.shape[:-1]:
        raise InvalidArgumentError(
            f"labels.shape must equal logits.shape without its last dim: {label.shape} vs {x.shape}"
        )
    classes = x.shape[-1]
    if classes == 0 and label.size:
        raise InvalidArgumentError("Must have at least one class")
    outside = (label < 0) | (label >= classes)
    if outside.any():
        raise InvalidArgumentError(
            f"Received a label value of {label[outside].flat[0]} which is outside the valid "
            f"range of [0, {classes})"
        )
    return label, x


def sparse_softmax_cross_entropy_with_logits(labels: object, logits: object) -> np.ndarray:
    """`tf.nn.sparse_softmax_cross_entropy_with_logits`: -log_softmax(logits)[labels]."""
    label, x = _sparse_inputs(labels, logits)
    with np.errstate(all="ignore"):
        log_p = log_softmax_wide(widen(x), -1)
        picked = np.take_along_axis(log_p, label[..., None].astype(np.intp), axis=-1)
        return narrow(-picked[..., 0], x.dtype)


def sparse_softmax_cross_entropy_with_logits_vjp(
    cotangent: object, labels: object, logits: object
) -> dict[str, np.ndarray]:
    """Gradient: logits g * (softmax - one_hot(labels)); integer labels have none."""
    label, x = _sparse_inputs(labels, logits)
    with np.errstate(all="ignore"):
        g = widen(np.asarray(cotangent, x.dtype))[..., None]
        one_hot = np.arange(x.shape[-1]) == label[..., None]
        return {"logits": narrow(g * (softmax_wide(widen(x), -1) - one_hot), x.dtype)}


def sigmoid_cross_entropy_with_logits(labels: object, logits: object) -> np.ndarray:
    """`tf.nn.sigmoid_cross_entropy_with_logits`: z * softplus(-x) + (1 - z) * softplus(x)."""
    return weighted_cross_entropy_with_logits(labels, logits, pos_weight=1.0)


def sigmoid_cross_entropy_with_logits_vjp(
    cotangent: object, labels: object, logits: object
) -> dict[str, np.ndarray]:
    """Gradients: logits g * (sigmoid(x) - z); labels -g * x."""
    grads = weighted_cross_entropy_with_logits_vjp(cotangent, labels, logits, pos_weight=1.0)
    del grads["pos_weight"]
    return grads


def _binary_inputs(labels: object, logits: object, pos_weight: object):
    x = float_tensor(logits, "logits")
    z = same_dtype(labels, x, "labels")
    same_shape(z, x)
    q = converted_like(pos_weight, x, "pos_weight")
    try:
        np.broadcast_shapes(q.shape, x.shape)
    except ValueError:
        raise InvalidArgumentError(f"pos_weight {q.shape} does not broadcast to {x.shape}") from None
    return widen(x), widen(z), widen(q), x.dtype


def weighted_cross_entropy_with_logits(
    labels: object, logits: object, pos_weight: object
) -> np.ndarray:
    """`tf.nn.weighted_cross_entropy_with_logits`: q * z * softplus(-x) + (1 - z) * softplus(x)."""
    x, z, q, dtype = _binary_inputs(labels, logits, pos_weight)
    with np.errstate(all="ignore"):
        loss = _weighted(q * z, _softplus(-x)) + _weighted(1.0 - z, _softplus(x))
        return narrow(loss, dtype)


def weighted_cross_entropy_with_logits_vjp(
    cotangent: object, labels: object, logits: object, pos_weight: object
) -> dict[str, np.ndarray]:
    """Gradients of sum(g * loss): logits, labels and pos_weight."""
    x, z, q, dtype = _binary_inputs(labels, logits, pos_weight)
    with np.errstate(all="ignore"):
        g = widen(np.asarray(cotangent, dtype))
        d_logits = g * ((1.0 - z) * sigmoid_wide(x) - q * z * sigmoid_wide(-x))
        # q * softplus(-x) - softplus(x), written so that neither side cancels: for x >= 0
        # it is -x + (q - 1) * softplus(-x), for x < 0 it is -q * x + (q - 1) * softplus(x).
        d_labels = g * np.where(x >= 0, -x + (q - 1.0) * _softplus(-x), -q * x + (q - 1.0) * _softplus(x))
        d_pos_weight = sum_to_shape(g * _weighted(z, _softplus(-x)), q.shape)
        return {
            "logits": narrow(d_logits, dtype),
            "labels": narrow(d_labels, dtype),
            "pos_weight": narrow(d_pos_weight, dtype),
        }
