"""Where Keras on JAX departs from TF in the categorical losses, sparse, focal, pipelines and the
loss classes' reductions."""

from __future__ import annotations

import numpy as np

from candidates.conditions import everywhere, tf_divergence
from candidates.keras_jax.common import HALVES_AND_F32
from tfparity.opdb import BY_NAME
from tfparity.records import CandidateDivergence, Evidence

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


DIVERGENCES: dict[str, tuple[CandidateDivergence, ...]] = {
    "categorical_crossentropy:probabilities": (SMOOTHING_LAST_AXIS,),
    "categorical_crossentropy:logits": (SMOOTHING_LAST_AXIS,),
    "sparse_categorical_crossentropy:probabilities_ignore_class": (SPARSE_ONE_HOT_FLOAT64,),
    "sparse_categorical_crossentropy:logits": (SPARSE_ONE_HOT_FLOAT64,),
}
