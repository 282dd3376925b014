"""Input conversion, dtype policy and axis checks shared by every op.

Precision policy: each op computes in a wider type than its input (float16 and
bfloat16 in float32, float32 in float64, float64 in long double where the platform
has a wider one, as x86 does) and rounds once to
the input dtype at the end, so impl's answer is the exact one to within about an
ULP of the output dtype.  Results are *not* flushed to zero when subnormal
(TensorFlow's CPU kernels flush them; the harness allows for that explicitly).
"""

from __future__ import annotations

import ml_dtypes
import numpy as np

from impl.errors import InvalidArgumentError

FLOAT_DTYPES: tuple[np.dtype, ...] = (
    np.dtype(np.float16),
    np.dtype(ml_dtypes.bfloat16),
    np.dtype(np.float32),
    np.dtype(np.float64),
)
_WIDER = {
    np.dtype(np.float16): np.dtype(np.float32),
    # bfloat16 has float32's range: float64 keeps its intermediates from overflowing
    np.dtype(ml_dtypes.bfloat16): np.dtype(np.float64),
    np.dtype(np.float32): np.dtype(np.float64),
    # x86's 80-bit long double (64-bit mantissa); where it is plain double this is no wider
    np.dtype(np.float64): np.dtype(np.longdouble),
}
# keras.config.floatx(): the dtype Keras's loss classes and layers compute in by default
FLOATX = np.dtype("float32")
_PYTHON_DEFAULTS = {np.dtype(np.float64): np.float32, np.dtype(np.int64): np.int32}


def as_tensor(value: object) -> np.ndarray:
    """An ndarray as `tf.constant` would make it: Python floats become float32, ints int32;
    arrays, NumPy scalars and lists of NumPy scalars keep their dtype."""
    array = np.asarray(value)
    if not _holds_python_numbers(value):
        return array
    return array.astype(_PYTHON_DEFAULTS.get(array.dtype, array.dtype))


def _holds_python_numbers(value: object) -> bool:
    if isinstance(value, (list, tuple)):
        return any(_holds_python_numbers(v) for v in value)
    return not isinstance(value, (np.ndarray, np.generic))


def float_tensor(value: object, name: str) -> np.ndarray:
    """`value` as a float16/bfloat16/float32/float64 array, or InvalidArgumentError."""
    array = as_tensor(value)
    if array.dtype not in FLOAT_DTYPES:
        raise InvalidArgumentError(
            f"{name} must be float16, bfloat16, float32 or float64; got {array.dtype}"
        )
    return array


def same_dtype(value: object, like: np.ndarray, name: str) -> np.ndarray:
    """`value` as `tf.constant` makes it (Python floats float32), which must be `like`'s dtype."""
    array = float_tensor(value, name)
    if array.dtype != like.dtype:
        raise InvalidArgumentError(f"{name} is {array.dtype} but logits are {like.dtype}")
    return array


def converted_like(value: object, like: np.ndarray, name: str) -> np.ndarray:
    """`value` converted to `like`'s dtype when it is a Python number or list (TF converts with
    the logits' dtype as the target); an array must already have it."""
    if not isinstance(value, (np.ndarray, np.generic)):
        return np.asarray(value, dtype=like.dtype)
    return same_dtype(value, like, name)


def cast_like(value: object, like: np.ndarray, name: str) -> np.ndarray:
    """`value` (any real dtype) cast to `like`'s dtype, as TF casts softmax CE's labels."""
    array = as_tensor(value)
    if array.dtype.kind not in "biuf" and array.dtype not in FLOAT_DTYPES:
        raise InvalidArgumentError(f"{name} must be numeric; got {array.dtype}")
    return array.astype(like.dtype)


def narrow(array: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """`array` (in its wide type) rounded once to `dtype`. ml_dtypes rounds float64 to bfloat16
    through float32, twice: rounding to odd in float32 first makes the second rounding exact."""
    array = np.asarray(array)
    if np.dtype(dtype) != np.dtype(ml_dtypes.bfloat16) or array.dtype != np.float64:
        return array.astype(dtype)
    with np.errstate(all="ignore"):
        finite = np.isfinite(array)
        single = array.astype(np.float32)
        away = finite & (np.abs(single.astype(np.float64)) > np.abs(array))
        single = np.where(away, np.nextafter(single, np.float32(0)), single)
        inexact = finite & (single.astype(np.float64) != array)
        odd = np.asarray(single).view(np.uint32) | inexact.astype(np.uint32)
        return odd.view(np.float32).astype(dtype)


def widen(array: np.ndarray) -> np.ndarray:
    """`array` in the dtype the op computes in."""
    return array.astype(_WIDER[array.dtype])


def class_axis(axis: int | None, ndim: int) -> int:
    """The non-negative class axis, checked as TensorFlow checks it."""
    if ndim == 0:
        raise InvalidArgumentError("logits must have >= 1 dimension, got []")
    axis = -1 if axis is None else int(axis)
    if not -ndim <= axis < ndim:
        raise InvalidArgumentError(f"axis {axis} is out of range for logits of rank {ndim}")
    return axis % ndim


def same_shape(labels: np.ndarray, logits: np.ndarray) -> None:
    """Elementwise losses take labels and logits of exactly the same shape."""
    if labels.shape != logits.shape:
        raise InvalidArgumentError(
            f"logits and labels must have the same shape, got {logits.shape} vs {labels.shape}"
        )


def sum_to_shape(array: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum a broadcast result back down to `shape` (the adjoint of broadcasting)."""
    extra = array.ndim - len(shape)
    array = array.sum(axis=tuple(range(extra))) if extra else array
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and array.shape[i] != 1)
    return array.sum(axis=stretched, keepdims=True) if stretched else array
