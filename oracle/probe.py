"""Ask TensorFlow, on this machine, the questions whose answers decide its numerics.

TF routes each op x dtype to a oneDNN or an Eigen kernel by the CPU's instruction set and the
`TF_ENABLE_ONEDNN_OPTS` switch, and the kernels differ at the edges. Rather than predict the route
from a CPU table (which changes between TF releases), this module runs the real ops on tiny inputs
and reports what they did. `tfparity.backend` turns the answers into a named fingerprint.

Every question is asked through the oracle's ops, so in the mode the oracle runs (eager, graph or
XLA): each mode has its own answers. Every answer is a short string: "ok", a TF error class name,
or a named behaviour.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import ml_dtypes
import numpy as np
import tensorflow as tf

from oracle import modes, ops


def _raises(op: Callable, x: np.ndarray) -> str:
    """"ok", or the error's class: oneDNN's softmax says 'Input dims must be <= 5' (AbortedError)."""
    try:
        op(x)
    except ops.OracleError as error:
        return error.tf_class
    return "ok"


def _nonfinite_row(dtype: np.dtype) -> str:
    """Softmax of [+inf, 0, 1]: IEEE arithmetic gives an all-nan row; oneDNN gives [nan, 0, 0]."""
    y = ops.softmax(np.array([np.inf, 0.0, 1.0], dtype)).astype(np.float64)
    if np.isnan(y).all():
        return "all_nan"
    return "partial_nan" if np.isnan(y[0]) and (y[1:] == 0).all() else "other"


def _small_normal(dtype: np.dtype) -> str:
    """Softmax of [0, log(1.5 * smallest normal)]: is a normal result just above the smallest
    normal kept, or zeroed (oneDNN's f32 softmax zeroes results up to about twice it)?"""
    tiny = 1.5 * float(ml_dtypes.finfo(dtype).smallest_normal)
    y = ops.softmax(np.array([0.0, np.log(tiny)], dtype))
    return "flushed" if y[1] == 0 else "kept"


def _subnormal_result(dtype: np.dtype) -> str:
    """Sigmoid of x where the exact result is a quarter of the dtype's smallest normal: a
    flush-to-zero CPU mode gives 0."""
    tiny = 0.25 * float(ml_dtypes.finfo(dtype).smallest_normal)
    y = ops.sigmoid(np.array([np.log(tiny)], dtype))
    return "flushed" if y[0] == 0 else "kept"


QUESTIONS: dict[str, Callable[[np.dtype], str]] = {
    "softmax.rank_6": lambda d: _raises(ops.softmax, np.ones((1, 1, 1, 1, 2, 3), d)),
    "softmax.rank_0": lambda d: _raises(ops.softmax, np.ones((), d)),
    "softmax.nonfinite_row": _nonfinite_row,
    "softmax.small_normal": _small_normal,
    "subnormal_results": _subnormal_result,
}


def onednn_enabled() -> str:
    """Whether oneDNN is on in this process, after the env variable and TF's CPU policy
    (a private TF function: "unknown" if it is gone)."""
    try:
        from tensorflow.python.util import _pywrap_util_port
    except ImportError:
        return "unknown"
    return "on" if _pywrap_util_port.IsMklEnabled() else "off"


def observe(dtypes: Iterable[str]) -> dict[str, str]:
    """Every question per dtype name (`"<question>/<dtype>"`), plus the device, mode and oneDNN state."""
    facts = {"tensorflow": tf.__version__, "device": "cpu", "mode": modes.current(), "onednn": onednn_enabled()}
    with tf.device("/CPU:0"):
        for question, ask in QUESTIONS.items():
            for name in dtypes:
                facts[f"{question}/{name}"] = ask(np.dtype(name))
    return facts
