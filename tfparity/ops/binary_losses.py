"""The binary losses' records: sigmoid cross entropy and weighted cross entropy."""

from __future__ import annotations

import ml_dtypes
import numpy as np

import impl
import oracle
from tfparity import exact, wide
from tfparity import inputs as gen
from tfparity.dtypes import f64
from tfparity.ops import scales
from tfparity.ops.common import (
    ALL,
    ALL_REGIMES,
    FLUSHES_SUBNORMALS,
    TF_KERNELS,
    TRACED,
    convention,
    measured,
)
from tfparity.records import ErrorInput, Evidence, KnownDivergence, OpRecord


def _binary_errors(**more) -> tuple[ErrorInput, ...]:
    def kwargs(labels, logits, labels_dtype=None):
        return lambda dtype: {"labels": np.full(labels, 0.5, labels_dtype or dtype),
                              "logits": np.ones(logits, dtype)} | {k: np.asarray(v, dtype) for k, v in more.items()}
    return (
        ErrorInput("shapes_mismatch", kwargs((3,), (2,)), tf_raises=True),
        # a graph with unknown dimensions checks shapes at trace only (binary_ce_shape_check_at_trace_only)
        ErrorInput("labels_broadcast", kwargs((1, 3), (2, 3)), tf_raises=True, tf_raises_in=dict.fromkeys(TRACED, False)),
        ErrorInput("integer_logits", lambda dtype: {"labels": np.ones((2, 3), np.int32),
                                                    "logits": np.ones((2, 3), np.int32)}
                   | {k: np.int32(1) for k in more}, tf_raises=True),
        ErrorInput("rank_0", kwargs((), ()), tf_raises=False),
        ErrorInput("empty", kwargs((0, 3), (0, 3)), tf_raises=False),
        convention("python_lists", **{"labels": [0.0, 1.0], "logits": [1.5, -2.0]} | more),
        convention("python_scalars", **{"labels": 1.0, "logits": 0.5} | more),
        convention("labels_list_logits_float64", tf_raises=True,
                   **{"labels": [0.0, 1.0], "logits": np.array([1.5, -2.0])} | more),
        convention("labels_int_logits_float32", tf_raises=True,
                   **{"labels": np.array([0, 1], np.int32), "logits": np.array([1.5, -2.0], np.float32)} | more),
    )


def _intermediate_overflow(case, inputs) -> np.ndarray:
    """Where a product TF forms (x * z, x * (1 - z), the pos_weight term, each times the
    cotangent in the backward pass) exceeds the dtype."""
    x, z = f64(inputs, "logits"), f64(inputs, "labels")
    q = f64(inputs, "pos_weight") if "pos_weight" in inputs else 1.0
    factor = np.maximum.reduce([np.abs(z), np.abs(1.0 - z), np.abs(1.0 + (q - 1.0) * z),
                                np.abs(q) + np.zeros_like(z), np.abs(q - 1.0) + np.ones_like(z)])
    factor = factor * np.maximum(1.0, np.abs(gen.cotangent(case, x.shape).astype(np.float64)))
    with np.errstate(invalid="ignore", over="ignore"):
        return np.abs(x) * factor > float(ml_dtypes.finfo(inputs["logits"].dtype).max)


INTERMEDIATE_OVERFLOW = KnownDivergence(
    name="binary_ce_intermediate_overflow",
    what="Near the dtype's max TF forms x * z (and x * (1 - z), pos_weight * max(-x, 0)) in the "
         "input dtype, which overflows: -inf or inf where the exact loss is finite "
         "(f32 x = 2.758e38, z = 1.96 gives -inf, exact (1 - z) * x = -2.649e38).",
    dtypes=ALL,
    checks=frozenset({"value", "vjp_labels", "vjp_pos_weight"}),
    where=_intermediate_overflow,
    modes=TF_KERNELS,
    evidence=(Evidence("value", {"labels": np.array([1.9605854], np.float32),
                                 "logits": np.array([2.7581132e38], np.float32)},
                       np.array([-np.inf], np.float32), np.array([(1 - 1.9605854) * 2.7581132e38])),),
)

def _pos_weight_sum_overflow(case, inputs) -> bool:
    """Whether some order of summing the pos_weight gradient's terms can pass the dtype's max."""
    x, z = f64(inputs, "logits"), f64(inputs, "labels")
    g = gen.cotangent(case, x.shape).astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        return bool(scales.pos_weight_terms(x, z, g).sum() > float(ml_dtypes.finfo(inputs["logits"].dtype).max))


POS_WEIGHT_SUM_OVERFLOW = KnownDivergence(
    name="weighted_ce_pos_weight_sum_overflow",
    what="TF sums the pos_weight gradient's terms g * z * softplus(-x) in the input dtype, so a "
         "partial sum can overflow where the total is finite: f16 logits [-4e4] * 3, labels "
         "[1, 1, -1] give inf where the exact gradient is 4e4 (found by the thorough profile at "
         "f16, regime large).",
    dtypes=ALL,
    checks=frozenset({"vjp_pos_weight"}),
    where=_pos_weight_sum_overflow,
    modes=TF_KERNELS,
    evidence=(Evidence("vjp_pos_weight", {"labels": np.array([1.0, 1.0, -1.0], np.float16),
                                          "logits": np.full(3, -40000.0, np.float16),
                                          "pos_weight": np.float16(1.0)},
                       np.float16(np.inf), np.float64(40000.0)),),
)

SHAPE_CHECK_STATIC_ONLY = KnownDivergence(
    name="binary_ce_shape_check_at_trace_only",
    what="sigmoid_cross_entropy_with_logits (and weighted CE) check that labels and logits have one "
         "shape on their static shapes only. Eagerly those are the tensors' shapes, so labels "
         "[1, 3] against logits [2, 3] raise ValueError; in a graph (or XLA) whose dimensions are "
         "unknown, as a Keras model's batch dimension is, the check passes and TF broadcasts the "
         "labels silently. impl refuses, as eager TF does.",
    dtypes=ALL,
    checks=frozenset({"value"}),
    where=lambda case, inputs: np.shape(inputs["labels"]) != np.shape(inputs["logits"]),
    modes=TRACED,
    evidence=(Evidence("value", {"labels": np.array([[1.0, 0.0, 1.0]], np.float32),
                                 "logits": np.zeros((2, 3), np.float32)},
                       np.full((2, 3), np.log(2.0), np.float32), "InvalidArgumentError"),),
)

INFINITE_LOGIT_WHAT = (
    "TF builds the loss as max(x, 0) - x * z + log1p(exp(-|x|)), which is inf - inf or 0 * inf "
    "at an infinite logit: nan for (z=1, x=+inf) where the exact loss is 0, (z=0, x=-inf) where "
    "it is 0, and (0<z<1, x=+inf) where it is inf. impl returns the limits.")

SIGMOID_CE = OpRecord(
    reference=impl.sigmoid_cross_entropy_with_logits,
    tf=oracle.sigmoid_cross_entropy_with_logits,
    tf_vjp=oracle.sigmoid_cross_entropy_with_logits_vjp,
    exact=exact.sigmoid_cross_entropy_with_logits,
    wide=wide.sigmoid_cross_entropy_with_logits,
    build=gen.binary_label_inputs,
    grads=("logits", "labels"),
    label_kinds=tuple(gen.BINARY_LABELS),
    regimes=ALL_REGIMES,
    # Three rounded terms, two of them from library functions (exp, log1p, each within about an
    # ULP), plus impl's own rounding where it has no wider type (f64): 3 eps. Fitted at 2 on the
    # sweep (worst 1.52); the thorough profile found 2.03 (f32 x = -4.45, z = 0) and 2.02 (f64).
    value_tolerance=measured(3, f16="0.33", bf16="0.29", f32="2.03 (thorough)", f64="2.02 (thorough)",
                             derived={"bfloat16": (1.125, 0.524), "float16": (0.875, 0.434), "float64": (2.625, 1.307)}),
    vjp_tolerance=measured(2, f16="0.69", bf16="0.55", f32="0.8", f64="1.13",
                             derived={"bfloat16": (1.5, 0.741), "float16": (1.5, 0.695), "float64": (1.625, 0.754)}),
    scales=scales.sigmoid_ce_scales,
    min_rank=0,
    divergences=(
        KnownDivergence(
            name="sigmoid_ce_infinite_logit_nan",
            what=INFINITE_LOGIT_WHAT,
            dtypes=ALL,
            checks=frozenset({"value"}),
            where=lambda case, inputs: np.isinf(inputs["logits"].astype(np.float64)),
            evidence=(Evidence("value", {"labels": np.array([1.0, 0.0, 0.5], np.float32),
                                         "logits": np.array([np.inf, -np.inf, np.inf], np.float32)},
                               np.array([np.nan, np.nan, np.nan], np.float32),
                               np.array([0.0, 0.0, np.inf])),),
        ),
        INTERMEDIATE_OVERFLOW,
        SHAPE_CHECK_STATIC_ONLY,
        FLUSHES_SUBNORMALS,
    ),
    errors=_binary_errors() + (
        ErrorInput("labels_other_dtype", lambda dtype: {
            "labels": np.zeros(3, np.float64 if dtype != np.float64 else np.float32),
            "logits": np.zeros(3, dtype)}, tf_raises=True),
    ),
)

WEIGHTED_CE = OpRecord(
    reference=impl.weighted_cross_entropy_with_logits,
    tf=oracle.weighted_cross_entropy_with_logits,
    tf_vjp=oracle.weighted_cross_entropy_with_logits_vjp,
    exact=exact.weighted_cross_entropy_with_logits,
    wide=wide.weighted_cross_entropy_with_logits,
    build=gen.weighted_inputs,
    grads=("logits", "labels", "pos_weight"),
    label_kinds=tuple(gen.BINARY_LABELS),
    regimes=ALL_REGIMES,
    value_tolerance=measured(3, f16="0.9", bf16="0.91", f32="2.06", f64="1.9"),
    vjp_tolerance=measured(3, f16="1.28", bf16="1.06", f32="1.4", f64="1.9"),
    scales=scales.weighted_ce_scales,
    scalars=("pos_weight",),
    min_rank=0,
    divergences=(
        KnownDivergence(
            name="weighted_ce_infinite_logit_nan",
            what=INFINITE_LOGIT_WHAT.replace("max(x, 0) - x * z + log1p(exp(-|x|))",
                                             "(1 - z) * x + (1 + (q - 1) * z) * (log1p(exp(-|x|)) + max(-x, 0))"),
            dtypes=ALL,
            checks=frozenset({"value", "vjp_labels"}),
            where=lambda case, inputs: np.isinf(inputs["logits"].astype(np.float64)),
            evidence=(Evidence("value", {"labels": np.array([1.0, 0.0, 0.5], np.float32),
                                         "logits": np.array([np.inf, -np.inf, -np.inf], np.float32),
                                         "pos_weight": np.float32(2.0)},
                               np.array([np.nan, np.nan, np.nan], np.float32),
                               np.array([0.0, 0.0, np.inf])),),
        ),
        INTERMEDIATE_OVERFLOW,
        POS_WEIGHT_SUM_OVERFLOW,
        SHAPE_CHECK_STATIC_ONLY,
        KnownDivergence(
            name="weighted_ce_pos_weight_grad_nan_at_neg_inf_logit",
            what="The pos_weight gradient at a -inf logit with label 0 is nan: TF forms z * softplus(-x) "
                 "= 0 * inf. The term is absent there (z = 0), so the exact gradient is the other "
                 "elements' sum, which impl gives. In every mode; eagerly and in a graph the "
                 "intermediate-overflow divergence covers it too, under XLA only this one.",
            dtypes=ALL,
            checks=frozenset({"vjp_pos_weight"}),
            where=lambda case, inputs: np.isneginf(f64(inputs, "logits")) & (f64(inputs, "labels") == 0),
            evidence=(Evidence("vjp_pos_weight", {"labels": np.array([0.0, 1.0], np.float32),
                                                  "logits": np.array([-np.inf, 1.0], np.float32),
                                                  "pos_weight": np.float32(2.0)},
                               np.float32(np.nan), np.float64(np.log1p(np.exp(-1.0)))),),
        ),
        KnownDivergence(
            name="weighted_ce_grad_at_zero_logit",
            what="TF builds the loss from abs(x) and relu(-x), whose gradients are 0 at x = 0, so its "
                 "logits gradient at x = 0 (and at subnormal x, flushed to 0) is (1 - z) instead of "
                 "(1 - z) - (1 + (q - 1) z) / 2. sigmoid_cross_entropy_with_logits uses "
                 "where(x >= 0) and is right there.",
            dtypes=ALL,
            checks=frozenset({"vjp_logits"}),
            where=lambda case, inputs: np.abs(f64(inputs, "logits"))
            < float(ml_dtypes.finfo(inputs["logits"].dtype).smallest_normal),
            evidence=(Evidence("vjp_logits", {"labels": np.array([1.0, 0.0]), "logits": np.array([0.0, 0.0]),
                                              "pos_weight": np.float64(2.0)},
                               np.array([0.0, 1.0]), np.array([0.0 - 2.0 / 2, 1.0 - 1.0 / 2])),),
        ),
        KnownDivergence(
            name="weighted_ce_negative_logit_cancels",
            what="For x << 0 and z = 0 TF adds (1 - z) * x and max(-x, 0), which cancel: x = -100 "
                 "gives 0 in f64 where the exact loss is log1p(exp(-100)) = 3.7e-44. The absolute "
                 "budget eps * (|x| + ...) allows it; impl keeps the digits.",
            dtypes=ALL,
            checks=frozenset(),
            where=lambda case, inputs: False,
            evidence=(Evidence("value", {"labels": np.array([0.0]), "logits": np.array([-100.0]),
                                         "pos_weight": np.float64(2.0)},
                               np.array([0.0]), np.array([np.log1p(np.exp(-100.0))])),),
        ),
        FLUSHES_SUBNORMALS,
    ),
    errors=_binary_errors(pos_weight=2.0),
)
