"""The class losses' records: softmax cross entropy (v2) and sparse softmax cross entropy."""

from __future__ import annotations

import numpy as np

import impl
import oracle
from tfparity import exact, wide
from tfparity import inputs as gen
from tfparity.ops import scales
from tfparity.ops.common import (
    ALL,
    ALL_REGIMES,
    FLUSHES_SUBNORMALS,
    TF_KERNELS,
    TRACED,
    convention,
    measured,
    rows_where,
)
from tfparity.records import ErrorInput, Evidence, KnownDivergence, OpRecord


def _ce_kwargs(labels_shape, logits_shape, **more):
    return lambda dtype: {"labels": np.full(labels_shape, 0.5, dtype),
                          "logits": np.ones(logits_shape, dtype)} | more


SOFTMAX_CE = OpRecord(
    reference=impl.softmax_cross_entropy_with_logits,
    tf=oracle.softmax_cross_entropy_with_logits,
    tf_vjp=oracle.softmax_cross_entropy_with_logits_vjp,
    exact=exact.softmax_cross_entropy_with_logits,
    wide=wide.softmax_cross_entropy_with_logits,
    build=gen.class_label_inputs,
    grads=("logits", "labels"),
    has_axis=True,
    label_kinds=tuple(gen.CLASS_LABELS),
    broadcast_labels=True,
    regimes=ALL_REGIMES,
    value_tolerance=measured(1, f16="0 (upcast to f32)", bf16="2e-6", f32="0.24", f64="0.33",
                             derived={"bfloat16": (0.125, 0.0), "float16": (0.125, 0.0), "float32": (0.5, 0.244), "float64": (0.375, 0.185)}),
    vjp_tolerance=measured(1, f16="0.12", bf16="0.13", f32="0.63", f64="0.74",
                             derived={"bfloat16": (0.375, 0.128), "float16": (0.25, 0.118)}),
    scales=scales.softmax_ce_scales,
    divergences=(
        KnownDivergence(
            name="softmax_ce_masked_logit_nan",
            what="A -inf (masked) logit whose label is 0 makes TF's loss nan: its kernel multiplies "
                 "0 * inf. The exact loss ignores that class (0 log 0 = 0); sparse CE gets it right.",
            dtypes=ALL,
            checks=frozenset({"value"}),
            where=lambda case, inputs: rows_where(
                np.isneginf(inputs["logits"].astype(np.float64))
                & (np.broadcast_to(inputs["labels"], inputs["logits"].shape) == 0),
                case.class_axis),
            modes=TF_KERNELS,
            evidence=(Evidence("value", {"labels": np.array([[0.0, 0.0, 1.0]], np.float32),
                                         "logits": np.array([[-np.inf, 0.0, 1.0]], np.float32)},
                               np.array([np.nan], np.float32), np.array([np.log1p(np.exp(-1.0))])),),
        ),
        KnownDivergence(
            name="softmax_ce_negative_axis_raises",
            what="softmax_cross_entropy_with_logits raises InvalidArgumentError ('Requires start <= "
                 "limit when delta > 0: 0/-2', from a Range op) for any negative axis other than -1: "
                 "TF moves the class axis last with range(axis) without normalizing it. The same "
                 "axis written as a positive number works; impl accepts both.",
            dtypes=ALL,
            checks=frozenset({"value"}),
            where=lambda case, inputs: case.axis is not None and case.axis < -1,
            evidence=(Evidence("value", {"labels": np.array([[1.0, 0.0], [0.0, 1.0]]),
                                         "logits": np.array([[0.0, 0.0], [0.0, 0.0]]), "axis": -2},
                               "InvalidArgumentError", np.array([np.log(2.0), np.log(2.0)])),),
        ),
        KnownDivergence(
            name="softmax_ce_axis_spelling_matters",
            what="TF skips its transpose only for the literal axis -1: labels of lower rank than "
                 "the logits (broadcast, e.g. [C] with [N, C]) work with axis=-1 and raise "
                 "InvalidArgumentError ('transpose expects a vector of size 1') with the same axis "
                 "written as rank - 1. impl treats both spellings alike.",
            dtypes=ALL,
            checks=frozenset({"value"}),
            where=lambda case, inputs: case.axis not in (None, -1)
            and np.ndim(inputs["labels"]) < np.ndim(inputs["logits"]),
            evidence=(Evidence("value", {"labels": np.array([0.5, 0.5]), "logits": np.zeros((2, 2)), "axis": 1},
                               "InvalidArgumentError", np.array([np.log(2.0), np.log(2.0)])),),
        ),
        KnownDivergence(
            name="softmax_ce_shift_overflow",
            what="TF subtracts the row max in the input dtype; with logits near +-max, x - max "
                 "overflows to -inf and the loss (and labels gradient) becomes inf, or nan where that "
                 "class's label is 0, where the exact loss is finite (f32 [3e38, -3e38] with labels "
                 "[0.5, 0.5]: TF inf, exact 3e38).",
            dtypes=ALL,
            checks=frozenset({"value", "vjp_labels"}),
            where=lambda case, inputs: rows_where(
                np.isinf(np.asarray(inputs["logits"] - np.max(inputs["logits"], axis=case.class_axis, keepdims=True,
                                                              initial=-np.inf), np.float64)), case.class_axis),
            evidence=(Evidence("value", {"labels": np.array([0.5, 0.5], np.float32),
                                         "logits": np.array([3e38, -3e38], np.float32)},
                               np.array(np.inf, np.float32), np.array(0.5 * 6e38)),),
        ),
        KnownDivergence(
            name="softmax_ce_grad_assumes_normalized_labels",
            what="TF's logits gradient is softmax - labels, the exact gradient only when each label "
                 "row sums to 1; in general it is sum(labels) * softmax - labels, which impl returns.",
            dtypes=ALL,
            checks=frozenset({"vjp_logits"}),
            where=lambda case, inputs: case.labels == "unnormalized",
            evidence=(Evidence("vjp_logits", {"labels": np.array([[1.0, 1.0, 0.0]]),
                                              "logits": np.array([[1.0, 2.0, 3.0]])},
                               np.array([[-0.9099694268296196, -0.7552715289452023, 0.6652409557748218]]),
                               2 * np.exp([[1.0, 2.0, 3.0]]) / np.exp([1.0, 2.0, 3.0]).sum() - [[1.0, 1.0, 0.0]],
                               tf_in={"xla": np.array([[-0.9099694268296196, -0.7552715289452023,
                                                        0.6652409557748219]])}),),
        ),
        KnownDivergence(
            name="softmax_ce_rank_0_index_error",
            what="In a graph (and under XLA) softmax_cross_entropy_with_logits of rank-0 logits fails in "
                 "TF's own Python with IndexError ('list index out of range', indexing the static "
                 "shape) where eagerly it raises InvalidArgumentError; impl raises InvalidArgumentError.",
            dtypes=ALL,
            checks=frozenset({"value"}),
            where=lambda case, inputs: np.ndim(inputs["logits"]) == 0,
            modes=TRACED,
            evidence=(Evidence("value", {"labels": np.float32(1.0), "logits": np.float32(0.0)},
                               "IndexError", "InvalidArgumentError"),),
        ),
        KnownDivergence(
            name="softmax_ce_broadcast_labels_no_gradient",
            what="TF accepts labels broadcast against the logits (e.g. [1, C] with [N, C]) in the "
                 "forward pass, but has no usable gradient for them: eagerly and under XLA it raises "
                 "InvalidArgumentError (a Reshape to the labels' shape). In a graph whose dimensions "
                 "are unknown the Reshape runs with the shapes it is given: labels of the logits' rank "
                 "raise as eagerly, labels of lower rank ([C] with [N, C]) get a gradient of the "
                 "logits' size and the wrong shape ([N * C]), with no error. impl returns both "
                 "gradients, the labels' summed over the broadcast.",
            dtypes=ALL,
            checks=frozenset({"vjp_logits", "vjp_labels"}),
            where=lambda case, inputs: case.broadcast and inputs["labels"].shape != inputs["logits"].shape,
            evidence=(Evidence("vjp_logits", {"labels": np.array([[0.2, 0.3, 0.5]], np.float32),
                                              "logits": np.zeros((2, 3), np.float32)},
                               "InvalidArgumentError", np.tile(1 / 3 - np.array([0.2, 0.3, 0.5]), (2, 1))),
                      Evidence("vjp_labels", {"labels": np.array([0.5, 0.5, 0.5], np.float32),
                                              "logits": np.zeros((2, 3), np.float32)},
                               "InvalidArgumentError", np.full(3, 2 * np.log(3.0)),
                               tf_in={"graph": np.full(6, np.log(3.0), np.float32)})),
        ),
        FLUSHES_SUBNORMALS,
    ),
    errors=(
        ErrorInput("rank_0", _ce_kwargs((), ()), tf_raises=True),
        ErrorInput("axis_past_last", _ce_kwargs((2, 3), (2, 3), axis=2), tf_raises=True),
        ErrorInput("integer_logits", lambda dtype: {"labels": np.ones((2, 3), np.int32),
                                                    "logits": np.ones((2, 3), np.int32)}, tf_raises=True),
        ErrorInput("shapes_mismatch", _ce_kwargs((3, 2), (2, 3)), tf_raises=True),
        ErrorInput("labels_rank_too_high", _ce_kwargs((1, 3, 4), (2, 3)), tf_raises=True),
        ErrorInput("labels_partly_broadcast", _ce_kwargs((2, 1, 3), (2, 4, 3)), tf_raises=True),
        ErrorInput("labels_broadcast_rows", _ce_kwargs((1, 3), (2, 3)), tf_raises=False),
        ErrorInput("labels_broadcast_classes", _ce_kwargs((2, 1), (2, 3)), tf_raises=False),
        ErrorInput("labels_broadcast_axis_1", _ce_kwargs((1, 3, 1), (2, 3, 4), axis=1), tf_raises=False),
        ErrorInput("empty_batch", _ce_kwargs((0, 3), (0, 3)), tf_raises=False),
        ErrorInput("empty_classes", _ce_kwargs((3, 0), (3, 0)), tf_raises=False),
        ErrorInput("rank_1", _ce_kwargs((3,), (3,)), tf_raises=False),
        ErrorInput("axis_last", _ce_kwargs((2, 3), (2, 3), axis=1), tf_raises=False),
        convention("python_lists", labels=[[0.0, 1.0]], logits=[[1.0, 2.0]]),
        convention("labels_list_logits_float64", labels=[[0.0, 1.0]], logits=np.array([[1.0, 2.0]])),
        convention("labels_int_logits_float32", labels=np.array([[0, 1]], np.int32),
                   logits=np.array([[1.0, 2.0]], np.float32)),
        convention("labels_float64_logits_float16", labels=np.array([[0.25, 0.75]]),
                   logits=np.array([[1.0, 2.0]], np.float16)),
    ),
)

SPARSE_CE = OpRecord(
    reference=impl.sparse_softmax_cross_entropy_with_logits,
    tf=oracle.sparse_softmax_cross_entropy_with_logits,
    tf_vjp=oracle.sparse_softmax_cross_entropy_with_logits_vjp,
    exact=exact.sparse_softmax_cross_entropy_with_logits,
    wide=wide.sparse_softmax_cross_entropy_with_logits,
    build=gen.sparse_label_inputs,
    grads=("logits",),
    label_kinds=tuple(gen.SPARSE_LABELS),
    regimes=ALL_REGIMES,
    value_tolerance=measured(1, f16="0 (upcast to f32)", bf16="0.28", f32="0.35", f64="0.29",
                             derived={"bfloat16": (0.75, 0.361), "float16": (0.125, 0.0), "float32": (0.875, 0.395), "float64": (0.75, 0.371)}),
    vjp_tolerance=measured(1, f16="0", bf16="0.5", f32="0.55", f64="0.31",
                             derived={"float16": (0.125, 0.0)}),
    scales=scales.sparse_ce_scales,
    divergences=(
        KnownDivergence(
            name="sparse_ce_label_out_of_range_nan_under_xla",
            what="Under XLA a label outside [0, classes) is not refused: its example's loss and logits "
                 "gradient are nan (as on GPU), where TF's CPU kernel raises InvalidArgumentError "
                 "('Received a label value of 4 which is outside the valid range of [0, 4)'), eagerly "
                 "and in a graph, and impl does too.",
            dtypes=ALL,
            checks=frozenset({"value", "vjp_logits"}),
            where=lambda case, inputs: bool(np.any((np.asarray(inputs["labels"]) < 0)
                                                   | (np.asarray(inputs["labels"]) >= np.shape(inputs["logits"])[-1]))),
            modes=frozenset({"xla"}),
            evidence=(Evidence("value", {"labels": np.array([0, 4], np.int32), "logits": np.ones((2, 4), np.float32)},
                               np.array([np.log(4.0), np.nan], np.float32), "InvalidArgumentError"),),
        ),
        FLUSHES_SUBNORMALS,
    ),
    errors=(
        ErrorInput("label_past_last_class", lambda dtype: {"labels": np.array([0, 4], np.int32),
                                                          "logits": np.ones((2, 4), dtype)}, tf_raises=True,
                   tf_raises_in={"xla": False}),
        ErrorInput("label_last_class", lambda dtype: {"labels": np.array([0, 3], np.int32),
                                                     "logits": np.arange(8).reshape(2, 4).astype(dtype)},
                   tf_raises=False),
        ErrorInput("rank_1", lambda dtype: {"labels": np.array(2, np.int32),
                                           "logits": np.arange(4).astype(dtype)}, tf_raises=False),
        ErrorInput("rank_0", lambda dtype: {"labels": np.array(0, np.int32),
                                           "logits": np.array(1, dtype)}, tf_raises=True),
        convention("python_lists", labels=[0, 2], logits=[[1.0, 2.0, 3.0], [0.5, 0.5, 0.5]]),
        convention("python_int_label", labels=1, logits=[1.0, 2.0, 3.0]),
        convention("numpy_int64_scalar_label", labels=np.int64(1), logits=np.array([1.0, 2.0, 3.0])),
        ErrorInput("negative_label", lambda dtype: {"labels": np.array([0, -1], np.int64),
                                                   "logits": np.ones((2, 4), dtype)}, tf_raises=True,
                   tf_raises_in={"xla": False}),
        ErrorInput("labels_wrong_rank", lambda dtype: {"labels": np.array([[0, 1]], np.int32),
                                                      "logits": np.ones((2, 4), dtype)}, tf_raises=True),
        ErrorInput("labels_wrong_shape", lambda dtype: {"labels": np.array([0, 1, 1], np.int32),
                                                       "logits": np.ones((2, 4), dtype)}, tf_raises=True),
        ErrorInput("float_labels", lambda dtype: {"labels": np.zeros(2, dtype),
                                                 "logits": np.ones((2, 3), dtype)}, tf_raises=True),
        ErrorInput("integer_logits", lambda dtype: {"labels": np.zeros(2, np.int32),
                                                   "logits": np.ones((2, 3), np.int32)}, tf_raises=True),
        ErrorInput("no_classes", lambda dtype: {"labels": np.zeros(2, np.int32),
                                               "logits": np.ones((2, 0), dtype)}, tf_raises=True),
        ErrorInput("scalar_label", lambda dtype: {"labels": np.array(1, np.int32),
                                                 "logits": np.arange(4).astype(dtype)}, tf_raises=False),
        ErrorInput("empty_batch", lambda dtype: {"labels": np.zeros(0, np.int32),
                                                "logits": np.ones((0, 4), dtype)}, tf_raises=False),
    ),
)
