"""The exact answers of Keras's cross-entropy losses, written once as the math and evaluated two ways.

`Keras`'s formulas take an arithmetic (`Arithmetic`): long double over whole arrays
(`keras_wide`, the engine's fast exact answer, within `tfparity.wide.BOUND_EPS` of the terms) or
mpmath numbers in object arrays (`keras_exact`, one case at the working precision
`tfparity.exact.evaluate` sets). The definitions are the documented ones, as impl's are:
probabilities normalised by their sum, then clipped to Keras's [epsilon, 1 - epsilon] as the input
dtype holds them; labels smoothed toward 1/K along the loss's axis (1/2 for the binary losses);
`ignore_class` rows are 0; the binary losses average their axis. From logits, the log-softmax and
log-sigmoid forms (no clip), the binary focal loss included. A zero weight times an infinite log
term adds nothing. Non-finite inputs have no exact answer here: nan (wide) or None (mpmath).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial

import numpy as np
from mpmath import mp, mpf

from tfparity.wide import WIDE

EPSILON = 1e-7  # keras.backend.epsilon()
# a Keras activation chained into a loss, as users write them: y_pred is then the activation's logits
PIPELINES = ("softmax_then_categorical_crossentropy", "sigmoid_then_binary_crossentropy")


@dataclass(frozen=True)
class Arithmetic:
    """Where the formulas compute: a number type and its elementary functions over arrays."""

    number: Callable[[np.ndarray], np.ndarray]
    log: Callable
    log1p: Callable
    exp: Callable


LONG_DOUBLE = Arithmetic(lambda a: np.asarray(a).astype(np.float64).astype(WIDE), np.log, np.log1p, np.exp)
MPMATH = Arithmetic(np.vectorize(lambda v: mpf(float(v)), otypes=[object]),
                    *(np.vectorize(f, otypes=[object]) for f in (mp.log, mp.log1p, mp.exp)))


def _zero_where_weightless(weight: np.ndarray, term: np.ndarray) -> np.ndarray:
    """weight * term, 0 where the weight is 0 (so 0 * inf adds nothing)."""
    return np.where(weight == 0, 0, weight * np.where(weight == 0, 0, term))


def _divide(a, b):
    """a / b elementwise, as IEEE divides by 0 (+-inf, or nan for 0 / 0): mpmath raises instead."""
    zero = b == 0
    quotient = a / np.where(zero, 1, b)
    return np.where(zero, np.where(a > 0, np.inf, np.where(a < 0, -np.inf, np.nan)), quotient)


def bounds(dtype: np.dtype) -> tuple[float, float]:
    """Keras's clip bounds as `dtype` holds them."""
    return float(np.asarray(EPSILON, dtype)), float(np.asarray(1.0 - EPSILON, dtype))


class Keras:
    """The losses' values and VJPs on arrays of one arithmetic."""

    def __init__(self, a: Arithmetic, dtype: np.dtype):
        self.a = a
        self.lo, self.hi = (a.number(np.asarray(b)) for b in bounds(dtype))

    def shifted_lse(self, x: np.ndarray, axis: int) -> np.ndarray:
        """logsumexp(x) - x along `axis`: (max - x) + log1p(sum of the others' exp(x - max))."""
        axis = axis % x.ndim
        top = x.max(axis=axis, keepdims=True)
        first = np.arange(x.shape[axis]).reshape([-1 if i == axis else 1 for i in range(x.ndim)])
        is_top = first == np.argmax(x, axis=axis, keepdims=True)
        rest = np.where(is_top, 0, self.a.exp(np.where(is_top, 0, x - top))).sum(axis=axis, keepdims=True)
        return (top - x) + self.a.log1p(rest)

    def softplus(self, x: np.ndarray) -> np.ndarray:
        """log(1 + e^x)."""
        positive = x > 0
        return np.where(positive, x, 0) + self.a.log1p(self.a.exp(np.where(positive, -x, x)))

    def sigmoid(self, x: np.ndarray) -> np.ndarray:
        return 1 / (1 + self.a.exp(-x))

    def probabilities(self, p: np.ndarray, axis: int):
        """Normalised then clipped, and what the gradient needs: (c, q, sum, the clip's pass mask)."""
        total = p.sum(axis=axis, keepdims=True)
        q = p / total
        c = np.where(q < self.lo, self.lo, np.where(q > self.hi, self.hi, q))
        return c, q, total, (q >= self.lo) & (q <= self.hi)

    @staticmethod
    def normalised_vjp(u, q, total, axis):
        return (u - (u * q).sum(axis=axis, keepdims=True)) / total

    def categorical(self, check, y, x, g, axis, from_logits, smoothing, focal=None):
        """Categorical (focal when `focal` is (alpha, gamma)) cross entropy; y is smoothed."""
        if from_logits and focal is None:
            d = self.shifted_lse(x, axis)  # -log softmax
            if check == "value":
                return _zero_where_weightless(y, d).sum(axis=axis)
            g = np.expand_dims(g, axis)
            if check == "vjp_y_true":
                return g * d * (1 - smoothing)
            return g * (y.sum(axis=axis, keepdims=True) * self.a.exp(-d) - y)
        p = self.a.exp(-self.shifted_lse(x, axis)) if from_logits else x
        c, q, total, passes = self.probabilities(p, axis)
        log_c = self.a.log(c)
        alpha, gamma = focal or (1, 0)
        factor = alpha * (1 - c) ** gamma
        if check == "value":
            return -(factor * y * log_c).sum(axis=axis)
        g = np.expand_dims(g, axis)
        if check == "vjp_y_true":
            return -g * factor * log_c * (1 - smoothing)
        slope = gamma * (1 - c) ** (gamma - 1) if gamma else 0  # d (1 - c)^gamma / d (1 - c)
        d_c = g * alpha * (slope * y * log_c - (1 - c) ** gamma * y / c)
        d_p = self.normalised_vjp(np.where(passes, d_c, 0), q, total, axis)
        return p * (d_p - (d_p * p).sum(axis=axis, keepdims=True)) if from_logits else d_p

    def sparse(self, check, label, x, g, from_logits, ignored):
        classes = np.arange(x.shape[-1]) == label[..., None]
        y = np.where(classes, self.a.number(np.ones(())), self.a.number(np.zeros(())))
        value = self.categorical(check, y, x, np.where(ignored, 0, g) if g is not None else g, -1, from_logits, 0)
        return np.where(ignored, 0, value) if check == "value" else value

    def binary_terms(self, y, x, from_logits, through_sigmoid=False):
        """Per element: the cross entropy, and its derivatives in y_pred and in the label; from
        logits with no clip, or (`through_sigmoid`) of the sigmoid's clipped probabilities."""
        if from_logits:
            loss = _zero_where_weightless(y, self.softplus(-x)) + _zero_where_weightless(1 - y, self.softplus(x))
            return loss, self.sigmoid(x) - y, -x
        p = self.sigmoid(x) if through_sigmoid else x
        passes = (p >= self.lo) & (p <= self.hi)
        c = np.where(p < self.lo, self.lo, np.where(p > self.hi, self.hi, p))
        log_c, log_1c = self.a.log(c), self.a.log1p(-c)
        if through_sigmoid:  # unclipped, the logs are log-sigmoids of x
            log_c, log_1c = np.where(passes, -self.softplus(-x), log_c), np.where(passes, -self.softplus(x), log_1c)
        loss = -(_zero_where_weightless(y, log_c) + _zero_where_weightless(1 - y, log_1c))
        if through_sigmoid:
            return loss, np.where(passes, p - y, 0), log_1c - log_c
        return loss, np.where(passes, _divide(1 - y, 1 - c) - y / c, 0), log_1c - log_c

    def binary(self, check, y, x, g, axis, from_logits, smoothing, focal=None, through_sigmoid=False):
        """Binary (focal when `focal` is (balanced, alpha, gamma)) cross entropy, averaged on `axis`."""
        loss, d_loss, d_loss_y = self.binary_terms(y, x, from_logits, through_sigmoid)
        if focal is None:
            value, d_pred, d_true = loss, d_loss, d_loss_y
        else:
            balanced, alpha, gamma = focal
            s, s_off = (self.sigmoid(x), self.sigmoid(-x)) if from_logits else (x, 1 - x)
            ds = s * s_off if from_logits else 1
            away = y * s_off + (1 - y) * s  # 1 - p_t
            focus, d_focus = away ** gamma, gamma * away ** (gamma - 1)
            weight, d_weight = (y * alpha + (1 - y) * (1 - alpha), 2 * alpha - 1) if balanced else (1, 0)
            value = weight * _zero_where_weightless(focus, loss)
            d_pred = weight * (focus * d_loss - d_focus * (2 * y - 1) * ds * loss)
            d_true = weight * (focus * d_loss_y - d_focus * (2 * s - 1) * loss) + d_weight * focus * loss
        n = x.shape[axis]
        if check == "value":
            return value.sum(axis=axis) / n
        g = np.expand_dims(g, axis) / n
        return g * d_true * (1 - smoothing) if check == "vjp_y_true" else g * d_pred


def _smoothed(y, smoothing: float, classes: int | None):
    return y if not smoothing else y * (1 - smoothing) + smoothing * (0.5 if classes is None else 1 / classes)


def _finite(*arrays: np.ndarray) -> bool:
    return all(np.isfinite(np.asarray(a, np.float64)).all() for a in arrays if a is not None)


def kept_samples(loss: str, options: Mapping[str, object], inputs, shape: tuple[int, ...]) -> np.ndarray:
    """The samples (of per-sample losses of `shape`) a loss class keeps: its mask's, less the rows
    sparse_categorical_crossentropy's `ignore_class` marks."""
    kept = np.ones(shape, bool) if inputs.get("mask") is None else np.asarray(inputs["mask"], bool)
    if loss == "sparse_categorical_crossentropy" and options.get("ignore_class") is not None:
        labels = np.asarray(inputs["y_true"])
        kept = kept & ((labels[..., 0] if labels.ndim == len(shape) + 1 else labels) != options["ignore_class"])
    return kept


def _reduced(options: Mapping[str, object], a: Arithmetic, check: str, inputs, axis, g):
    """`check` of a loss class called (`reduced_loss`): the loss of the inputs in float32 (the
    class's dtype) per sample, rounded to float32 as the class's `call` returns it, weighted by the sample weights where the mask and `ignore_class`
    keep the sample and 0 elsewhere, and reduced: kept as is ("none"), summed, or summed over the
    kept samples' count ("sum_over_batch_size") or the weights' sum ("mean_with_sample_weight");
    a zero divisor gives 0. One sample's loss is its own, weighted (or weight over weight)."""
    loss, reduction = options["loss"], options["reduction"]
    per = {k: v for k, v in options.items() if k not in ("loss", "reduction")}
    floatx = {name: np.asarray(inputs[name]).astype(np.float32) for name in ("y_true", "y_pred")}
    # the losses the class's `call` returns, float32 numbers, which the reduction then takes exactly
    values = a.number(np.asarray(_compute(loss, per, a, "value", floatx, axis, None), np.float64).astype(np.float32))
    kept = kept_samples(loss, per, inputs, values.shape)
    weight = np.ones(values.shape) if inputs.get("sample_weight") is None else np.asarray(inputs["sample_weight"], np.float32)
    if weight.ndim == values.ndim + 1 and weight.shape[-1:] == (1,):  # [N, T, 1] weights on [N, T] losses
        weight = weight[..., 0]
    w = np.where(kept, a.number(weight), 0)
    weighted = _zero_where_weightless(w, values)
    unreduced = reduction == "none" or values.shape == (0,)
    masked = inputs.get("mask") is not None or not kept.all()
    divisor = {"sum": 1, "sum_over_batch_size": kept.sum() if masked else values.size,
               "mean_with_sample_weight": w.sum() if inputs.get("sample_weight") is not None
               else (kept.sum() if masked else values.size)}.get(reduction, 1)
    mean = 0 if unreduced or divisor == 0 else weighted.sum() / divisor
    if check == "value":
        return weighted if unreduced else np.asarray(mean)
    # the cotangent of the class's float32 loss, as TF takes it
    slope = np.asarray(g).astype(np.float32).astype(np.float64) * (
        1.0 if unreduced else (0.0 if divisor == 0 else 1.0 / float(divisor)))
    if check == "vjp_sample_weight":
        return np.where(kept, slope * (values - (mean if reduction == "mean_with_sample_weight" else 0)), 0)
    per_sample = np.broadcast_to(slope * np.where(kept, weight, 0.0), values.shape)
    return _compute(loss, per, a, check, floatx, axis, per_sample)


def _compute(loss: str, options: Mapping[str, object], a: Arithmetic, check: str, inputs, axis, g):
    """`check` of one Keras loss on whole arrays in arithmetic `a`."""
    if loss == "reduced_loss":
        return _reduced(options, a, check, inputs, axis, g)
    x = np.asarray(inputs["logits" if loss in PIPELINES else "y_pred"])
    k = Keras(a, x.dtype)
    xs, gs = a.number(x), None if g is None else a.number(np.asarray(g))
    smoothing = float(options.get("label_smoothing", 0.0))
    from_logits = bool(options.get("from_logits", False))
    axis = axis % x.ndim
    if loss == "sparse_categorical_crossentropy":
        label = np.asarray(inputs["y_true"])
        label = label[..., 0] if label.ndim == x.ndim else label
        ignored = (label == options["ignore_class"]) if options.get("ignore_class") is not None else np.zeros(label.shape, bool)
        return k.sparse(check, np.where(ignored, 0, label).astype(np.int64), xs, gs, from_logits, ignored)
    if loss == "sigmoid_then_binary_crossentropy":
        return k.binary(check, a.number(np.asarray(inputs["y_true"])), xs, gs, axis, False, 0.0, through_sigmoid=True)
    if loss == "softmax_then_categorical_crossentropy":
        return k.categorical(check, a.number(np.asarray(inputs["y_true"])), xs, gs, axis, True, 0.0, (1, 0))
    binary = loss.startswith("binary")
    y = _smoothed(a.number(np.asarray(inputs["y_true"])), smoothing, None if binary else x.shape[axis])
    if binary:
        focal = ((bool(options.get("apply_class_balancing", False)), options.get("alpha", 0.25), options.get("gamma", 2.0))
                 if "focal" in loss else None)
        return k.binary(check, y, xs, gs, axis, from_logits, smoothing, focal)
    focal = (options.get("alpha", 0.25), options.get("gamma", 2.0)) if "focal" in loss else None
    return k.categorical(check, y, xs, gs, axis, from_logits, smoothing, focal)


def keras_wide(loss: str, options: Mapping[str, object], check, inputs, axis, g) -> np.ndarray:
    """The engine's `wide` for a Keras loss: long double over the (possibly batched) arrays;
    nan for a case with a non-finite input."""
    with np.errstate(all="ignore"):
        value = _compute(loss, options, LONG_DOUBLE, check, inputs, axis, g)
    finite = _finite(inputs["logits" if loss in PIPELINES else "y_pred"], g, *(() if loss.startswith("sparse") else (inputs["y_true"],)))
    return np.asarray(value, WIDE) if finite else np.full(np.shape(value), np.nan, WIDE)


def keras_exact(loss: str, options: Mapping[str, object], check, inputs, axis, g, index) -> mpf | None:
    """The engine's `exact` for a Keras loss: element `index` in mpmath at the working precision.
    The formulas run over the whole case; its elements asked in turn (a check's several, at each
    precision `tfparity.exact.evaluate` tries) reuse that evaluation."""
    if not _finite(inputs["logits" if loss in PIPELINES else "y_pred"], g, *(() if loss.startswith("sparse") else (inputs["y_true"],))):
        return None
    key = (loss, repr(sorted(options.items())), check, axis, mp.prec, _digest(inputs, g))
    if key not in _EVALUATED:
        if len(_EVALUATED) >= EVALUATIONS_KEPT:
            _EVALUATED.pop(next(iter(_EVALUATED)))
        _EVALUATED[key] = np.asarray(_compute(loss, options, MPMATH, check, inputs, axis, g), dtype=object)
    return _EVALUATED[key][index]


EVALUATIONS_KEPT = 8  # whole-case mpmath arrays kept: a case's check at the precisions evaluate tries
_EVALUATED: dict[tuple, np.ndarray] = {}


def _digest(inputs: Mapping[str, object], g) -> str:
    """The case's arrays, their dtypes and shapes, as a key."""
    h = hashlib.blake2b(digest_size=16)
    for name, value in sorted(inputs.items()) + ([] if g is None else [("cotangent", g)]):
        array = np.asarray(value)
        h.update(f"{name}:{array.dtype.str}:{array.shape}".encode())
        h.update(np.ascontiguousarray(array).tobytes())
    return h.hexdigest()


def references(loss: str, options: Mapping[str, object]) -> tuple[Callable, Callable]:
    """(exact, wide) for one loss under fixed keyword options."""
    return partial(keras_exact, loss, options), partial(keras_wide, loss, options)

