"""Keras 3's cross-entropy losses on Keras's JAX backend: what a Keras model moved from the
TensorFlow backend to JAX computes, checked against the same functions on TensorFlow.

Keras picks its backend once per process, when it is first imported, and the harness has it on
TensorFlow; so `keras.losses.<name>` runs in a worker process (`_worker.py`, started lazily, one
per harness process, with `KERAS_BACKEND=jax`), which imports neither TF nor this package. Each
call sends NumPy arrays and Python options and gets arrays back; VJPs are `jax.vjp` in the
worker; every function is jitted there, as Keras's JAX trainer compiles its train step. The
worker enables JAX's float64 (`jax_enable_x64`), as a user computing in float64 must: without it
JAX silently computes float64 inputs in float32.

An error the worker raises is raised here: a ValueError or TypeError (an argument Keras or JAX
refuses) as that class, the worker's own class and message in the text, as the engine reads
Python's argument errors; anything else as `WorkerError` subclassed under the worker's class
name, which the report shows as a crash. A worker that dies is reported (`WorkerDied`, with the
end of its stderr) and started again at the next call.

Its functions compute each case along the axes they name, so it declares itself batchable; the
engine still checks that on a sample of each op and dtype before it stacks cases into one call.
"""

from __future__ import annotations

import atexit
import collections
import os
import pickle
import select
import struct
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

from candidates.keras_jax.divergences import DIVERGENCES

__all__ = ["BATCHABLE", "DIVERGENCES", "FAMILIES", "WorkerDied", "WorkerError", "worker_info"]

BATCHABLE = True
FAMILIES = ("keras",)

SCRIPT = Path(__file__).with_name("_worker.py")
START_SECONDS = 300.0  # importing Keras and JAX: seconds, more on a loaded machine
CALL_SECONDS = 300.0  # one call, its compilation included


class WorkerError(Exception):
    """An error the worker raised that is not an argument error; subclassed per worker class name."""


class WorkerDied(RuntimeError):
    """The worker process exited, or did not answer in time."""



_ERRORS: dict[str, type[WorkerError]] = {}


def _error_class(name: str) -> type[WorkerError]:
    """A WorkerError subclass named as the worker's error was, so a report names the real class."""
    if name not in _ERRORS:
        _ERRORS[name] = type(name, (WorkerError,), {"__module__": __name__})
    return _ERRORS[name]


class _Worker:
    """The worker process and its pipes; its stderr goes to a temporary file, shown when it dies."""

    def __init__(self) -> None:
        self.log = tempfile.TemporaryFile()  # noqa: SIM115  (open as long as the worker runs)
        env = os.environ | {"KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "2"}
        self.process = subprocess.Popen([sys.executable, "-u", str(SCRIPT)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=self.log, env=env)
        status, self.info = self._receive(START_SECONDS)
        if status != "ready":
            raise WorkerDied(f"keras_jax worker: unexpected greeting {status!r}")

    def alive(self) -> bool:
        return self.process.poll() is None

    def call(self, request: tuple) -> tuple:
        data = pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self.process.stdin.write(struct.pack("<Q", len(data)) + data)
            self.process.stdin.flush()
        except (BrokenPipeError, OSError) as error:
            raise self._died(f"the request could not be sent ({error})") from None
        return self._receive(CALL_SECONDS)

    def _receive(self, seconds: float) -> tuple:
        stream = self.process.stdout
        ready, _, _ = select.select([stream], [], [], seconds)
        if not ready:
            self.stop()
            raise self._died(f"no answer in {seconds:g} s; stopped")
        header = stream.read(8)
        if len(header) < 8:
            raise self._died("it exited")
        (size,) = struct.unpack("<Q", header)
        body = stream.read(size)
        if len(body) < size:
            raise self._died("it exited mid-answer")
        return pickle.loads(body)

    def _died(self, what: str) -> WorkerDied:
        code = self.process.wait(timeout=10) if not self.alive() else None
        self.log.seek(0)
        tail = collections.deque(self.log.read().decode(errors="replace").splitlines(), maxlen=20)
        return WorkerDied(f"keras_jax worker ({SCRIPT}, pid {self.process.pid}): {what}"
                          + (f", exit status {code}" if code is not None else "")
                          + ("; its stderr ends:\n" + "\n".join(tail) if tail else "; no stderr"))

    def stop(self) -> None:
        if self.alive():
            self.process.kill()
            self.process.wait()


_worker: _Worker | None = None
_lock = threading.Lock()


def _running() -> _Worker:
    """The worker, started on first use and again after it died."""
    global _worker
    if _worker is None or not _worker.alive():
        if _worker is not None:
            _worker.stop()
        _worker = _Worker()
    return _worker


@atexit.register
def _stop() -> None:
    if _worker is not None:
        _worker.stop()


def worker_info() -> dict[str, object]:
    """What the worker reported at start (Keras and JAX versions, backend, whether TF is imported),
    and whether TF was imported in it by the last call."""
    with _lock:
        return dict(_running().info)


def _call(loss: str, wrt: tuple[str, ...], cotangent: object, kwargs: dict[str, object]) -> object:
    """keras.losses.<loss> (or its VJP for `wrt`) in the worker, its error raised here."""
    with _lock:
        worker = _running()
        reply = worker.call((loss, wrt, None if cotangent is None else np.asarray(cotangent), kwargs))
        worker.info["tf_imported"] = reply[-1]
    if reply[0] == "ok":
        return reply[1]
    _, name, value_error, type_error, message, _ = reply
    if value_error or type_error:
        raise (ValueError if value_error else TypeError)(f"{name}: {message}")
    raise _error_class(name)(message)


# the inputs each loss is differentiated for: integer labels have no gradient
WRT = {"keras_softmax": ("x",), "keras_log_softmax": ("x",), "keras_softmax_layer": ("inputs",),
       "sparse_categorical_crossentropy": ("y_pred",), "softmax_then_categorical_crossentropy": ("logits", "y_true"),
       "sigmoid_then_binary_crossentropy": ("logits", "y_true")}
BOTH = ("y_pred", "y_true")


def _wrt(loss: str, kwargs: dict[str, object]) -> tuple[str, ...]:
    """The inputs a call is differentiated for (a loss class: its loss's, and the sample weights)."""
    if loss == "reduced_loss":
        return _wrt(str(kwargs["loss"]), {}) + (("sample_weight",) if kwargs.get("sample_weight") is not None else ())
    return WRT.get(loss, BOTH)


def _value(function: str, /, **kwargs: object) -> np.ndarray:
    return _call(function, _wrt(function, kwargs), None, kwargs)


def _vjp(function: str, cotangent: object, /, **kwargs: object) -> dict[str, np.ndarray]:
    return _call(function, _wrt(function, kwargs), cotangent, kwargs)


def reduced_loss(y_true: object, y_pred: object, sample_weight: object = None, mask: object = None, *,
                 loss: str, reduction: str = "sum_over_batch_size", **options: object) -> np.ndarray:
    """keras.losses.<Loss>(reduction=reduction, **options)(y_true, y_pred, sample_weight), with a Keras mask."""
    return _value("reduced_loss", y_true=y_true, y_pred=y_pred, sample_weight=sample_weight, mask=mask, loss=loss,
                  reduction=reduction, **options)


def reduced_loss_vjp(cotangent: object, y_true: object, y_pred: object, sample_weight: object = None,
                     mask: object = None, *, loss: str, reduction: str = "sum_over_batch_size",
                     **options: object) -> dict[str, np.ndarray]:
    return _vjp("reduced_loss", cotangent, y_true=y_true, y_pred=y_pred, sample_weight=sample_weight, mask=mask,
                loss=loss, reduction=reduction, **options)


def categorical_crossentropy(y_true: object, y_pred: object, from_logits: bool = False,
                             label_smoothing: float = 0.0, axis: int = -1) -> np.ndarray:
    return _value("categorical_crossentropy", y_true=y_true, y_pred=y_pred, from_logits=from_logits,
                  label_smoothing=label_smoothing, axis=axis)


def categorical_crossentropy_vjp(cotangent: object, y_true: object, y_pred: object, from_logits: bool = False,
                                 label_smoothing: float = 0.0, axis: int = -1) -> dict[str, np.ndarray]:
    return _vjp("categorical_crossentropy", cotangent, y_true=y_true, y_pred=y_pred,
                from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


def sparse_categorical_crossentropy(y_true: object, y_pred: object, from_logits: bool = False,
                                    ignore_class: int | None = None, axis: int = -1) -> np.ndarray:
    return _value("sparse_categorical_crossentropy", y_true=y_true, y_pred=y_pred, from_logits=from_logits,
                  ignore_class=ignore_class, axis=axis)


def sparse_categorical_crossentropy_vjp(cotangent: object, y_true: object, y_pred: object, from_logits: bool = False,
                                        ignore_class: int | None = None, axis: int = -1) -> dict[str, np.ndarray]:
    return _vjp("sparse_categorical_crossentropy", cotangent, y_true=y_true, y_pred=y_pred,
                from_logits=from_logits, ignore_class=ignore_class, axis=axis)


def binary_crossentropy(y_true: object, y_pred: object, from_logits: bool = False,
                        label_smoothing: float = 0.0, axis: int = -1) -> np.ndarray:
    return _value("binary_crossentropy", y_true=y_true, y_pred=y_pred, from_logits=from_logits,
                  label_smoothing=label_smoothing, axis=axis)


def binary_crossentropy_vjp(cotangent: object, y_true: object, y_pred: object, from_logits: bool = False,
                            label_smoothing: float = 0.0, axis: int = -1) -> dict[str, np.ndarray]:
    return _vjp("binary_crossentropy", cotangent, y_true=y_true, y_pred=y_pred, from_logits=from_logits,
                label_smoothing=label_smoothing, axis=axis)


def binary_focal_crossentropy(y_true: object, y_pred: object, apply_class_balancing: bool = False,
                              alpha: float = 0.25, gamma: float = 2.0, from_logits: bool = False,
                              label_smoothing: float = 0.0, axis: int = -1) -> np.ndarray:
    return _value("binary_focal_crossentropy", y_true=y_true, y_pred=y_pred,
                  apply_class_balancing=apply_class_balancing, alpha=alpha, gamma=gamma, from_logits=from_logits,
                  label_smoothing=label_smoothing, axis=axis)


def binary_focal_crossentropy_vjp(cotangent: object, y_true: object, y_pred: object,
                                  apply_class_balancing: bool = False, alpha: float = 0.25, gamma: float = 2.0,
                                  from_logits: bool = False, label_smoothing: float = 0.0,
                                  axis: int = -1) -> dict[str, np.ndarray]:
    return _vjp("binary_focal_crossentropy", cotangent, y_true=y_true, y_pred=y_pred,
                apply_class_balancing=apply_class_balancing, alpha=alpha, gamma=gamma, from_logits=from_logits,
                label_smoothing=label_smoothing, axis=axis)


def categorical_focal_crossentropy(y_true: object, y_pred: object, alpha: float = 0.25, gamma: float = 2.0,
                                   from_logits: bool = False, label_smoothing: float = 0.0,
                                   axis: int = -1) -> np.ndarray:
    return _value("categorical_focal_crossentropy", y_true=y_true, y_pred=y_pred, alpha=alpha, gamma=gamma,
                  from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


def categorical_focal_crossentropy_vjp(cotangent: object, y_true: object, y_pred: object, alpha: float = 0.25,
                                       gamma: float = 2.0, from_logits: bool = False, label_smoothing: float = 0.0,
                                       axis: int = -1) -> dict[str, np.ndarray]:
    return _vjp("categorical_focal_crossentropy", cotangent, y_true=y_true, y_pred=y_pred, alpha=alpha,
                gamma=gamma, from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


def softmax_then_categorical_crossentropy(y_true: object, logits: object, axis: int = -1) -> np.ndarray:
    """categorical_crossentropy of keras.activations.softmax(logits), as users chain them."""
    return _value("softmax_then_categorical_crossentropy", y_true=y_true, logits=logits, axis=axis)


def softmax_then_categorical_crossentropy_vjp(cotangent: object, y_true: object, logits: object,
                                              axis: int = -1) -> dict[str, np.ndarray]:
    return _vjp("softmax_then_categorical_crossentropy", cotangent, y_true=y_true, logits=logits, axis=axis)


def sigmoid_then_binary_crossentropy(y_true: object, logits: object, axis: int = -1) -> np.ndarray:
    """binary_crossentropy of keras.activations.sigmoid(logits), as users chain them."""
    return _value("sigmoid_then_binary_crossentropy", y_true=y_true, logits=logits, axis=axis)


def sigmoid_then_binary_crossentropy_vjp(cotangent: object, y_true: object, logits: object,
                                         axis: int = -1) -> dict[str, np.ndarray]:
    return _vjp("sigmoid_then_binary_crossentropy", cotangent, y_true=y_true, logits=logits, axis=axis)


def keras_softmax(x: object, axis: int | tuple[int, ...] | None = -1) -> np.ndarray:
    """keras.activations.softmax, over every axis (None) or a tuple's axes jointly."""
    return _value("keras_softmax", x=x, axis=axis)


def keras_softmax_vjp(cotangent: object, x: object, axis: int | tuple[int, ...] | None = -1) -> dict[str, np.ndarray]:
    return _vjp("keras_softmax", cotangent, x=x, axis=axis)


def keras_log_softmax(x: object, axis: int | tuple[int, ...] | None = -1) -> np.ndarray:
    return _value("keras_log_softmax", x=x, axis=axis)


def keras_log_softmax_vjp(cotangent: object, x: object,
                          axis: int | tuple[int, ...] | None = -1) -> dict[str, np.ndarray]:
    return _vjp("keras_log_softmax", cotangent, x=x, axis=axis)


def keras_softmax_layer(inputs: object, mask: object = None, axis: int = -1) -> np.ndarray:
    """keras.layers.Softmax(axis)(inputs, mask=mask)."""
    return _value("keras_softmax_layer", inputs=inputs, mask=mask, axis=axis)


def keras_softmax_layer_vjp(cotangent: object, inputs: object, mask: object = None,
                            axis: int = -1) -> dict[str, np.ndarray]:
    return _vjp("keras_softmax_layer", cotangent, inputs=inputs, mask=mask, axis=axis)
