"""Where a candidate's divergence holds: predicates over a case and its inputs, as the records'
`where` are (True: the whole case; an array: the output elements it explains)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import impl
from tfparity.inputs import Case
from tfparity.records import ERROR_PREFIX, Inputs

Where = Callable[[Case, Inputs], np.ndarray | bool]


def error_inputs(*names: str) -> Where:
    """The error inputs of these names (each op's are listed in its record)."""
    return lambda case, inputs: case.regime.removeprefix(ERROR_PREFIX) in names


# The error inputs written as Python values (tfparity.opdb's `convention`s), which NumPy and JAX
# (float64 enabled) make float64 where TF makes float32.
python_values = error_inputs("python_list", "nested_list_axis_0", "nested_list", "python_float", "python_lists",
                             "python_scalars", "python_int_label", "labels_list_logits_float64")


def everywhere(case: Case, inputs: Inputs) -> bool:
    return True


def wide(inputs: Inputs) -> dict[str, np.ndarray]:
    """The float inputs in float64 (integer labels as they are)."""
    return {name: np.asarray(v, np.float64) if np.asarray(v).dtype.kind == "f" or np.asarray(v).dtype.kind == "V"
            else np.asarray(v) for name, v in inputs.items()}


def exact_value(op: str, case: Case, inputs: Inputs) -> np.ndarray:
    """impl's answer in float64: the exact answer to well within what these predicates decide."""
    axis = {"axis": case.axis} if case.axis is not None and "logits" in inputs and op in _AXIS_OPS else {}
    with np.errstate(all="ignore"):
        return np.asarray(getattr(impl, op)(**wide(inputs), **axis), np.float64)


_AXIS_OPS = ("softmax", "log_softmax", "softmax_cross_entropy_with_logits")
