"""How the oracle runs TF: eagerly, as a graph (`tf.function`), or compiled by XLA (`jit_compile`).

The mode comes from `TFPARITY_MODE` (`eager` by default), so every process of a run (pytest-xdist
workers, `tfparity replay`) runs TF the same way. In `graph` and `xla` an op (or an op's
value-and-gradients body) becomes one `tf.function` per dtype, rank and Python argument (the
axis, a Python list), with an input signature whose dimensions are unknown, as a Keras model's
batch dimension is: traced once per signature, never per case, and the same graph whatever ran
before it. XLA still compiles once per concrete shape (it has no other kind). The gradients are
computed inside the function, as a graph's symbolic gradients or XLA's.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # imported where a function is built: the mode names are read without TensorFlow
    import tensorflow as tf

ENV = "TFPARITY_MODE"
# mode -> tf.function's jit_compile (None: no function at all)
MODES: dict[str, bool | None] = {"eager": None, "graph": False, "xla": True}
# XLA's CPU executables each map ~13-40 memory regions, never unmapped while TF's context lives: a
# ci run compiles thousands and a worker hit Linux's vm.max_map_count (65,530) and segfaulted.
# After this many compiles the context is reset (measured: the maps return to their start).
COMPILES_KEPT = 400
_FUNCTIONS: dict[tuple, Callable] = {}
_COMPILED: set[tuple] = set()
_PROGRAMS: set[tuple] = set()  # every distinct program this process compiled (kept across releases)
_SPECS: dict[tuple, object] = {}  # output specs per exact input spec (no executable: kept)
# this process's compile work since it started: tf.functions traced, XLA compiles, context resets
_WORK = {"traces": 0, "compiles": 0, "releases": 0}


def current() -> str:
    """This process's mode; an unknown name is refused, never run as another mode."""
    mode = os.environ.get(ENV, "eager")
    if mode not in MODES:
        raise ValueError(f"{ENV}={mode!r}: the oracle's modes are {', '.join(MODES)}")
    return mode


def call(fn: Callable, *args: object, **kwargs: object) -> object:
    """`fn(*args, **kwargs)` as this mode runs it."""
    jit_compile = MODES[current()]
    return fn(*args, **kwargs) if jit_compile is None else _call(fn, jit_compile, *args, **kwargs)


def _call(fn: Callable, jit_compile: bool, *args: object, **kwargs: object) -> object:
    import tensorflow as tf

    # As tf.function takes its arguments: tensors and NumPy values (in lists too) are inputs,
    # other Python values (the axis, a Python float) are constants of the trace.
    named = tf.nest.map_structure(_as_input, {f"arg{i}": a for i, a in enumerate(args)} | kwargs)
    leaves = tf.nest.flatten(named)
    tensors = [v for v in leaves if isinstance(v, tf.Tensor)]
    key = (fn, jit_compile, len(args), repr(tf.nest.map_structure(_signature, named)))
    program = (key, *(tuple(t.shape) for t in tensors))
    if jit_compile and program not in _COMPILED and len(_COMPILED) >= COMPILES_KEPT:
        _release()
    if key not in _FUNCTIONS:
        _FUNCTIONS[key] = _function(fn, jit_compile, len(args), named)
        _WORK["traces"] += 1
    traced = _kept(_FUNCTIONS[key])
    if jit_compile and program not in _COMPILED:  # XLA compiles once per concrete shape
        _COMPILED.add(program)
        _PROGRAMS.add(program)
        _WORK["compiles"] += 1
    return traced(*tensors)


def _kept(value: object) -> object:
    """A kept answer of a trace, raising it again where it was an error: afresh, as each raise
    would lengthen its traceback, holding every frame."""
    if isinstance(value, Exception):
        raise value.with_traceback(None)
    return value


def _release() -> None:
    """Drop every compiled executable (COMPILES_KEPT) and the functions holding them."""
    # private, as TF's own tests use it between tests
    from tensorflow.python.eager import context

    _FUNCTIONS.clear()
    _COMPILED.clear()
    context._reset_context()
    _WORK["releases"] += 1


def work() -> dict[str, int]:
    """This process's compile work so far: functions traced (graph and XLA: one per signature of
    dtypes, ranks and Python arguments), XLA compiles (one per concrete shape, again after a
    release), distinct programs (signature and concrete shapes) compiled, and releases of every
    executable (COMPILES_KEPT)."""
    return _WORK | {"programs": len(_PROGRAMS)}


def _as_input(value: object) -> object:
    import tensorflow as tf

    return tf.constant(value) if isinstance(value, (np.ndarray, np.generic)) else value


def _signature(value: object) -> object:
    """What keys a trace: a tensor's dtype and rank, any other value itself."""
    import tensorflow as tf

    return ("tensor", value.dtype.name, value.shape.rank) if isinstance(value, tf.Tensor) else value


def _function(fn: Callable, jit_compile: bool, positional: int, named: dict) -> Callable | Exception:
    """`fn` as a tf.function of the tensors in `named` alone, over any dimensions of their ranks,
    traced at once; or the error its trace raised. The trace sees no concrete dimension, so its
    error is the signature's and is kept: a failed trace is not cached by TF, which would trace
    again on every call (thousands of times in a run's error cases)."""
    import tensorflow as tf

    leaves = tf.nest.flatten(named)
    slots = [i for i, v in enumerate(leaves) if isinstance(v, tf.Tensor)]

    def bound(*values: tf.Tensor) -> object:
        filled = list(leaves)
        for i, value in zip(slots, values, strict=True):
            filled[i] = value
        given = tf.nest.pack_sequence_as(named, filled)
        leading = [given.pop(f"arg{i}") for i in range(positional)]
        return fn(*leading, **given)

    bound.__name__ = getattr(fn, "__name__", "op")
    signature = [tf.TensorSpec([None] * leaves[i].shape.rank, leaves[i].dtype) for i in slots]
    function = tf.function(bound, input_signature=signature, autograph=False, jit_compile=jit_compile)
    try:
        function.get_concrete_function()
    except Exception as error:  # noqa: BLE001 - whatever the trace raised is the signature's answer
        return error
    return function


def output(fn: Callable, **kwargs: object) -> tf.Tensor | tf.TensorSpec:
    """`fn`'s output for these inputs, for its shape and dtype, kept per input spec (`_spec`: a case
    by case run asks it for every case); where that leaves a dimension unknown, from a graph (a
    cached trace, no compile), and where the graph's kernel refuses them (XLA takes a rank oneDNN
    does not), from running it in this mode."""
    import tensorflow as tf

    try:
        spec = _spec(fn, **kwargs)
    except (tf.errors.OpError, ValueError, TypeError):
        spec = None
    if spec is not None and spec.shape.is_fully_defined():
        return spec
    try:
        return _call(fn, False, **kwargs)
    except (tf.errors.OpError, ValueError, TypeError):
        if current() != "xla":
            raise
    return call(fn, **kwargs)


def _spec(fn: Callable, **kwargs: object) -> tf.TensorSpec:
    """The spec of `fn`'s output for these input specs (a case's values cannot change it), found
    once per spec: by running `fn` eagerly, and where that raises (a value or a rank the eager
    kernel refuses), by a trace of these exact input shapes, never run, its error kept as a
    trace's is. (Eagerly: 0.3 to 1.4 ms for a loss or softmax, where a trace takes 3 to 11.)"""
    import tensorflow as tf

    inputs = {name: _as_input(value) for name, value in kwargs.items()}
    specs = {name: tf.TensorSpec.from_tensor(v) if isinstance(v, tf.Tensor) else v for name, v in inputs.items()}
    key = (fn, repr(specs))
    if key not in _SPECS:
        try:
            out = fn(**inputs)
            _SPECS[key] = tf.TensorSpec(out.shape, out.dtype)
        except Exception:  # noqa: BLE001 - the trace below decides
            try:
                out = tf.function(fn, autograph=False).get_concrete_function(**specs).structured_outputs
                _SPECS[key] = tf.TensorSpec(out.shape, out.dtype)
            except Exception as error:  # noqa: BLE001 - the output() caller decides which errors are answers
                _SPECS[key] = error
    return _kept(_SPECS[key])
