"""Thin adapters from NumPy to the real `tf.nn` ops and back."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

import numpy as np
import tensorflow as tf

from oracle import modes
from oracle.answers import Gradients, OracleError

# What TF raises for inputs it refuses; IndexError too (softmax CE of a rank-0 tensor, traced). A
# harness bug raising one of these would read as TF's answer: tests/test_modes.py runs the modes.
_ERRORS = (tf.errors.OpError, ValueError, TypeError, IndexError)


def _tf(value: object) -> object:
    """Arrays become constants (their dtype kept); Python values pass through as TF takes them."""
    return tf.constant(value) if isinstance(value, (np.ndarray, np.generic)) else value


def _numpy(value: tf.Tensor | None) -> np.ndarray | None:
    return None if value is None else value.numpy()


def _run(op: Callable, **inputs: object) -> np.ndarray:
    try:
        return _numpy(modes.call(op, **{k: _tf(v) for k, v in inputs.items()}))
    except _ERRORS as error:
        raise OracleError(type(error).__name__, str(error)) from None


@functools.cache
def _value_and_gradients(op: Callable, wrt: tuple[str, ...]) -> Callable:
    """A function of (cotangent, inputs) giving op's value and the VJP for the inputs in `wrt`:
    run as is in eager mode, as one graph (or XLA computation) in the others."""
    def body(cotangent: object, **tensors: tf.Tensor) -> tuple[tf.Tensor, list[tf.Tensor | None]]:
        watched = [tensors[k] for k in wrt]
        with tf.GradientTape() as tape:
            tape.watch(watched)
            value = op(**tensors)
        if callable(cotangent):  # eager: drawn for the shape just computed
            cotangent = cotangent(tuple(value.shape))
        return value, tape.gradient(value, watched, output_gradients=tf.cast(cotangent, value.dtype))
    body.__name__ = f"{op.__name__}_vjp"
    return body


def _vjp(op: Callable, cotangent: object, wrt: tuple[str, ...], **inputs: object) -> Gradients:
    """Gradients of sum(cotangent * op(**inputs)) for the inputs named in `wrt`. `cotangent` may
    be a function of the output's shape, drawn for the shape the op gives these inputs."""
    try:
        tensors = {k: _tf(v) for k, v in inputs.items()}
        if callable(cotangent) and modes.current() != "eager":  # a graph takes it as an input
            out = modes.output(op, **tensors)
            cotangent = tf.constant(cotangent(tuple(out.shape)), out.dtype)
        value, grads = modes.call(_value_and_gradients(op, wrt), _tf(cotangent), **tensors)
    except _ERRORS as error:
        raise OracleError(type(error).__name__, str(error)) from None
    result = Gradients((k, _numpy(g)) for k, g in zip(wrt, grads, strict=True))
    result.value = value.numpy()
    return result


def _axis_kw(axis: int | None) -> Mapping[str, int]:
    """TF's own default is used when the caller gives no axis."""
    return {} if axis is None else {"axis": axis}


def softmax(logits, axis=None):
    return _run(tf.nn.softmax, logits=logits, **_axis_kw(axis))


def log_softmax(logits, axis=None):
    return _run(tf.nn.log_softmax, logits=logits, **_axis_kw(axis))


def sigmoid(x):
    return _run(tf.nn.sigmoid, x=x)


def softmax_cross_entropy_with_logits(labels, logits, axis=None):
    return _run(tf.nn.softmax_cross_entropy_with_logits, labels=labels, logits=logits, **_axis_kw(axis))


def sparse_softmax_cross_entropy_with_logits(labels, logits):
    return _run(tf.nn.sparse_softmax_cross_entropy_with_logits, labels=labels, logits=logits)


def sigmoid_cross_entropy_with_logits(labels, logits):
    return _run(tf.nn.sigmoid_cross_entropy_with_logits, labels=labels, logits=logits)


def weighted_cross_entropy_with_logits(labels, logits, pos_weight):
    return _run(tf.nn.weighted_cross_entropy_with_logits, labels=labels, logits=logits,
                pos_weight=pos_weight)


def softmax_vjp(cotangent, logits, axis=None):
    return _vjp(tf.nn.softmax, cotangent, ("logits",), logits=logits, **_axis_kw(axis))


def log_softmax_vjp(cotangent, logits, axis=None):
    return _vjp(tf.nn.log_softmax, cotangent, ("logits",), logits=logits, **_axis_kw(axis))


def sigmoid_vjp(cotangent, x):
    return _vjp(tf.nn.sigmoid, cotangent, ("x",), x=x)


def softmax_cross_entropy_with_logits_vjp(cotangent, labels, logits, axis=None):
    return _vjp(tf.nn.softmax_cross_entropy_with_logits, cotangent, ("logits", "labels"),
                labels=labels, logits=logits, **_axis_kw(axis))


def sparse_softmax_cross_entropy_with_logits_vjp(cotangent, labels, logits):
    return _vjp(tf.nn.sparse_softmax_cross_entropy_with_logits, cotangent, ("logits",),
                labels=labels, logits=logits)


def sigmoid_cross_entropy_with_logits_vjp(cotangent, labels, logits):
    return _vjp(tf.nn.sigmoid_cross_entropy_with_logits, cotangent, ("logits", "labels"),
                labels=labels, logits=logits)


def weighted_cross_entropy_with_logits_vjp(cotangent, labels, logits, pos_weight):
    return _vjp(tf.nn.weighted_cross_entropy_with_logits, cotangent,
                ("logits", "labels", "pos_weight"), labels=labels, logits=logits,
                pos_weight=pos_weight)


# --- the calls the misuse catalogue compares against (tfparity/misusedb.py) --------------------------

def softmax_cross_entropy_with_logits_v1(labels, logits):
    """`tf.compat.v1.nn.softmax_cross_entropy_with_logits`: v2's value, no gradient into labels."""
    return _run(tf.compat.v1.nn.softmax_cross_entropy_with_logits, labels=labels, logits=logits)


def softmax_cross_entropy_with_logits_v1_vjp(cotangent, labels, logits):
    return _vjp(tf.compat.v1.nn.softmax_cross_entropy_with_logits, cotangent, ("logits", "labels"),
                labels=labels, logits=logits)


def _keras_categorical_crossentropy(labels, logits):
    return tf.keras.losses.CategoricalCrossentropy(from_logits=True)(labels, logits)


def keras_categorical_crossentropy(labels, logits):
    """`tf.keras.losses.CategoricalCrossentropy(from_logits=True)` with its default reduction."""
    return _run(_keras_categorical_crossentropy, labels=labels, logits=logits)
