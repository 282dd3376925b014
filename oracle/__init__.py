"""TensorFlow itself, behind the same functions and signatures as `impl`.

The only package that imports TensorFlow, and only when an op is first asked for: `oracle.modes`
(the modes' names) is read without it. Ops run on the CPU in the mode `oracle.modes` names
(eager, graph or XLA); VJPs use `tf.GradientTape`. Results come back as NumPy arrays in the input
dtype, and any TF error comes out as `OracleError`, which keeps TF's class name and message.
`oracle.probe` asks TF the questions its numerics on this machine depend on.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__all__ = [
    "OracleError",
    "keras_categorical_crossentropy",
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


def __getattr__(name: str) -> object:
    """The ops (PEP 562): TensorFlow is imported on first use."""
    if name not in __all__:
        raise AttributeError(f"module 'oracle' has no attribute {name!r}")
    from oracle import ops

    return getattr(ops, name)
