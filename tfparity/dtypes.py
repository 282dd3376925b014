"""The dtypes under test, by name, and the float64 view every error bound is computed in."""

from __future__ import annotations

from collections.abc import Mapping

import ml_dtypes  # noqa: F401  (registers "bfloat16" with NumPy)
import numpy as np

DTYPES = ("float16", "bfloat16", "float32", "float64")


def np_dtype(name: str) -> np.dtype:
    return np.dtype(name)


def f64(inputs: Mapping[str, object], name: str) -> np.ndarray:
    """Input `name` in float64, where the bounds and exact gaps are computed."""
    return np.asarray(inputs[name], np.float64)


def softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + exp(x)), without overflow."""
    return np.logaddexp(0.0, x)
