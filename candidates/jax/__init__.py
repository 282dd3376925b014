"""JAX as a port from TF uses it: `jax.nn`'s activations, optax's losses, gradients by `jax.vjp`.

It runs on the CPU with float64 enabled (`jax_enable_x64`), each function (and its VJP) under
`jax.jit` as a port runs it: XLA compiles it once per input signature (0.05 to 0.08 s here) and
may fuse its steps. `TFPARITY_JAX_CACHE=DIR` keeps the executables on disk (JAX's persistent
cache); it is off by default, as jax 0.10 crashed (a segfault in the cache write) once with two
xdist workers writing to one cache.
It declares itself batchable (its functions work along the axes they name); the engine still
checks that on a sample of each op and dtype before it stacks cases into one call.
Weighted cross entropy has no optax function: it is written as a porter writes it, optax's
sigmoid binary cross entropy with the positive term weighted.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable

import jax

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_platforms", "cpu")
if os.environ.get("TFPARITY_JAX_CACHE"):
    jax.config.update("jax_compilation_cache_dir", os.environ["TFPARITY_JAX_CACHE"])
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)

import jax.numpy as jnp
import numpy as np
import optax

from candidates.jax.divergences import DIVERGENCES

__all__ = ["BATCHABLE", "DIVERGENCES", "work"]

BATCHABLE = True
FAMILIES = ("tf.nn",)  # tf.nn's ops as jax.nn and optax give them; Keras's losses on JAX are their own candidate


def device() -> str:
    """The device the functions run on (this adapter pins the CPU), as the report records it."""
    first = jax.devices()[0]
    return f"{first.platform}:{first.device_kind} (jax {jax.__version__})"


def _axis(axis: int | None) -> int:
    """TF's `axis=None` is the last axis."""
    return -1 if axis is None else axis


def _softmax(axis: int | None, logits: jax.Array) -> jax.Array:
    return jax.nn.softmax(logits, axis=_axis(axis))


def _log_softmax(axis: int | None, logits: jax.Array) -> jax.Array:
    return jax.nn.log_softmax(logits, axis=_axis(axis))


def _sigmoid(x: jax.Array) -> jax.Array:
    return jax.nn.sigmoid(x)


def _softmax_ce(axis: int | None, labels: jax.Array, logits: jax.Array) -> jax.Array:
    return optax.softmax_cross_entropy(logits, labels, axis=_axis(axis))


def _sparse_ce(labels: jax.Array, logits: jax.Array) -> jax.Array:
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels)


def _sigmoid_ce(labels: jax.Array, logits: jax.Array) -> jax.Array:
    return optax.sigmoid_binary_cross_entropy(logits, labels)


def _weighted_ce(labels: jax.Array, logits: jax.Array, pos_weight: jax.Array) -> jax.Array:
    """As a porter writes it: optax's sigmoid binary cross entropy with the positive term weighted."""
    return -(pos_weight * labels * jax.nn.log_sigmoid(logits) + (1 - labels) * jax.nn.log_sigmoid(-logits))


# Each compiled executable holds memory maps: a worker of a ci run (about 16,000 executables)
# reached the kernel's vm.max_map_count (65,530) and crashed in XLA's compiler; kept to 2,000
# signatures a worker peaked near 32,000 maps and 4.7 GB. Past this many input signatures the
# compiled functions are dropped and compiled again as needed.
LIVE_SIGNATURES = 1000
_signatures: set[tuple] = set()
_ever: set[tuple] = set()
_WORK = {"compiles": 0, "releases": 0}


def work() -> dict[str, int]:
    """This process's compile work, as the report records it: jitted signatures compiled (again
    after a release), distinct signatures, and releases of every compiled function."""
    return _WORK | {"programs": len(_ever)}


def _make_room(fn: Callable, options: tuple, inputs: dict[str, object]) -> None:
    signature = (fn, options, tuple((name, np.shape(v), np.asarray(v).dtype.str) for name, v in inputs.items()))
    if signature in _signatures:
        return
    if len(_signatures) >= LIVE_SIGNATURES:
        jax.clear_caches()
        _compiled.cache_clear()
        _compiled_vjp.cache_clear()
        _signatures.clear()
        _WORK["releases"] += 1
    _signatures.add(signature)
    _ever.add(signature)
    _WORK["compiles"] += 1


@functools.cache
def _compiled(fn: Callable, options: tuple) -> Callable:
    return jax.jit(lambda inputs: fn(*options, **inputs))


@functools.cache
def _compiled_vjp(fn: Callable, options: tuple, wrt: tuple[str, ...]) -> Callable:
    """The gradient of sum(cotangent * fn(...)) for each input in `wrt`, by `jax.vjp`; the
    cotangent is given in the output's dtype, as `jax.vjp` requires."""
    def pullback(cotangent: jax.Array, inputs: dict[str, jax.Array]) -> dict[str, jax.Array]:
        fixed = {name: value for name, value in inputs.items() if name not in wrt}
        out, pull = jax.vjp(lambda *args: fn(*options, **dict(zip(wrt, args, strict=True)), **fixed),
                            *(inputs[name] for name in wrt))
        return dict(zip(wrt, pull(cotangent.astype(out.dtype)), strict=True))
    return jax.jit(pullback)


def _value(fn: Callable, *options: object, **inputs: object) -> np.ndarray:
    _make_room(fn, options, inputs)
    return np.asarray(_compiled(fn, options)({name: jnp.asarray(value) for name, value in inputs.items()}))


def _vjp(fn: Callable, wrt: tuple[str, ...], cotangent: object, *options: object,
         **inputs: object) -> dict[str, np.ndarray]:
    _make_room(fn, (wrt, *options), inputs)
    grads = _compiled_vjp(fn, options, wrt)(jnp.asarray(cotangent), {n: jnp.asarray(v) for n, v in inputs.items()})
    return {name: np.asarray(grad) for name, grad in grads.items()}


def softmax(logits: object, axis: int | None = -1) -> np.ndarray:
    return _value(_softmax, axis, logits=logits)


def softmax_vjp(cotangent: object, logits: object, axis: int | None = -1) -> dict[str, np.ndarray]:
    return _vjp(_softmax, ("logits",), cotangent, axis, logits=logits)


def log_softmax(logits: object, axis: int | None = -1) -> np.ndarray:
    return _value(_log_softmax, axis, logits=logits)


def log_softmax_vjp(cotangent: object, logits: object, axis: int | None = -1) -> dict[str, np.ndarray]:
    return _vjp(_log_softmax, ("logits",), cotangent, axis, logits=logits)


def sigmoid(x: object) -> np.ndarray:
    return _value(_sigmoid, x=x)


def sigmoid_vjp(cotangent: object, x: object) -> dict[str, np.ndarray]:
    return _vjp(_sigmoid, ("x",), cotangent, x=x)


def softmax_cross_entropy_with_logits(labels: object, logits: object, axis: int | None = -1) -> np.ndarray:
    return _value(_softmax_ce, axis, labels=labels, logits=logits)


def softmax_cross_entropy_with_logits_vjp(cotangent: object, labels: object, logits: object,
                                          axis: int | None = -1) -> dict[str, np.ndarray]:
    return _vjp(_softmax_ce, ("logits", "labels"), cotangent, axis, labels=labels, logits=logits)


def sparse_softmax_cross_entropy_with_logits(labels: object, logits: object) -> np.ndarray:
    return _value(_sparse_ce, labels=labels, logits=logits)


def sparse_softmax_cross_entropy_with_logits_vjp(cotangent: object, labels: object,
                                                 logits: object) -> dict[str, np.ndarray]:
    return _vjp(_sparse_ce, ("logits",), cotangent, labels=labels, logits=logits)


def sigmoid_cross_entropy_with_logits(labels: object, logits: object) -> np.ndarray:
    return _value(_sigmoid_ce, labels=labels, logits=logits)


def sigmoid_cross_entropy_with_logits_vjp(cotangent: object, labels: object, logits: object) -> dict[str, np.ndarray]:
    return _vjp(_sigmoid_ce, ("logits", "labels"), cotangent, labels=labels, logits=logits)


def weighted_cross_entropy_with_logits(labels: object, logits: object, pos_weight: object) -> np.ndarray:
    return _value(_weighted_ce, labels=labels, logits=logits, pos_weight=pos_weight)


def weighted_cross_entropy_with_logits_vjp(cotangent: object, labels: object, logits: object,
                                           pos_weight: object) -> dict[str, np.ndarray]:
    return _vjp(_weighted_ce, ("logits", "labels", "pos_weight"), cotangent,
                labels=labels, logits=logits, pos_weight=pos_weight)
