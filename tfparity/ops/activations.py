"""The activations' records: softmax, log_softmax and sigmoid."""

from __future__ import annotations

import numpy as np

import impl
import oracle
from tfparity import exact, wide
from tfparity import inputs as gen
from tfparity.backend import ONEDNN, on_kernel
from tfparity.ops import scales
from tfparity.ops.common import (
    ALL,
    ALL_REGIMES,
    FLUSHES_SUBNORMALS,
    convention,
    measured,
    rows_where,
)
from tfparity.records import ErrorInput, Evidence, KnownDivergence, OpRecord

# --- softmax's kernel choice: oneDNN's divergences -------------------------------------------------

ON_ONEDNN = on_kernel("softmax", ONEDNN)

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
    scales=scales.softmax_scales,
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
            where=lambda case, inputs: rows_where(
                np.isnan(inputs["logits"].astype(np.float64)) | np.isposinf(inputs["logits"].astype(np.float64)),
                case.class_axis),
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
    scales=scales.log_softmax_scales,
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
    scales=scales.sigmoid_scales,
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
