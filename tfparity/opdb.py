"""The op database: one record per op, from which every parity test is generated.

Each record says how to build the op's inputs, which inputs get a VJP check, the
tolerance per dtype (with its reason), the size of the terms TF's formula adds (the
`scales`, which bound its absolute rounding error), the error inputs, and the known
divergences of TF 2.21 on CPU, each with the evidence that pins it.
"""

from __future__ import annotations

from collections.abc import Mapping

import ml_dtypes
import numpy as np

import impl
import oracle
from impl._tensors import sum_to_shape
from impl.activations import sigmoid_wide, softmax_wide
from tfparity import exact, wide
from tfparity import inputs as gen
from tfparity.backend import ONEDNN, flushes_subnormals, on_kernel
from tfparity.compare import Tolerance
from tfparity.dtypes import DTYPES, f64
from tfparity.records import ErrorInput, Evidence, KnownDivergence, OpRecord

ALL = frozenset(DTYPES)
ALL_REGIMES = tuple(gen.REGIMES)

def _shift(x: np.ndarray, axis: int) -> np.ndarray:
    """|x - max|, the size of the shifted logits TF subtracts from."""
    with np.errstate(invalid="ignore"):
        return np.abs(x - x.max(axis=axis, keepdims=True)) if x.size else x

def _softplus_terms(x: np.ndarray) -> np.ndarray:
    """log1p(exp(-|x|)) + max(-x, 0): the softplus(-x) TF builds from two terms."""
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0.0)

def _rows_where(condition: np.ndarray, axis: int) -> np.ndarray:
    """Every element of each row (along the class axis) where `condition` holds somewhere."""
    return np.broadcast_to(condition.any(axis=axis, keepdims=True), condition.shape)

def _axis(case: gen.Case) -> int:
    return case.class_axis

# --- divergences shared by several records ----------------------------------------------------

ON_ONEDNN = on_kernel("softmax", ONEDNN)
TRACED = frozenset({"graph", "xla"})  # the modes that trace a graph (XLA compiles one)
TF_KERNELS = frozenset({"eager", "graph"})  # the modes where TF's own kernels run (XLA compiles its own code)

ONEDNN_RANK_LIMIT = KnownDivergence(
    name="softmax_onednn_rank_limit",
    what="tf.nn.softmax on its oneDNN kernel aborts for rank >= 6 (AbortedError 'Input dims must "
         "be <= 5 and >=1'), eagerly and in a graph; the Eigen kernel and XLA accept any rank >= 1, "
         "as impl does. Which dtypes take oneDNN depends on the CPU and TF's policy (f16 too on "
         "CPUs with AVX512-FP16): the probe decides.",
    dtypes=ALL,
    checks=frozenset({"value"}),
    where=lambda case, inputs: np.ndim(inputs["logits"]) > 5,
    when=ON_ONEDNN,
    evidence=(
        Evidence("value", {"logits": np.arange(8, dtype=np.float32).reshape(2, 1, 1, 1, 1, 4)}, "AbortedError",
                 np.exp(np.arange(4.0)) / np.exp(np.arange(4.0)).sum() + np.zeros((2, 1, 1, 1, 1, 1))),
    ),
)

ONEDNN_RANK_0_ABORTS = KnownDivergence(
    name="softmax_onednn_rank_0_aborts",
    what="Eagerly, tf.nn.softmax of a rank-0 input on its oneDNN kernel aborts (AbortedError, the "
         "kernel's rank check) where the Eigen kernel raises InvalidArgumentError, as impl does. In "
         "a graph and under XLA the shape check at trace time raises ValueError first, which "
         "means the same as InvalidArgumentError.",
    dtypes=ALL,
    checks=frozenset({"value"}),
    where=lambda case, inputs: np.ndim(inputs["logits"]) == 0,
    when=ON_ONEDNN,
    modes=frozenset({"eager"}),
    evidence=(Evidence("value", {"logits": np.float32(1.0)}, "AbortedError", "InvalidArgumentError"),),
)

ONEDNN_ZEROES_SMALL_NORMALS = KnownDivergence(
    name="softmax_onednn_zeroes_small_normals",
    what="tf.nn.softmax on its oneDNN kernel zeroes results up to about twice the smallest normal "
         "(f32 softmax([0, -87]) is [1, 0]; exact [1, 1.65e-38]); Eigen keeps them. compare() "
         "accepts differences below tfparity.compare.flush_floor(dtype) where TF flushes.",
    dtypes=ALL,
    checks=frozenset(),
    where=lambda case, inputs: False,
    when=ON_ONEDNN,
    evidence=(Evidence("value", {"logits": np.array([0.0, -87.0], np.float32)},
                       np.array([1.0, 0.0], np.float32), np.array([1.0, np.exp(-87.0)]) / (1.0 + np.exp(-87.0))),),
)

FLUSHES_SUBNORMALS = KnownDivergence(
    name="flush_to_zero",
    what="TF's CPU kernels run flush-to-zero / denormals-are-zero in their f32 and f64 "
         "arithmetic (where the probe finds subnormal results flushed): subnormal results become 0 "
         "(f64 sigmoid(-740) too), subnormal inputs act as 0, and a flushed intermediate times an "
         "O(1) factor zeroes a small normal result. impl keeps them all; compare() accepts "
         "differences below tfparity.compare.flush_floor(dtype) on such backends.",
    dtypes=ALL,
    checks=frozenset(),
    where=lambda case, inputs: False,
    when=flushes_subnormals(),
    evidence=(
        Evidence("value", {"logits": np.array([0.0, -95.0, -100.0, -103.0], np.float32)},
                 np.array([1.0, 0.0, 0.0, 0.0], np.float32),
                 np.exp([0.0, -95.0, -100.0, -103.0]) / np.exp([0.0, -95.0, -100.0, -103.0]).sum()),
    ),
)

# --- tolerance tables -------------------------------------------------------------------------

TERMS_REASON = ("TF's result is a sum of terms of the size `scales` gives, each rounded in the "
                "input dtype (or f32 for upcast halves), so its error is absolute in them; impl is "
                "within an ULP of exact. Budget: 2 ULP, or {a} eps times that scale;")


DERIVED_REASON = ("abs_eps {a:g} is twice the {need:g} needed at this ULP budget (the most over two "
                  "thorough runs, oneDNN on and off, 153k cases each), rounded up to 1/8, at least 1/8; "
                  "it was {old:g}.")


def measured(a: float, f16: str, bf16: str, f32: str, f64: str, f32_ulp: float = 2,
             derived: Mapping[str, tuple[float, float]] | None = None) -> dict[str, Tolerance]:
    """The 2-ULP / `a`-eps*scale table, each dtype with its measured worst (eps*scale at 2 ULP);
    `derived` tightens a dtype to (abs_eps, the abs_eps its checks were measured to need)."""
    notes = {"float16": f16, "bfloat16": bf16, "float32": f32, "float64": f64}
    table = {}
    for dtype, note in notes.items():
        abs_eps, need = (derived or {}).get(dtype, (a, None))
        tightened = "" if need is None else " " + DERIVED_REASON.format(a=abs_eps, need=need, old=a)
        table[dtype] = Tolerance(f32_ulp if dtype == "float32" else 2, abs_eps,
                                 f"{TERMS_REASON.format(a=abs_eps)} measured worst {note}.{tightened}")
    return table


# --- scales: the magnitude of the terms in TF's formula, per check -----------------------------

def _exp_terms(x: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """softmax(x), and the relative error bound of TF's exp(x - max) / sum in units of eps.

    Rounding x - max costs eps * |x - max| absolute, which exp turns into relative error;
    summing C terms costs about log2(C) eps more.
    """
    return softmax_wide(x, axis), _shift(x, axis) + 1.0 + _sum_terms(x, axis)


def _sum_terms(x: np.ndarray, axis: int) -> float:
    """The rounding of a C-term (pairwise, vectorized) sum, in eps: log2(C)."""
    return float(np.log2(max(x.shape[axis], 1))) if x.ndim else 0.0


def _softmax_scales(inputs, axis, g):
    y, rel = _exp_terms(f64(inputs, "logits"), axis)
    scales = {"value": y * rel}
    if g is not None:
        g = np.abs(g.astype(np.float64))
        dot = (g * y).sum(axis=axis, keepdims=True)
        # TF's gradient (g - dot) * y reuses its output y, which the value check lets sit 2 ULP
        # off: below the smallest normal (f16: y < 6e-5) that is 2 subnormal steps, not 2 eps * y.
        subnormal_y = 4 * _subnormal_steps(inputs["logits"].dtype)
        scales["vjp_logits"] = y * (rel * (g + dot) + g + dot) + (g + dot) * subnormal_y
    return scales


def _log_softmax_scales(inputs, axis, g):
    y, rel = _exp_terms(f64(inputs, "logits"), axis)
    scales = {"value": rel}
    if g is not None:
        g = np.abs(g.astype(np.float64))
        scales["vjp_logits"] = g + y * rel * g.sum(axis=axis, keepdims=True)
    return scales


def _sigmoid_scales(inputs, axis, g):
    x = f64(inputs, "x")
    return {"value": 0.0, "vjp_x": 0.0 if g is None else np.abs(g.astype(np.float64)) * sigmoid_wide(x)}

def _softmax_ce_scales(inputs, axis, g):
    x = f64(inputs, "logits")
    y, rel = _exp_terms(x, axis)
    z = np.broadcast_to(f64(inputs, "labels"), x.shape)
    scales = {"value": (1.0 + _sum_terms(x, axis)) * (np.abs(z) * rel).sum(axis=axis)}
    if g is not None:
        g = np.expand_dims(np.abs(g.astype(np.float64)), axis)
        total = np.abs(z.sum(axis=axis, keepdims=True))
        scales["vjp_logits"] = g * (y * rel * total + np.abs(z))
        scales["vjp_labels"] = sum_to_shape(g * rel, np.shape(inputs["labels"]))
    return scales


def _sparse_ce_scales(inputs, axis, g):
    x = f64(inputs, "logits")
    y, rel = _exp_terms(x, -1)
    labels = inputs["labels"][..., None]
    scales = {"value": np.take_along_axis(rel, labels.astype(np.intp), axis=-1)[..., 0]}
    if g is not None:
        one_hot = np.arange(x.shape[-1]) == labels
        scales["vjp_logits"] = np.abs(g.astype(np.float64))[..., None] * (y * rel + one_hot)
    return scales


def _binary_scales(inputs, axis, g):
    """Weighted CE: TF adds (1 - z) * x and (1 + (q - 1) z) * (log1p(exp(-|x|)) + max(-x, 0))."""
    x, z = f64(inputs, "logits"), f64(inputs, "labels")
    q = f64(inputs, "pos_weight") if "pos_weight" in inputs else 1.0
    weight = 1.0 + np.abs((q - 1.0) * z)  # TF's 1 + (q - 1) * z, with its own rounding
    scales = {"value": np.abs((1.0 - z) * x) + weight * (_softplus_terms(x) + _subnormal_steps(inputs["logits"].dtype))}
    if g is not None:
        g = np.abs(g.astype(np.float64))
        scales["vjp_logits"] = g * (np.abs(1.0 - z) + weight)
        scales["vjp_labels"] = g * (np.abs(x) + np.abs(q - 1.0) * _softplus_terms(x))
        scales["vjp_pos_weight"] = sum_to_shape(_pos_weight_terms(x, z, g), np.shape(inputs.get("pos_weight", 0.0)))
    return scales


def _subnormal_steps(dtype: np.dtype) -> float:
    """TF composes the binary losses from separate ops, each rounding to the input dtype: an
    exp(-|x|) below the dtype's smallest normal (f16: x > 9.7) keeps only half a subnormal step
    of absolute precision, which log1p passes on. In units of eps, to add to a scale."""
    info = ml_dtypes.finfo(dtype)
    return float(info.smallest_subnormal) / 2 / float(info.eps)


def _pos_weight_terms(x: np.ndarray, z: np.ndarray, g: np.ndarray) -> np.ndarray:
    """|g * z * softplus(-x)|: the terms TF sums into the pos_weight gradient."""
    return np.abs(g * z) * _softplus_terms(x)


def _sigmoid_ce_scales(inputs, axis, g):
    """Sigmoid CE: TF adds max(x, 0), -x * z and log1p(exp(-|x|)), which cancel for z near 1."""
    x, z = f64(inputs, "logits"), f64(inputs, "labels")
    scales = _binary_scales(inputs, axis, g)
    scales["value"] = (np.maximum(x, 0.0) + np.abs(x * z) + np.log1p(np.exp(-np.abs(x)))
                       + _subnormal_steps(inputs["logits"].dtype))
    return scales


# --- the records ------------------------------------------------------------------------------

def _axis_errors(extra: dict[str, object] | None = None) -> tuple[ErrorInput, ...]:
    """Error inputs of every op with a class axis; `extra` adds labels of the logits' shape."""
    def kwargs(shape, **more):
        def build(dtype):
            logits = np.ones(shape, dtype)
            labels = {k: v(logits) for k, v in (extra or {}).items()}
            return labels | {"logits": logits} | more
        return build
    return (
        ErrorInput("rank_0", kwargs(()), tf_raises=True),
        ErrorInput("rank_1", kwargs((3,)), tf_raises=False),
        ErrorInput("axis_past_last", kwargs((2, 3), axis=2), tf_raises=True),
        ErrorInput("axis_last", kwargs((2, 3), axis=1), tf_raises=False),
        ErrorInput("axis_before_first", kwargs((2, 3), axis=-3), tf_raises=True),
        ErrorInput("axis_first_negative", kwargs((2, 3), axis=-2), tf_raises=False),
        ErrorInput("empty_batch", kwargs((0, 3)), tf_raises=False),
        ErrorInput("empty_classes", kwargs((3, 0)), tf_raises=False),
    )


def convention(name: str, tf_raises: bool = False, **kwargs: object) -> ErrorInput:
    """An input written as users call tf.nn: Python numbers and lists (which TF makes float32 and
    int32, NumPy float64 and int64), NumPy scalars, mixed dtypes. Checked once, not per dtype."""
    return ErrorInput(name, lambda dtype: dict(kwargs), tf_raises=tf_raises, per_dtype=False)


ACTIVATION_ERRORS = _axis_errors() + (
    ErrorInput("integer_logits", lambda dtype: {"logits": np.ones((2, 3), np.int32)}, tf_raises=True),
    convention("python_list", logits=[1.0, 2.0, 3.0]),
    convention("nested_list_axis_0", logits=[[1.0, 2.0], [3.0, 5.0]], axis=0),
    convention("python_int_list", tf_raises=True, logits=[1, 2, 3]),
    convention("numpy_float64_list_of_scalars", logits=[np.float64(1.0), np.float64(2.0)]),
)

SOFTMAX = OpRecord(
    reference=impl.softmax,
    tf=oracle.softmax,
    tf_vjp=oracle.softmax_vjp,
    exact=exact.softmax,
    wide=wide.softmax,
    build=gen.activation_inputs,
    grads=("logits",),
    has_axis=True,
    regimes=ALL_REGIMES,
    # exp(x - max) rounds x - max first: `scales` is softmax * (|x - max| + 1 + log2 C), relative.
    # Both kernels measured (ci profile, share of the budget, oneDNN / Eigen): bf16 value 0 / 0.54,
    # f32 value 0.55 / 0.77, bf16 VJP 0.36 / 0.57, f32 VJP 0.52 / 0.87. f16 on oneDNN is not
    # measured (no CPU here takes it); run as oneDNN runs it, in f32, it stays within f16's
    # budget (tests/test_backend.py).
    value_tolerance=measured(1, f16="0.5 (Eigen, in half)", bf16="0 (oneDNN), 0.54 (Eigen)",
                             f32="0.55 (oneDNN), 0.77 (Eigen)", f64="0.29"),
    vjp_tolerance=measured(1, f16="0.56, plus TF's subnormal y up to 1.1 steps off (thorough)",
                           bf16="0.33 (oneDNN), 0.57 (Eigen)", f32="0.52 (oneDNN), 0.87 (Eigen)", f64="0.54"),
    scales=_softmax_scales,
    divergences=(
        ONEDNN_RANK_LIMIT,
        ONEDNN_RANK_0_ABORTS,
        ONEDNN_ZEROES_SMALL_NORMALS,
        KnownDivergence(
            name="softmax_nonfinite_row_partial_nan",
            what="A softmax row holding +inf or nan: the oneDNN kernel gives nan at that entry and 0 "
                 "elsewhere; the Eigen kernel gives an all-nan row, as IEEE arithmetic and impl do.",
            dtypes=ALL,
            when=ON_ONEDNN,
            checks=frozenset({"value", "vjp_logits"}),
            where=lambda case, inputs: _rows_where(
                np.isnan(inputs["logits"].astype(np.float64)) | np.isposinf(inputs["logits"].astype(np.float64)),
                _axis(case)),
            evidence=(Evidence("value", {"logits": np.array([[np.inf, 0.0, 1.0]], np.float32)},
                               np.array([[np.nan, 0.0, 0.0]], np.float32),
                               np.full((1, 3), np.nan)),),
        ),
        FLUSHES_SUBNORMALS,
    ),
    errors=ACTIVATION_ERRORS,
)


LOG_SOFTMAX = OpRecord(
    reference=impl.log_softmax,
    tf=oracle.log_softmax,
    tf_vjp=oracle.log_softmax_vjp,
    exact=exact.log_softmax,
    wide=wide.log_softmax,
    build=gen.activation_inputs,
    grads=("logits",),
    has_axis=True,
    regimes=ALL_REGIMES,
    value_tolerance=measured(1, f16="0.35 (in half: 18 ULP at [4,0,0,0,0,0], 1.1 eps absolute)", bf16="0.34", f32="0.42", f64="0.39",
                             derived={"float32": (0.875, 0.438), "float64": (0.875, 0.376)}),
    vjp_tolerance=measured(1, f16="0.63", bf16="0.65", f32="0.56", f64="0.59"),
    scales=_log_softmax_scales,
    divergences=(
        KnownDivergence(
            name="log_softmax_dominant_entry_cancels",
            what="TF computes the largest entry as -log(sum(exp(x - max))) = -log(1 + tiny), so it "
                 "keeps only absolute accuracy there ([30, 0, 0] in f64: -1.86962e-13 for the exact "
                 "-log1p(2 exp(-30)) = -1.87152e-13). impl uses log1p. Within the absolute budget, which is "
                 "why log_softmax is judged against eps * (|x - max| + 1).",
            dtypes=ALL,
            checks=frozenset(),
            where=lambda case, inputs: False,
            evidence=(Evidence("value", {"logits": np.array([30.0, 0.0, 0.0])},
                               np.array([-1.869615573468589e-13, -30.00000000000019, -30.00000000000019]),
                               np.array([-np.log1p(2 * np.exp(-30.0)), -30.0 - np.log1p(2 * np.exp(-30.0)),
                                         -30.0 - np.log1p(2 * np.exp(-30.0))])),),
        ),
        FLUSHES_SUBNORMALS,
    ),
    errors=ACTIVATION_ERRORS,
)

SIGMOID = OpRecord(
    reference=impl.sigmoid,
    tf=oracle.sigmoid,
    tf_vjp=oracle.sigmoid_vjp,
    exact=exact.sigmoid,
    wide=wide.sigmoid,
    build=lambda case: gen.activation_inputs(case, "x"),
    grads=("x",),
    regimes=ALL_REGIMES,
    value_tolerance=measured(2, f16="0 ULP past 1", bf16="0 ULP past 1", f32="5 ULP (Eigen's rational logistic): 6 ULP budget", f64="2 ULP", f32_ulp=6),
    # f32: TF's y * (1 - y) * ct carries the value's (Eigen's) error, up to 6 ULP, through two
    # more roundings: 8 ULP. The sweep's worst was 0.71 eps*scale past 6 ULP; the thorough
    # profile found 7 ULP (x = -59.96, where y = 9.1e-27 is 5 ULP off).
    vjp_tolerance=measured(3, f16="0.62", bf16="1.53", f32="7 ULP (thorough)", f64="1.58", f32_ulp=8,
                             derived={"float32": (1.5, 0.71)}),
    scales=_sigmoid_scales,
    min_rank=0,
    divergences=(FLUSHES_SUBNORMALS,),
    errors=(
        ErrorInput("integer_x", lambda dtype: {"x": np.ones((2, 3), np.int32)}, tf_raises=True),
        ErrorInput("empty", lambda dtype: {"x": np.ones((0, 3), dtype)}, tf_raises=False),
        convention("python_float", x=2.0),
        convention("nested_list", x=[[1.0], [2.0]]),
        convention("numpy_float64_scalar", x=np.float64(2.0)),
        convention("python_int", tf_raises=True, x=2),
    ),
)


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
    scales=_softmax_ce_scales,
    divergences=(
        KnownDivergence(
            name="softmax_ce_masked_logit_nan",
            what="A -inf (masked) logit whose label is 0 makes TF's loss nan: its kernel multiplies "
                 "0 * inf. The exact loss ignores that class (0 log 0 = 0); sparse CE gets it right.",
            dtypes=ALL,
            checks=frozenset({"value"}),
            where=lambda case, inputs: _rows_where(
                np.isneginf(inputs["logits"].astype(np.float64))
                & (np.broadcast_to(inputs["labels"], inputs["logits"].shape) == 0),
                _axis(case)),
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
            where=lambda case, inputs: _rows_where(
                np.isinf(np.asarray(inputs["logits"] - np.max(inputs["logits"], axis=_axis(case), keepdims=True,
                                                              initial=-np.inf), np.float64)), _axis(case)),
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
    scales=_sparse_ce_scales,
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


def _binary_errors(**more) -> tuple[ErrorInput, ...]:
    def kwargs(labels, logits, labels_dtype=None):
        return lambda dtype: {"labels": np.full(labels, 0.5, labels_dtype or dtype),
                              "logits": np.ones(logits, dtype)} | {k: np.asarray(v, dtype) for k, v in more.items()}
    return (
        ErrorInput("shapes_mismatch", kwargs((3,), (2,)), tf_raises=True),
        # a graph with unknown dimensions checks shapes at trace only (binary_ce_shape_check_at_trace_only)
        ErrorInput("labels_broadcast", kwargs((1, 3), (2, 3)), tf_raises=True, tf_raises_in=dict.fromkeys(TRACED, False)),
        ErrorInput("integer_logits", lambda dtype: {"labels": np.ones((2, 3), np.int32),
                                                    "logits": np.ones((2, 3), np.int32)}
                   | {k: np.int32(1) for k in more}, tf_raises=True),
        ErrorInput("rank_0", kwargs((), ()), tf_raises=False),
        ErrorInput("empty", kwargs((0, 3), (0, 3)), tf_raises=False),
        convention("python_lists", **{"labels": [0.0, 1.0], "logits": [1.5, -2.0]} | more),
        convention("python_scalars", **{"labels": 1.0, "logits": 0.5} | more),
        convention("labels_list_logits_float64", tf_raises=True,
                   **{"labels": [0.0, 1.0], "logits": np.array([1.5, -2.0])} | more),
        convention("labels_int_logits_float32", tf_raises=True,
                   **{"labels": np.array([0, 1], np.int32), "logits": np.array([1.5, -2.0], np.float32)} | more),
    )


def _intermediate_overflow(case, inputs) -> np.ndarray:
    """Where a product TF forms (x * z, x * (1 - z), the pos_weight term, each times the
    cotangent in the backward pass) exceeds the dtype."""
    x, z = f64(inputs, "logits"), f64(inputs, "labels")
    q = f64(inputs, "pos_weight") if "pos_weight" in inputs else 1.0
    factor = np.maximum.reduce([np.abs(z), np.abs(1.0 - z), np.abs(1.0 + (q - 1.0) * z),
                                np.abs(q) + np.zeros_like(z), np.abs(q - 1.0) + np.ones_like(z)])
    factor = factor * np.maximum(1.0, np.abs(gen.cotangent(case, x.shape).astype(np.float64)))
    with np.errstate(invalid="ignore", over="ignore"):
        return np.abs(x) * factor > float(ml_dtypes.finfo(inputs["logits"].dtype).max)


INTERMEDIATE_OVERFLOW = KnownDivergence(
    name="binary_ce_intermediate_overflow",
    what="Near the dtype's max TF forms x * z (and x * (1 - z), pos_weight * max(-x, 0)) in the "
         "input dtype, which overflows: -inf or inf where the exact loss is finite "
         "(f32 x = 2.758e38, z = 1.96 gives -inf, exact (1 - z) * x = -2.649e38).",
    dtypes=ALL,
    checks=frozenset({"value", "vjp_labels", "vjp_pos_weight"}),
    where=_intermediate_overflow,
    modes=TF_KERNELS,
    evidence=(Evidence("value", {"labels": np.array([1.9605854], np.float32),
                                 "logits": np.array([2.7581132e38], np.float32)},
                       np.array([-np.inf], np.float32), np.array([(1 - 1.9605854) * 2.7581132e38])),),
)

def _pos_weight_sum_overflow(case, inputs) -> bool:
    """Whether some order of summing the pos_weight gradient's terms can pass the dtype's max."""
    x, z = f64(inputs, "logits"), f64(inputs, "labels")
    g = gen.cotangent(case, x.shape).astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        return bool(_pos_weight_terms(x, z, g).sum() > float(ml_dtypes.finfo(inputs["logits"].dtype).max))


POS_WEIGHT_SUM_OVERFLOW = KnownDivergence(
    name="weighted_ce_pos_weight_sum_overflow",
    what="TF sums the pos_weight gradient's terms g * z * softplus(-x) in the input dtype, so a "
         "partial sum can overflow where the total is finite: f16 logits [-4e4] * 3, labels "
         "[1, 1, -1] give inf where the exact gradient is 4e4 (found by the thorough profile at "
         "f16, regime large).",
    dtypes=ALL,
    checks=frozenset({"vjp_pos_weight"}),
    where=_pos_weight_sum_overflow,
    modes=TF_KERNELS,
    evidence=(Evidence("vjp_pos_weight", {"labels": np.array([1.0, 1.0, -1.0], np.float16),
                                          "logits": np.full(3, -40000.0, np.float16),
                                          "pos_weight": np.float16(1.0)},
                       np.float16(np.inf), np.float64(40000.0)),),
)

SHAPE_CHECK_STATIC_ONLY = KnownDivergence(
    name="binary_ce_shape_check_at_trace_only",
    what="sigmoid_cross_entropy_with_logits (and weighted CE) check that labels and logits have one "
         "shape on their static shapes only. Eagerly those are the tensors' shapes, so labels "
         "[1, 3] against logits [2, 3] raise ValueError; in a graph (or XLA) whose dimensions are "
         "unknown, as a Keras model's batch dimension is, the check passes and TF broadcasts the "
         "labels silently. impl refuses, as eager TF does.",
    dtypes=ALL,
    checks=frozenset({"value"}),
    where=lambda case, inputs: np.shape(inputs["labels"]) != np.shape(inputs["logits"]),
    modes=TRACED,
    evidence=(Evidence("value", {"labels": np.array([[1.0, 0.0, 1.0]], np.float32),
                                 "logits": np.zeros((2, 3), np.float32)},
                       np.full((2, 3), np.log(2.0), np.float32), "InvalidArgumentError"),),
)

INFINITE_LOGIT_WHAT = (
    "TF builds the loss as max(x, 0) - x * z + log1p(exp(-|x|)), which is inf - inf or 0 * inf "
    "at an infinite logit: nan for (z=1, x=+inf) where the exact loss is 0, (z=0, x=-inf) where "
    "it is 0, and (0<z<1, x=+inf) where it is inf. impl returns the limits.")

SIGMOID_CE = OpRecord(
    reference=impl.sigmoid_cross_entropy_with_logits,
    tf=oracle.sigmoid_cross_entropy_with_logits,
    tf_vjp=oracle.sigmoid_cross_entropy_with_logits_vjp,
    exact=exact.sigmoid_cross_entropy_with_logits,
    wide=wide.sigmoid_cross_entropy_with_logits,
    build=gen.binary_label_inputs,
    grads=("logits", "labels"),
    label_kinds=tuple(gen.BINARY_LABELS),
    regimes=ALL_REGIMES,
    # Three rounded terms, two of them from library functions (exp, log1p, each within about an
    # ULP), plus impl's own rounding where it has no wider type (f64): 3 eps. Fitted at 2 on the
    # sweep (worst 1.52); the thorough profile found 2.03 (f32 x = -4.45, z = 0) and 2.02 (f64).
    value_tolerance=measured(3, f16="0.33", bf16="0.29", f32="2.03 (thorough)", f64="2.02 (thorough)",
                             derived={"bfloat16": (1.125, 0.524), "float16": (0.875, 0.434), "float64": (2.625, 1.307)}),
    vjp_tolerance=measured(2, f16="0.69", bf16="0.55", f32="0.8", f64="1.13",
                             derived={"bfloat16": (1.5, 0.741), "float16": (1.5, 0.695), "float64": (1.625, 0.754)}),
    scales=_sigmoid_ce_scales,
    min_rank=0,
    divergences=(
        KnownDivergence(
            name="sigmoid_ce_infinite_logit_nan",
            what=INFINITE_LOGIT_WHAT,
            dtypes=ALL,
            checks=frozenset({"value"}),
            where=lambda case, inputs: np.isinf(inputs["logits"].astype(np.float64)),
            evidence=(Evidence("value", {"labels": np.array([1.0, 0.0, 0.5], np.float32),
                                         "logits": np.array([np.inf, -np.inf, np.inf], np.float32)},
                               np.array([np.nan, np.nan, np.nan], np.float32),
                               np.array([0.0, 0.0, np.inf])),),
        ),
        INTERMEDIATE_OVERFLOW,
        SHAPE_CHECK_STATIC_ONLY,
        FLUSHES_SUBNORMALS,
    ),
    errors=_binary_errors() + (
        ErrorInput("labels_other_dtype", lambda dtype: {
            "labels": np.zeros(3, np.float64 if dtype != np.float64 else np.float32),
            "logits": np.zeros(3, dtype)}, tf_raises=True),
    ),
)

WEIGHTED_CE = OpRecord(
    reference=impl.weighted_cross_entropy_with_logits,
    tf=oracle.weighted_cross_entropy_with_logits,
    tf_vjp=oracle.weighted_cross_entropy_with_logits_vjp,
    exact=exact.weighted_cross_entropy_with_logits,
    wide=wide.weighted_cross_entropy_with_logits,
    build=gen.weighted_inputs,
    grads=("logits", "labels", "pos_weight"),
    label_kinds=tuple(gen.BINARY_LABELS),
    regimes=ALL_REGIMES,
    value_tolerance=measured(3, f16="0.9", bf16="0.91", f32="2.06", f64="1.9"),
    vjp_tolerance=measured(3, f16="1.28", bf16="1.06", f32="1.4", f64="1.9"),
    scales=_binary_scales,
    scalars=("pos_weight",),
    min_rank=0,
    divergences=(
        KnownDivergence(
            name="weighted_ce_infinite_logit_nan",
            what=INFINITE_LOGIT_WHAT.replace("max(x, 0) - x * z + log1p(exp(-|x|))",
                                             "(1 - z) * x + (1 + (q - 1) * z) * (log1p(exp(-|x|)) + max(-x, 0))"),
            dtypes=ALL,
            checks=frozenset({"value", "vjp_labels"}),
            where=lambda case, inputs: np.isinf(inputs["logits"].astype(np.float64)),
            evidence=(Evidence("value", {"labels": np.array([1.0, 0.0, 0.5], np.float32),
                                         "logits": np.array([np.inf, -np.inf, -np.inf], np.float32),
                                         "pos_weight": np.float32(2.0)},
                               np.array([np.nan, np.nan, np.nan], np.float32),
                               np.array([0.0, 0.0, np.inf])),),
        ),
        INTERMEDIATE_OVERFLOW,
        POS_WEIGHT_SUM_OVERFLOW,
        SHAPE_CHECK_STATIC_ONLY,
        KnownDivergence(
            name="weighted_ce_pos_weight_grad_nan_at_neg_inf_logit",
            what="The pos_weight gradient at a -inf logit with label 0 is nan: TF forms z * softplus(-x) "
                 "= 0 * inf. The term is absent there (z = 0), so the exact gradient is the other "
                 "elements' sum, which impl gives. In every mode; eagerly and in a graph the "
                 "intermediate-overflow divergence covers it too, under XLA only this one.",
            dtypes=ALL,
            checks=frozenset({"vjp_pos_weight"}),
            where=lambda case, inputs: np.isneginf(f64(inputs, "logits")) & (f64(inputs, "labels") == 0),
            evidence=(Evidence("vjp_pos_weight", {"labels": np.array([0.0, 1.0], np.float32),
                                                  "logits": np.array([-np.inf, 1.0], np.float32),
                                                  "pos_weight": np.float32(2.0)},
                               np.float32(np.nan), np.float64(np.log1p(np.exp(-1.0)))),),
        ),
        KnownDivergence(
            name="weighted_ce_grad_at_zero_logit",
            what="TF builds the loss from abs(x) and relu(-x), whose gradients are 0 at x = 0, so its "
                 "logits gradient at x = 0 (and at subnormal x, flushed to 0) is (1 - z) instead of "
                 "(1 - z) - (1 + (q - 1) z) / 2. sigmoid_cross_entropy_with_logits uses "
                 "where(x >= 0) and is right there.",
            dtypes=ALL,
            checks=frozenset({"vjp_logits"}),
            where=lambda case, inputs: np.abs(f64(inputs, "logits"))
            < float(ml_dtypes.finfo(inputs["logits"].dtype).smallest_normal),
            evidence=(Evidence("vjp_logits", {"labels": np.array([1.0, 0.0]), "logits": np.array([0.0, 0.0]),
                                              "pos_weight": np.float64(2.0)},
                               np.array([0.0, 1.0]), np.array([0.0 - 2.0 / 2, 1.0 - 1.0 / 2])),),
        ),
        KnownDivergence(
            name="weighted_ce_negative_logit_cancels",
            what="For x << 0 and z = 0 TF adds (1 - z) * x and max(-x, 0), which cancel: x = -100 "
                 "gives 0 in f64 where the exact loss is log1p(exp(-100)) = 3.7e-44. The absolute "
                 "budget eps * (|x| + ...) allows it; impl keeps the digits.",
            dtypes=ALL,
            checks=frozenset(),
            where=lambda case, inputs: False,
            evidence=(Evidence("value", {"labels": np.array([0.0]), "logits": np.array([-100.0]),
                                         "pos_weight": np.float64(2.0)},
                               np.array([0.0]), np.array([np.log1p(np.exp(-100.0))])),),
        ),
        FLUSHES_SUBNORMALS,
    ),
    errors=_binary_errors(pos_weight=2.0),
)

RECORDS: tuple[OpRecord, ...] = (SOFTMAX, LOG_SOFTMAX, SIGMOID, SOFTMAX_CE, SPARSE_CE, SIGMOID_CE, WEIGHTED_CE)
BY_NAME = {record.name: record for record in RECORDS}
