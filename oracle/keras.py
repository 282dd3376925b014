"""Keras 3's cross-entropy losses on its TensorFlow backend, behind impl's names and keywords.

Each is `keras.losses.<name>` called on tensors made from NumPy arrays, in the oracle's mode
(eager, graph or XLA), so `y_pred` carries no `_keras_logits` and, in a graph, is a function
input rather than a Softmax or Sigmoid op's output: Keras recovers no logits here (pipelines that
do are checked apart). VJPs use `tf.GradientTape` as the tf.nn ops' do.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable

import keras
import tensorflow as tf
from keras.src.backend import set_keras_mask

from oracle.ops import _run, _vjp

if keras.backend.backend() != "tensorflow":
    raise ImportError(f"the oracle needs Keras on its TensorFlow backend; KERAS_BACKEND is {keras.backend.backend()!r}")

# Keras warns of a class axis of 1 (the sweep draws such shapes on purpose); the loss is defined there
warnings.filterwarnings("ignore", message="In loss .*num_classes > 1", category=SyntaxWarning)
warnings.filterwarnings("ignore", message="You are using a softmax over axis .* has size 1")

NAMES = ("categorical_crossentropy", "sparse_categorical_crossentropy", "binary_crossentropy",
         "binary_focal_crossentropy", "categorical_focal_crossentropy")


def softmax_then_categorical_crossentropy(y_true, logits, axis=-1):
    """The loss of a Keras softmax, as users chain them (Keras recovers the softmax's logits)."""
    return keras.losses.categorical_crossentropy(y_true, keras.activations.softmax(logits, axis=axis), axis=axis)


def sigmoid_then_binary_crossentropy(y_true, logits, axis=-1):
    """The loss of a Keras sigmoid, as users chain them (Keras recovers the sigmoid's logits)."""
    return keras.losses.binary_crossentropy(y_true, keras.activations.sigmoid(logits), axis=axis)


PIPELINES = {f.__name__: f for f in (softmax_then_categorical_crossentropy, sigmoid_then_binary_crossentropy)}


def keras_softmax(x, axis=-1):
    """keras.activations.softmax: over every axis (None) or a tuple's axes jointly."""
    return keras.activations.softmax(x, axis=axis)


def keras_log_softmax(x, axis=-1):
    return keras.activations.log_softmax(x, axis=axis)


def keras_softmax_layer(inputs, mask=None, axis=-1):
    """keras.layers.Softmax(axis)(inputs, mask=mask)."""
    return keras.layers.Softmax(axis=axis)(inputs, mask=mask)


ACTIVATIONS = {f.__name__: f for f in (keras_softmax, keras_log_softmax, keras_softmax_layer)}


def _loss_class(loss: str) -> type:
    """keras.losses.CategoricalCrossentropy for "categorical_crossentropy", and so on."""
    return getattr(keras.losses, "".join(word.title() for word in loss.split("_")))


def reduced_loss(y_true, y_pred, sample_weight=None, mask=None, *, loss, reduction="sum_over_batch_size", **options):
    """keras.losses.<Loss>(reduction=reduction, **options)(y_true, y_pred, sample_weight), with
    y_pred carrying `mask` as its Keras mask (set on a tensor of this call's own)."""
    if mask is not None:
        y_pred = tf.identity(y_pred)
        set_keras_mask(y_pred, mask)
    return _loss_class(loss)(reduction=reduction, **options)(y_true, y_pred, sample_weight=sample_weight)


@functools.cache
def _loss(name: str) -> Callable:
    """keras.losses.<name> (a pipeline, or a loss class called), as a function of tensors by keyword."""
    if name == "reduced_loss":
        return reduced_loss
    return PIPELINES.get(name) or ACTIVATIONS.get(name) or getattr(keras.losses, name)


def value(name: str, **kwargs: object):
    return _run(_loss(name), **kwargs)


def vjp(name: str, cotangent: object, **kwargs: object):
    return _vjp(_loss(name), cotangent, gradients(name, kwargs), **kwargs)


def gradients(name: str, kwargs: dict[str, object]) -> tuple[str, ...]:
    """The inputs a loss has gradients for: its prediction, float labels, and sample weights."""
    if name == "reduced_loss":
        return gradients(kwargs["loss"], {}) + (("sample_weight",) if kwargs.get("sample_weight") is not None else ())
    if name in ACTIVATIONS:
        return ("inputs",) if name == "keras_softmax_layer" else ("x",)
    prediction = "logits" if name in PIPELINES else "y_pred"
    return (prediction, "y_true") if name != "sparse_categorical_crossentropy" else (prediction,)
