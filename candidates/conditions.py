"""Where a candidate's divergence holds: predicates over a case and its inputs, as the records'
`where` are (True: the whole case; an array: the output elements it explains)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tfparity.dtypes import f64
from tfparity.inputs import Case
from tfparity.opdb import BY_NAME
from tfparity.records import ERROR_PREFIX, Inputs, KnownDivergence, OpRecord

Where = Callable[[Case, Inputs], np.ndarray | bool]


def error_inputs(*names: str) -> Where:
    """The error inputs of these names (each op's are listed in its record)."""
    return lambda case, inputs: case.regime.removeprefix(ERROR_PREFIX) in names


# The error inputs written as Python values (tfparity.ops.common's `convention`s), which NumPy and JAX
# (float64 enabled) make float64 where TF makes float32.
python_values = error_inputs("python_list", "nested_list_axis_0", "nested_list", "python_float", "python_lists",
                             "python_scalars", "python_int_label", "labels_list_logits_float64")


def everywhere(case: Case, inputs: Inputs) -> bool:
    return True


def exact_value(case: Case, inputs: Inputs) -> np.ndarray:
    """The op's reference (impl) on the inputs in float64 (integer labels as they are), with the
    case's axis as the record passes it: the exact answer to well within what these predicates decide."""
    record = BY_NAME[case.op]
    wide = {name: f64(inputs, name) if np.asarray(value).dtype.kind in "fV" else np.asarray(value)
            for name, value in inputs.items()}
    with np.errstate(all="ignore"):
        return np.asarray(record.reference(**record.call_kwargs(case, wide)), np.float64)


def tf_divergence(record: OpRecord, name: str) -> KnownDivergence:
    """TF's own divergence `name`: its condition and checks are where a candidate inheriting it departs."""
    found = [d for d in record.divergences if d.name == name]
    if not found:
        raise KeyError(f"{record.name} has no divergence {name!r}")
    return found[0]


def rows_holding(test: Callable[[np.ndarray], np.ndarray]) -> Where:
    """Every element of a row (along the class axis) holding a logit that `test` marks."""
    def where(case: Case, inputs: Inputs) -> np.ndarray:
        x = np.asarray(inputs["logits"], np.float64)
        return np.broadcast_to(test(x).any(axis=case.class_axis, keepdims=True), x.shape)
    return where


non_finite_rows = rows_holding(lambda x: ~np.isfinite(x))
