"""The scales: the size of the terms TF's formula adds, per op and check, in the check's output
shape. A check's absolute budget is `abs_eps` eps times its scale, so a scale sizes a tolerance:
it is written here from the mathematics, in float64, and calls nothing of impl's (a bug in impl
must not move the bound impl is held to; tests/test_independence.py holds that).
"""

from __future__ import annotations

import ml_dtypes
import numpy as np

from tfparity.dtypes import f64
from tfparity.records import Inputs

Sizes = dict[str, np.ndarray | float]  # per check, the size of its terms
from tfparity.wide import sum_to_shape


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    """exp(x - max) / sum(exp(x - max)) along `axis` (nan in a row holding +inf or nan)."""
    if x.size == 0:
        return x.copy()
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)), as exp(-|x|) over 1 + exp(-|x|) where x < 0 (neither side overflows)."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0, e) / (1.0 + e)


def _shift(x: np.ndarray, axis: int) -> np.ndarray:
    """|x - max|, the size of the shifted logits TF subtracts from."""
    with np.errstate(invalid="ignore"):
        return np.abs(x - x.max(axis=axis, keepdims=True)) if x.size else x


def _softplus_terms(x: np.ndarray) -> np.ndarray:
    """log1p(exp(-|x|)) + max(-x, 0): the softplus(-x) TF builds from two terms."""
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0.0)


def _exp_terms(x: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """softmax(x), and the relative error bound of TF's exp(x - max) / sum in units of eps.

    Rounding x - max costs eps * |x - max| absolute, which exp turns into relative error;
    summing C terms costs about log2(C) eps more.
    """
    return _softmax(x, axis), _shift(x, axis) + 1.0 + _sum_terms(x, axis)


def _sum_terms(x: np.ndarray, axis: int) -> float:
    """The rounding of a C-term (pairwise, vectorized) sum, in eps: log2(C)."""
    return float(np.log2(max(x.shape[axis], 1))) if x.ndim else 0.0


def softmax_scales(inputs: Inputs, axis: int, g: np.ndarray | None) -> Sizes:
    """softmax: y times its relative error; the VJP (g - sum(g y)) y, with y's own error."""
    y, rel = _exp_terms(f64(inputs, "logits"), axis)
    scales = {"value": y * rel}
    if g is not None:
        g = np.abs(g.astype(np.float64))
        dot = (g * y).sum(axis=axis, keepdims=True)
        # TF's gradient (g - dot) * y reuses its output y, which the value check lets sit 2 ULP
        # off: below the smallest normal (f16: y < 6e-5) that is 2 subnormal steps, not 2 eps * y.
        subnormal_y = 4 * _subnormal_steps(inputs["logits"].dtype)
        scales["vjp_logits"] = y * (rel * (g + dot) + g + dot) + (g + dot) * subnormal_y
    return scales


def log_softmax_scales(inputs: Inputs, axis: int, g: np.ndarray | None) -> Sizes:
    """log_softmax: (x - max) - log(sum), absolute in its terms; the VJP g - y sum(g)."""
    y, rel = _exp_terms(f64(inputs, "logits"), axis)
    scales = {"value": rel}
    if g is not None:
        g = np.abs(g.astype(np.float64))
        scales["vjp_logits"] = g + y * rel * g.sum(axis=axis, keepdims=True)
    return scales


def sigmoid_scales(inputs: Inputs, axis: int, g: np.ndarray | None) -> Sizes:
    """sigmoid: nothing cancels in the value; the VJP g y (1 - y) is held to |g| y."""
    x = f64(inputs, "x")
    return {"value": 0.0, "vjp_x": 0.0 if g is None else np.abs(g.astype(np.float64)) * _sigmoid(x)}


def softmax_ce_scales(inputs: Inputs, axis: int, g: np.ndarray | None) -> Sizes:
    """Softmax CE: sum(z (lse - x)) over the row; the logits VJP sum(z) y - z; the labels VJP lse - x."""
    x = f64(inputs, "logits")
    y, rel = _exp_terms(x, axis)
    z = np.broadcast_to(f64(inputs, "labels"), x.shape)
    scales = {"value": (1.0 + _sum_terms(x, axis)) * (np.abs(z) * rel).sum(axis=axis)}
    if g is not None:
        g = np.expand_dims(np.abs(g.astype(np.float64)), axis)
        total = np.abs(z.sum(axis=axis, keepdims=True))
        scales["vjp_logits"] = g * (y * rel * total + np.abs(z))
        scales["vjp_labels"] = sum_to_shape(g * rel, np.shape(inputs["labels"]))
    return scales


def sparse_ce_scales(inputs: Inputs, axis: int, g: np.ndarray | None) -> Sizes:
    """Sparse CE: lse - x[label]; the logits VJP y - one_hot(label)."""
    x = f64(inputs, "logits")
    y, rel = _exp_terms(x, -1)
    labels = inputs["labels"][..., None]
    scales = {"value": np.take_along_axis(rel, labels.astype(np.intp), axis=-1)[..., 0]}
    if g is not None:
        one_hot = np.arange(x.shape[-1]) == labels
        scales["vjp_logits"] = np.abs(g.astype(np.float64))[..., None] * (y * rel + one_hot)
    return scales


def weighted_ce_scales(inputs: Inputs, axis: int, g: np.ndarray | None) -> Sizes:
    """Weighted CE: TF adds (1 - z) * x and (1 + (q - 1) z) * (log1p(exp(-|x|)) + max(-x, 0))."""
    x, z = f64(inputs, "logits"), f64(inputs, "labels")
    q = f64(inputs, "pos_weight") if "pos_weight" in inputs else 1.0
    weight = 1.0 + np.abs((q - 1.0) * z)  # TF's 1 + (q - 1) * z, with its own rounding
    scales = {"value": np.abs((1.0 - z) * x) + weight * (_softplus_terms(x) + _subnormal_steps(inputs["logits"].dtype))}
    if g is not None:
        g = np.abs(g.astype(np.float64))
        scales["vjp_logits"] = g * (np.abs(1.0 - z) + weight)
        scales["vjp_labels"] = g * (np.abs(x) + np.abs(q - 1.0) * _softplus_terms(x))
        scales["vjp_pos_weight"] = sum_to_shape(pos_weight_terms(x, z, g), np.shape(inputs.get("pos_weight", 0.0)))
    return scales


def _subnormal_steps(dtype: np.dtype) -> float:
    """TF composes the binary losses from separate ops, each rounding to the input dtype: an
    exp(-|x|) below the dtype's smallest normal (f16: x > 9.7) keeps only half a subnormal step
    of absolute precision, which log1p passes on. In units of eps, to add to a scale."""
    info = ml_dtypes.finfo(dtype)
    return float(info.smallest_subnormal) / 2 / float(info.eps)


def pos_weight_terms(x: np.ndarray, z: np.ndarray, g: np.ndarray) -> np.ndarray:
    """|g * z * softplus(-x)|: the terms TF sums into the pos_weight gradient."""
    return np.abs(g * z) * _softplus_terms(x)


def sigmoid_ce_scales(inputs: Inputs, axis: int, g: np.ndarray | None) -> Sizes:
    """Sigmoid CE: TF adds max(x, 0), -x * z and log1p(exp(-|x|)), which cancel for z near 1."""
    x, z = f64(inputs, "logits"), f64(inputs, "labels")
    scales = weighted_ce_scales(inputs, axis, g)
    scales["value"] = (np.maximum(x, 0.0) + np.abs(x * z) + np.log1p(np.exp(-np.abs(x)))
                       + _subnormal_steps(inputs["logits"].dtype))
    return scales
