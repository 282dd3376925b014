"""Keras 3's loss classes called: `keras.losses.<Loss>(reduction=...)(y_true, y_pred, sample_weight)`.

`reduced_loss` names the loss by its function (`loss="categorical_crossentropy"`) and takes the
class's keywords. What Keras documents, impl reproduces: the inputs are cast to the loss's dtype
(floatx, float32) and the per-sample losses computed there; a mask (the Keras mask `y_pred`
carries, here `mask`) and `ignore_class` rows take weight 0; the weights are then applied and
reduced: "none" keeps their shape, "sum" sums, "sum_over_batch_size" divides the sum by the
count of samples (the unmasked ones, with a mask), "mean_with_sample_weight" by the sum of the
weights; a zero divisor gives 0. The reduction is computed wide and rounded once. Keras returns
the loss of one sample (shape ()) or of none (shape (0,)) unreduced; impl keeps the second (an
empty loss stays empty) and averages the first (a named divergence where its weight is not 1).
"""

from __future__ import annotations

import numpy as np

import impl.keras
from impl._tensors import FLOATX, narrow, sum_to_shape, widen
from impl.errors import InvalidArgumentError

REDUCTIONS = ("none", "sum", "sum_over_batch_size", "mean_with_sample_weight")


def _same_rank(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keras's squeeze_or_expand_to_same_rank: a trailing axis of 1 on the higher rank side is
    dropped (or, against rank 1, added to the other side) when the ranks differ by one."""
    if a.ndim == b.ndim + 1 and a.shape[-1:] == (1,):
        return (a, b[..., None]) if b.ndim == 1 else (a[..., 0], b)
    if b.ndim == a.ndim + 1 and b.shape[-1:] == (1,):
        return (a[..., None], b) if a.ndim == 1 else (a, b[..., 0])
    return a, b


def _broadcast_product(a: np.ndarray, b: np.ndarray, what: str) -> np.ndarray:
    a, b = _same_rank(a, b)
    try:
        return a * b
    except ValueError:
        raise InvalidArgumentError(f"{what}: shapes {a.shape} and {b.shape} do not broadcast") from None


def _options(loss: str, options: dict[str, object]) -> dict[str, object]:
    if not hasattr(impl.keras, loss) or loss.endswith("_vjp"):
        raise InvalidArgumentError(f"no Keras loss {loss!r}")
    return options


def _inputs(y_true: object, y_pred: object) -> tuple[np.ndarray, np.ndarray, np.dtype]:
    """Both inputs in floatx and matched in rank, as the loss class casts and matches them (a
    one-class y_pred one rank above the labels loses its last axis), and y_pred's own dtype."""
    pred = np.asarray(y_pred)
    y, p = _same_rank(np.asarray(y_true).astype(FLOATX), pred.astype(FLOATX))
    return y, p, pred.dtype


def _weights(sample_weight: object, mask: object, reduction: str,
             ignored: np.ndarray | None) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The weights the mask and `ignore_class` give (None: neither applies), and those merged with
    the sample weights as Keras merges them (None: no weights at all), wide."""
    keep = None if mask is None else np.asarray(mask, bool)
    if ignored is not None:
        keep = ~ignored if keep is None else keep & ~ignored
    masked = None if keep is None else keep.astype(np.float64)
    if masked is not None and reduction == "sum_over_batch_size":  # each kept sample counts total / kept
        masked = masked * (keep.size / keep.sum() if keep.sum() else 0.0)
    user = None if sample_weight is None else widen(np.asarray(sample_weight).astype(FLOATX))
    if masked is None or user is None:
        return masked, user if masked is None else masked
    return masked, _broadcast_product(masked, user, "mask and sample_weight")


def _ignored(loss: str, y_true: np.ndarray, values: np.ndarray, options: dict[str, object]) -> np.ndarray | None:
    """The samples sparse_categorical_crossentropy's `ignore_class` masks."""
    if loss != "sparse_categorical_crossentropy" or options.get("ignore_class") is None:
        return None
    label = y_true[..., 0] if y_true.ndim == values.ndim + 1 else y_true
    return label == options["ignore_class"]


def _reduce(weighted: np.ndarray, weight: np.ndarray | None, reduction: str) -> np.ndarray:
    """The reduction of the weighted losses, wide; one sample's is its own loss, averaged."""
    if reduction == "none" or weighted.shape == (0,):
        return weighted
    total = weighted.sum()
    if reduction == "sum":
        return total
    divisor = weighted.size if reduction == "sum_over_batch_size" or weight is None else np.sum(weight)
    return total / divisor if divisor else np.zeros(())


def _wide(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The float32 inputs in float64 (float labels; integer ones as they are)."""
    return (y.astype(np.float64) if y.dtype.kind == "f" else y), p.astype(np.float64)


def _forward(y_true, y_pred, sample_weight, mask, loss, reduction, options):
    """The inputs as the class takes them (float32), the per-sample losses (computed wide, clipped
    as float32 holds the bounds, rounded to float32 as the class's `call` returns them), the mask's
    weights and the merged weights."""
    if reduction not in REDUCTIONS:
        raise InvalidArgumentError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    y, p, dtype = _inputs(y_true, y_pred)
    with impl.keras.clipping_as(FLOATX):
        values = widen(narrow(getattr(impl.keras, loss)(*_wide(y, p), **_options(loss, options)), FLOATX))
    masked, weight = _weights(sample_weight, mask, reduction, _ignored(loss, np.asarray(y_true), values, options))
    return y, p, dtype, values, masked, weight


def reduced_loss(y_true: object, y_pred: object, sample_weight: object = None, mask: object = None, *,
                 loss: str, reduction: str = "sum_over_batch_size", **options: object) -> np.ndarray:
    """`keras.losses.<Loss>(reduction=reduction, **options)(y_true, y_pred, sample_weight)`, with
    `y_pred` carrying `mask` as its Keras mask. The result is float32 (the loss's dtype)."""
    _, _, _, values, _, weight = _forward(y_true, y_pred, sample_weight, mask, loss, reduction, options)
    weighted = values if weight is None else _broadcast_product(values, weight, "losses and sample_weight")
    with np.errstate(all="ignore"):
        return narrow(np.asarray(_reduce(weighted, weight, reduction)), FLOATX)


def reduced_loss_vjp(cotangent: object, y_true: object, y_pred: object, sample_weight: object = None,
                     mask: object = None, *, loss: str, reduction: str = "sum_over_batch_size",
                     **options: object) -> dict[str, np.ndarray]:
    """Gradients for y_pred, y_true (float labels) and sample_weight, each in its own dtype: the
    per-sample loss's VJP of the cotangent each sample's weight passes down, and for the weights
    the loss each carries (less the mean, for "mean_with_sample_weight")."""
    y, p, dtype, values, masked, weight = _forward(y_true, y_pred, sample_weight, mask, loss, reduction, options)
    g = widen(np.asarray(cotangent, FLOATX))
    v, w = _same_rank(values, np.ones(values.shape) if weight is None else weight)
    weighted = v * w
    with np.errstate(all="ignore"):
        reduced = _reduce(weighted, weight, reduction)
        if reduction == "none" or weighted.shape == (0,) or reduction == "sum":
            per = g * np.ones(weighted.shape)
        elif reduction == "mean_with_sample_weight" and weight is not None:
            per = np.full(weighted.shape, g / np.sum(w) if np.sum(w) else 0.0)
        else:
            per = np.full(weighted.shape, g / weighted.size)
        d_values = sum_to_shape(per * w, v.shape).reshape(values.shape)
        with impl.keras.clipping_as(FLOATX):
            grads = getattr(impl.keras, f"{loss}_vjp")(d_values, *_wide(y, p), **options)
        out = {"y_pred": narrow(widen(grads["y_pred"]), dtype).reshape(np.shape(y_pred))}
        if "y_true" in grads:
            out["y_true"] = narrow(widen(grads["y_true"]), np.asarray(y_true).dtype).reshape(np.shape(y_true))
        if sample_weight is not None:
            d_w = per * (v - (reduced if reduction == "mean_with_sample_weight" and weighted.shape != (0,) else 0.0))
            out["sample_weight"] = _weight_gradient(d_w, masked, sample_weight)
    return out


def _weight_gradient(d_merged: np.ndarray, masked: np.ndarray | None, sample_weight: object) -> np.ndarray:
    """The gradient for the user's sample weights: through the mask's weights they are multiplied by."""
    user = np.asarray(sample_weight)
    d_user = d_merged if masked is None else _broadcast_product(d_merged, masked, "mask and sample_weight")
    d_user, shaped = _same_rank(d_user, widen(user.astype(FLOATX)))
    return narrow(sum_to_shape(np.broadcast_to(d_user, np.broadcast_shapes(d_user.shape, shaped.shape)),
                               shaped.shape).reshape(user.shape), user.dtype)
