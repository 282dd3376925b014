"""The Keras call patterns the misuse catalogue compares (tfparity/misuses/keras.py): losses
called as users mistakenly chain them, and the right chains, on Keras's TensorFlow backend.

Plain loss calls go through `oracle.keras.value`; these are the patterns it has no name for.
Each runs in the oracle's mode (eager, graph or XLA) as `oracle.keras` does.
"""

from __future__ import annotations

import functools
import warnings

import keras

from oracle import keras as keras_oracle
from oracle.ops import _run

# Keras warns when from_logits=True meets a softmax's output: the misuse under test, on purpose
# (silenced per call: pytest resets warning filters set while a test runs)
_FROM_LOGITS_WARNING = ".*received `from_logits=True`, but the `output` argument"


def _softmax_twice_then_loss(y_true, logits):
    probabilities = keras.activations.softmax(logits)  # the model's output layer
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_FROM_LOGITS_WARNING)
        return keras.losses.categorical_crossentropy(y_true, keras.activations.softmax(probabilities), from_logits=True)


def softmax_twice_then_categorical_crossentropy(y_true, logits):
    """A second `keras.activations.softmax` on a model's softmax output, the loss told
    `from_logits=True`. On TF, Keras takes the outer softmax's input (the probabilities) as the
    logits and warns: the loss is the fused cross entropy of the probabilities."""
    return _run(_softmax_twice_then_loss, y_true=y_true, logits=logits)


def _softmax_then_loss_from_logits(y_true, logits):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_FROM_LOGITS_WARNING)
        return keras.losses.categorical_crossentropy(y_true, keras.activations.softmax(logits), from_logits=True)


def softmax_then_categorical_crossentropy_from_logits(y_true, logits):
    """A Keras softmax's output given to the loss with `from_logits=True`: on TF, Keras takes the
    softmax's logits (and warns), so the misuse is undone."""
    return _run(_softmax_then_loss_from_logits, y_true=y_true, logits=logits)


def predict_then_categorical_crossentropy(y_true, logits):
    """The loss of `model.predict()`'s output: the softmax comes back as a NumPy array, without
    the logits Keras attaches, so the loss clips the probabilities."""
    probabilities = _run(keras.activations.softmax, x=logits)
    return keras_oracle.value("categorical_crossentropy", y_true=y_true, y_pred=probabilities)


@functools.cache
def _layers(policy: str) -> tuple[keras.layers.Layer, keras.losses.Loss]:
    """A softmax layer under `policy` and the loss `model.compile` makes of the name (per sample)."""
    return (keras.layers.Activation("softmax", dtype=policy),
            keras.losses.CategoricalCrossentropy(reduction=None))


def _policy_loss(policy: str):
    def loss(y_true, logits):
        activation, crossentropy = _layers(policy)
        return crossentropy(y_true, activation(logits))
    loss.__name__ = f"softmax_layer_{policy}_then_loss"
    return loss


_MIXED, _FLOAT32 = _policy_loss("mixed_float16"), _policy_loss("float32")


def mixed_float16_softmax_then_loss(y_true, logits):
    """`Activation("softmax", dtype="mixed_float16")` then `CategoricalCrossentropy()`: the
    softmax computes and returns float16; the loss casts it to float32, a new tensor without the
    softmax's logits (and, in a graph, the output of a Cast, not a Softmax)."""
    return _run(_MIXED, y_true=y_true, logits=logits)


def float32_softmax_then_loss(y_true, logits):
    """Keras's advice under mixed precision: the output softmax in float32
    (`Activation("softmax", dtype="float32")`), whose logits the loss recovers."""
    return _run(_FLOAT32, y_true=y_true, logits=logits)
