"""What Keras on JAX does alike across the loss families: the checks and dtypes divergences
name, TF's divergences the same Keras code reproduces, and XLA's rounding."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from candidates.conditions import everywhere, tf_divergence
from tfparity.compare import Tolerance
from tfparity.opdb import BY_NAME
from tfparity.ops.common import ALL
from tfparity.records import CandidateDivergence, Evidence

HALVES_AND_F32 = frozenset({"float16", "bfloat16", "float32"})
F64 = frozenset({"float64"})
ALL_CHECKS = frozenset({"value", "vjp_y_pred", "vjp_y_true"})
MEASURED = "the ci corpus (oneDNN on and off) spends at most {} of it against TF (bound_used)"


def inherited(tf_name: str, record: str, why: str) -> CandidateDivergence:
    """TF's divergence `tf_name` of `record`, which the same Keras code reproduces on JAX: unbounded
    where it holds (TF's answer there is not the exact one, and neither is the candidate's). Its
    evidence is TF's, the candidate giving what TF gives."""
    tf = tf_divergence(BY_NAME[record], tf_name)
    return CandidateDivergence(name=f"keras_jax_{tf_name.removeprefix('keras_')}", what=why + f" (TF's {tf_name}).",
                               dtypes=tf.dtypes, checks=tf.checks, where=tf.where, when=tf.when, modes=tf.modes,
                               devices=tf.devices,
                               evidence=tuple(replace(ev, candidate=ev.tf, op=ev.op or record) for ev in tf.evidence))


XLA_ROUNDING = CandidateDivergence(
    name="keras_jax_xla_rounding",
    what="Keras's formulas compiled by XLA for the CPU: XLA's log and exp are polynomial approximations a "
         "few ULPs from the correctly rounded value (TF's Eigen kernels call the C library's, nearer "
         "0.5 ULP), and XLA fuses and reorders the sums. Where a result is small beside its terms "
         "(a labels gradient log c - log(1 - c) near c = 0.5) those ULPs of the terms are many of the "
         "result's: the bound is 4 ULPs, or an eps of the terms' size.",
    dtypes=ALL, checks=frozenset({"value", "vjp_y_pred", "vjp_y_true", "vjp_logits", "vjp_x", "vjp_inputs",
                                  "vjp_sample_weight"}), where=everywhere,
    within=Tolerance(4, 1, "on the ci corpus (oneDNN on and off) the candidate stays within the op's own "
                           "tolerance of TF where this applies; the bound is needed where it is further from the "
                           "exact answer than TF (without it, float32 labels gradients of binary_crossentropy "
                           "2.4 ULP from exact where TF's are within 0.4)"),
    evidence=(Evidence("vjp_y_true", {"y_true": np.array([[0.86, 0.03, 0.73]], np.float32),
                                      "y_pred": np.array([[0.37, 0.645, 0.517]], np.float32), "label_smoothing": 0.1},
                       np.array([[0.15966505, -0.1791397, -0.020407895]], np.float32),
                       np.array([[0.15966503798729212, -0.17913973320627918, -0.02040788974429674]]),
                       candidate=np.array([[0.15966503, -0.1791397, -0.020407889]], np.float32),
                       op="binary_crossentropy:probabilities"),),
)


