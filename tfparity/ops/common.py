"""What the op families share: dtype and regime sets, TF's modes, the flush-to-zero divergence,
the tolerance tables and the error inputs written as users call tf.nn."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from tfparity import inputs as gen
from tfparity.backend import flushes_subnormals
from tfparity.compare import Tolerance
from tfparity.dtypes import DTYPES
from tfparity.records import ErrorInput, Evidence, KnownDivergence

ALL = frozenset(DTYPES)
ALL_REGIMES = tuple(gen.REGIMES)
TRACED = frozenset({"graph", "xla"})  # the modes that trace a graph (XLA compiles one)
TF_KERNELS = frozenset({"eager", "graph"})  # the modes where TF's own kernels run (XLA compiles its own code)


def rows_where(condition: np.ndarray, axis: int) -> np.ndarray:
    """Every element of each row (along the class axis) where `condition` holds somewhere."""
    return np.broadcast_to(condition.any(axis=axis, keepdims=True), condition.shape)


# --- the flush-to-zero divergence, every op's ---------------------------------------------------

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


# float64 inputs a Keras class casts to float32 (floatx): their results carry float32's rounding
F32_IN_F64 = float(np.finfo(np.float32).eps / np.finfo(np.float64).eps)


def held_in_float32(table: Mapping[str, Tolerance], every: Tolerance | None = None,
                    returns_float32: bool = False) -> dict[str, Tolerance]:
    """A tolerance table for a Keras class that computes in float32 whatever its inputs' dtype
    (`computes_in`: TF flushes as float32 does): `every` (default: the table's own) per dtype. A
    result in float32 for every dtype (`returns_float32`: a value) is judged in float32's units; a
    float64 result carrying float32's rounding (a gradient cast back) gets the float32 entry in
    float64's units (2^29 eps per float32 eps), its accuracy floor and flush floor float32's."""
    out = {dtype: replace(every or table[dtype], computes_in="float32") for dtype in DTYPES}
    if returns_float32:
        return out
    f32, reason = every or table["float32"], (every or table["float64"]).reason
    out["float64"] = Tolerance(f32.ulp * F32_IN_F64, f32.abs_eps * F32_IN_F64,
                               f"{reason} Computed in float32: held at float32's eps ({F32_IN_F64:g} float64 "
                               "eps), the candidate's accuracy within a float32 ULP of TF's, float32's flush floor.",
                               floor=F32_IN_F64, computes_in="float32")
    return out


def convention(name: str, tf_raises: bool = False, **kwargs: object) -> ErrorInput:
    """An input written as users call tf.nn: Python numbers and lists (which TF makes float32 and
    int32, NumPy float64 and int64), NumPy scalars, mixed dtypes. Checked once, not per dtype."""
    return ErrorInput(name, lambda dtype: dict(kwargs), tf_raises=tf_raises, per_dtype=False)
