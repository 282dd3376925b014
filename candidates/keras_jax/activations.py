"""Where Keras on JAX departs from TF in keras.activations.softmax / log_softmax (over every axis, or
a tuple's) and keras.layers.Softmax with a mask.

Keras's code is the same on both backends (keras/src/ops/nn.py moves a tuple's axes last and merges
them; keras/src/layers/activations/softmax.py fills masked inputs with -1e9 and computes in
float32); what differs is the kernel it ends in: jax.nn.softmax / log_softmax
(jax/_src/nn/functions.py) compiled by XLA for the CPU, where TF runs its oneDNN or Eigen kernels.
Every difference measured is a rounding one, within a fraction of TF's own budget, except the
mask fill where TF aborts (rank > 5 on oneDNN). TF's other divergences need no counterpart: where
TF's oneDNN kernel gives a nan and zeros for a row holding +inf or nan, JAX gives the all-nan row
(the exact answer), and TF's flush_to_zero names no check.

Measured on the ci profile, both oneDNN settings (live TF with oneDNN on, the ci corpus with it
off), at the elements more than 2 ULP from TF of the cases the candidate lost on accuracy, in eps
times max(scale, 1) (the bounds' unit).
"""

from __future__ import annotations

import numpy as np

from candidates.conditions import everywhere, tf_divergence
from tfparity.backend import ALWAYS, When
from tfparity.compare import Tolerance
from tfparity.opdb import BY_NAME
from tfparity.ops.activations import ON_ONEDNN
from tfparity.ops.common import ALL, F32_IN_F64
from tfparity.records import CandidateDivergence, Evidence, Inputs

F32 = np.float32
LAYER = "keras_softmax_layer:masked"
XLA = ("compiled by XLA for the CPU, whose exp and log are its own polynomial approximations and whose "
       "reductions sum in their own order")
MEASURED = "measured up to {} eps times max(scale, 1) from TF at the elements more than 2 ULP apart (ci profile, " \
           "oneDNN on and off)"


def _evidence(op: str, check: str, inputs: Inputs, tf: np.ndarray, candidate: np.ndarray,
              cotangent: np.ndarray | None = None) -> Evidence:
    """Evidence on a pinned input, its exact answer from the record's long-double one."""
    record = BY_NAME[op]
    axis = inputs.get("axis", -1)
    g = None if cotangent is None else np.asarray(cotangent, np.asarray(record.reference(**inputs)).dtype)
    exact = np.asarray(record.wide(check, {k: v for k, v in inputs.items() if k != "axis"}, axis, g), np.float64)
    return Evidence(check, inputs, tf, exact, candidate=candidate, op=op, cotangent=cotangent)


def _rounding(name: str, what: str, dtypes: frozenset[str], checks: frozenset[str], abs_eps: float,
              measured: str, evidence: Evidence, when: When = ALWAYS, ulp: float = 2) -> CandidateDivergence:
    """The same formula rounded otherwise: within `abs_eps` eps times max(scale, 1) of TF (or `ulp` ULP)."""
    return CandidateDivergence(name=name, what=what, dtypes=dtypes, checks=checks, where=everywhere, when=when,
                               within=Tolerance(ulp, abs_eps, MEASURED.format(measured)), evidence=(evidence,))


KEPT = np.array([[True, True, False], [True, True, True]])

SOFTMAX_VALUE = _rounding(
    "keras_jax_softmax_rounding",
    "keras.activations.softmax ends in jax.nn.softmax (keras/src/backend/jax/nn.py), exp(x - max) / sum, " + XLA +
    ": its algebraic simplifier turns the division into a product with 1 / sum (jit(softmax)/div is a "
    "multiply of a reciprocal), as TF's Eigen kernel does (sum(...).inverse()), in its own order; TF's "
    "oneDNN kernel rounds otherwise. A few ULPs from TF, and from the exact answer.",
    frozenset({"float16", "float32", "float64"}), frozenset({"value"}), 0.75, "0.64 (float32; float64 0.53)",
    _evidence("keras_softmax:all_axes", "value", {"x": np.array([[1.65, 4.17, -0.51], [5.47, -2.66, 1.41]]),
                                                  "axis": None},
              np.array([[1.6681070349403547e-02, 2.0732229528949922e-01, 1.9237464570894007e-03],
                        [7.6072700722893227e-01, 2.2408598582380766e-04, 1.3121794689252019e-02]]),
              np.array([[1.6681070349403544e-02, 2.0732229528949916e-01, 1.9237464570894000e-03],
                        [7.6072700722893205e-01, 2.2408598582380760e-04, 1.3121794689252016e-02]])))

BFLOAT16_PER_STEP = _rounding(
    "keras_jax_bfloat16_softmax_rounded_per_step",
    "jax.nn.softmax of bfloat16 is computed by XLA's CPU code in float32 but rounded to bfloat16 after each "
    "operation of the graph: x - max, exp of it, the sum (jnp.sum accumulates in float32, then casts back), "
    "its reciprocal and the product. TF's oneDNN kernel computes bfloat16 in float32 and rounds once (0 of "
    "TF's budget measured); its Eigen kernel rounds per step as JAX does, and there they agree.",
    frozenset({"bfloat16"}), frozenset({"value"}), 0.125, "0.094 (where TF's bfloat16 softmax is oneDNN's)",
    _evidence("keras_softmax:all_axes", "value",
              {"x": np.array([[1.22656, 3.125, -0.390625], [4.09375, -2, 1.04688]], "bfloat16"), "axis": None},
              np.array([[0.0380859, 0.253906, 0.00753784], [0.667969, 0.00151062, 0.0317383]], "bfloat16"),
              np.array([[0.0375977, 0.251953, 0.00741577], [0.667969, 0.00150299, 0.0317383]], "bfloat16")),
    when=ON_ONEDNN)

SOFTMAX_VJP = _rounding(
    "keras_jax_softmax_vjp_rounding",
    "JAX differentiates jax.nn.softmax by its custom_jvp (_softmax_jvp in jax/_src/nn/functions.py), "
    "y * (g - sum(y * g)) with y its own softmax (see keras_jax_softmax_rounding), " + XLA + "; TF's "
    "SoftmaxGrad computes (g - sum(g * y)) * y from its kernel's y. Many ULPs of a gradient whose terms "
    "cancel, within a fraction of an eps of their size.",
    ALL, frozenset({"vjp_x"}), 0.75, "0.66 (float32 oneDNN on, 0.57 off; float64 0.44, bfloat16 0.38)",
    _evidence("keras_softmax:all_axes", "vjp_x", {"x": np.array([[-4.65, -0.44, -2.49], [-1.46, -1.09, -0.63]], F32),
                                                  "axis": None},
              np.array([[-0.00058720075, 0.17073977, -0.02765159], [0.11212129, -0.22191451, -0.032707732]], F32),
              np.array([[-0.0005872011, 0.17073977, -0.027651597], [0.11212128, -0.22191456, -0.03270775]], F32),
              cotangent=np.array([[0.4, 1.0, -0.1], [1.4, -0.7, 0.4]], F32)))

LOG_SOFTMAX = _rounding(
    "keras_jax_log_softmax_rounding",
    "keras.activations.log_softmax ends in jax.nn.log_softmax, (x - max) - log(sum(exp(x - max))), TF's "
    "formula, " + XLA + "; its VJP is JAX's derivative of that formula, g - exp(x - max) * (sum(g) / "
    "sum(exp(x - max))), where TF's LogSoftmax gradient is g - sum(g) * exp(log_softmax(x)). Many ULPs "
    "where x - max and the log cancel (the largest entry), within a fraction of an eps of the terms.",
    ALL, frozenset({"value", "vjp_x"}), 0.75, "0.58 (float32 value; float64 0.47, VJPs 0.43)",
    _evidence("keras_log_softmax:all_axes", "value",
              {"x": np.array([[3.26, -0.15, -0.85], [4.93, -3.85, -1.76]], F32), "axis": None},
              np.array([[-1.8514483, -5.2614484, -5.961448], [-0.1814485, -8.961449, -6.871448]], F32),
              np.array([[-1.8514483, -5.2614484, -5.961448], [-0.1814484, -8.961448, -6.871448]], F32)))

LAYER_WHAT = ("keras.layers.Softmax computes in float32 (its dtype policy) through keras.activations.softmax, so "
              "on JAX it is jax.nn.softmax in float32 and its custom_jvp, rounded as keras_jax_softmax_rounding "
              "and keras_jax_softmax_vjp_rounding say; masked entries are -1e9 on both backends, 0 after.")
LAYER_ROUNDING = _rounding(
    "keras_jax_softmax_layer_rounding", LAYER_WHAT + " Its value is float32 whatever the inputs' dtype.",
    ALL, frozenset({"value", "vjp_inputs"}), 0.75,
    "0.54 float32 eps (value; VJP 0.48)",
    _evidence(LAYER, "value", {"inputs": np.array([[5.4, 3.95, 1.07], [-3.62, -0.01, 1.97]], F32), "mask": KEPT},
              np.array([[0.80999845, 0.19000156, 0.0], [0.0032711623, 0.12092197, 0.8758068]], F32),
              np.array([[0.80999845, 0.19000156, 0.0], [0.0032711625, 0.12092199, 0.87580687]], F32)))

LAYER_FLOAT64_GRADIENT = _rounding(
    "keras_jax_softmax_layer_float32_gradient",
    LAYER_WHAT + " A float64 input's gradient is that float32 one cast back: its rounding is float32's, "
    f"{F32_IN_F64:g} float64 eps each, as TF's is.",
    frozenset({"float64"}), frozenset({"vjp_inputs"}), 0.5 * F32_IN_F64, "1.7e8 (0.31 float32 eps)",
    _evidence(LAYER, "vjp_inputs", {"inputs": np.array([[0.16, 0.82, -2.95], [-3.32, 0.6, -1.4]]), "mask": KEPT},
              np.array([[-0.13478167355060577, 0.13478168845176697, 0.0],
                        [-0.01217435952275991, 0.16550864279270172, -0.1533341109752655]]),
              np.array([[-0.13478167355060577, 0.13478168845176697, 0.0],
                        [-0.01217436324805021, 0.16550849378108978, -0.1533341407775879]]),
              cotangent=np.array([[0.2, 0.8, -1.6], [0.3, 1.2, -0.3]])),
    ulp=2 * F32_IN_F64)

_FILL = tf_divergence(BY_NAME[LAYER], "keras_softmax_mask_fill_counts")
_RANK_LIMIT = tf_divergence(BY_NAME[LAYER], "keras_softmax_layer_onednn_rank_limit")

FILL_PAST_RANK_LIMIT = CandidateDivergence(
    name="keras_jax_softmax_layer_fill_past_rank_limit",
    what="Keras's -1e9 fill (_large_negative_number in keras/src/layers/activations/softmax.py) counts on JAX "
         "as on TF (TF's keras_softmax_mask_fill_counts): where kept inputs lie near or below it the masked "
         "entries take the weight. Where TF answers, both agree; at rank > 5 on oneDNN TF aborts "
         "(keras_softmax_layer_onednn_rank_limit), the candidate is held to the exact answer, and its fill-"
         "counting rows are not it: any answer there.",
    dtypes=_RANK_LIMIT.dtypes, checks=_RANK_LIMIT.checks, when=_RANK_LIMIT.when,
    where=lambda case, inputs: _FILL.where(case, inputs) & (np.ndim(inputs["inputs"]) > 5),
    evidence=(Evidence("value", {"inputs": np.array([-2e9, 0.0], F32).reshape(1, 1, 1, 1, 1, 2),
                                 "mask": np.array([True, False]).reshape(1, 1, 1, 1, 1, 2)},
                       "AbortedError", np.array([1.0, 0.0]).reshape(1, 1, 1, 1, 1, 2),
                       candidate=np.zeros((1, 1, 1, 1, 1, 2), F32), op=LAYER),),
)

DIVERGENCES: dict[str, tuple[CandidateDivergence, ...]] = {
    **{f"keras_softmax:{variant}": (SOFTMAX_VALUE, BFLOAT16_PER_STEP, SOFTMAX_VJP)
       for variant in ("all_axes", "leading_pair")},
    "keras_softmax:trailing_pair_negative": (),  # both raise ValueError (TF's keras_softmax_negative_axes_in_tuple)
    **{f"keras_log_softmax:{variant}": (LOG_SOFTMAX,) for variant in ("all_axes", "leading_pair")},
    LAYER: (LAYER_ROUNDING, LAYER_FLOAT64_GRADIENT, FILL_PAST_RANK_LIMIT),
}
