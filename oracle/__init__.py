"""TensorFlow itself, behind the same functions and signatures as `impl`.

The only package that imports TensorFlow, and only when an op is first asked for: `oracle.modes`
(the modes' names) is read without it. Ops run on the CPU in the mode `oracle.modes` names
(eager, graph or XLA); VJPs use `tf.GradientTape`. Results come back as NumPy arrays in the input
dtype, and any TF error comes out as `OracleError`, which keeps TF's class name and message.
`oracle.probe` asks TF the questions its numerics on this machine depend on.
"""

import functools
import importlib
import os
from collections.abc import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from oracle.answers import OracleError

__all__ = [
    "OracleError",
    "keras_categorical_crossentropy",
    "keras_value",
    "keras_vjp",
    "log_softmax",
    "log_softmax_vjp",
    "sigmoid",
    "sigmoid_cross_entropy_with_logits",
    "sigmoid_cross_entropy_with_logits_vjp",
    "sigmoid_vjp",
    "softmax",
    "softmax_cross_entropy_with_logits",
    "softmax_cross_entropy_with_logits_v1",
    "softmax_cross_entropy_with_logits_v1_vjp",
    "softmax_cross_entropy_with_logits_vjp",
    "softmax_vjp",
    "sparse_softmax_cross_entropy_with_logits",
    "sparse_softmax_cross_entropy_with_logits_vjp",
    "weighted_cross_entropy_with_logits",
    "weighted_cross_entropy_with_logits_vjp",
]
# Keras 3's losses and activations on its TF backend (`oracle.keras`), by name: keras_value(name, **kwargs)
_KERAS = {"keras_value": "value", "keras_vjp": "vjp"}
_OPS = frozenset(__all__) - {"OracleError", *_KERAS}


def __getattr__(name: str) -> object:
    """The ops (PEP 562), each a function that imports TensorFlow when first called: the records
    name them without importing it, so a run against a corpus never does."""
    if name in _OPS:
        return _deferred("oracle.ops", name)
    if name in _KERAS:
        return _deferred("oracle.keras", _KERAS[name])
    raise AttributeError(f"module 'oracle' has no attribute {name!r}")


@functools.cache
def _deferred(module: str, name: str) -> Callable:
    def call(*args: object, **kwargs: object) -> object:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call
