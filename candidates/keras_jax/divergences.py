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

from candidates.conditions import everywhere, tf_divergence
from tfparity.compare import Tolerance
from tfparity.opdb import BY_NAME
from tfparity.records import CandidateDivergence, Evidence

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

_BINARY = ("binary_crossentropy:probabilities", "binary_crossentropy:logits",
           "binary_focal_crossentropy:probabilities_balanced", "binary_focal_crossentropy:logits")
DIVERGENCES: dict[str, tuple[CandidateDivergence, ...]] = {
    "categorical_crossentropy:probabilities": (SMOOTHING_LAST_AXIS,),
    "categorical_crossentropy:logits": (SMOOTHING_LAST_AXIS,),
    "sparse_categorical_crossentropy:probabilities_ignore_class": (SPARSE_ONE_HOT_FLOAT64,),
    "sparse_categorical_crossentropy:logits": (SPARSE_ONE_HOT_FLOAT64,),
    **{name: (MEAN_IN_FLOAT32,) for name in _BINARY},
}
