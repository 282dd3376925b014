"""Formulas people write instead of the TF ops, written as they write them: in the input dtype,
with no stabilising tricks. They are wrong on purpose. The correct functions live in
`impl.activations` and `impl.losses`; tfparity/misusedb.py shows where each of these diverges
from TF's correct op, by how much, and when it happens to coincide.
"""

from __future__ import annotations

import numpy as np

from impl import losses
from impl.activations import softmax


def _sigmoid(x: np.ndarray) -> np.ndarray:
    one = x.dtype.type(1)
    return one / (one + np.exp(-x))


def multiclass_ce_of_sigmoid(labels: np.ndarray, logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """`-reduce_sum(p * log(sigmoid(q)), axis)` used as a multi-label loss (seed 003's loss1)."""
    return -np.sum(labels * np.log(_sigmoid(logits)), axis=axis)


def positive_half_of_sigmoid_ce(labels: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """`-p * log(sigmoid(q))`, the binary cross entropy without its `(1 - p)` half (seed 003's prob1)."""
    return -labels * np.log(_sigmoid(logits))


def softmax_without_max_shift(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """`exp(x) / reduce_sum(exp(x))`, as TF's own docstring writes it (seed 000)."""
    e = np.exp(logits)
    return e / np.sum(e, axis=axis, keepdims=True)


def log_of_softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """`log(softmax(x))` (seed 002's res2), taking the log of an accurate softmax."""
    return np.log(softmax(logits, axis=axis))


def softmax_ce_of_probabilities(labels: np.ndarray, logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """A softmax output fed to a `*_with_logits` op: softmax applied twice."""
    return losses.softmax_cross_entropy_with_logits(labels=labels, logits=softmax(logits, axis=axis), axis=axis)


def softmax_ce_for_multi_label(labels: np.ndarray, logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax cross entropy on multi-hot targets, which it reads as a distribution summing to m."""
    return losses.softmax_cross_entropy_with_logits(labels=labels, logits=logits, axis=axis)


def summed_sigmoid_ce_for_single_label(labels: np.ndarray, logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Sigmoid cross entropy summed over the class axis, on one-hot (single-label) targets."""
    return np.sum(losses.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits), axis=axis)


def first_non_singleton_axis(shape: tuple[int, ...]) -> int:
    """Seed 000's default axis, for an input made at least 2-D."""
    shape = (1,) * (2 - len(shape)) + tuple(shape) if len(shape) < 2 else tuple(shape)
    for axis, size in enumerate(shape):
        if size > 1:
            return axis
    raise ValueError(f"shape {shape} has no axis longer than 1, so there is no default axis")


def theta_softmax(x: np.ndarray, theta: float = 1.0, axis: int | None = None) -> np.ndarray:
    """Seed 000's NumPy softmax: `x` made at least 2-D, scaled by `theta`, normalised along `axis`,
    by default the first axis longer than 1 (not TF's last axis); a 1-D input comes back 1-D."""
    y = np.atleast_2d(x)
    axis = first_non_singleton_axis(y.shape) if axis is None else axis
    p = softmax(y * y.dtype.type(theta), axis=axis)
    return p.reshape(x.shape) if x.ndim == 1 else p


def summed_example_losses(labels: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """`reduce_sum` of per-example softmax cross entropies where a mean (Keras' default) is meant."""
    return np.sum(losses.softmax_cross_entropy_with_logits(labels=labels, logits=logits))


def mean_example_losses(labels: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """Seed 001/002's `total_loss`: `reduce_mean` of the per-example losses."""
    return np.mean(losses.softmax_cross_entropy_with_logits(labels=labels, logits=logits))


def softmax_ce_v1_labels_gradient(cotangent: np.ndarray, labels: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """What `tf.compat.v1.nn.softmax_cross_entropy_with_logits` sends into its labels: nothing
    (None, which an optimiser treats as zero); v2 sends `-cotangent * log_softmax(logits)`."""
    return np.zeros_like(labels)
