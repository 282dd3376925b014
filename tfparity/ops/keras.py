"""Keras 3's cross-entropy losses (`keras.losses.<name>` on the TensorFlow backend): one record per
loss and variant (its fixed keyword options: from logits or probabilities, label smoothing,
ignore_class, class balancing), named `<loss>:<variant>`.

What impl reproduces and what it names (the decision per number, as impl/keras.py states it):
Keras's documented numbers (the epsilon clip in the input dtype, normalising probabilities,
smoothing toward 1/K, ignore_class rows giving 0, the binary losses' mean) are reproduced; where
Keras's arithmetic departs from its own definition, the divergence below names it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import partial

import ml_dtypes
import numpy as np

import impl.keras
import oracle
from tfparity import inputs as gen
from tfparity.dtypes import f64
from tfparity.keras_reference import PIPELINES, bounds, references
from tfparity.ops import scales as nn_scales
from tfparity.ops.activations import ONEDNN_RANK_LIMIT
from tfparity.ops.class_losses import SOFTMAX_CE
from tfparity.ops.common import ALL, measured
from tfparity.records import ErrorInput, Evidence, Inputs, KnownDivergence, OpRecord

# the input a pipeline (an activation chained into a loss) takes its logits in
PREDICTION = {name: "logits" for name in PIPELINES}
LOGIT_REGIMES = ("ordinary", "saturating", "large", "tiny")  # finite logits: tf.nn's records hold the rest


def _log2(n: int) -> float:
    return float(np.log2(max(n, 1)))


# --- scales: the size of the terms Keras's TF graph adds, per check ------------------------------

def _from_logits_scales(nn: Callable, smoothing: float, binary: bool = False) -> Callable:
    """A tf.nn loss's scales for the Keras loss that calls it, labels smoothed (in the input's
    dtype: one more rounding of the labels), its VJP names Keras's; binary losses average `axis`."""
    def sizes(inputs: Inputs, axis: int, g: np.ndarray | None) -> dict[str, np.ndarray]:
        x = inputs["y_pred"]
        labels = np.asarray(inputs["y_true"])
        if labels.dtype.kind == "f":
            labels = _smoothed(f64(inputs, "y_true"), smoothing, None if binary else x.shape[axis])
        n = x.shape[axis] if binary else 1
        cotangent = np.expand_dims(g, axis) / n if binary and g is not None else g
        each = nn({"logits": x, "labels": labels}, axis, cotangent)
        out = {name.replace("logits", "y_pred").replace("labels", "y_true"): size for name, size in each.items()}
        if binary:  # the mean along `axis`: its terms, and the sum's rounding
            out["value"] = (1.0 + _log2(n)) * np.abs(np.broadcast_to(each["value"], x.shape)).sum(axis=axis) / n
        return out
    return sizes


def _smoothed(y: np.ndarray, smoothing: float, classes: int | None) -> np.ndarray:
    return y if not smoothing else y * (1 - smoothing) + smoothing * (0.5 if classes is None else 1 / classes)


def _clipped(p: np.ndarray, dtype: np.dtype) -> np.ndarray:
    lo, hi = bounds(dtype)
    return np.clip(p, lo, hi)


def _class_probability_scales(smoothing: float, focal: bool = False, from_logits: bool = False) -> Callable:
    """Categorical losses from probabilities: Keras sums p (log2 C eps), divides, clips, takes the
    log (each rounding eps relative, so eps absolute in log p) and sums y log p; the focal factor
    (1 - p)^gamma multiplies each term. The VJP divides g y by p and goes back through the sum."""
    def sizes(inputs: Inputs, axis: int, g: np.ndarray | None) -> dict[str, np.ndarray]:
        p = gen.softmax64(f64(inputs, "y_pred"), axis) if from_logits else f64(inputs, "y_pred")
        total = np.abs(p.sum(axis=axis, keepdims=True))
        c = _clipped(p / total, inputs["y_pred"].dtype)
        y = np.abs(_smoothed(f64(inputs, "y_true"), smoothing, p.shape[axis]))
        rel = 3.0 + _log2(p.shape[axis])
        log_c = np.abs(np.log(c))
        factor = 1.0 + (2.0 * (1.0 - c) + 2.0 * c * log_c if focal else 0.0)
        terms = y * (log_c + rel) * factor
        out = {"value": (1.0 + _log2(p.shape[axis])) * terms.sum(axis=axis)}
        if g is not None:
            g = np.abs(np.expand_dims(g.astype(np.float64), axis))
            u = g * y / c * factor * rel
            d_p = (u + (u * c).sum(axis=axis, keepdims=True)) / total
            out["vjp_y_pred"] = p * (d_p + (d_p * p).sum(axis=axis, keepdims=True)) if from_logits else d_p
            out["vjp_y_true"] = g * (log_c + rel) * factor
        return out
    return sizes


def _sparse_probability_scales(inputs: Inputs, axis: int, g: np.ndarray | None) -> dict[str, np.ndarray]:
    """Sparse from probabilities: Keras takes log(clip(p)) as logits for the fused op, whose terms
    are |log c| (each rounded) and the log-sum-exp of them."""
    p = f64(inputs, "y_pred")
    c = _clipped(p, inputs["y_pred"].dtype)
    rel = np.abs(np.log(c)) + 3.0 + _log2(p.shape[-1])
    label = np.clip(np.asarray(inputs["y_true"]).astype(np.int64), 0, p.shape[-1] - 1)[..., None]
    out = {"value": np.take_along_axis(rel, label, axis=-1)[..., 0] + rel.max(axis=-1)}
    if g is not None:
        g = np.abs(g.astype(np.float64))[..., None]
        one_hot = np.arange(p.shape[-1]) == label
        out["vjp_y_pred"] = g * rel * (1.0 / c.sum(axis=-1, keepdims=True) + one_hot / c)
    return out


def _binary_probability_scales(smoothing: float, focal: bool = False) -> Callable:
    """Binary losses from probabilities: y log c + (1 - y) log(1 - c), each log eps absolute,
    averaged along `axis`; the VJP (1 - y) / (1 - c) - y / c, each eps relative. Keras forms
    1 - y in the dtype from a label it has smoothed (rounded) there: that difference is eps
    absolute in 1 + |y|, not in |1 - y| (it cancels for y near 1)."""
    def sizes(inputs: Inputs, axis: int, g: np.ndarray | None) -> dict[str, np.ndarray]:
        p = f64(inputs, "y_pred")
        c = _clipped(p, inputs["y_pred"].dtype)
        y = _smoothed(f64(inputs, "y_true"), smoothing, None)
        with np.errstate(divide="ignore"):
            log_c, log_1c = np.abs(np.log(c)), np.abs(np.log1p(-c))
        factor = 4.0 if focal else 1.0
        terms = factor * (np.abs(y) * (log_c + 2.0) + (1.0 + np.abs(y)) * (log_1c + 2.0))
        n = p.shape[axis]
        out = {"value": (1.0 + _log2(n)) * terms.sum(axis=axis) / n}
        if g is not None:
            g = np.abs(np.expand_dims(g.astype(np.float64), axis)) / n
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = (1.0 + np.abs(y)) / (1.0 - c) + np.abs(y) / c
            out["vjp_y_pred"] = 3.0 * factor * g * (ratio + (log_c + log_1c if focal else 0.0))
            out["vjp_y_true"] = factor * g * (log_c + log_1c + 2.0)
        return out
    return sizes


def _focal_logit_scales(inputs: Inputs, axis: int, g: np.ndarray | None) -> dict[str, np.ndarray]:
    """Binary focal from logits: the sigmoid CE's terms, times the focal factor and its derivative."""
    x = f64(inputs, "y_pred")
    base = _from_logits_scales(nn_scales.sigmoid_ce_scales, 0.0, binary=True)(inputs, axis, g)
    bce = np.abs(x) + 1.0
    return {name: 4.0 * size + (4.0 * np.abs(np.expand_dims(g, axis)) / x.shape[axis] * bce
                                if g is not None and name != "value" else 0.0)
            for name, size in base.items()}


def _of_logits(sizes: Callable) -> Callable:
    """A scale written for y_pred, for a pipeline whose logits input feeds it."""
    def renamed(inputs: Inputs, axis: int, g: np.ndarray | None) -> dict[str, np.ndarray]:
        out = sizes({"y_pred": inputs["logits"], "y_true": inputs["y_true"]}, axis, g)
        return {name.replace("y_pred", "logits"): size for name, size in out.items()}
    return renamed


def _sigmoid_probability_scales(inputs: Inputs, axis: int, g: np.ndarray | None) -> dict[str, np.ndarray]:
    """binary_crossentropy of sigmoid(x): the probability form's terms at p = sigmoid(x); its
    logits VJP (s - y) / n, each term eps relative."""
    x = f64(inputs, "logits")
    p = 1.0 / (1.0 + np.exp(-x))
    out = _binary_probability_scales(0.0)({"y_pred": p.astype(inputs["logits"].dtype), "y_true": inputs["y_true"]},
                                          axis, g)
    out.pop("vjp_y_pred", None)
    if g is not None:
        n = x.shape[axis]
        out["vjp_logits"] = 3.0 * np.abs(np.expand_dims(g.astype(np.float64), axis)) / n * (p + np.abs(f64(inputs, "y_true")))
    return out


# --- divergences ------------------------------------------------------------------------------

def rows(condition: np.ndarray, axis: int) -> np.ndarray:
    """Each row (along the class axis) where the condition holds somewhere."""
    return np.broadcast_to(condition.any(axis=axis, keepdims=True), condition.shape)


SMOOTHING_LAST_AXIS = KnownDivergence(
    name="keras_smoothing_counts_last_axis",
    what="categorical_crossentropy (and its focal form) smooth labels toward 1 / K with K the size "
         "of the last axis, whatever `axis` says: with axis=0 on [2, 3] logits Keras moves labels "
         "toward 1/3 where the class axis holds 2. impl smooths toward 1 / (the classes along axis).",
    dtypes=ALL,
    # a loss class's weights' gradients are the losses (tfparity.ops.keras_reductions)
    checks=frozenset({"value", "vjp_y_pred", "vjp_y_true", "vjp_sample_weight"}),
    where=lambda case, inputs: np.shape(inputs["y_pred"])[case.class_axis] != np.shape(inputs["y_pred"])[-1],
    evidence=(Evidence("value", {"y_true": np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]]),
                                 "y_pred": np.zeros((2, 3)), "from_logits": True, "label_smoothing": 0.3,
                                 "axis": 0},
                       # Keras: y' = 0.7 y + 0.1 (1/3 of 0.3) per entry, two entries: 0.7 sum(y) + 0.2 per column,
                       # times log 2; exact: toward 1/2, 0.7 sum(y) + 0.3
                       np.array([0.9, 0.9, 0.9]) * np.log(2.0), np.array([1.0, 1.0, 1.0]) * np.log(2.0)),),
)

def _normalised(case, inputs) -> np.ndarray:
    """y_pred over its sum along the class axis: the probabilities categorical losses clip."""
    p = f64(inputs, "y_pred")
    with np.errstate(all="ignore"):
        return p / p.sum(axis=case.class_axis, keepdims=True)


HALF_CLIP_REACHES_ONE = KnownDivergence(
    name="keras_half_clip_reaches_one",
    what="In float16 and bfloat16 Keras's upper clip bound 1 - epsilon rounds to 1, so a probability "
         "of 1 passes the clip and log(1 - p) is -inf: where the label is 1, TF multiplies 0 * -inf and "
         "the loss (and its gradients) are nan. The exact loss, clipped at the same bound, is 0 there "
         "(0 log 0 = 0). binary_crossentropy([1], [1]) in bfloat16 is nan; in float32 the bound is "
         "0.99999988 and the loss 1.19e-7.",
    dtypes=frozenset({"float16", "bfloat16"}),
    checks=frozenset({"value", "vjp_y_pred", "vjp_y_true"}),
    where=lambda case, inputs: rows(f64(inputs, "y_pred") >= 1.0, case.class_axis),
    evidence=(Evidence("value", {"y_true": np.array([1.0], ml_dtypes.bfloat16), "y_pred": np.array([1.0], ml_dtypes.bfloat16)},
                       np.array(np.nan, ml_dtypes.bfloat16), np.array(0.0)),),
)

def _half_reciprocal_overflows(case, inputs) -> np.ndarray:
    """Rows holding a probability Keras keeps (inside the clip) whose reciprocal, or its
    complement's, passes float16's max: the log's gradient 1 / p overflows there."""
    name = "logits" if "logits" in inputs else "y_pred"
    x = f64(inputs, name)
    axis = case.class_axis
    binary = case.op.startswith(("binary", "sigmoid"))
    if name == "logits" or case.op.endswith(":logits"):  # a pipeline's, or the focal loss's own softmax
        p = 1.0 / (1.0 + np.exp(-x)) if binary else gen.softmax64(x, axis)
    else:
        p = x if binary or case.op.startswith("sparse") else _normalised(case, inputs)
    lo, hi = bounds(inputs[name].dtype)
    kept = (p >= lo) & (p <= hi)
    small = 1.0 / float(ml_dtypes.finfo(np.float16).max)
    return rows(kept & ((p < small) | (binary & (1.0 - p < small))), -1 if case.op.startswith("sparse") else axis)


HALF_RECIPROCAL_OVERFLOWS = KnownDivergence(
    name="keras_half_log_gradient_overflows",
    what="In float16 the gradient of Keras's log(p) is 1 / p, and 1 / p passes float16's largest "
         "value (65504) for a probability below 1.5e-5 that the clip keeps (it keeps down to "
         "epsilon, 1.2e-7 in float16): the reciprocal is inf, times a label of 0 nan, and the nan "
         "spreads through the normalisation's sum to the whole row. The exact gradient is finite: "
         "labels [0, 1], probabilities [1e-5, 1] give [1, -1e-5] where TF gives [nan, nan]. "
         "binary_crossentropy's 1 / (1 - p) overflows likewise for p within 1.5e-5 of 1.",
    dtypes=frozenset({"float16"}),
    checks=frozenset({"vjp_y_pred", "vjp_logits"}),
    where=_half_reciprocal_overflows,
    evidence=(Evidence("vjp_y_pred", {"y_true": np.array([[0.0, 1.0]], np.float16),
                                      "y_pred": np.array([[1e-5, 1.0]], np.float16)},
                       np.array([[np.nan, np.nan]], np.float16),
                       np.array([[1.0, -float(np.float16(1e-5))]]) / (1.0 + float(np.float16(1e-5)))),),
)

SPARSE_CLIPS_FIRST = KnownDivergence(
    name="keras_sparse_clips_before_normalising",
    what="sparse_categorical_crossentropy from probabilities feeds log(clip(p)) to the fused sparse "
         "op: it clips first and normalises after (by the clipped sum), where "
         "categorical_crossentropy normalises first and clips after. Where a clip bites the two "
         "differ; impl computes the sparse loss as the categorical one of the one-hot label.",
    dtypes=ALL,
    checks=frozenset({"value", "vjp_y_pred"}),
    where=lambda case, inputs: rows(
        (f64(inputs, "y_pred") < bounds(inputs["y_pred"].dtype)[0]) | (f64(inputs, "y_pred") > bounds(inputs["y_pred"].dtype)[1])
        | (_normalised(case, inputs) < bounds(inputs["y_pred"].dtype)[0]) | (_normalised(case, inputs) > bounds(inputs["y_pred"].dtype)[1]),
        -1),
    evidence=(Evidence("value", {"y_true": np.array([0]), "y_pred": np.array([[1e-9, 1.0]])},
                       np.array([-np.log(1e-7 / (1e-7 + 1.0 - 1e-7))]), np.array([-np.log(1e-7)])),),
)


def tf_divergence(record: OpRecord, name: str) -> KnownDivergence:
    """A tf.nn record's divergence that Keras inherits by calling the op."""
    return next(d for d in record.divergences if d.name == name)


def _outside_bounds(p: np.ndarray, dtype: np.dtype) -> np.ndarray:
    lo, hi = bounds(dtype)
    return (p < lo) | (p > hi)


TF_RECOVERS_LOGITS = KnownDivergence(
    name="keras_tf_recovers_logits",
    what="On the TensorFlow backend Keras's softmax and sigmoid attach their logits to their output "
         "(_keras_logits; in a graph the loss also reads a Softmax or Sigmoid op's input), and the "
         "loss takes them: TF answers with the fused cross entropy of the logits, where the "
         "probabilities' clip to [epsilon, 1 - epsilon] never applies. The same chain on Keras's JAX "
         "backend, or on model.predict()'s NumPy output, clips; impl computes the chain as written. "
         "They differ where a probability lies outside the clip bounds: float32 logits [0, 30] with "
         "label [1, 0] cost 30 from the logits and -log(1e-7) = 16.1 clipped.",
    dtypes=ALL,
    checks=frozenset({"value", "vjp_logits", "vjp_y_true"}),
    where=lambda case, inputs: rows(_outside_bounds(
        gen.softmax64(f64(inputs, "logits"), case.class_axis) if case.op.startswith("softmax")
        else 1.0 / (1.0 + np.exp(-f64(inputs, "logits"))), inputs["logits"].dtype), case.class_axis),
    evidence=(Evidence("value", {"y_true": np.array([[1.0, 0.0]], np.float32), "logits": np.array([[0.0, 30.0]], np.float32)},
                       np.array([30.0], np.float32), np.array([-np.log(float(np.float32(1e-7)))])),),
)


NEGATIVE_AXIS = tf_divergence(SOFTMAX_CE, "softmax_ce_negative_axis_raises")  # Keras passes the axis to the op


SOFTMAX_RANK_LIMIT = replace(
    ONEDNN_RANK_LIMIT,
    name="keras_softmax_onednn_rank_limit",
    what="Inherited from tf.nn.softmax (softmax_onednn_rank_limit) by the losses that take a softmax "
         "of their logits (the categorical focal loss from logits, the softmax pipeline): on its "
         "oneDNN kernel the softmax aborts for rank >= 6.",
    where=lambda case, inputs: np.ndim(inputs["logits" if "logits" in inputs else "y_pred"]) > 5,
    evidence=(Evidence("value", {"y_true": np.eye(4, dtype=np.float32)[[0, 0]].reshape(2, 1, 1, 1, 1, 4),
                                 "y_pred": np.zeros((2, 1, 1, 1, 1, 4), np.float32), "from_logits": True},
                       "AbortedError", np.full((2, 1, 1, 1, 1), 0.25 * 0.75**2 * np.log(4.0))),),
)

RANK_0_INDEX_ERROR = KnownDivergence(
    name="keras_rank_0_index_error",
    what="categorical_crossentropy reads y_pred.shape[-1] (to warn of a single class) before it "
         "checks the rank: rank-0 inputs raise Python's IndexError ('tuple index out of range'), "
         "not the ValueError its own rank check would give. impl raises InvalidArgumentError.",
    dtypes=ALL,
    checks=frozenset({"value"}),
    where=lambda case, inputs: np.ndim(inputs["y_pred"]) == 0,
    evidence=(Evidence("value", {"y_true": np.float32(1.0), "y_pred": np.float32(0.5)}, "IndexError",
                       "InvalidArgumentError"),),
)


# --- the records ------------------------------------------------------------------------------

def keras_record(loss: str, variant: str, options: Mapping[str, object], build: Callable, label_kinds, regimes,
                 scales, divergences=(), errors=(), has_axis: bool = True) -> OpRecord:
    """One Keras loss under fixed options, its functions from impl.keras and oracle.keras."""
    exact_fn, wide_fn = references(loss, options)
    value_tolerance, vjp_tolerance = _tolerances(f"{loss}:{variant}" if variant else loss)
    return OpRecord(
        reference=getattr(impl.keras, loss),
        tf=partial(oracle.keras_value, loss),
        tf_vjp=partial(oracle.keras_vjp, loss),
        exact=exact_fn,
        wide=wide_fn,
        build=build,
        grads=(PREDICTION.get(loss, "y_pred"),) + (() if loss.startswith("sparse") else ("y_true",)),
        value_tolerance=value_tolerance,
        vjp_tolerance=vjp_tolerance,
        scales=scales,
        has_axis=has_axis,
        label_kinds=tuple(label_kinds),
        regimes=tuple(regimes),
        divergences=tuple(divergences),
        errors=tuple(errors),
        options=dict(options),
        variant=variant,
        family="keras",
        # the covering part of the sweep (sweep.covering: every class met) and a quarter of each fuzz
        # batch: Keras's eager calls cost milliseconds, and the whole sweeps more than doubled the ci
        # profile's cases (and a compiling mode's programs)
        share=4,
    )


# What TF needed of the 2-eps budget (eps x scale at 2 ULP, against the candidate or the exact
# answer, the larger), per record, value or VJP, and dtype: ci profile (full fuzz batches with
# oneDNN off, a quarter with it on), AMD EPYC with AVX2 only. Past 2, TF is the side in error there
# (its error exceeds its own formula's terms): those checks pass as `tf_error`, set apart.
MEASURED = {
    "binary_crossentropy:logits": {"value": {"f16": (0.55, 0.55), "bf16": (0.82, 0.5), "f32": (2.2, 2.2), "f64": (2.9, 2.9)}, "vjp": {"f16": (1.6, 1.6), "bf16": (1.2, 1.1), "f32": (1.2, 1.2), "f64": (0.99, 1.4)}},
    "binary_crossentropy:probabilities": {"value": {"f16": (0.2, 0.2), "bf16": (0.29, 0.28), "f32": (0.43, 0.43), "f64": (0.93, 0.35)}, "vjp": {"f16": (1.2, 1.2), "bf16": (1.3, 1.3), "f32": (1.4, 1.3), "f64": (4.8, 4.8)}},
    "binary_focal_crossentropy:logits": {"value": {"f16": (1.3, 1.3), "bf16": (0.51, 0.51), "f32": (0.78, 0.5), "f64": (0.9, 0.44)}, "vjp": {"f16": (1.9, 1.9), "bf16": (1.7, 1.7), "f32": (4.1, 1.9), "f64": (2.8, 1.8)}},
    "binary_focal_crossentropy:probabilities_balanced": {"value": {"f16": (1.3, 1.3), "bf16": (0.45, 0.27), "f32": (1.6, 1.6), "f64": (0.84, 0.84)}, "vjp": {"f16": (4.8, 2.1), "bf16": (3.3, 3.3), "f32": (8.3, 8.3), "f64": (8.6, 8.6)}},
    "categorical_crossentropy:logits": {"value": {"f16": (0, 0), "bf16": (0, 0), "f32": (0.18, 0.18), "f64": (0.35, 0.35)}, "vjp": {"f16": (0.61, 0.61), "bf16": (0.33, 0.33), "f32": (0.54, 0.54), "f64": (0.51, 0.54)}},
    "categorical_crossentropy:probabilities": {"value": {"f16": (0.16, 0.16), "bf16": (0.059, 0), "f32": (0.084, 0.11), "f64": (0.27, 0.27)}, "vjp": {"f16": (0.47, 0.47), "bf16": (28, 28), "f32": (4, 4), "f64": (0.69, 0.69)}},
    "categorical_focal_crossentropy:logits": {"value": {"f16": (0.24, 0.3), "bf16": (0.03, 0.013), "f32": (0.029, 0.029), "f64": (0.067, 0.031)}, "vjp": {"f16": (0.88, 1.5), "bf16": (0.099, 0.099), "f32": (0.71, 0.12), "f64": (0.36, 0.36)}},
    "categorical_focal_crossentropy:probabilities": {"value": {"f16": (0.013, 0.0079), "bf16": (0.014, 0.014), "f32": (0.036, 0.03), "f64": (0.024, 0.026)}, "vjp": {"f16": (0.18, 0.045), "bf16": (0.053, 0.053), "f32": (0.11, 0.094), "f64": (0.11, 0.067)}},
    "sigmoid_then_binary_crossentropy": {"value": {"f16": (0.09, 0.09), "bf16": (0.14, 0.075), "f32": (0.096, 0.096), "f64": (0.083, 0.083)}, "vjp": {"f16": (0.43, 0.37), "bf16": (0.52, 0.21), "f32": (0.56, 0.55), "f64": (0.43, 0.25)}},
    "softmax_then_categorical_crossentropy": {"value": {"f16": (0, 0), "bf16": (0, 0), "f32": (0.087, 0.086), "f64": (0.084, 0.084)}, "vjp": {"f16": (0.021, 0.021), "bf16": (0.014, 0.018), "f32": (0.34, 0.34), "f64": (0.29, 0.42)}},
    "sparse_categorical_crossentropy:logits": {"value": {"f16": (0, 0), "bf16": (0.48, 0.29), "f32": (0.36, 0.36), "f64": (0.34, 0.34)}, "vjp": {"f16": (0, 0), "bf16": (1.6, 1.6), "f32": (0.49, 0.48), "f64": (0.49, 0.48)}},
    "sparse_categorical_crossentropy:probabilities_ignore_class": {"value": {"f16": (0.0021, 0.0017), "bf16": (0.031, 0.081), "f32": (0.048, 0.059), "f64": (0.081, 0.07)}, "vjp": {"f16": (1.1, 0.42), "bf16": (0.54, 0.47), "f32": (0.5, 0.57), "f64": (0.74, 0.62)}},
}


def _tolerances(name: str) -> tuple[dict, dict]:
    """The value and VJP tolerance tables of a Keras record: 2 ULP or 2 eps x its scale (the
    terms budget of tf.nn's ops before their tightening), with what was measured against them."""
    def table(kind: str) -> dict:
        notes = {d: f"{off:g} (oneDNN off), {on:g} (on)" for d, (off, on) in MEASURED[name][kind].items()}
        return measured(2, **notes)
    return table("value"), table("vjp")


def _errors(build_true: Callable) -> tuple[ErrorInput, ...]:
    """Shapes and dtypes on both sides of Keras's checks."""
    def kwargs(true_shape, pred_shape, **more):
        return lambda dtype: {"y_true": build_true(true_shape, dtype), "y_pred": np.full(pred_shape, 0.25, dtype)} | more
    return (
        ErrorInput("rank_0", kwargs((), ()), tf_raises=True),
        ErrorInput("rank_1", kwargs((4,), (4,)), tf_raises=False),
        ErrorInput("shapes_mismatch", kwargs((2, 3), (2, 4)), tf_raises=True),
        ErrorInput("axis_past_last", kwargs((2, 4), (2, 4), axis=2), tf_raises=True),
        ErrorInput("axis_first", kwargs((2, 4), (2, 4), axis=0), tf_raises=False),
    )


CLASS_KINDS = ("one_hot", "soft", "smoothed")
_class_true = lambda shape, dtype: np.full(shape, 0.25, dtype)

CCE_PROBABILITIES = keras_record(
    "categorical_crossentropy", "probabilities", {"label_smoothing": 0.1},
    partial(gen.keras_class_inputs, probabilities=gen.CLASS_PROBABILITIES), CLASS_KINDS, gen.CLASS_PROBABILITIES,
    _class_probability_scales(0.1),
    divergences=(HALF_RECIPROCAL_OVERFLOWS, SMOOTHING_LAST_AXIS, RANK_0_INDEX_ERROR), errors=_errors(_class_true))

CCE_LOGITS = keras_record(
    "categorical_crossentropy", "logits", {"from_logits": True, "label_smoothing": 0.2},
    partial(gen.keras_class_inputs, probabilities=None), CLASS_KINDS, LOGIT_REGIMES,
    _from_logits_scales(nn_scales.softmax_ce_scales, 0.2),
    divergences=(SMOOTHING_LAST_AXIS, NEGATIVE_AXIS))

SPARSE_PROBABILITIES = keras_record(
    "sparse_categorical_crossentropy", "probabilities_ignore_class", {"ignore_class": gen.IGNORED_CLASS},
    partial(gen.keras_sparse_inputs, probabilities=gen.CLASS_PROBABILITIES, ignored=True), tuple(gen.SPARSE_LABELS),
    gen.CLASS_PROBABILITIES, _sparse_probability_scales,
    divergences=(HALF_RECIPROCAL_OVERFLOWS, SPARSE_CLIPS_FIRST), has_axis=False)

SPARSE_LOGITS = keras_record(
    "sparse_categorical_crossentropy", "logits", {"from_logits": True},
    partial(gen.keras_sparse_inputs, probabilities=None), tuple(gen.SPARSE_LABELS), LOGIT_REGIMES,
    _from_logits_scales(nn_scales.sparse_ce_scales, 0.0), has_axis=False)

BINARY_KINDS = tuple(gen.BINARY_LABELS)

BCE_PROBABILITIES = keras_record(
    "binary_crossentropy", "probabilities", {"label_smoothing": 0.1},
    partial(gen.keras_binary_inputs, probabilities=gen.BINARY_PROBABILITIES), BINARY_KINDS, gen.BINARY_PROBABILITIES,
    _binary_probability_scales(0.1),
    divergences=(HALF_RECIPROCAL_OVERFLOWS, HALF_CLIP_REACHES_ONE),
    errors=_errors(_class_true))

BCE_LOGITS = keras_record(
    "binary_crossentropy", "logits", {"from_logits": True, "label_smoothing": 0.2},
    partial(gen.keras_binary_inputs, probabilities=None), BINARY_KINDS, LOGIT_REGIMES,
    _from_logits_scales(nn_scales.sigmoid_ce_scales, 0.2, binary=True))

BFCE_PROBABILITIES = keras_record(
    "binary_focal_crossentropy", "probabilities_balanced", {"apply_class_balancing": True},
    partial(gen.keras_binary_inputs, probabilities=gen.BINARY_PROBABILITIES), BINARY_KINDS, gen.BINARY_PROBABILITIES,
    _binary_probability_scales(0.0, focal=True),
    divergences=(HALF_RECIPROCAL_OVERFLOWS, HALF_CLIP_REACHES_ONE))

BFCE_LOGITS = keras_record(
    "binary_focal_crossentropy", "logits", {"from_logits": True},
    partial(gen.keras_binary_inputs, probabilities=None), BINARY_KINDS, LOGIT_REGIMES,
    _focal_logit_scales)

CFCE_PROBABILITIES = keras_record(
    "categorical_focal_crossentropy", "probabilities", {},
    partial(gen.keras_class_inputs, probabilities=gen.CLASS_PROBABILITIES), CLASS_KINDS, gen.CLASS_PROBABILITIES,
    _class_probability_scales(0.0, focal=True),
    divergences=(HALF_RECIPROCAL_OVERFLOWS,))

CFCE_LOGITS = keras_record(
    "categorical_focal_crossentropy", "logits", {"from_logits": True},
    partial(gen.keras_class_inputs, probabilities=None), CLASS_KINDS, LOGIT_REGIMES,
    _class_probability_scales(0.0, focal=True, from_logits=True),
    divergences=(HALF_RECIPROCAL_OVERFLOWS, SOFTMAX_RANK_LIMIT))

SOFTMAX_THEN_CCE = keras_record(
    "softmax_then_categorical_crossentropy", "", {},
    partial(gen.keras_class_inputs, probabilities=None, prediction="logits"), CLASS_KINDS, LOGIT_REGIMES,
    _of_logits(_class_probability_scales(0.0, from_logits=True)),
    divergences=(TF_RECOVERS_LOGITS, NEGATIVE_AXIS, SOFTMAX_RANK_LIMIT))

SIGMOID_THEN_BCE = keras_record(
    "sigmoid_then_binary_crossentropy", "", {},
    partial(gen.keras_binary_inputs, probabilities=None, prediction="logits"), BINARY_KINDS, LOGIT_REGIMES,
    _sigmoid_probability_scales, divergences=(TF_RECOVERS_LOGITS,))

KERAS_RECORDS: tuple[OpRecord, ...] = (CCE_PROBABILITIES, CCE_LOGITS, SPARSE_PROBABILITIES, SPARSE_LOGITS,
                                       BCE_PROBABILITIES, BCE_LOGITS, BFCE_PROBABILITIES, BFCE_LOGITS,
                                       CFCE_PROBABILITIES, CFCE_LOGITS, SOFTMAX_THEN_CCE, SIGMOID_THEN_BCE)
