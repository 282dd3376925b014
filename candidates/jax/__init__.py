"""JAX as a port from TF uses it: `jax.nn`'s activations, optax's losses, gradients by `jax.vjp`.

It runs on the CPU with float64 enabled (`jax_enable_x64`), op by op (not under `jax.jit`).
Weighted cross entropy has no optax function: it is written as a porter writes it, optax's
sigmoid binary cross entropy with the positive term weighted.
"""

from __future__ import annotations

from collections.abc import Callable

import jax

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_platforms", "cpu")

import jax.numpy as jnp
import numpy as np
import optax

from candidates.jax.divergences import DIVERGENCES

__all__ = ["DIVERGENCES"]


def _axis(axis: int | None) -> int:
    """TF's `axis=None` is the last axis."""
    return -1 if axis is None else axis


def _weighted(labels: jax.Array, logits: jax.Array, pos_weight: jax.Array) -> jax.Array:
    return -(pos_weight * labels * jax.nn.log_sigmoid(logits) + (1 - labels) * jax.nn.log_sigmoid(-logits))


def _value(fn: Callable, **inputs: object) -> np.ndarray:
    return np.asarray(fn(**{name: jnp.asarray(value) for name, value in inputs.items()}))


def _vjp(fn: Callable, wrt: tuple[str, ...], cotangent: object, **inputs: object) -> dict[str, np.ndarray]:
    """The gradient of sum(cotangent * fn(...)) for each input in `wrt`, by `jax.vjp`; the
    cotangent is given in the output's dtype, as `jax.vjp` requires."""
    fixed = {name: jnp.asarray(value) for name, value in inputs.items() if name not in wrt}
    out, pull = jax.vjp(lambda *args: fn(**dict(zip(wrt, args, strict=True)), **fixed),
                        *(jnp.asarray(inputs[name]) for name in wrt))
    grads = pull(jnp.asarray(cotangent).astype(out.dtype))
    return {name: np.asarray(grad) for name, grad in zip(wrt, grads, strict=True)}


def softmax(logits: object, axis: int | None = -1) -> np.ndarray:
    return _value(lambda logits: jax.nn.softmax(logits, axis=_axis(axis)), logits=logits)


def softmax_vjp(cotangent: object, logits: object, axis: int | None = -1) -> dict[str, np.ndarray]:
    return _vjp(lambda logits: jax.nn.softmax(logits, axis=_axis(axis)), ("logits",), cotangent, logits=logits)


def log_softmax(logits: object, axis: int | None = -1) -> np.ndarray:
    return _value(lambda logits: jax.nn.log_softmax(logits, axis=_axis(axis)), logits=logits)


def log_softmax_vjp(cotangent: object, logits: object, axis: int | None = -1) -> dict[str, np.ndarray]:
    return _vjp(lambda logits: jax.nn.log_softmax(logits, axis=_axis(axis)), ("logits",), cotangent, logits=logits)


def sigmoid(x: object) -> np.ndarray:
    return _value(jax.nn.sigmoid, x=x)


def sigmoid_vjp(cotangent: object, x: object) -> dict[str, np.ndarray]:
    return _vjp(jax.nn.sigmoid, ("x",), cotangent, x=x)


def softmax_cross_entropy_with_logits(labels: object, logits: object, axis: int | None = -1) -> np.ndarray:
    return _value(lambda labels, logits: optax.softmax_cross_entropy(logits, labels, axis=_axis(axis)),
                  labels=labels, logits=logits)


def softmax_cross_entropy_with_logits_vjp(cotangent: object, labels: object, logits: object,
                                          axis: int | None = -1) -> dict[str, np.ndarray]:
    return _vjp(lambda labels, logits: optax.softmax_cross_entropy(logits, labels, axis=_axis(axis)),
                ("logits", "labels"), cotangent, labels=labels, logits=logits)


def sparse_softmax_cross_entropy_with_logits(labels: object, logits: object) -> np.ndarray:
    return _value(lambda labels, logits: optax.softmax_cross_entropy_with_integer_labels(logits, labels),
                  labels=labels, logits=logits)


def sparse_softmax_cross_entropy_with_logits_vjp(cotangent: object, labels: object,
                                                 logits: object) -> dict[str, np.ndarray]:
    return _vjp(lambda labels, logits: optax.softmax_cross_entropy_with_integer_labels(logits, labels),
                ("logits",), cotangent, labels=labels, logits=logits)


def sigmoid_cross_entropy_with_logits(labels: object, logits: object) -> np.ndarray:
    return _value(lambda labels, logits: optax.sigmoid_binary_cross_entropy(logits, labels),
                  labels=labels, logits=logits)


def sigmoid_cross_entropy_with_logits_vjp(cotangent: object, labels: object, logits: object) -> dict[str, np.ndarray]:
    return _vjp(lambda labels, logits: optax.sigmoid_binary_cross_entropy(logits, labels),
                ("logits", "labels"), cotangent, labels=labels, logits=logits)


def weighted_cross_entropy_with_logits(labels: object, logits: object, pos_weight: object) -> np.ndarray:
    return _value(_weighted, labels=labels, logits=logits, pos_weight=pos_weight)


def weighted_cross_entropy_with_logits_vjp(cotangent: object, labels: object, logits: object,
                                           pos_weight: object) -> dict[str, np.ndarray]:
    return _vjp(_weighted, ("logits", "labels", "pos_weight"), cotangent,
                labels=labels, logits=logits, pos_weight=pos_weight)
