"""The Keras misuses: calls of Keras 3's losses (on its TensorFlow backend) that people write
instead of the right one (issue 22), each against the right call, with where it diverges, by how
much, and when it happens to coincide.

Each is a call pattern, so both sides run through the oracle (`oracle.keras`,
`oracle.keras_misuses`, imported on first use: the catalogue's texts load without TF); the gap
laws are the mathematics in float64, with Keras's clip [1e-7, 1 - 1e-7] held in the input dtype.
All labels are one-hot. Keras computes these functions in the input dtype (float64 stays float64);
the `Loss` classes cast to float32.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from hypothesis import strategies as st

from tfparity.dtypes import f64
from tfparity.inputs import Case, one_hot_along
from tfparity.misuses.common import (
    COINCIDING,
    DIVERGING,
    Misuse,
    _batch_by_classes,
    _cast,
    _logits,
    _lse,
    _one_hot,
    side,
)
from tfparity.records import Inputs

EPSILON = 1e-7  # keras.backend.epsilon()
CAP = float(-np.log(np.float32(EPSILON)))  # 16.118095: the most a clipped float32 term can cost


def _keras(name: str, **kwargs: object) -> np.ndarray:
    from oracle import keras as keras_oracle

    return keras_oracle.value(name, **kwargs)


def _pattern(name: str) -> Callable[..., np.ndarray]:
    def call(*args: object, **kwargs: object) -> np.ndarray:
        from oracle import keras_misuses

        return getattr(keras_misuses, name)(*args, **kwargs)
    return call


def _cce(**kwargs: object) -> Callable[[Inputs], np.ndarray]:
    """keras.losses.categorical_crossentropy of the inputs' labels and `prediction`, with options."""
    def call(i: Inputs) -> np.ndarray:
        prediction = "probabilities" if "probabilities" in i else "logits"
        return _keras("categorical_crossentropy", y_true=i["labels"], y_pred=i[prediction], **kwargs)
    return call


def _chained(i: Inputs) -> np.ndarray:
    """The right chain: Keras's softmax, then the loss (on TF: the fused loss of the logits)."""
    return _keras("softmax_then_categorical_crossentropy", y_true=i["labels"], logits=i["logits"])


# --- the mathematics, in float64 -----------------------------------------------------------------

def _bounds(dtype: np.dtype) -> tuple[float, float]:
    """Keras's clip bounds as `dtype` holds them (float32: 1.0000000117e-7, 0.99999988)."""
    return float(np.asarray(EPSILON, dtype)), float(np.asarray(1.0 - EPSILON, dtype))


def _probability_loss(y: np.ndarray, p: np.ndarray, dtype: np.dtype, axis: int = -1) -> np.ndarray:
    """categorical_crossentropy from probabilities: normalise, clip, -sum(y log p)."""
    return -(y * np.log(np.clip(p / p.sum(axis, keepdims=True), *_bounds(dtype)))).sum(axis)


def _logit_loss(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The fused softmax cross entropy: lse(x) sum(y) - sum(y x)."""
    return _lse(x) * y.sum(-1) - (y * x).sum(-1)


def _softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.exp(x - np.logaddexp.reduce(x, axis=axis, keepdims=True))


def _prediction_gap(i: Inputs) -> np.ndarray:
    """The probabilities' clipped loss minus the logits' loss (the cap where p < 1e-7)."""
    y, x = f64(i, "labels"), f64(i, "logits")
    return _probability_loss(y, _softmax(x), i["logits"].dtype) - _logit_loss(y, x)


# --- builders --------------------------------------------------------------------------------------

def _labelled(labels: np.ndarray, logits: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """The logits with each labelled one moved to the row's largest other logit + offset."""
    others = np.where(labels > 0, -np.inf, logits).max(-1, keepdims=True)
    return np.where(labels > 0, others + offset, logits)


def _logits_given(case: Case) -> Inputs:
    """Diverging: logits in [1, 4] beside the label's, which is negative in a wrong row (its
    clipped share costs the cap, 16.1; the row still sums >= 0) and max + [1, 3] in a right row
    (every logit positive, so logit / sum is a distribution); the first row is wrong. Coinciding:
    rows whose entries share x exp(-x): each entry one of the two roots of x exp(-x) = t (a in
    (0, 1), b > 1), or a row of one value c, |c| >= 1/2."""
    rng, labels = case.rng(), _one_hot(case)
    rows = case.shape[:-1] + (1,)
    if case.regime == DIVERGING:
        wrong = rng.random(rows) < 0.5
        wrong.reshape(-1)[:1] = True
        x = np.where(wrong, np.where(labels > 0, -rng.uniform(0.1, 1.0, case.shape), rng.uniform(1.0, 4.0, case.shape)),
                     _labelled(labels, rng.uniform(1.0, 4.0, case.shape), rng.uniform(1.0, 3.0, rows)))
        return _cast(case, labels=labels, logits=x)
    t = rng.uniform(0.05, 0.3, rows)
    roots = _roots(t)
    x = np.where(rng.random(case.shape) < 0.5, roots[0], roots[1])
    constant = np.broadcast_to(rng.choice([-1.0, 1.0], rows) * rng.uniform(0.5, 5.0, rows), case.shape)
    return _cast(case, labels=labels, logits=np.where(rng.random(rows) < 0.3, constant, x))


def _roots(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two solutions of x exp(-x) = t for t in (0, 1/e): a in (0, 1), b in (1, 60), by bisection."""
    bracket = [(np.zeros_like(t), np.ones_like(t), 1.0), (np.ones_like(t), np.full_like(t, 60.0), -1.0)]
    roots = []
    for lo, hi, rising in bracket:
        for _ in range(80):
            mid = (lo + hi) / 2
            below = rising * (mid * np.exp(-mid) - t) < 0
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        roots.append((lo + hi) / 2)
    return roots[0], roots[1]


def _sure_logits(case: Case) -> tuple[np.ndarray, np.ndarray]:
    """Ordinary logits with each labelled one 3 above the rest (a right, fairly sure model) when
    diverging; rows of one value (a model with no opinion) when coinciding."""
    labels, x = _one_hot(case), _logits(case)
    if case.regime == COINCIDING:
        return labels, np.broadcast_to(x[..., :1], x.shape)
    return labels, _labelled(labels, x, 3.0)


def _probabilities_given(case: Case) -> Inputs:
    labels, x = _sure_logits(case)
    return _cast(case, labels=labels, probabilities=_softmax(x))


def _softmax_twice(case: Case) -> Inputs:
    labels, x = _sure_logits(case)
    return _cast(case, labels=labels, logits=x)


def _confident_wrong(case: Case, coinciding_margin: tuple[float, float]) -> Inputs:
    """Diverging: each labelled logit 20 to 40 below the row's largest (its probability < 2.1e-9).
    Coinciding: the labelled logit `coinciding_margin` above the rest."""
    labels, x, rows = _one_hot(case), _logits(case), case.shape[:-1] + (1,)
    if case.regime == DIVERGING:
        return _cast(case, labels=labels, logits=_labelled(labels, x, -case.rng(2).uniform(20.0, 40.0, rows)))
    return _cast(case, labels=labels, logits=_labelled(labels, x, case.rng(2).uniform(*coinciding_margin, rows)))


def _predicted(case: Case) -> Inputs:
    """Diverging: confident and wrong. Coinciding: logits in [-6, 6], so every probability is
    in [e^-12 / 8, 1 - e^-12], inside Keras's clip [1e-7, 1 - 1e-7]."""
    if case.regime == DIVERGING:
        return _confident_wrong(case, (0.0, 0.0))  # the margin is unused
    return _cast(case, labels=_one_hot(case), logits=np.clip(_logits(case), -6.0, 6.0))


def _mixed(case: Case) -> Inputs:
    """Diverging: confident and wrong. Coinciding: confident and right, the labelled logit 12 to
    40 above the rest (float16 rounds its probability to 1; both losses are below 1.2e-4)."""
    return _confident_wrong(case, (12.0, 40.0))


def _axis_0_shapes(regime: str) -> st.SearchStrategy[tuple[int, ...]]:
    """(K0, [M], K): K0 != K diverging, K0 == K coinciding."""
    sizes = (st.tuples(side(2, 8), side(2, 8)).filter(lambda s: s[0] != s[1]) if regime == DIVERGING
             else side(2, 8).map(lambda k: (k, k)))
    return st.tuples(sizes, st.lists(side(1, 3), max_size=1)).map(lambda s: (s[0][0], *s[1], s[0][1]))


def _smoothing_on_axis_0(case: Case) -> Inputs:
    """One-hot labels along axis 0, a peaked softmax along axis 0, smoothing 0.2 to 0.5 set by the
    shape (a Python option: a graph or XLA oracle compiles once per shape and option)."""
    labels = one_hot_along(case.rng(1), case.shape, 0)
    probabilities = _softmax(_logits(case, 6.0), axis=0)
    return _cast(case, labels=labels, probabilities=probabilities) | {
        "label_smoothing": (0.2, 0.3, 0.4, 0.5)[sum(case.shape) % 4]}


def _smoothed_along_0(i: Inputs) -> np.ndarray:
    y = f64(i, "labels")
    return (y * (1.0 - i["label_smoothing"]) + i["label_smoothing"] / y.shape[0]).astype(i["labels"].dtype)


def _smoothing_gap(i: Inputs) -> np.ndarray:
    """Keras's labels move ls (1/K - 1/K0) more onto every class: -ls (1/K - 1/K0) sum log q."""
    p, ls = f64(i, "probabilities"), i["label_smoothing"]
    log_q = np.log(np.clip(p / p.sum(0, keepdims=True), *_bounds(i["probabilities"].dtype)))
    return -ls * (1.0 / p.shape[-1] - 1.0 / p.shape[0]) * log_q.sum(0)


# --- the catalogue -------------------------------------------------------------------------------

KERAS_MISUSES: tuple[Misuse, ...] = (
    Misuse(
        name="keras_logits_without_from_logits",
        family="keras",
        source="issue 22; Keras's from_logits=False default",
        what="categorical_crossentropy(y, logits), from_logits left False: the logits are read as "
             "probabilities, divided by their sum and clipped to [1e-7, 1 - 1e-7]. A negative "
             "labelled logit in a row summing positive costs the cap -log(1e-7) = 16.1 whatever the "
             "model says. Equal only where logit / sum = softmax, i.e. x exp(-x) is the same for "
             "every entry: rows of one value, or mixes of the two roots of x exp(-x) = t.",
        correct="keras.losses.categorical_crossentropy(y, logits, from_logits=True)",
        build=_logits_given,
        misused=_cce(),
        reference=_cce(from_logits=True),
        shapes=_batch_by_classes,
        gap=lambda i: _probability_loss(f64(i, "labels"), f64(i, "logits"), i["logits"].dtype)
        - _logit_loss(f64(i, "labels"), f64(i, "logits")),
    ),
    Misuse(
        name="keras_probabilities_with_from_logits",
        family="keras",
        source="issue 22; a model ending in softmax compiled with from_logits=True",
        what="categorical_crossentropy(y, p, from_logits=True) on probabilities that carry no "
             "logits (NumPy, or any op but Keras's softmax): softmax is applied to probabilities, "
             "squashing the row toward uniform, so a sure, right model scores near log(C). Equal "
             "only on uniform rows (softmax(p) = p iff p exp(-p) is constant, on [0, 1] iff p is). "
             "On TF a Keras softmax's own output is rescued: Keras takes its logits and warns.",
        correct="keras.losses.categorical_crossentropy(y, p)",
        build=_probabilities_given,
        misused=_cce(from_logits=True),
        reference=_cce(),
        shapes=_batch_by_classes,
        gap=lambda i: _logit_loss(f64(i, "labels"), f64(i, "probabilities")) - _probability_loss(
            f64(i, "labels"), f64(i, "probabilities"), i["probabilities"].dtype),
    ),
    Misuse(
        name="keras_softmax_twice",
        family="keras",
        source="issue 22; a softmax layer after a model's softmax output",
        what="keras.activations.softmax on a model's softmax output, then the loss with "
             "from_logits=True: on TF Keras takes the outer softmax's input, the probabilities, "
             "as the logits (with a warning), so softmax is applied twice and the loss is "
             "lse(p) - p_k instead of lse(x) - x_k. Equal only on rows of one logit.",
        correct="keras.losses.categorical_crossentropy(y, keras.activations.softmax(logits))",
        build=_softmax_twice,
        misused=lambda i: _pattern("softmax_twice_then_categorical_crossentropy")(i["labels"], i["logits"]),
        reference=_chained,
        shapes=_batch_by_classes,
        gap=lambda i: _logit_loss(f64(i, "labels"), _softmax(f64(i, "logits")))
        - _logit_loss(f64(i, "labels"), f64(i, "logits")),
    ),
    Misuse(
        name="keras_loss_of_predict",
        family="keras",
        source="issue 22; FIELD-NOTES (model.predict returns NumPy)",
        what="categorical_crossentropy(y, model.predict(x)): predict returns the softmax as NumPy, "
             "without its logits, so the loss clips: a labelled probability below 1e-7 costs the "
             "cap 16.1 where the chained call costs lse(x) - x_k (20 to 40 here). Equal where "
             "every labelled probability is inside [1e-7, 1 - 1e-7].",
        correct="keras.losses.categorical_crossentropy(y, keras.activations.softmax(logits))",
        build=_predicted,
        misused=lambda i: _pattern("predict_then_categorical_crossentropy")(i["labels"], i["logits"]),
        reference=_chained,
        shapes=_batch_by_classes,
        gap=_prediction_gap,
    ),
    Misuse(
        name="keras_mixed_float16_softmax",
        family="keras",
        source="issue 22; Keras's mixed precision guide (keep the output softmax float32)",
        what="Under mixed_float16, a softmax layer returns float16 and the loss casts it to "
             "float32: the cast drops the logits Keras would recover, so a labelled probability "
             "below 1e-7 (float16 underflows below 6e-8) costs the cap 16.1 instead of lse(x) - x_k; "
             "elsewhere float16's softmax (up to 3 float16 ULP, 1.5e-3, measured) moves the loss "
             "by up to 1.5e-3. Equal for a sure, right model (float16 rounds p to 1; both losses "
             "below 1.2e-4) and where the float16 softmax is exact (a row of one logit, C a power of 2).",
        correct="keras.layers.Activation('softmax', dtype='float32') then CategoricalCrossentropy()",
        build=_mixed,
        misused=lambda i: _pattern("mixed_float16_softmax_then_loss")(i["labels"], i["logits"]),
        reference=lambda i: _pattern("float32_softmax_then_loss")(i["labels"], i["logits"]),
        shapes=_batch_by_classes,
        # where the labelled probability rounds to 0 in float16 (the diverging inputs: < 2.1e-9)
        gap=lambda i: _probability_loss(f64(i, "labels"), _softmax(f64(i, "logits")).astype(np.float16).astype(
            np.float64), np.dtype(np.float32)) - _logit_loss(f64(i, "labels"), f64(i, "logits")),
        dtypes=("float32",),
    ),
    Misuse(
        name="keras_smoothing_on_axis_0",
        family="keras",
        source="issue 22; keras_smoothing_counts_last_axis (docs/keras.md)",
        what="categorical_crossentropy(y, p, axis=0, label_smoothing=ls) smooths toward 1/K with K "
             "the last axis's size, not the K0 classes along axis 0: the labels put "
             "ls (1/K - 1/K0) more on every class, so the loss is off by "
             "-ls (1/K - 1/K0) sum(log q) over the classes. Equal when K == K0.",
        correct="categorical_crossentropy(y * (1 - ls) + ls / K0, p, axis=0)",
        build=_smoothing_on_axis_0,
        misused=lambda i: _keras("categorical_crossentropy", y_true=i["labels"], y_pred=i["probabilities"],
                                 axis=0, label_smoothing=i["label_smoothing"]),
        reference=lambda i: _keras("categorical_crossentropy", y_true=_smoothed_along_0(i),
                                   y_pred=i["probabilities"], axis=0),
        shapes=_axis_0_shapes,
        gap=_smoothing_gap,
    ),
)
