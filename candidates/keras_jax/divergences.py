"""Where Keras 3 on its JAX backend (keras 3.15.1, jax 0.10.2, CPU, float64 enabled) departs from
the same losses on its TensorFlow backend: measured, each with the Keras source behind it.

Not yet named (seen on a 12-case-per-record-and-dtype sample of the sweep, or expected from the
source; the ci run is pending): float32 gradients of the binary losses about 2 ULP from exact
where TF is within 1 (XLA's rounding); float16 binary_focal_crossentropy gradients inf where TF
is finite (p near the clip bound of 1); binary_focal_crossentropy(from_logits=True), where on
JAX Keras never recovers the sigmoid's logits (TF's `_get_logits` does, through
`_keras_logits`) and clips sigmoid probabilities where TF uses sigmoid_cross_entropy_with_logits;
the categorical focal losses; the two pipelines (softmax/sigmoid then the loss), where TF
recovers the logits and JAX does not (TF's divergence excuses TF: JAX is held to exact).
"""

from __future__ import annotations

import numpy as np

from candidates.conditions import error_inputs, everywhere, tf_divergence
from tfparity.compare import Tolerance
from tfparity.dtypes import f64, softplus
from tfparity.inputs import Case
from tfparity.keras_reference import bounds
from tfparity.opdb import BY_NAME
from tfparity.ops.common import ALL
from tfparity.ops.keras import rows
from tfparity.records import CandidateDivergence, Evidence, Inputs, Scales

HALVES_AND_F32 = frozenset({"float16", "bfloat16", "float32"})
F64 = frozenset({"float64"})
ALL_CHECKS = frozenset({"value", "vjp_y_pred", "vjp_y_true"})

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

MEAN_IN_FLOAT32 = CandidateDivergence(
    name="keras_jax_float64_mean_in_float32",
    what="Keras's ops.mean computes in dtypes.result_type(x.dtype, 'float32'), and on every backend but "
         "TensorFlow Keras's result_type maps float64 to float32 (BIT64_TO_BIT32_DTYPE in "
         "keras/src/backend/common/dtypes.py), whatever jax_enable_x64 says: the binary losses' mean over "
         "the last axis is taken in float32 and cast back to float64, so their float64 values and gradients "
         "(through the mean) are float32-accurate. The TF backend keeps float64.",
    dtypes=F64, checks=ALL_CHECKS, where=everywhere,
    # float32's rounding of each term and of the sum, relative to the terms' size: 2^29 float64 eps per float32 eps
    within=Tolerance(0, 4 * 2.0**29, "4 float32 eps (2^31 float64 eps) times max(scale, 1): float32's rounding "
                                     "of the terms and their sum; measured up to 2.6e8 ULP (0.5 float32 eps) on "
                                     "a sample of the sweep"),
    evidence=(Evidence("value", {"y_true": np.array([1.0]), "y_pred": np.array([0.5099176155]), "from_logits": True,
                                 "label_smoothing": 0.2},
                       np.float64(0.5213359905214243), np.float64(0.5213359905214243),
                       candidate=np.float64(0.521336019039154), op="binary_crossentropy:logits"),),
)

# --- the binary losses: Keras's JAX arithmetic ----------------------------------------------------

def _inherited(tf_name: str, record: str, why: str) -> CandidateDivergence:
    """TF's divergence `tf_name` of `record`, which the same Keras code reproduces on JAX: unbounded
    where it holds (TF's answer there is not the exact one, and neither is the candidate's)."""
    tf = tf_divergence(BY_NAME[record], tf_name)
    return CandidateDivergence(name=f"keras_jax_{tf_name.removeprefix('keras_')}", what=why + f" (TF's {tf_name}).",
                               dtypes=tf.dtypes, checks=tf.checks, where=tf.where, evidence=tf.evidence)


HALF_CLIP_REACHES_ONE = _inherited(
    "keras_half_clip_reaches_one", "binary_crossentropy:probabilities",
    "The same clip in keras/src/backend/jax/nn.py: 1 - epsilon rounds to 1 in float16 and bfloat16, so a "
    "probability of 1 passes it and the loss of a label of 1 is 0 * log(0), nan on JAX as on TF")
HALF_RECIPROCAL_OVERFLOWS = _inherited(
    "keras_half_log_gradient_overflows", "binary_crossentropy:probabilities",
    "JAX's gradient of log(p) is 1 / p in float16 too: it overflows for a kept probability below 1.5e-5 "
    "(or within 1.5e-5 of 1, for log(1 - p)), inf or nan as on TF")


def _probability(case: Case, inputs: Inputs) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """A binary loss's probability, exact and as the case's dtype holds it (the sigmoid of the
    logits where the case takes logits), and the clip bounds in that dtype."""
    name = "logits" if "logits" in inputs else "y_pred"
    x, dtype = f64(inputs, name), np.asarray(inputs[name]).dtype
    with np.errstate(over="ignore"):
        p = 1.0 / (1.0 + np.exp(-x)) if name == "logits" or case.op.endswith(":logits") else x
    return p, p.astype(dtype).astype(np.float64), bounds(dtype)


def _at_clip_edge(case: Case, inputs: Inputs) -> np.ndarray:
    """Each row (along the class axis) holding a probability that the dtype puts on a clip bound
    or past it."""
    _, held, (lo, hi) = _probability(case, inputs)
    return rows((held <= lo) | (held >= hi), case.class_axis)


CLIP_EDGE = CandidateDivergence(
    name="keras_jax_clip_edge",
    what="keras/src/backend/jax/nn.py clips probabilities with jnp.clip, and JAX's gradient of a clip at "
         "a tie (a probability equal to a bound) is half the unclipped one: d/dp log(clip(p, 1e-7, 1 - 1e-7)) "
         "at p = 1e-7 (float32) is 5e6 on JAX and 1e7 on TF (tf.clip_by_value passes the whole gradient at "
         "its bounds). The gradient then spreads through the row. In float16 and bfloat16 the upper bound "
         "is 1, and a sigmoid that rounds to 1 there gives log(1 - 1): where TF recovers the logits (a "
         "sigmoid's output, the focal loss from logits) it is finite, on JAX 0 * -inf is nan.",
    dtypes=ALL, checks=frozenset({"value", "vjp_y_pred", "vjp_y_true", "vjp_logits"}), where=_at_clip_edge,
    evidence=(Evidence("vjp_y_pred", {"y_true": np.array([1.0], np.float32), "y_pred": np.array([1e-7], np.float32)},
                       np.array([-9999999.0], np.float32), np.array([-1.0 / float(np.float32(1e-7))]),
                       candidate=np.array([-4999999.5], np.float32), op="binary_crossentropy:probabilities"),),
)


def _outside_clip(case: Case, inputs: Inputs) -> np.ndarray:
    """Each row holding a logit whose sigmoid lies outside the clip bounds."""
    p, _, (lo, hi) = _probability(case, inputs)
    return rows((p < lo) | (p > hi), case.class_axis)


FOCAL_LOGITS_CLIPPED = CandidateDivergence(
    name="keras_jax_focal_logits_clipped",
    what="binary_focal_crossentropy(from_logits=True) (keras/src/losses/losses.py) takes ops.sigmoid(y_pred) "
         "and its binary_crossentropy from probabilities. On TF the sigmoid carries its logits "
         "(_keras_logits) and the loss is sigmoid_cross_entropy_with_logits of them; Keras's JAX backend "
         "keeps no logits, so it clips the sigmoid to [epsilon, 1 - epsilon]: where the sigmoid lies "
         "outside, the JAX loss is the clipped one (logit 30, label 0: 30 on TF, -log(1e-7) times the "
         "focal factor on JAX).",
    dtypes=ALL, checks=ALL_CHECKS, where=_outside_clip,
    evidence=(Evidence("value", {"y_true": np.array([0.0], np.float32), "y_pred": np.array([30.0], np.float32),
                                 "from_logits": True},
                       np.array(30.0, np.float32), np.array(30.0),
                       candidate=np.array(-np.log(float(np.float32(1e-7))), np.float32),
                       op="binary_focal_crossentropy:logits"),),
)


def _sigmoid_path_sizes(focal: bool) -> Scales:
    """The terms Keras on JAX rounds when it takes a loss of c = clip(sigmoid(x)) in the input's
    dtype: log c and log(1 - c), where 1 - c has lost c's low bits (eps c / (1 - c) relative,
    so k = 1 / (1 - c) eps absolute in its log); the gradients through c carry the same k. The
    focal factor (1 - p_t)^2 scales every term, and adds its own gradient, by (2 + 2|y|)^2."""
    def sizes(inputs: Inputs, axis: int | None, g: np.ndarray | None) -> dict[str, np.ndarray]:
        name = "logits" if "logits" in inputs else "y_pred"
        x = f64(inputs, name)
        with np.errstate(over="ignore", divide="ignore"):
            c = np.clip(1.0 / (1.0 + np.exp(-x)), *bounds(np.asarray(inputs[name]).dtype))
            k = 1.0 / (1.0 - c)
            logs = np.abs(np.log(c)) + np.abs(np.log1p(-c)) + k
        y = np.abs(f64(inputs, "y_true"))
        factor = (2.0 + 2.0 * y) ** 2 if focal else 1.0
        n = x.shape[axis]
        out = {"value": (1.0 + float(np.log2(n))) * (factor * (1.0 + y) * logs).sum(axis=axis) / n}
        if g is not None:
            gn = np.abs(np.expand_dims(np.asarray(g, np.float64), axis)) / n
            out["vjp_y_true"] = gn * factor * logs
            out[f"vjp_{name}"] = gn * factor * (1.0 + y) * (k + (logs if focal else 0.0))
        return {check: np.where(np.isfinite(size), size, 0.0) for check, size in out.items()}
    return sizes


SIGMOID_PATH_MEASURED = "measured on the ci corpus (oneDNN on and off): up to {} eps times max(scale, own terms, 1) from TF"


def _sigmoid_probabilities(focal: bool) -> CandidateDivergence:
    """Keras on JAX's loss of a sigmoid's probabilities, where TF's is of the logits."""
    loss = "binary_focal_crossentropy(from_logits=True)" if focal else "a Keras sigmoid then binary_crossentropy"
    return CandidateDivergence(
        name="keras_jax_focal_sigmoid_probabilities" if focal else "keras_jax_sigmoid_probabilities",
        what=f"For {loss} TF recovers the logits; Keras on JAX computes log(c) and log(1 - c) of "
             "c = clip(sigmoid(x)) rounded in the input's dtype: 1 - c keeps only the bits c has left, so "
             "log(1 - c) is off by eps c / (1 - c) (x = 15 in float32: 1 - c is 2.98e-7 where it is "
             "3.06e-7), where TF's fused sigmoid cross entropy is an ULP or two from exact. Its bound is in "
             "the size of those terms.",
        dtypes=ALL, checks=ALL_CHECKS | {"vjp_logits"}, where=everywhere,
        within=Tolerance(8, 4, SIGMOID_PATH_MEASURED.format("?")),
        scales=_sigmoid_path_sizes(focal), evidence=())


SIGMOID_PROBABILITIES = _sigmoid_probabilities(focal=False)
FOCAL_SIGMOID_PROBABILITIES = _sigmoid_probabilities(focal=True)


def _log_sigmoid_sizes(inputs: Inputs, axis: int | None, g: np.ndarray | None) -> dict[str, np.ndarray]:
    """The terms of -t log_sigmoid(x) - (1 - t) log_sigmoid(-x): softplus(-x) and softplus(x), each
    times a label (at most |t| + 1); the labels gradient is their difference, the logits one
    t sigmoid(-x) and (1 - t) sigmoid(x)."""
    x = f64(inputs, "y_pred")
    both = softplus(x) + softplus(-x)
    y = np.abs(f64(inputs, "y_true")) + 1.0
    n = x.shape[axis]
    out = {"value": (1.0 + float(np.log2(n))) * (y * both).sum(axis=axis) / n}
    if g is not None:
        gn = np.abs(np.expand_dims(np.asarray(g, np.float64), axis)) / n
        out["vjp_y_true"] = gn * both
        out["vjp_y_pred"] = gn * y
    return out


LOG_SIGMOIDS = CandidateDivergence(
    name="keras_jax_binary_logits_log_sigmoids",
    what="binary_crossentropy(from_logits=True) on JAX (keras/src/backend/jax/nn.py) is "
         "-t * log_sigmoid(x) - (1 - t) * log_sigmoid(-x), where the TF backend calls "
         "sigmoid_cross_entropy_with_logits (max(x, 0) - x t + log1p(exp(-|x|))): its terms round "
         "otherwise, and its labels gradient log_sigmoid(-x) - log_sigmoid(x) (= -x) is the difference of "
         "two numbers near -log 2 for small x, an eps of log 2 off where TF's is -x exactly.",
    dtypes=ALL, checks=ALL_CHECKS, where=everywhere,
    within=Tolerance(8, 4, SIGMOID_PATH_MEASURED.format("?")),
    scales=_log_sigmoid_sizes, evidence=(),
)


MEAN_AXIS_INDEX_ERROR = CandidateDivergence(
    name="keras_jax_mean_axis_index_error",
    what="The binary losses end in ops.mean(loss, axis), jnp.mean on JAX, which reads the shape at `axis` "
         "(jax/_src/numpy/reductions.py, _axis_size) before checking it: an axis past the rank, and the "
         "default axis -1 of a rank-0 input, raise Python's IndexError ('tuple index out of range') where "
         "TF raises InvalidArgumentError ('Invalid reduction dimension'). Both refuse the input.",
    dtypes=ALL, checks=frozenset({"error"}), where=error_inputs("rank_0", "axis_past_last"),
    evidence=(Evidence("raises", {"y_true": np.ones((2, 4), np.float32), "y_pred": np.full((2, 4), 0.25, np.float32),
                                  "axis": 2},
                       "InvalidArgumentError", "InvalidArgumentError", candidate="IndexError",
                       op="binary_crossentropy:probabilities"),),
)

XLA_ROUNDING = CandidateDivergence(
    name="keras_jax_xla_rounding",
    what="Keras's formulas compiled by XLA for the CPU: XLA's log and exp are polynomial approximations a "
         "few ULPs from the correctly rounded value (TF's Eigen kernels call the C library's, nearer "
         "0.5 ULP), and XLA fuses and reorders the sums. Where a result is small beside its terms "
         "(a labels gradient log c - log(1 - c) near c = 0.5) those ULPs of the terms are many of the "
         "result's: the bound is 4 ULPs, or an eps of the terms' size.",
    dtypes=ALL, checks=frozenset({"value", "vjp_y_pred", "vjp_y_true", "vjp_logits", "vjp_x", "vjp_inputs",
                                  "vjp_sample_weight"}), where=everywhere,
    within=Tolerance(4, 1, SIGMOID_PATH_MEASURED.format("?")), evidence=(),
)


_CLIPPED = (CLIP_EDGE, HALF_CLIP_REACHES_ONE, HALF_RECIPROCAL_OVERFLOWS)
DIVERGENCES: dict[str, tuple[CandidateDivergence, ...]] = {
    "categorical_crossentropy:probabilities": (SMOOTHING_LAST_AXIS,),
    "categorical_crossentropy:logits": (SMOOTHING_LAST_AXIS,),
    "sparse_categorical_crossentropy:probabilities_ignore_class": (SPARSE_ONE_HOT_FLOAT64,),
    "sparse_categorical_crossentropy:logits": (SPARSE_ONE_HOT_FLOAT64,),
    "binary_crossentropy:probabilities": (MEAN_IN_FLOAT32, XLA_ROUNDING, MEAN_AXIS_INDEX_ERROR, *_CLIPPED),
    "binary_crossentropy:logits": (MEAN_IN_FLOAT32, LOG_SIGMOIDS),
    "binary_focal_crossentropy:probabilities_balanced": (MEAN_IN_FLOAT32, XLA_ROUNDING, *_CLIPPED),
    "binary_focal_crossentropy:logits": (MEAN_IN_FLOAT32, FOCAL_LOGITS_CLIPPED, CLIP_EDGE, FOCAL_SIGMOID_PROBABILITIES),
    "sigmoid_then_binary_crossentropy": (MEAN_IN_FLOAT32, CLIP_EDGE, SIGMOID_PROBABILITIES),
}
