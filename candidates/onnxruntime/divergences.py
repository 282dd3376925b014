"""Where the ONNX export of TF's ops, run by ONNX Runtime (CPU), departs from TF: measured on
ORT 1.32 with onnx 1.23, with evidence. Each is the export's or the runtime's, not the adapter's."""

from __future__ import annotations

import numpy as np

from candidates.conditions import (
    error_inputs,
    everywhere,
    exact_value,
    non_finite_rows,
    python_values,
    tf_divergence,
)
from tfparity.compare import Tolerance
from tfparity.inputs import Case
from tfparity.opdb import SOFTMAX_CE
from tfparity.records import CandidateDivergence, Evidence, Inputs

ALL = frozenset({"float16", "bfloat16", "float32", "float64"})
VALUE = frozenset({"value"})
F32 = np.float32

NO_BFLOAT16 = CandidateDivergence(
    name="onnxruntime_no_bfloat16_from_numpy",
    what="onnx and ONNX Runtime's Python API take no ml_dtypes bfloat16 array ('Unable to convert type "
         "dtype(V2) into TensorProto element type'): a bfloat16 model cannot be fed from NumPy, and ORT's CPU "
         "provider has no bfloat16 Softmax, LogSoftmax or Sigmoid kernel either. Every bfloat16 case raises.",
    dtypes=frozenset({"bfloat16"}), checks=VALUE, where=everywhere,
    evidence=(Evidence("value", {"x": np.ones(3, np.dtype("bfloat16"))}, np.full(3, 0.7310586, F32).astype(
        np.dtype("bfloat16")), np.full(3, 0.7310585786), candidate="ValueError", op="sigmoid"),),
)

PYTHON_VALUES_ARE_FLOAT64 = CandidateDivergence(
    name="onnxruntime_python_values_are_float64",
    what="A Python float or list fed to the session is a NumPy float64 array, so the graph is float64 and so "
         "is the answer; TF makes float32 of it (and refuses float32 labels with float64 logits).",
    dtypes=ALL, checks=VALUE, where=python_values,
    evidence=(Evidence("value", {"x": 2.0}, np.float32(0.880797), 0.8807970779778823,
                       candidate=np.float64(0.8807970779778823), op="sigmoid"),),
)

BROADCASTS = CandidateDivergence(
    name="onnxruntime_broadcasts_labels",
    what="ONNX's Mul broadcasts NumPy-style, so labels TF refuses ([1, 3] for logits [2, 3] in sigmoid and "
         "weighted CE; [2, 1, 3] for [2, 4, 3] in softmax CE; integer labels of another rank) are broadcast "
         "and answered.",
    dtypes=ALL, checks=VALUE, where=error_inputs("labels_broadcast", "labels_partly_broadcast", "labels_wrong_rank"),
    evidence=(Evidence("value", {"labels": np.full((1, 3), 0.5, F32), "logits": np.ones((2, 3), F32)},
                       "InvalidArgumentError", "InvalidArgument", candidate=np.full((2, 3), 0.8132616, F32),
                       op="sigmoid_cross_entropy_with_logits"),),
)

SPARSE_LABELS_UNCHECKED = CandidateDivergence(
    name="onnxruntime_sparse_labels_unchecked",
    what="tf2onnx's sparse CE is a one-hot mask (Equal against a Range): a label outside [0, classes) matches "
         "no class, the masked sum is 0 and the loss +inf, where TF's CPU kernel raises.",
    dtypes=ALL - {"bfloat16"}, checks=VALUE, where=error_inputs("label_past_last_class", "negative_label", "no_classes"),
    evidence=(Evidence("value", {"labels": np.array([0, 4], np.int32), "logits": np.ones((2, 4), F32)},
                       "InvalidArgumentError", "InvalidArgument", candidate=np.array([np.log(4), np.inf], F32)),),
)


def _negative_x(case: Case, inputs: Inputs) -> np.ndarray:
    return np.asarray(inputs["x"], np.float64) < 0


SIGMOID_NEGATIVE_TAIL = CandidateDivergence(
    name="onnxruntime_sigmoid_absolute_accuracy",
    what="ORT's CPU Sigmoid (MLAS's logistic, a rational approximation on an input clamped to about [-18, 18]) "
         "is accurate in absolute terms, not relative: for negative inputs its relative error grows as sigmoid(x) "
         "shrinks (float32: more than 2 ULP below x = -1.55, every value below -8.8; 0 below -18; float64 alike "
         "below -1.1, 0 below about -36). float16 keeps it where sigmoid is subnormal in float16 (x from -17.3 to "
         "-7.9: up to 1.9 ULP where TF is within 0.5; measured over every float16). TF's Eigen logistic is within "
         "6 ULP.",
    dtypes=frozenset({"float16", "float32", "float64"}), checks=VALUE, where=_negative_x,
    within=Tolerance(8, 1, "absolute error within 1 eps: measured 0.4 eps (sigmoid(-17), float32), 0.12 eps "
                           "over every negative float16"),
    evidence=(Evidence("value", {"x": np.array([-17.0, -20.0], F32)}, np.array([4.139938e-08, 2.0611537e-09], F32),
                       np.array([4.139937718785167e-08, 2.0611536181902037e-09]),
                       candidate=np.array([8.940697e-08, 0.0], F32)),
              Evidence("value", {"x": np.array([-13.54, -9.0], np.float16)}, np.array([1.311e-06, 1.234e-04], np.float16),
                       np.array([1.3184367302834308e-06, 0.00012339457598623172]),
                       candidate=np.array([1.431e-06, 1.234e-04], np.float16))),
)


def _log_of_one_plus_small(case: Case, inputs: Inputs) -> np.ndarray:
    """Where the loss is under the weight of its log1p term: there Log(1 + y)'s absolute error of
    half an ULP of 1 is more than a few ULPs of the loss."""
    z = np.asarray(inputs["labels"], np.float64)
    q = np.asarray(inputs.get("pos_weight", 1.0), np.float64)
    weight = np.abs(1 + (q - 1) * z)
    return np.abs(exact_value(case, inputs)) < np.maximum(weight, 1.0)


LOG1P_AS_LOG = CandidateDivergence(
    name="onnx_log1p_as_log_of_one_plus",
    what="tf2onnx has no Log1p: an export of sigmoid or weighted CE fails until log1p(y) is written Log(1 + y) "
         "(as this graph does). 1 + y rounds away y's low bits, so where the loss is small (a confident, right "
         "prediction: loss ~ exp(-|x|)) it loses them all: float32 loss 0 for exp(-20), where TF gives 2.06e-9.",
    dtypes=frozenset({"float16", "float32", "float64"}), checks=VALUE, where=_log_of_one_plus_small,
    within=Tolerance(8, 8, "absolute error within 8 eps: Log(1 + y) is off by half an ULP of 1 times the log "
                           "term's weight, 1 + (pos_weight - 1) z (up to 7.4 here); measured 2.6 eps at weight 6.5"),
    evidence=(Evidence("value", {"labels": np.array([1.0, 0.0], F32), "logits": np.array([20.0, -5.0], F32)},
                       np.array([2.0611537e-09, 0.0067153485], F32), np.array([2.0611536e-09, 0.006715348489118068]),
                       candidate=np.array([0.0, 0.006715349], F32), op="sigmoid_cross_entropy_with_logits"),),
)


def _log_softmax_near_zero(case: Case, inputs: Inputs) -> np.ndarray:
    return np.abs(exact_value(case, inputs)) < 0.5


LOG_SOFTMAX_ABSOLUTE = CandidateDivergence(
    name="onnxruntime_log_softmax_absolute_accuracy",
    what="ORT's CPU LogSoftmax (float32, float64) is within about 2 eps of exact in absolute terms: where the "
         "answer is near 0 (the dominant class) that is many ULPs (more than 4 where |log_softmax| < 0.36). "
         "Softmax CE, built on it, inherits it where the loss is small.",
    dtypes=frozenset({"float32", "float64"}), checks=VALUE, where=_log_softmax_near_zero,
    within=Tolerance(8, 4, "absolute error within 4 eps: measured 2 eps (float32 and float64)"),
    evidence=(Evidence("value", {"logits": np.array([[9.102963, 0.12816963, 3.7887967]], F32)},
                       np.array([[-5.0352192e-03, -8.9798288, -5.3192024]], F32),
                       np.array([[-5.03523952e-03, -8.97982906, -5.31920202]]),
                       candidate=np.array([[-5.0353380e-03, -8.9798288, -5.3192024]], F32), op="log_softmax"),),
)

SHIFT_OVERFLOW = CandidateDivergence(
    name="onnx_shift_overflow",
    what="As TF's kernel does (softmax_ce_shift_overflow), LogSoftmax's x - max overflows for logits near the "
         "dtype's max: the loss is inf or nan where it is finite.",
    dtypes=frozenset({"float16", "float32", "float64"}), checks=VALUE, where=tf_divergence(SOFTMAX_CE, "softmax_ce_shift_overflow").where,
    evidence=(Evidence("value", {"labels": np.array([0.5, 0.5], F32), "logits": np.array([3e38, -3e38], F32)},
                       np.float32(np.inf), 3e38, candidate=np.float32(np.inf)),),
)

MASKED_LOGIT_NAN = CandidateDivergence(
    name="onnx_masked_logit_nan",
    what="As TF's kernel does (softmax_ce_masked_logit_nan), the exported graph multiplies a label of 0 by "
         "LogSoftmax's -inf at a masked logit: the loss is nan where the exact loss ignores that class.",
    dtypes=frozenset({"float16", "float32", "float64"}), checks=VALUE,
    where=tf_divergence(SOFTMAX_CE, "softmax_ce_masked_logit_nan").where,
    evidence=(Evidence("value", {"labels": np.array([[0.0, 0.0, 1.0]], F32), "logits": np.array([[-np.inf, 0.0, 1.0]], F32)},
                       np.array([np.nan], F32), np.array([np.log1p(np.exp(-1.0))]), candidate=np.array([np.nan], F32)),),
)


NON_FINITE_ROWS = CandidateDivergence(
    name="onnxruntime_non_finite_rows",
    what="In a row holding an inf or nan logit, ORT's LogSoftmax and the exported sparse CE place nan and inf "
         "elsewhere than TF's kernels do (TF's answer there is itself a known divergence of TF's, or exact).",
    dtypes=frozenset({"float16", "float32", "float64"}), checks=VALUE, where=non_finite_rows,
    evidence=(Evidence("value", {"logits": np.array([[np.inf, 1.0, 2.0]], np.float64)},
                       np.array([[np.nan, np.nan, np.nan]]), np.array([[0.0, -np.inf, -np.inf]]),
                       candidate=np.array([[np.nan, -np.inf, -np.inf]]), op="log_softmax"),),
)


def _true_class_underflows(case: Case, inputs: Inputs) -> np.ndarray:
    """Where exp(x[label] - max) is below the smallest normal of the dtype the graph computes in."""
    precise = np.float64 if np.asarray(inputs["logits"]).dtype == np.float64 else np.float32
    return exact_value(case, inputs) > -np.log(np.finfo(precise).smallest_normal)


SPARSE_LOG_OF_RATIO = CandidateDivergence(
    name="onnx_sparse_ce_log_of_ratio",
    what="tf2onnx writes sparse CE as -log(sum(one_hot * e) / sum(e)) with e = exp(x - max), not TF's "
         "log(sum(e)) - (x[label] - max): where the true class's e falls below the smallest normal (a loss "
         "over 87 in float16/float32, which it computes in, over 708 in float64) it loses precision and then "
         "underflows to 0, and the loss becomes +inf.",
    dtypes=frozenset({"float16", "float32", "float64"}), checks=VALUE, where=_true_class_underflows,
    evidence=(Evidence("value", {"labels": np.array([1], np.int32), "logits": np.array([[0.0, -110.0]], F32)},
                       np.array([110.0], F32), np.array([110.0]), candidate=np.array([np.inf], F32)),),
)

def _small_loss(case: Case, inputs: Inputs) -> np.ndarray:
    return exact_value(case, inputs) < 0.5


SPARSE_SMALL_LOSS = CandidateDivergence(
    name="onnx_sparse_ce_log_of_ratio_near_one",
    what="The same graph takes the Log of a ratio near 1 where the loss is small (a confident, right "
         "prediction): the ratio's rounding (half an ULP of 1) is many ULPs of the loss (float64: 2,023 ULP "
         "measured at a loss of 1e-13).",
    dtypes=frozenset({"float16", "float32", "float64"}), checks=VALUE, where=_small_loss,
    within=Tolerance(8, 4, "absolute error within 4 eps: the ratio's rounding, half an ULP of 1"),
    evidence=(Evidence("value", {"labels": np.array([0], np.int32), "logits": np.array([[9.0, 0.0]], F32)},
                       np.array([0.000123374], F32), np.array([0.00012340218972325883]),
                       candidate=np.array([0.0001233892], F32)),),
)

SPARSE_ROUNDING = CandidateDivergence(
    name="onnx_sparse_ce_ratio_rounding",
    what="Elsewhere the graph's Div then Log round once more than TF's kernel: a few ULPs.",
    dtypes=frozenset({"float16", "float32", "float64"}), checks=VALUE, where=everywhere, within=Tolerance(
        8, 0, "measured up to 3 ULP from TF's"),
    evidence=(Evidence("value", {"labels": np.array([1], np.int32),
                                 "logits": np.array([[1.3854375, 1.3362356, -3.0299401, -1.3084894]], F32)},
                       np.array([0.7580716], F32), np.array([0.75807167]), candidate=np.array([0.7580718], F32)),),
)

SIGMOID_ROUNDING = CandidateDivergence(
    name="onnxruntime_sigmoid_rounding",
    what="For x >= 0 too, MLAS's logistic is 1 to 2 ULP further from exact than TF's (float32, float64).",
    dtypes=frozenset({"float32", "float64"}), checks=VALUE, where=everywhere,
    within=Tolerance(4, 0, "measured up to 2 ULP from TF's"),
    evidence=(Evidence("value", {"x": np.array([7.9620023], F32)}, np.array([0.9996517], F32),
                       np.array([0.9996516667]), candidate=np.array([0.9996518], F32)),),
)

def _rounding(name: str, what: str, ulp: float, measured: str, evidence: Evidence) -> CandidateDivergence:
    """A kernel that rounds differently from TF's, by a few ULPs anywhere (float32, float64)."""
    return CandidateDivergence(name=name, what=what, dtypes=frozenset({"float32", "float64"}), checks=VALUE,
                               where=everywhere, within=Tolerance(ulp, 0, measured), evidence=(evidence,))


SOFTMAX_ROUNDING = _rounding(
    "onnxruntime_softmax_rounding", "ORT's CPU Softmax (MLAS) is a few ULPs from TF's kernels; like them it "
    "takes exp of x - max rounded to float32, up to 65 ULP from exact on small probabilities (TF's Eigen kernel "
    "gives the same 5.7361094e-21 for the exact 5.7361201e-21), which shows where TF has no answer to compare "
    "(rank 6 on oneDNN).", 96,
    "measured up to 6 ULP from TF's, 58 from exact where TF raises (rank 6 on oneDNN) on the ci profile, "
    "65 on random float32 rows of 3 classes",
    Evidence("value", {"logits": np.array([[15.597229, -31.010275, -2.3754396]], F32)},
             np.array([[1.0, 5.7361094e-21, 1.5651992e-08]], F32),
             np.array([[9.999999843480e-01, 5.736120129930e-21, 1.565197603963e-08]]),
             candidate=np.array([[1.0, 5.7361094e-21, 1.5651992e-08]], F32), op="softmax"))
LOG_SOFTMAX_ROUNDING = _rounding(
    "onnxruntime_log_softmax_rounding", "Away from 0 too, ORT's LogSoftmax is up to 2 ULP further from exact "
    "than TF's.", 4, "measured up to 2 ULP from TF's on the ci profile",
    Evidence("value", {"logits": np.array([2.075048, 1.2336736, -0.84892136, 4.890343, -0.24574907, 1.9899971,
                                           1.7723464, -6.9533696, 3.8327022, 3.9292817, 4.0042048], F32)},
             np.array([-3.6637633, -4.505138, -6.587733, -0.8484681, -5.9845605, -3.748814, -3.9664648, -12.692181,
                       -1.9061091, -1.8095295, -1.7346065], F32),
             np.array([-3.6637633415, -4.5051377388, -6.5877326699, -0.8484681221, -5.9845603825, -3.7488141628,
                       -3.9664649339, -12.6921809288, -1.9061091514, -1.8095295997, -1.7346065612]),
             candidate=np.array([-3.6637635, -4.505138, -6.587733, -0.84846824, -5.9845605, -3.7488143, -3.966465,
                                 -12.692181, -1.9061093, -1.8095298, -1.7346067], F32), op="log_softmax"))
SOFTMAX_CE_ROUNDING = _rounding(
    "onnx_softmax_ce_rounding", "The exported softmax CE (LogSoftmax, Mul, ReduceSum) rounds a few ULPs from "
    "TF's fused kernel, away from a small loss too.", 4, "measured up to 2 ULP from TF's on the ci profile",
    Evidence("value", {"labels": np.array([[0.014285714, 0.9142857, 0.014285714, 0.014285714, 0.014285714,
                                            0.014285714, 0.014285714]], F32),
                       "logits": np.array([[0.0005513063, 0.0014044393, 0.0011401314, 0.0021908227, 0.0002904293,
                                            -0.0003916544, -0.000529837]], F32)},
             np.array([1.9452451], F32), np.array([1.9452451607]), candidate=np.array([1.9452454], F32),
             op="softmax_cross_entropy_with_logits"))
BINARY_CE_ROUNDING = _rounding(
    "onnx_binary_ce_rounding", "The exported composite of sigmoid and weighted CE rounds its terms a few ULPs "
    "from TF's (beyond the Log(1 + y) loss above), up to 8 where large terms cancel (labels outside [0, 1]).", 16,
    "measured up to 8 ULP from TF's on the ci profile",
    Evidence("value", {"labels": np.array([-0.18179414], F32), "logits": np.array([-12.602269], F32),
                       "pos_weight": np.float32(1.454563)},
             np.array([-3.332428], F32), np.array([-3.33242792]), candidate=np.array([-3.332429], F32),
             op="weighted_cross_entropy_with_logits"))

DIVERGENCES: dict[str, tuple[CandidateDivergence, ...]] = {
    "softmax": (NO_BFLOAT16, PYTHON_VALUES_ARE_FLOAT64, SOFTMAX_ROUNDING),
    "log_softmax": (NO_BFLOAT16, PYTHON_VALUES_ARE_FLOAT64, LOG_SOFTMAX_ABSOLUTE, NON_FINITE_ROWS, LOG_SOFTMAX_ROUNDING),
    "sigmoid": (NO_BFLOAT16, PYTHON_VALUES_ARE_FLOAT64, SIGMOID_NEGATIVE_TAIL, SIGMOID_ROUNDING),
    "softmax_cross_entropy_with_logits": (NO_BFLOAT16, PYTHON_VALUES_ARE_FLOAT64, BROADCASTS, LOG_SOFTMAX_ABSOLUTE,
                                          MASKED_LOGIT_NAN, SHIFT_OVERFLOW, SOFTMAX_CE_ROUNDING),
    "sparse_softmax_cross_entropy_with_logits": (NO_BFLOAT16, PYTHON_VALUES_ARE_FLOAT64, BROADCASTS,
                                                 SPARSE_LABELS_UNCHECKED, SPARSE_LOG_OF_RATIO, NON_FINITE_ROWS,
                                                 SPARSE_SMALL_LOSS, SPARSE_ROUNDING),
    "sigmoid_cross_entropy_with_logits": (NO_BFLOAT16, PYTHON_VALUES_ARE_FLOAT64, BROADCASTS, LOG1P_AS_LOG,
                                          BINARY_CE_ROUNDING),
    "weighted_cross_entropy_with_logits": (NO_BFLOAT16, PYTHON_VALUES_ARE_FLOAT64, BROADCASTS, LOG1P_AS_LOG,
                                           BINARY_CE_ROUNDING),
}
