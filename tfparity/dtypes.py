"""The dtypes under test, by name, and the float64 view every error bound is computed in."""

from __future__ import annotations

from collections.abc import Mapping

import ml_dtypes  # noqa: F401  (registers "bfloat16" with NumPy)
import numpy as np

DTYPES = ("float16", "bfloat16", "float32", "float64")


def np_dtype(name: str) -> np.dtype:
    return np.dtype(name)


def as_constant(value: object) -> np.ndarray:
    """`value` as `tf.constant` makes it: arrays and NumPy scalars keep their dtype; Python floats
    and lists of them become float32, ints int32 (NumPy would make float64 and int64)."""
    if isinstance(value, np.ndarray):
        return value
    array = np.asarray(value)
    if not _python_numbers(value):
        return array
    return array.astype({"float64": np.float32, "int64": np.int32}.get(array.dtype.name, array.dtype))


def _python_numbers(value: object) -> bool:
    """Whether `value` holds Python numbers (a list of NumPy scalars keeps their dtype in TF)."""
    if isinstance(value, (list, tuple)):
        return any(_python_numbers(v) for v in value)
    return not isinstance(value, (np.ndarray, np.generic))


def f64(inputs: Mapping[str, object], name: str) -> np.ndarray:
    """Input `name` in float64, where the bounds and exact gaps are computed."""
    return np.asarray(inputs[name], np.float64)


def softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + exp(x)), without overflow."""
    return np.logaddexp(0.0, x)
