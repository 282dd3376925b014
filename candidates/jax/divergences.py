"""Where JAX (jax.nn, optax; jax 0.10, optax 0.2.8, CPU, float64 enabled) departs from TF on
purpose: measured, with evidence. Its conventions (promotion, broadcasting, unchecked indices)
are JAX's and optax's, not the adapter's."""

from __future__ import annotations

import numpy as np

from candidates.conditions import error_inputs, python_values
from tfparity.records import CandidateDivergence, Evidence

ALL = frozenset({"float16", "bfloat16", "float32", "float64"})
VALUE = frozenset({"value"})
F32 = np.float32

PROMOTES_INTEGERS = CandidateDivergence(
    name="jax_promotes_integer_logits",
    what="jax.nn.softmax and log_softmax (and arithmetic on integer arrays) promote int32 logits to float32 "
         "and answer; TF's kernels refuse integer logits (InvalidArgumentError).",
    dtypes=ALL, checks=VALUE, where=error_inputs("integer_logits"),
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
    what="JAX promotes mixed dtypes (int32 labels with float32 logits; float64 labels with float16 logits) "
         "where TF refuses them (sigmoid and weighted CE) or casts the labels to the logits' dtype (softmax CE).",
    dtypes=ALL, checks=VALUE, where=error_inputs("labels_int_logits_float32"),
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

DIVERGENCES: dict[str, tuple[CandidateDivergence, ...]] = {
    "softmax": (PROMOTES_INTEGERS, PYTHON_VALUES_ARE_FLOAT64),
    "log_softmax": (PROMOTES_INTEGERS, PYTHON_VALUES_ARE_FLOAT64),
    "sigmoid": (PYTHON_VALUES_ARE_FLOAT64,),
    "softmax_cross_entropy_with_logits": (PYTHON_VALUES_ARE_FLOAT64, BROADCASTS, PROMOTES_MIXED),
    "sparse_softmax_cross_entropy_with_logits": (PYTHON_VALUES_ARE_FLOAT64, INTEGER_LABELS_UNCHECKED),
    "sigmoid_cross_entropy_with_logits": (PYTHON_VALUES_ARE_FLOAT64, BROADCASTS, PROMOTES_MIXED),
    "weighted_cross_entropy_with_logits": (PROMOTES_INTEGERS, PYTHON_VALUES_ARE_FLOAT64, BROADCASTS, PROMOTES_MIXED),
}
