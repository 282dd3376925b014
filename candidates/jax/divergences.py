"""Where JAX (jax.nn, optax; jax 0.10, optax 0.2.8, CPU, float64 enabled) departs from TF on
purpose: measured, with evidence. Its conventions (promotion, broadcasting, unchecked indices)
are JAX's and optax's, not the adapter's."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from candidates.conditions import (
    error_inputs,
    everywhere,
    python_values,
    rows_holding,
    tf_divergence,
)
from tfparity.compare import Tolerance
from tfparity.dtypes import f64
from tfparity.opdb import BY_NAME, SOFTMAX_CE, WEIGHTED_CE
from tfparity.records import CandidateDivergence, Evidence, Inputs

ALL = frozenset({"float16", "bfloat16", "float32", "float64"})
VALUE = frozenset({"value"})
F32 = np.float32

PROMOTES_INTEGERS = CandidateDivergence(
    name="jax_promotes_integer_logits",
    what="jax.nn.softmax and log_softmax (and arithmetic on integer arrays) promote int32 logits to float32 "
         "and answer; TF's kernels refuse integer logits (InvalidArgumentError).",
    dtypes=ALL, checks=VALUE, where=error_inputs("integer_logits", "python_int_list"),
    evidence=(Evidence("value", {"logits": np.ones((2, 3), np.int32)}, "InvalidArgumentError", "InvalidArgument",
                       candidate=np.full((2, 3), 1 / 3, F32), op="softmax"),),
)

PYTHON_VALUES_ARE_FLOAT64 = CandidateDivergence(
    name="jax_python_values_are_float64",
    what="With float64 enabled, a Python float or list becomes a float64 array (a float alone weakly typed), "
         "so the answer is float64; TF makes float32 of it, and refuses float32 labels with float64 logits.",
    dtypes=ALL, checks=VALUE,
    where=python_values,
    evidence=(Evidence("value", {"x": 2.0}, np.float32(0.880797), 0.8807970779778823,
                       candidate=np.float64(0.8807970779778823), op="sigmoid"),),
)

BROADCASTS = CandidateDivergence(
    name="optax_broadcasts_labels",
    what="optax's losses broadcast labels NumPy-style: labels [1, 3] for logits [2, 3] in sigmoid (and a "
         "porter's weighted) CE, [2, 1, 3] for [2, 4, 3] in softmax CE are answered where TF refuses them.",
    dtypes=ALL, checks=VALUE, where=error_inputs("labels_broadcast", "labels_partly_broadcast"),
    evidence=(Evidence("value", {"labels": np.full((1, 3), 0.5, F32), "logits": np.ones((2, 3), F32)},
                       "InvalidArgumentError", "InvalidArgument", candidate=np.full((2, 3), 0.81326175, F32),
                       op="sigmoid_cross_entropy_with_logits"),),
)

PROMOTES_MIXED = CandidateDivergence(
    name="jax_promotes_mixed_dtypes",
    what="JAX answers mixed dtypes (int32 labels with float32 logits; float64 labels with float16 logits; "
         "labels of another float dtype), promoting them (softmax CE, the porter's weighted CE) or casting the "
         "labels to the logits' dtype (optax's sigmoid CE), where TF refuses them (sigmoid and weighted CE) or "
         "answers in the logits' dtype (softmax CE).",
    dtypes=ALL, checks=VALUE,
    where=error_inputs("labels_int_logits_float32", "labels_other_dtype", "labels_float64_logits_float16"),
    evidence=(Evidence("value", {"labels": np.array([0, 1], np.int32), "logits": np.array([1.5, -2.0], F32)},
                       "InvalidArgumentError", "InvalidArgument", candidate=np.array([1.7014133, 2.126928], F32),
                       op="sigmoid_cross_entropy_with_logits"),),
)

INTEGER_LABELS_UNCHECKED = CandidateDivergence(
    name="optax_integer_labels_unchecked",
    what="optax's softmax_cross_entropy_with_integer_labels indexes with take_along_axis and checks nothing: "
         "a label past the last class gives nan, a negative one counts from the end (-1 is the last class), "
         "where TF's CPU kernel raises InvalidArgumentError.",
    dtypes=ALL, checks=VALUE, where=error_inputs("label_past_last_class", "negative_label", "no_classes"),
    evidence=(Evidence("value", {"labels": np.array([0, -1], np.int64), "logits": np.ones((2, 4), F32)},
                       "InvalidArgumentError", "InvalidArgument", candidate=np.full(2, np.log(4), F32),
                       op="sparse_softmax_cross_entropy_with_logits"),),
)

SPARSE_INFINITE_LOGIT = CandidateDivergence(
    name="optax_sparse_ce_infinite_logit",
    what="optax's integer-label CE is logsumexp(x) - x[label]: in a row with a +inf logit it is +inf where the "
         "label's logit is finite (the limit), and its gradient is finite (0, or -1 at the label) beside nan "
         "at the +inf; TF's kernel (and the exact inf / inf) give nan across the row. Rows with -inf or nan "
         "logits agree with TF.",
    dtypes=ALL, checks=frozenset({"value", "vjp_logits"}), where=rows_holding(lambda x: x == np.inf),
    evidence=(Evidence("value", {"labels": np.array([1], np.int32), "logits": np.array([[np.inf, 1.0, 2.0]], F32)},
                       np.array([np.nan], F32), np.array([np.nan]), candidate=np.array([np.inf], F32)),
              Evidence("vjp_logits", {"labels": np.array([1], np.int32),
                                      "logits": np.array([[np.inf, 1.0, 2.0]], F32)},
                       np.array([[np.nan, np.nan, np.nan]], F32), np.array([[np.nan, np.nan, np.nan]]),
                       candidate=np.array([[np.nan, -1.0, 0.0]], F32)),),
)

TF_SHIFT_OVERFLOW = tf_divergence(SOFTMAX_CE, "softmax_ce_shift_overflow")
SHIFT_OVERFLOW = CandidateDivergence(
    name="jax_softmax_ce_shift_overflow",
    what="As TF's kernel does (softmax_ce_shift_overflow), jax.nn.log_softmax's x - max overflows for logits "
         "near the dtype's max: optax's loss is inf or nan where it is finite. It shows where TF raises "
         "(a negative class axis) and the candidate is held to the exact answer.",
    dtypes=ALL, checks=TF_SHIFT_OVERFLOW.checks, where=TF_SHIFT_OVERFLOW.where,
    evidence=(Evidence("value", {"labels": np.array([0.5, 0.5], F32), "logits": np.array([3e38, -3e38], F32)},
                       F32(np.inf), np.float64(3.0000000054977558e+38), candidate=F32(np.inf)),),
)

TF_PRODUCT_OVERFLOW = tf_divergence(WEIGHTED_CE, "binary_ce_intermediate_overflow")
PRODUCT_OVERFLOW = CandidateDivergence(
    name="jax_binary_ce_product_overflow",
    what="Where TF's products overflow (binary_ce_intermediate_overflow), so do JAX's near the dtype's max: "
         "the VJP of the porter's weighted CE multiplies the cotangent into log_sigmoid's terms first (inf "
         "where the exact labels or pos_weight gradient is finite), and optax's loss -labels * log_sigmoid(x) "
         "overflows where the exact loss is just below the max (bfloat16).",
    dtypes=ALL, checks=TF_PRODUCT_OVERFLOW.checks, where=TF_PRODUCT_OVERFLOW.where,
    evidence=(Evidence("vjp_labels", {"labels": np.array([-0.830261766910553], F32),
                                      "logits": np.array([-3.0882767594084972e+38], F32),
                                      "pos_weight": F32(0.2925061285495758)},
                       np.array([np.nan], F32), np.array([1.8066797575684186e+38]), candidate=np.array([np.inf], F32),
                       cotangent=np.array([2.0], F32), op="weighted_cross_entropy_with_logits"),),
)


def _rounds(name: str, what: str, within: Tolerance, evidence: Evidence,
            scales: Callable[[Inputs, int | None, np.ndarray | None], dict[str, np.ndarray]] | None = None,
            ) -> CandidateDivergence:
    """JAX's formula for the evidence's op (value and gradients), compiled by XLA, rounding otherwise than
    TF's kernels, by at most `within` (in eps times the op's scale, the size of TF's terms, or `scales`, the
    size of JAX's, whichever is larger, and at least 1)."""
    checks = frozenset({"value"} | {f"vjp_{grad}" for grad in BY_NAME[evidence.op].grads})
    return CandidateDivergence(name=name, what=what + XLA_CPU, dtypes=ALL, checks=checks, where=everywhere,
                               within=within, evidence=(evidence,), scales=scales)


def _logsumexp_terms(inputs: Inputs, axis: int | None, g: np.ndarray | None) -> dict[str, np.ndarray]:
    """optax's integer-label CE subtracts x[label] from logsumexp(x): its value rounds at their size."""
    x = f64(inputs, "logits")
    labels = np.asarray(inputs["labels"]).astype(np.intp)[..., None]
    with np.errstate(all="ignore"):
        size = np.abs(np.logaddexp.reduce(x, axis=-1)) + np.abs(np.take_along_axis(x, labels, axis=-1)[..., 0])
    return {"value": np.where(np.isfinite(size), size, 0.0)}


XLA_CPU = (" XLA's CPU code also flushes subnormal results to 0, float16 and bfloat16 too (sigmoid(-17) is 0 "
           "in float16, 5.96e-8 in TF), which the absolute part of the bound covers.")
MEASURED = "measured on the ci profile (oneDNN on and off): up to {} eps times max(scale, 1) from TF"

SOFTMAX_ROUNDING = _rounds(
    "jax_softmax_rounding", "jax.nn.softmax is exp(x - max) / sum, as TF's kernels are, but XLA fuses and orders it otherwise: "
    "a few ULPs from TF (bfloat16: rounded at each step), and its VJP y * (g - sum(g * y)) as far.",
    Tolerance(4, 1, MEASURED.format(0.82)),
    # float64: Eigen's kernel with oneDNN on or off (float32 goes to oneDNN's kernel when it is on)
    Evidence("value", {"logits": np.array([[0.03357512043974858, -4.2249822838569475, 0.38542724415527346,
                                            2.6629416103563632]])},
             np.array([[0.06134659026185197, 0.0008676058015661868, 0.08721634141224067, 0.8505694625243413]]),
             np.array([[0.06134659026185195, 0.0008676058015661864, 0.08721634141224069, 0.8505694625243412]]),
             candidate=np.array([[0.06134659026185195, 0.0008676058015661866, 0.08721634141224066,
                                  0.8505694625243411]]), op="softmax"))
LOG_SOFTMAX_ROUNDING = _rounds(
    "jax_log_softmax_rounding", "jax.nn.log_softmax is x - max - log(sum(exp(x - max))), as TF's kernel is, "
    "ordered otherwise by XLA: a few ULPs from TF, and its VJP g - softmax * sum(g) as far.",
    Tolerance(4, 1, MEASURED.format(0.67)),
    Evidence("value", {"logits": np.array([[-3.0288546085357666, -0.6275267004966736, -0.47767502069473267,
                                            1.6225367784500122, 0.6439773440361023]], F32)},
             np.array([[-5.1296257972717285, -2.728297710418701, -2.57844614982605, -0.47823432087898254,
                        -1.4567937850952148]], F32),
             np.array([[-5.12962572891085, -2.7282978208717563, -2.5784461410698154, -0.4782343419250705,
                        -1.4567937763389804]]),
             candidate=np.array([[-5.1296257972717285, -2.728297710418701, -2.578446388244629, -0.4782344102859497,
                                  -1.4567937850952148]], F32), op="log_softmax"))
SIGMOID_ROUNDING = _rounds(
    "jax_sigmoid_rounding", "jax.nn.sigmoid is XLA's logistic, and its VJP g * y * (1 - y) is computed in the "
    "input dtype: in float16 and bfloat16, 1 - y loses y's low bits near 1 (x = 5.68 in float16: 0.00292 where "
    "TF gives 0.00341, exact 0.00338), many ULPs of a small gradient but within an eps.",
    Tolerance(4, 2, MEASURED.format(1.36)),
    Evidence("vjp_x", {"x": np.array([-3.21484375, 2.169921875, 7.82421875, 5.68359375], np.float16)},
             np.array([0.037109375, 0.092041015625, 0.0, 0.003406524658203125], np.float16),
             np.array([0.03712012743919735, 0.09198120405670451, 0.0003996112126421428, 0.0033782926400029336]),
             candidate=np.array([0.037109375, 0.092041015625, 0.0, 0.00292205810546875], np.float16), op="sigmoid"))
SOFTMAX_CE_ROUNDING = _rounds(
    "optax_softmax_ce_rounding", "optax's softmax CE is -sum(labels * log_softmax(logits)) and its gradients "
    "are JAX's of that (softmax(x) * sum(labels) - labels; -log_softmax(x)): TF's fused kernel rounds them "
    "otherwise, a few ULPs (float16 and bfloat16: many ULPs where the gradient is small, within an eps).",
    Tolerance(4, 2, MEASURED.format(0.80) + "; 1.8 eps from exact where TF raises (a negative class axis): "
              "log(sum(exp(x - max))) near 0 is an eps off, many ULPs of a small loss"),
    Evidence("vjp_logits", {"labels": np.array([[0.39034467935562134, 0.09292507916688919, 0.10068415105342865,
                                                 0.4160461127758026]], F32),
                            "logits": np.array([[-3.0288546085357666, -0.6275267004966736, -0.47767502069473267,
                                                 1.6225367784500122]], F32)},
             np.array([[-0.38262808322906494, -0.0077505335211753845, -0.0017401352524757385,
                        0.3921187222003937]], F32),
             np.array([[-0.3826280730089695, -0.0077505374516971, -0.0017401283654544357, 0.3921187388261211]]),
             candidate=np.array([[-0.38262808322906494, -0.007750530261546373, -0.001740135601721704,
                                  0.3921187222003937]], F32), op="softmax_cross_entropy_with_logits"))
SPARSE_CE_LOGSUMEXP = _rounds(
    "optax_sparse_ce_logsumexp_cancels", "optax's integer-label CE is logsumexp(x) - x[label]: logsumexp is "
    "rounded at the size of the largest logit before the label's logit is taken off, so where the loss is "
    "small beside |max| the rounding of max + log(sum) is many ULPs of it (logits [1000.5, 1000]: 0.474060 "
    "where TF, which subtracts max first, gives 0.474077): its absolute error is some eps times |logsumexp| + "
    "|x[label]|, the scale of its bound.",
    Tolerance(8, 4, "measured on the ci profile (oneDNN on and off): within 4 eps times (|logsumexp| + |x[label]|), "
                    "16,177 ULP of TF's at logits near 1e4"),
    Evidence("value", {"labels": np.array([0], np.int32), "logits": np.array([[1000.5, 1000.0]], F32)},
             np.array([0.4740769863128662], F32), np.array([0.4740769841801067]),
             candidate=np.array([0.47406005859375], F32), op="sparse_softmax_cross_entropy_with_logits"),
    scales=_logsumexp_terms)
SIGMOID_CE_LOG_SIGMOIDS = _rounds(
    "optax_sigmoid_ce_log_sigmoids", "optax's sigmoid_binary_cross_entropy is -labels * log_sigmoid(x) - "
    "(1 - labels) * log_sigmoid(-x), not TF's max(x, 0) - x * z + log1p(exp(-|x|)): its terms round "
    "otherwise, and its labels gradient log_sigmoid(-x) - log_sigmoid(x) (= -x) is a difference of two "
    "numbers near -log 2 for small x, off by a fraction of an eps where TF gives -x exactly (x = 0.001: "
    "-0.00099999 where TF gives -0.001, 111 ULP).",
    Tolerance(8, 16, MEASURED.format(16)),
    Evidence("vjp_labels", {"labels": np.array([0.30000001192092896], F32),
                            "logits": np.array([0.0010000000474974513], F32)},
             np.array([-0.0010000000474974513], F32), np.array([-0.0010000000474974513]),
             candidate=np.array([-0.0009999871253967285], F32), op="sigmoid_cross_entropy_with_logits"))
WEIGHTED_CE_LOG_SIGMOIDS = _rounds(
    "jax_weighted_ce_log_sigmoids", "The porter's weighted CE, -(pos_weight * labels * log_sigmoid(x) + "
    "(1 - labels) * log_sigmoid(-x)), rounds its terms otherwise than TF's (1 - z) x + (1 + (q - 1) z) "
    "(log1p(exp(-|x|)) + max(-x, 0)), and its gradients (JAX's of that formula) as far.",
    Tolerance(32, 12, MEASURED.format(9.7) + ", or 18 ULP (float64 logits gradient, saturating logits)"),
    Evidence("value", {"labels": np.array([0.8326441645622253, 0.7870982885360718, 0.2393694370985031], F32),
                       "logits": np.array([-0.017816532403230667, 2.6258997917175293, -5.153445720672607], F32),
                       "pos_weight": F32(0.9213414192199707)},
             np.array([0.6531299948692322, 0.6246078610420227, 1.1422007083892822], F32),
             np.array([0.65312997899902, 0.624607875887934, 1.1422002676022343]),
             candidate=np.array([0.6531299948692322, 0.6246078610420227, 1.142200231552124], F32),
             op="weighted_cross_entropy_with_logits"))

DIVERGENCES: dict[str, tuple[CandidateDivergence, ...]] = {
    "softmax": (PROMOTES_INTEGERS, PYTHON_VALUES_ARE_FLOAT64, SOFTMAX_ROUNDING),
    "log_softmax": (PROMOTES_INTEGERS, PYTHON_VALUES_ARE_FLOAT64, LOG_SOFTMAX_ROUNDING),
    "sigmoid": (PYTHON_VALUES_ARE_FLOAT64, SIGMOID_ROUNDING),
    "softmax_cross_entropy_with_logits": (PYTHON_VALUES_ARE_FLOAT64, BROADCASTS, PROMOTES_MIXED, SHIFT_OVERFLOW,
                                          SOFTMAX_CE_ROUNDING),
    "sparse_softmax_cross_entropy_with_logits": (PYTHON_VALUES_ARE_FLOAT64, INTEGER_LABELS_UNCHECKED,
                                                 SPARSE_INFINITE_LOGIT, SPARSE_CE_LOGSUMEXP),
    "sigmoid_cross_entropy_with_logits": (PYTHON_VALUES_ARE_FLOAT64, BROADCASTS, PROMOTES_MIXED, PRODUCT_OVERFLOW,
                                          SIGMOID_CE_LOG_SIGMOIDS),
    "weighted_cross_entropy_with_logits": (PROMOTES_INTEGERS, PYTHON_VALUES_ARE_FLOAT64, BROADCASTS, PROMOTES_MIXED,
                                           PRODUCT_OVERFLOW, WEIGHTED_CE_LOG_SIGMOIDS),
}
