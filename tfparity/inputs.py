"""Cases and the inputs they stand for.

A `Case` is a small, printable spec (op, dtype, shape, axis, label kind, value regime,
seed); its arrays are generated from it deterministically with NumPy, so a case is
replayed from its spec alone.  Hypothesis searches and shrinks over specs, which is
cheap, instead of over every element.
"""

from __future__ import annotations

import ast
import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import ml_dtypes
import numpy as np

from tfparity.dtypes import np_dtype


@dataclass(frozen=True)
class Case:
    """One checked input. `axis=None` calls the op without an axis (its default)."""

    op: str
    dtype: str
    shape: tuple[int, ...]
    axis: int | None = None
    labels: str | None = None
    regime: str = "ordinary"
    seed: int = 0
    broadcast: bool = False

    def rng(self, stream: int = 0) -> np.random.Generator:
        """The generator at the state (seed, stream) names. It is one generator set in place (3 us,
        against 10 us for a fresh one: a batch asks for hundreds), so draw from it before asking
        for another stream."""
        a = _splitmix(self.seed * 8 + stream)
        b = _splitmix(a)
        _SHARED.bit_generator.state = {"bit_generator": "PCG64", "state": {"state": a << 64 | b, "inc": _splitmix(b) << 1 | 1},
                                       "has_uint32": 0, "uinteger": 0}
        return _SHARED

    @property
    def class_axis(self) -> int:
        return (-1 if self.axis is None else self.axis) % max(len(self.shape), 1)


_SHARED = np.random.Generator(np.random.PCG64(0))
_MASK = (1 << 64) - 1


def _splitmix(x: int) -> int:
    """splitmix64: consecutive seeds to unrelated 64-bit states."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def case_id(case: Case) -> str:
    """Stable for the same spec, hence for the same inputs, on every machine."""
    return hashlib.sha1(repr(case).encode()).hexdigest()[:12]


def parse(spec: str) -> Case:
    """A `Case(...)` repr back into a Case; anything else (code, other calls) is refused."""
    try:
        call = ast.parse(spec.strip(), mode="eval").body
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "Case"):
            raise ValueError("not a Case(...) call")
        return Case(*map(ast.literal_eval, call.args), **{k.arg: ast.literal_eval(k.value) for k in call.keywords})
    except (SyntaxError, ValueError, TypeError) as error:
        raise ValueError(f"not a case spec ({error}): {spec[:200]!r}") from error


# --- value regimes: (rng, shape, dtype) -> float64 values, cast to the dtype afterwards --------

def _ordinary(rng, shape, dtype):
    return rng.normal(0.0, 3.0, shape)


def _saturating(rng, shape, dtype):
    """|x| in [10, 100]: sigmoid saturates, exp(-|x|) needs log1p."""
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(10.0, 100.0, shape)


def _large(rng, shape, dtype):
    return rng.uniform(-1e4, 1e4, shape)


def _near_overflow(rng, shape, dtype):
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 1.0, shape) * float(ml_dtypes.finfo(dtype).max)


def _tiny(rng, shape, dtype):
    """Log-uniform magnitudes from the smallest subnormal up to 1e-3, and some zeros."""
    low = np.log10(float(ml_dtypes.finfo(dtype).smallest_subnormal))
    values = rng.choice([-1.0, 1.0], shape) * 10.0 ** rng.uniform(low, -3.0, shape)
    return np.where(rng.random(shape) < 0.1, 0.0, values)


def _with(special: float, share: float) -> Callable:
    def regime(rng, shape, dtype):
        values = _ordinary(rng, shape, dtype)
        return np.where(rng.random(shape) < share, special, values)
    return regime


REGIMES: dict[str, Callable] = {
    "ordinary": _ordinary,
    "saturating": _saturating,
    "large": _large,
    "near_overflow": _near_overflow,
    "tiny": _tiny,
    "masked": _with(-np.inf, 0.3),
    "posinf": _with(np.inf, 0.2),
    "nan": _with(np.nan, 0.2),
}


def values(case: Case, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    dtype = np_dtype(case.dtype)
    return REGIMES[case.regime](rng, shape, dtype).astype(dtype)


def ordinary(rng: np.random.Generator, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """Standard-normal values in `dtype`: cotangents, and anything not under test."""
    return rng.normal(0.0, 1.0, shape).astype(dtype)


# --- label kinds ------------------------------------------------------------------------------

def one_hot_along(rng, shape, axis):
    classes = shape[axis]
    index = np.expand_dims(rng.integers(0, max(classes, 1), shape[:axis] + shape[axis + 1:]), axis)
    along = np.arange(classes).reshape([-1 if i == axis else 1 for i in range(len(shape))])
    return (along == index).astype(np.float64)


def _soft(rng, shape, axis):
    weights = rng.random(shape) + 1e-3
    return weights / weights.sum(axis=axis, keepdims=True)


def _smoothed(rng, shape, axis):
    return one_hot_along(rng, shape, axis) * 0.9 + 0.1 / shape[axis]


CLASS_LABELS: dict[str, Callable] = {
    "one_hot": one_hot_along,
    "soft": _soft,
    "smoothed": _smoothed,
    "unnormalized": lambda rng, shape, axis: rng.uniform(0.0, 2.0, shape),
}
BINARY_LABELS: dict[str, Callable] = {
    "binary_hard": lambda rng, shape: rng.integers(0, 2, shape).astype(np.float64),
    "binary_soft": lambda rng, shape: rng.random(shape),
    "binary_outside": lambda rng, shape: rng.uniform(-1.0, 2.0, shape),
}
SPARSE_LABELS = {"sparse_int32": np.int32, "sparse_int64": np.int64}


def label_shape(case: Case) -> tuple[int, ...]:
    """The logits' shape, or with `broadcast` TF's broadcastable form: every non-class dim 1,
    and the leading ones dropped when the class axis is last."""
    if not case.broadcast:
        return case.shape
    axis = case.class_axis
    shape = tuple(n if i == axis else 1 for i, n in enumerate(case.shape))
    return shape[axis:] if axis == len(shape) - 1 else shape


# --- input builders, one per op family ---------------------------------------------------------

def activation_inputs(case: Case, name: str = "logits") -> dict[str, np.ndarray]:
    return {name: values(case, case.rng(), case.shape)}


def class_label_inputs(case: Case) -> dict[str, np.ndarray]:
    rng = case.rng()
    logits = values(case, rng, case.shape)
    shape = label_shape(case)
    labels = CLASS_LABELS[case.labels](case.rng(1), shape, case.class_axis - (len(case.shape) - len(shape)))
    return {"labels": labels.astype(logits.dtype), "logits": logits}


def sparse_label_inputs(case: Case) -> dict[str, np.ndarray]:
    logits = values(case, case.rng(), case.shape)
    labels = case.rng(1).integers(0, case.shape[-1], case.shape[:-1])
    return {"labels": labels.astype(SPARSE_LABELS[case.labels]), "logits": logits}


def binary_label_inputs(case: Case) -> dict[str, np.ndarray]:
    logits = values(case, case.rng(), case.shape)
    labels = BINARY_LABELS[case.labels](case.rng(1), case.shape).astype(logits.dtype)
    return {"labels": labels, "logits": logits}


def weighted_inputs(case: Case) -> dict[str, np.ndarray]:
    inputs = binary_label_inputs(case)
    pos_weight = np.exp(case.rng(2).uniform(-2.0, 2.0))
    return inputs | {"pos_weight": np.asarray(pos_weight, inputs["logits"].dtype)}


@functools.lru_cache(maxsize=4096)
def cotangent(case: Case, shape: tuple[int, ...]) -> np.ndarray:
    """The case's cotangent for an output of `shape` (read-only: drawn once, shared)."""
    value = ordinary(case.rng(3), shape, np_dtype(case.dtype))
    value.setflags(write=False)
    return value


# --- Keras's losses: probabilities or logits as y_pred --------------------------------------------

def softmax64(x: np.ndarray, axis: int) -> np.ndarray:
    """softmax in float64 along `axis`: probabilities for Keras's losses."""
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _below_epsilon(rng, shape):
    """Log-uniform probabilities from 1e-12 to 1e-5, some of them under Keras's epsilon 1e-7."""
    return 10.0 ** rng.uniform(-12.0, -5.0, shape)


# (rng, shape, axis) -> float64 probabilities; the categorical ones along `axis`
CLASS_PROBABILITIES: dict[str, Callable] = {
    "softmax": lambda rng, shape, axis: softmax64(rng.normal(0.0, 3.0, shape), axis),
    "peaked": lambda rng, shape, axis: softmax64(rng.normal(0.0, 15.0, shape), axis),
    "unnormalized": lambda rng, shape, axis: rng.uniform(0.0, 2.0, shape),
    "hard": lambda rng, shape, axis: one_hot_along(rng, shape, axis),
    "below_epsilon": lambda rng, shape, axis: np.maximum(_below_epsilon(rng, shape), one_hot_along(rng, shape, axis)),
}
BINARY_PROBABILITIES: dict[str, Callable] = {
    "sigmoid": lambda rng, shape, axis: 1.0 / (1.0 + np.exp(-rng.normal(0.0, 3.0, shape))),
    "saturated": lambda rng, shape, axis: 1.0 / (1.0 + np.exp(-rng.choice([-1.0, 1.0], shape) * rng.uniform(10.0, 40.0, shape))),
    "hard": lambda rng, shape, axis: rng.integers(0, 2, shape).astype(np.float64),
    "below_epsilon": lambda rng, shape, axis: np.where(rng.random(shape) < 0.5, _below_epsilon(rng, shape),
                                                       1.0 - _below_epsilon(rng, shape)),
}
IGNORED_CLASS = -1  # the `ignore_class` the sparse records pass; a quarter of their labels hold it


def _prediction(case: Case, probabilities: dict[str, Callable] | None) -> np.ndarray:
    """y_pred: probabilities of the case's regime, or logits (`probabilities` None)."""
    if probabilities is None:
        return values(case, case.rng(), case.shape)
    return probabilities[case.regime](case.rng(), case.shape, case.class_axis).astype(np_dtype(case.dtype))


def keras_class_inputs(case: Case, probabilities: dict[str, Callable] | None,
                       prediction: str = "y_pred") -> dict[str, np.ndarray]:
    """Class labels and y_pred (named `prediction`: a pipeline takes logits)."""
    y_pred = _prediction(case, probabilities)
    labels = CLASS_LABELS[case.labels](case.rng(1), case.shape, case.class_axis)
    return {"y_true": labels.astype(y_pred.dtype), prediction: y_pred}


def keras_binary_inputs(case: Case, probabilities: dict[str, Callable] | None,
                        prediction: str = "y_pred") -> dict[str, np.ndarray]:
    y_pred = _prediction(case, probabilities)
    return {"y_true": BINARY_LABELS[case.labels](case.rng(1), case.shape).astype(y_pred.dtype), prediction: y_pred}


def keras_sparse_inputs(case: Case, probabilities: dict[str, Callable] | None,
                        ignored: bool = False) -> dict[str, np.ndarray]:
    y_pred = _prediction(case, probabilities)
    rng = case.rng(1)
    labels = rng.integers(0, case.shape[-1], case.shape[:-1])
    if ignored:
        labels = np.where(rng.random(labels.shape) < 0.25, IGNORED_CLASS, labels)
    return {"y_true": labels.astype(SPARSE_LABELS[case.labels]), "y_pred": y_pred}


def sample_shape(case: Case, class_axis: bool = True) -> tuple[int, ...]:
    """The shape of a loss's per-sample values: y_pred's without its class axis (the last for sparse)."""
    axis = case.class_axis if class_axis else len(case.shape) - 1
    return tuple(n for i, n in enumerate(case.shape) if i != axis)


# sample weights and masks of a loss class's call, chosen by the case's seed
SAMPLE_WEIGHTS: tuple[Callable, ...] = (
    lambda rng, shape: np.ones(shape),
    lambda rng, shape: rng.uniform(0.0, 2.0, shape),
    lambda rng, shape: np.where(rng.random(shape) < 0.3, 0.0, rng.uniform(0.0, 2.0, shape)),
    lambda rng, shape: np.zeros(shape),
)
MASKS: tuple[Callable, ...] = (
    lambda rng, shape: np.ones(shape, bool),
    lambda rng, shape: rng.random(shape) < 0.7,
    lambda rng, shape: np.zeros(shape, bool),
)


def weighted_loss_inputs(case: Case, build: Callable[[Case], dict[str, np.ndarray]],
                         class_axis: bool = True) -> dict[str, np.ndarray]:
    """A loss's inputs with float32 sample weights and a boolean mask (the Keras mask y_pred
    carries), both of the per-sample shape: all ones, random, some zeros, or all zeros."""
    inputs = build(case)
    shape = sample_shape(case, class_axis)
    weight = SAMPLE_WEIGHTS[case.seed % len(SAMPLE_WEIGHTS)](case.rng(4), shape).astype(np.float32)
    mask = MASKS[(case.seed // len(SAMPLE_WEIGHTS)) % len(MASKS)](case.rng(5), shape)
    return inputs | {"sample_weight": weight, "mask": mask}
