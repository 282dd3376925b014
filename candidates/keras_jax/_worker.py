"""The worker process: Keras 3's losses on its JAX backend, answering the parent over a pipe.

Run as a script (never imported as part of the package, whose `__init__` reaches TF through the
harness): Keras fixes its backend when it is first imported, and the harness process already
has it on TensorFlow. The parent sends pickled requests on stdin, each a frame of an 8-byte
length and the pickle of `(loss, wrt, cotangent, kwargs)`; the worker answers on the stdout it
was started with (its own prints and warnings go to stderr) with `("ok", answer, tf_imported)` or
`("raised", class, is_value_error, is_type_error, message, tf_imported)`.

`wrt` names the inputs the loss is differentiated for (by `jax.vjp`); a `cotangent` of None asks
for the loss, else for its VJP. Both come from one jitted function, as Keras's JAX trainer
compiles its train step, once per loss, option set and input signature.
"""

from __future__ import annotations

import os
import pickle
import struct
import sys

os.environ["KERAS_BACKEND"] = "jax"
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # after the environment Keras and JAX read at import

# float64 inputs stay float64 only with x64 on (as a Keras user computing in float64 must set it);
# without it JAX computes them in float32 and every float64 answer would be float32
jax.config.update("jax_enable_x64", True)

import keras
import numpy as np

if keras.backend.backend() != "jax":
    raise SystemExit(f"keras_jax worker: Keras's backend is {keras.backend.backend()!r}, not jax")

# as in oracle.keras: Keras warns of a class axis of 1, a shape the sweep draws on purpose
import warnings

warnings.filterwarnings("ignore", message="In loss .*num_classes > 1", category=SyntaxWarning)

LIVE_SIGNATURES = 1000  # compiled executables hold memory maps (see candidates.jax): dropped past this many
_compiled: dict[tuple, object] = {}


def softmax_then_categorical_crossentropy(y_true, logits, axis=-1):
    """The loss of a Keras softmax, as users chain them (as oracle.keras's pipeline)."""
    return keras.losses.categorical_crossentropy(y_true, keras.activations.softmax(logits, axis=axis), axis=axis)


def sigmoid_then_binary_crossentropy(y_true, logits, axis=-1):
    """The loss of a Keras sigmoid, as users chain them."""
    return keras.losses.binary_crossentropy(y_true, keras.activations.sigmoid(logits), axis=axis)


def reduced_loss(y_true, y_pred, sample_weight=None, mask=None, *, loss, reduction="sum_over_batch_size", **options):
    """keras.losses.<Loss>(reduction=reduction, **options)(y_true, y_pred, sample_weight), y_pred
    carrying `mask` as its Keras mask (as oracle.keras's)."""
    if mask is not None:
        y_pred = keras.ops.copy(y_pred)
        keras.src.backend.set_keras_mask(y_pred, mask)
    loss_class = getattr(keras.losses, "".join(word.title() for word in loss.split("_")))
    return loss_class(reduction=reduction, **options)(y_true, y_pred, sample_weight=sample_weight)


def keras_softmax(x, axis=-1):
    return keras.activations.softmax(x, axis=axis)


def keras_log_softmax(x, axis=-1):
    return keras.activations.log_softmax(x, axis=axis)


def keras_softmax_layer(inputs, mask=None, axis=-1):
    return keras.layers.Softmax(axis=axis)(inputs, mask=mask)


PIPELINES = {f.__name__: f for f in (softmax_then_categorical_crossentropy, sigmoid_then_binary_crossentropy,
                                     reduced_loss, keras_softmax, keras_log_softmax, keras_softmax_layer)}


def _compile(loss: str, wrt: tuple[str, ...], fixed: dict) -> tuple[object, object]:
    """The loss of the arrays, and the loss with its VJP for `wrt` in one jitted function of
    (cotangent, arrays), as Keras's JAX trainer computes them together (jax.value_and_grad);
    the rest of the keywords fixed."""
    fn = PIPELINES.get(loss) or getattr(keras.losses, loss)

    def forward(values):
        return fn(**values, **fixed)

    def both(cotangent, values):
        others = {k: v for k, v in values.items() if k not in wrt}
        out, pull = jax.vjp(lambda *args: fn(**dict(zip(wrt, args, strict=True)), **others, **fixed),
                            *(values[k] for k in wrt))
        return out, dict(zip(wrt, pull(cotangent.astype(out.dtype)), strict=True))
    return forward, jax.jit(both)


def answer(loss: str, wrt: tuple[str, ...], cotangent: np.ndarray | None, kwargs: dict) -> object:
    """The loss (`cotangent` None), or its VJP as {input: gradient}, as NumPy arrays: one compiled
    function per loss, option set and input signature gives both."""
    arrays = tuple(sorted(k for k, v in kwargs.items() if k in wrt or isinstance(v, np.ndarray | np.generic)))
    fixed = {k: v for k, v in kwargs.items() if k not in arrays}
    values = {k: np.asarray(kwargs[k]) for k in arrays}
    key = (loss, wrt, repr(sorted(fixed.items())), tuple((k, values[k].shape, values[k].dtype.str) for k in arrays))
    if key not in _compiled:
        if len(_compiled) >= LIVE_SIGNATURES:
            jax.clear_caches()
            _compiled.clear()
        _compiled[key] = _compile(loss, wrt, fixed)
    forward, fn = _compiled[key]
    if cotangent is None:  # the output's shape, traced without compiling, for a cotangent of ones
        return np.asarray(fn(np.ones(jax.eval_shape(forward, values).shape, np.float32), values)[0])
    return {name: np.asarray(grad) for name, grad in fn(np.asarray(cotangent), values)[1].items()}


def _read(stream) -> object | None:
    header = stream.read(8)
    if len(header) < 8:
        return None
    (size,) = struct.unpack("<Q", header)
    return pickle.loads(stream.read(size))


def _write(stream, message: object) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("<Q", len(data)) + data)
    stream.flush()


def serve() -> None:
    """Answer requests until stdin closes."""
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed goes to stderr, never into the replies
    requests = sys.stdin.buffer
    _write(replies, ("ready", {"keras": keras.__version__, "jax": jax.__version__,
                               "backend": keras.backend.backend(), "tf_imported": "tensorflow" in sys.modules}))
    while (request := _read(requests)) is not None:
        try:
            reply = ("ok", answer(*request), "tensorflow" in sys.modules)
        except Exception as error:  # noqa: BLE001  (the parent re-raises it)
            reply = ("raised", type(error).__name__, isinstance(error, ValueError), isinstance(error, TypeError),
                     str(error), "tensorflow" in sys.modules)
        _write(replies, reply)


if __name__ == "__main__":
    serve()
