"""Where Keras on JAX departs from TF in the binary losses: binary and focal cross entropy, from
probabilities and logits, and a sigmoid then the loss."""

from __future__ import annotations

import numpy as np

from candidates.conditions import error_inputs, everywhere
from candidates.keras_jax.common import (
    ALL_CHECKS,
    F64,
    MEASURED,
    XLA_ROUNDING,
    inherited,
)
from tfparity.compare import Tolerance
from tfparity.dtypes import f64, softplus
from tfparity.inputs import Case
from tfparity.keras_reference import bounds
from tfparity.ops.common import ALL
from tfparity.ops.keras import rows
from tfparity.records import CandidateDivergence, Evidence, Inputs, Scales

MEAN_IN_FLOAT32 = CandidateDivergence(
    name="keras_jax_float64_mean_in_float32",
    what="Keras's ops.mean computes in dtypes.result_type(x.dtype, 'float32'), and on every backend but "
         "TensorFlow Keras's result_type maps float64 to float32 (BIT64_TO_BIT32_DTYPE in "
         "keras/src/backend/common/dtypes.py), whatever jax_enable_x64 says: the binary losses' mean over "
         "the last axis is taken in float32 and cast back to float64, so their float64 values and gradients "
         "(through the mean) are float32-accurate. The TF backend keeps float64.",
    dtypes=F64, checks=ALL_CHECKS | {"vjp_logits"}, where=everywhere,
    # float32's rounding of each term and of the sum, relative to the terms' size: 2^29 float64 eps per float32 eps
    within=Tolerance(0, 4 * 2.0**29, "4 float32 eps (2^31 float64 eps) times max(scale, 1): float32's rounding "
                                     "of the terms and their sum; measured up to 2.6e8 ULP (0.5 float32 eps) on "
                                     "a sample of the sweep"),
    evidence=(Evidence("value", {"y_true": np.array([1.0]), "y_pred": np.array([0.5099176155]), "from_logits": True,
                                 "label_smoothing": 0.2},
                       np.float64(0.5213359905214243), np.float64(0.5213359905214243),
                       candidate=np.float64(0.521336019039154), op="binary_crossentropy:logits"),),
)

HALF_CLIP_REACHES_ONE = inherited(
    "keras_half_clip_reaches_one", "binary_crossentropy:probabilities",
    "The same clip in keras/src/backend/jax/nn.py: 1 - epsilon rounds to 1 in float16 and bfloat16, so a "
    "probability of 1 passes it and the loss of a label of 1 is 0 * log(0), nan on JAX as on TF")


def _jax_sigmoid(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """jax.nn.sigmoid as XLA's CPU code computes it, 1 / (1 + exp(-x)) with each step rounded to
    `dtype`: the same bits in float16 and bfloat16 (so 1 + exp(-x) is 1 from x = 5.5625 in bfloat16,
    7.625 in float16, where the correctly rounded sigmoid is below 1 up to 8.3 in float16)."""
    with np.errstate(over="ignore"):
        e = np.exp(-x).astype(dtype).astype(np.float64)
        return (1.0 / (1.0 + e).astype(dtype).astype(np.float64)).astype(dtype).astype(np.float64)


def _probability(case: Case, inputs: Inputs) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """A binary loss's probability, exact and as the candidate holds it in the case's dtype (JAX's
    sigmoid of the logits where the case takes logits), and the clip bounds in that dtype."""
    name = "logits" if "logits" in inputs else "y_pred"
    x, dtype = f64(inputs, name), np.asarray(inputs[name]).dtype
    if name == "logits" or case.op.endswith(":logits"):
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp(-x)), _jax_sigmoid(x, dtype), bounds(dtype)
    return x, x.astype(dtype).astype(np.float64), bounds(dtype)


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
         "outside, the JAX loss is the clipped one (logit 30, label 0: 30 on TF, -log(1 - (1 - 1e-7)) on JAX, "
         "15.94 in float32, where 1 - 1e-7 rounds to 1 - 1.19e-7).",
    dtypes=ALL, checks=ALL_CHECKS, where=_outside_clip,
    evidence=(Evidence("value", {"y_true": np.array([0.0], np.float32), "y_pred": np.array([30.0], np.float32),
                                 "from_logits": True},
                       np.array(30.0, np.float32), np.array(30.0),
                       candidate=np.array(15.942385, np.float32),
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


_SIGMOID_EVIDENCE = {  # logit 15, label 0, float32: the exact loss is softplus(15) (times sigmoid(15)^2, focal)
    False: Evidence("value", {"y_true": np.array([0.0], np.float32), "logits": np.array([15.0], np.float32)},
                    np.array(15.0, np.float32), np.array(15.000000305902274), candidate=np.array(14.843773, np.float32),
                    op="sigmoid_then_binary_crossentropy"),
    True: Evidence("value", {"y_true": np.array([0.0], np.float32), "y_pred": np.array([15.0], np.float32),
                             "from_logits": True},
                   np.array(14.999991, np.float32), np.array(14.999991128836682),
                   candidate=np.array(14.843762, np.float32), op="binary_focal_crossentropy:logits"),
}


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
        within=Tolerance(8, 4, MEASURED.format("0.19" if focal else "0.18")),
        scales=_sigmoid_path_sizes(focal), evidence=(_SIGMOID_EVIDENCE[focal],))


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
    within=Tolerance(8, 4, MEASURED.format("0.5")),
    scales=_log_sigmoid_sizes,
    evidence=(Evidence("vjp_y_true", {"y_true": np.array([0.5], np.float32), "y_pred": np.array([1e-3], np.float32),
                                      "from_logits": True},
                       np.array([-0.001], np.float32), np.array([-float(np.float32(1e-3))]),
                       candidate=np.array([-0.0009999871], np.float32), op="binary_crossentropy:logits"),),
)


MEAN_AXIS_INDEX_ERROR = CandidateDivergence(
    name="keras_jax_mean_axis_index_error",
    what="The binary losses end in ops.mean(loss, axis), jnp.mean on JAX, which reads the shape at `axis` "
         "(jax/_src/numpy/reductions.py, _axis_size) before checking it: an axis past the rank, and the "
         "default axis -1 of a rank-0 input, raise Python's IndexError ('tuple index out of range') where "
         "TF raises InvalidArgumentError ('Invalid reduction dimension'). Both refuse the input.",
    dtypes=ALL, checks=frozenset({"value"}), where=error_inputs("rank_0", "axis_past_last"),
    evidence=(Evidence("value", {"y_true": np.ones((2, 4), np.float32), "y_pred": np.full((2, 4), 0.25, np.float32),
                                  "axis": 2},
                       "InvalidArgumentError", "InvalidArgumentError", candidate="IndexError",
                       op="binary_crossentropy:probabilities"),),
)


# TF's keras_half_log_gradient_overflows is TF's alone here: JAX's JVP of log divides the cotangent (times
# the label) by p, finite where TF's 1 / p overflows (float16 labels [0, 1], p [1e-5, 0.5], smoothing 0.1:
# -2496 as exact, where TF gives -inf); the candidate is held to the exact answer there, and meets it.
_CLIPPED = (CLIP_EDGE, HALF_CLIP_REACHES_ONE)
DIVERGENCES: dict[str, tuple[CandidateDivergence, ...]] = {
    "binary_crossentropy:probabilities": (MEAN_IN_FLOAT32, XLA_ROUNDING, MEAN_AXIS_INDEX_ERROR, *_CLIPPED),
    "binary_crossentropy:logits": (MEAN_IN_FLOAT32, LOG_SIGMOIDS),
    "binary_focal_crossentropy:probabilities_balanced": (MEAN_IN_FLOAT32, XLA_ROUNDING, *_CLIPPED),
    "binary_focal_crossentropy:logits": (MEAN_IN_FLOAT32, FOCAL_LOGITS_CLIPPED, CLIP_EDGE,
                                         FOCAL_SIGMOID_PROBABILITIES),
    "sigmoid_then_binary_crossentropy": (MEAN_IN_FLOAT32, CLIP_EDGE, SIGMOID_PROBABILITIES),
}
