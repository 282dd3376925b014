"""Where Keras on JAX departs from TF in the categorical losses, sparse, focal, pipelines and the
loss classes' reductions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import ml_dtypes
import numpy as np

from candidates.conditions import Where, everywhere, tf_divergence
from candidates.keras_jax.binary import CLIP_EDGE, LOG_SIGMOIDS
from candidates.keras_jax.common import (
    ALL_CHECKS,
    F64,
    HALVES_AND_F32,
    MEASURED,
    XLA_ROUNDING,
)
from tfparity.compare import Tolerance
from tfparity.dtypes import f64
from tfparity.inputs import Case
from tfparity.keras_reference import bounds
from tfparity.opdb import BY_NAME
from tfparity.ops.common import ALL
from tfparity.ops.keras import rows
from tfparity.records import CandidateDivergence, Evidence, Inputs

TF_SMOOTHING = tf_divergence(BY_NAME["categorical_crossentropy:logits"], "keras_smoothing_counts_last_axis")
SMOOTHING_LAST_AXIS = CandidateDivergence(
    name="keras_jax_smoothing_counts_last_axis",
    what="The same keras/src/losses/losses.py runs on both backends: label smoothing counts the classes of "
         "the last axis whatever `axis` says (TF's keras_smoothing_counts_last_axis), so on JAX too the loss "
         "is not the exact one where the class axis is not the last; JAX follows TF there.",
    dtypes=TF_SMOOTHING.dtypes, checks=TF_SMOOTHING.checks, where=TF_SMOOTHING.where,
    evidence=(Evidence("value", {"y_true": np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]]), "y_pred": np.zeros((2, 3)),
                                 "from_logits": True, "label_smoothing": 0.3, "axis": 0},
                       np.array([0.9, 0.9, 0.9]) * np.log(2.0), np.array([1.0, 1.0, 1.0]) * np.log(2.0),
                       candidate=np.array([0.9, 0.9, 0.9]) * np.log(2.0), op="categorical_crossentropy:logits"),),
)

SPARSE_ONE_HOT_FLOAT64 = CandidateDivergence(
    name="keras_jax_sparse_one_hot_is_float64",
    what="On JAX, Keras's sparse_categorical_crossentropy (keras/src/backend/jax/nn.py) is "
         "-sum(one_hot(y_true) * log_prob) with jax.nn.one_hot's default dtype, float64 once x64 is on "
         "(float32 without it): the loss of float16, bfloat16 and float32 predictions is float64 (without x64: "
         "float32 for the halves). On TF the fused sparse op answers in the input dtype. Gradients keep the "
         "input's dtype.",
    dtypes=HALVES_AND_F32, checks=frozenset({"value"}), where=everywhere,
    evidence=(Evidence("value", {"y_true": np.array([1], np.int32), "y_pred": np.array([[0.25, 0.75]], np.float32),
                                 "from_logits": True},
                       np.array([0.474077], np.float32), np.array([0.4740769841801067]),
                       candidate=np.array([0.4740769863128662]), op="sparse_categorical_crossentropy:logits"),),
)


LOG_SOFTMAX = CandidateDivergence(
    name="keras_jax_log_softmax",
    what="From logits, Keras on JAX (keras/src/backend/jax/nn.py, categorical_crossentropy and "
         "sparse_categorical_crossentropy) computes -sum(target * jax.nn.log_softmax(output)) in the input's "
         "dtype, unfused and through XLA's exp and log, where the TF backend calls the fused "
         "softmax_cross_entropy_with_logits (its halves computed in float32): values and gradients round "
         "otherwise, the logits gradient p - t cancelling near p = 1.",
    dtypes=ALL, checks=ALL_CHECKS | {"vjp_sample_weight"}, where=everywhere,
    within=Tolerance(4, 2, "measured on the ci run (oneDNN on and off): up to 1.07 eps times max(scale, 1) from "
                           "TF (float64 logits gradient), 0.94 in float16"),
    evidence=(Evidence("vjp_y_pred", {"y_true": np.array([[0.0, 0.0, 1.0]], np.float32),
                                      "y_pred": np.array([[-0.4, 1.92, 0.31]], np.float32),
                                      "from_logits": True, "label_smoothing": 0.2},
                       np.array([[0.009035476, 0.70365363, -0.71268916]], np.float32),
                       np.array([[0.00903547902981284, 0.7036536837445234, -0.7126891627743362]]),
                       candidate=np.array([[0.009035471, 0.70365363, -0.71268916]], np.float32),
                       op="categorical_crossentropy:logits"),),
)

FLOATX_FLOAT32 = CandidateDivergence(
    name="keras_jax_loss_class_float32",
    what="A Keras loss class casts its inputs to floatx (float32) on both backends (keras/src/losses/loss.py, "
         "Loss.__call__), so a float64 case is computed in float32 and cast back: the backends' float32 "
         "roundings (above) differ by float32 eps, 2^29 float64 eps, relative to the terms.",
    dtypes=F64, checks=ALL_CHECKS | {"vjp_sample_weight"}, where=everywhere,
    within=Tolerance(0, 4 * 2.0**29, "4 float32 eps (2^31 float64 eps) times max(scale, 1); measured up to "
                                     "2.1e9 float64 eps (reduced_loss:logits_sum's logits gradient)"),
    evidence=(Evidence("vjp_y_pred", {"y_true": np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]]),
                                      "y_pred": np.array([[-0.4, 1.92, 0.31], [-1.61, 1.08, 3.91]]),
                                      "sample_weight": np.array([0.73, 0.54]), "mask": np.array([True, True]),
                                      "loss": "categorical_crossentropy", "reduction": "none", "from_logits": True,
                                      "label_smoothing": 0.2, "axis": -1},
                       np.array([[0.00659589748829603, 0.5136671662330627, -0.5202630758285522],
                                 [-0.0339650847017765, -0.00602222047746181, 0.03998729586601257]]),
                       np.array([[0.00659589986410146, 0.513667202554631, -0.5202631024187325],
                                 [-0.03396508166779619, -0.0060222212467437, 0.03998730291453989]]),
                       candidate=np.array([[0.00659589283168316, 0.5136671662330627, -0.520263135433197],
                                           [-0.03396508097648621, -0.00602221768349409, 0.03998729586601257]]),
                       op="reduced_loss:logits_none"),),
)


def _held_probability(case: Case, inputs: Inputs) -> tuple[np.ndarray, tuple[float, float], float]:
    """The probability Keras on JAX takes the log of, as the case's dtype computes it (y_pred over
    its sum, or the softmax of the logits for the focal loss from logits and the pipeline), its
    clip bounds in that dtype, and the dtype's largest finite number."""
    name = "logits" if "logits" in inputs else "y_pred"
    dtype = np.asarray(inputs[name]).dtype
    x = f64(inputs, name)
    axis = -1 if case.op.startswith("sparse") else case.class_axis
    with np.errstate(all="ignore"):
        if name == "logits" or case.op.endswith(":logits"):
            e = np.exp(x - x.max(axis=axis, keepdims=True)).astype(dtype)
        else:
            e = x.astype(dtype)
        held = (e / e.sum(axis=axis, keepdims=True, dtype=dtype)).astype(dtype).astype(np.float64)
    return held, bounds(dtype), float(ml_dtypes.finfo(dtype).max)


def _class_rows(test: Callable[[np.ndarray, tuple[float, float], float], np.ndarray]) -> Where:
    """Every element of a row (along the class axis) holding a probability `test` marks."""
    def where(case: Case, inputs: Inputs) -> np.ndarray:
        held, lohi, top = _held_probability(case, inputs)
        return rows(test(held, lohi, top), -1 if case.op.startswith("sparse") else case.class_axis)
    return where


CLASS_CLIP_EDGE = CandidateDivergence(
    name="keras_jax_class_clip_edge",
    what=CLIP_EDGE.what.replace("through the row.", "through the row (categorical losses: through the "
                                "normalisation y_pred / sum(y_pred) that precedes the clip)."),
    dtypes=ALL, checks=ALL_CHECKS | {"vjp_logits", "vjp_sample_weight"},
    where=_class_rows(lambda p, lohi, top: (p <= lohi[0]) | (p >= lohi[1])),
    evidence=(Evidence("vjp_y_pred", {"y_true": np.array([[1.0, 0.0]], np.float32),
                                      "y_pred": np.array([[1e-7, 1 - 1e-7]], np.float32), "label_smoothing": 0.1},
                       np.array([[-9499999.0, 0.95]], np.float32), np.array([[-9499998.888982058, 0.9500000132488235]]),
                       candidate=np.array([[-4749999.5, 0.47499999]], np.float32),
                       op="categorical_crossentropy:probabilities"),
              Evidence("vjp_logits", {"y_true": np.array([[0.0, 1.0]], np.float16),
                                      "logits": np.array([[0.0, 11.0]], np.float16)},
                       np.array([[1.67e-05, -1.67e-05]], np.float16),
                       np.array([[1.670142184809518e-05, -1.670142184809518e-05]]),
                       candidate=np.array([[8.34e-06, -8.34e-06]], np.float16),
                       op="softmax_then_categorical_crossentropy")),
)

HALF_OWN_RECIPROCAL_OVERFLOWS = CandidateDivergence(
    name="keras_jax_half_own_reciprocal_overflows",
    what="On JAX the probability whose log Keras takes is computed in float16 itself (y_pred / sum, or the "
         "softmax where TF recovers the logits), and the gradient of t log p is t / p (jax's log's JVP divides: "
         "a label of 0 gives 0, not TF's 0 * inf = nan, so TF's keras_half_log_gradient_overflows is not "
         "inherited), which with the focal factor's overflows float16 for a kept p below about 6e-5: inf or "
         "nan, where TF (on its own probability, or on the logits) may be finite.",
    dtypes=frozenset({"float16"}), checks=frozenset({"vjp_y_pred", "vjp_logits", "vjp_y_true"}),
    where=_class_rows(lambda p, lohi, top: (p >= lohi[0]) & (p < 4.0 / top)),
    evidence=(Evidence("vjp_logits", {"y_true": np.array([[1.0, 0.0]], np.float16),
                                      "logits": np.array([[0.0, 11.5]], np.float16)},
                       np.array([[-1.0, 1.0]], np.float16), np.array([[-0.9999898700090192, 0.9999898700090192]]),
                       candidate=np.array([[np.nan, np.nan]], np.float16),
                       op="softmax_then_categorical_crossentropy"),),
)


def _softmax_path_sizes(inputs: Inputs, axis: int | None, g: np.ndarray | None) -> dict[str, np.ndarray]:
    """The terms of -sum(t log c) with c = clip(softmax(x)) rounded in the input's dtype: each log c
    off by an eps (relative in c), times |t|; the gradients through 1 / c carry |t| and c sum |t|."""
    x = f64(inputs, "logits")
    dtype = np.asarray(inputs["logits"]).dtype
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    c = np.clip(e / e.sum(axis=axis, keepdims=True), *bounds(dtype))
    t = np.abs(f64(inputs, "y_true"))
    logs = np.abs(np.log(c)) + 1.0
    out = {"value": (1.0 + float(np.log2(x.shape[axis]))) * (t * logs).sum(axis=axis)}
    if g is not None:
        ga = np.abs(np.expand_dims(np.asarray(g, np.float64), axis))
        out["vjp_y_true"] = ga * logs
        out["vjp_logits"] = ga * (t + c * t.sum(axis=axis, keepdims=True))
    return out


SOFTMAX_PROBABILITIES = CandidateDivergence(
    name="keras_jax_softmax_probabilities",
    what="For a Keras softmax then categorical_crossentropy TF recovers the logits (_keras_logits) and calls "
         "the fused cross entropy; Keras on JAX keeps no logits: it rounds the softmax to the input's dtype, "
         "normalises, clips and takes its log (keras/src/backend/jax/nn.py), so each log is an eps off "
         "relative to c. Its bound is in the size of those terms.",
    dtypes=ALL, checks=frozenset({"value", "vjp_logits", "vjp_y_true"}), where=everywhere,
    within=Tolerance(8, 4, MEASURED.format("0.092")), scales=_softmax_path_sizes,
    evidence=(Evidence("vjp_y_true", {"y_true": np.array([[1.0, 0.0]], np.float32),
                                      "logits": np.array([[0.0, 3.0]], np.float32)},
                       np.array([[3.0485873, 0.04858733]], np.float32),
                       np.array([[3.048587351573742, 0.04858735157374206]]),
                       candidate=np.array([[3.0485873, 0.048587345]], np.float32),
                       op="softmax_then_categorical_crossentropy"),),
)


def _summed_log_sigmoid_sizes(inputs: Inputs, axis: int | None, g: np.ndarray | None) -> dict[str, np.ndarray]:
    """LOG_SIGMOIDS's terms for the loss class's weighted sum: each sample's terms times the largest
    weight (and cotangent), the value's summed; the weights' gradient is each sample's terms."""
    x = f64(inputs, "y_pred")
    w = float(np.abs(f64(inputs, "sample_weight")).max(initial=0.0))
    gw = None if g is None else np.broadcast_to(w * np.abs(np.asarray(g, np.float64)).max(initial=0.0), x.shape[:-1])
    per = LOG_SIGMOIDS.scales(inputs, -1, gw)
    out = {"value": np.asarray(w * per["value"].sum())}
    if g is not None:
        out |= {check: per[check] for check in ("vjp_y_true", "vjp_y_pred")}
        out["vjp_sample_weight"] = np.full(np.shape(inputs["sample_weight"]), per["value"].max(initial=0.0))
    return out


LOGIT_SIGMOIDS = replace(LOG_SIGMOIDS, checks=LOG_SIGMOIDS.checks | {"vjp_sample_weight"},
                         scales=_summed_log_sigmoid_sizes)

_PROBABILITIES = (CLASS_CLIP_EDGE, HALF_OWN_RECIPROCAL_OVERFLOWS, XLA_ROUNDING)
DIVERGENCES: dict[str, tuple[CandidateDivergence, ...]] = {
    "categorical_crossentropy:probabilities": (SMOOTHING_LAST_AXIS, *_PROBABILITIES),
    "categorical_crossentropy:logits": (SMOOTHING_LAST_AXIS, LOG_SOFTMAX),
    "sparse_categorical_crossentropy:probabilities_ignore_class": (SPARSE_ONE_HOT_FLOAT64, *_PROBABILITIES),
    "sparse_categorical_crossentropy:logits": (SPARSE_ONE_HOT_FLOAT64, LOG_SOFTMAX),
    "categorical_focal_crossentropy:probabilities": _PROBABILITIES,
    "categorical_focal_crossentropy:logits": (CLASS_CLIP_EDGE, HALF_OWN_RECIPROCAL_OVERFLOWS, XLA_ROUNDING),
    "softmax_then_categorical_crossentropy": (CLASS_CLIP_EDGE, HALF_OWN_RECIPROCAL_OVERFLOWS, SOFTMAX_PROBABILITIES),
    "reduced_loss:probabilities_mean_with_sample_weight": (SMOOTHING_LAST_AXIS, FLOATX_FLOAT32, *_PROBABILITIES),
    "reduced_loss:logits_sum_over_batch_size": (LOG_SOFTMAX, FLOATX_FLOAT32),
    "reduced_loss:logits_sum": (LOGIT_SIGMOIDS, FLOATX_FLOAT32),
    "reduced_loss:logits_none": (SMOOTHING_LAST_AXIS, LOG_SOFTMAX, FLOATX_FLOAT32),
}
