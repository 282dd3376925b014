"""The `tf.nn` misuses: formulas people write instead of TF's softmax-family ops (the sources in
../shared/seeds warn about each), with where each diverges from TF's correct op, by how much, and
when it happens to coincide."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import oracle
from impl import misuses
from tfparity.dtypes import f64, softplus
from tfparity.inputs import Case
from tfparity.misuses.common import (
    COINCIDING,
    DIVERGING,
    Misuse,
    _batch_by_classes,
    _batch_of,
    _cast,
    _confident,
    _logits,
    _max_exponent,
    _min_exponent,
    _one_hot,
    _seed_axis_shapes,
    _softmax_ce,
)
from tfparity.records import Inputs

# --- builders, one per input family -------------------------------------------------------------

def _binary(case: Case) -> Inputs:
    """Hard binary targets. Diverging: each row's first target is 0 with a logit >= 1 (the
    dropped softplus(q) >= 1.3), every other target 1. Coinciding: all targets 1."""
    labels = np.ones(case.shape)
    logits = _logits(case, 2.0)
    if case.regime == DIVERGING:
        labels[..., 0] = 0.0
        logits[..., 0] = 1.0 + np.abs(logits[..., 0])
    return _cast(case, labels=labels, logits=logits)


def _overflowing(case: Case) -> Inputs:
    """Diverging: one logit per row past log(max) (exp overflows). Coinciding: ordinary logits."""
    x = _logits(case)
    if case.regime == DIVERGING:
        x[..., 0] = 1.01 * _max_exponent(case)
    return _cast(case, logits=x)


def _underflowing(case: Case) -> Inputs:
    """Diverging: one logit per row so far below the max that its softmax underflows to 0."""
    x = _logits(case)
    if case.regime == DIVERGING:
        x[..., 0] = x[..., 1:].max(axis=-1) + 1.1 * _min_exponent(case)
    return _cast(case, logits=x)


def _double_softmax(case: Case) -> Inputs:
    """Diverging: ordinary rows (distinct logits). Coinciding: constant rows, whose softmax is
    uniform and stays uniform under a second softmax."""
    x = _logits(case)
    if case.regime == COINCIDING:
        x = np.broadcast_to(x[..., :1], x.shape)
    else:  # the labelled logit 3 above the rest: a confident, right model that the second softmax doubts
        labels = _one_hot(case)
        x = np.where(labels > 0, x.max(-1, keepdims=True) + 3.0, x)
        return _cast(case, labels=labels, logits=x)
    return _cast(case, labels=_one_hot(case), logits=x)


def _multi_hot(case: Case) -> Inputs:
    """Diverging: at least two positives per row, and logits right about every class (|q| >= 4):
    the sigmoid loss is small, the softmax one near m log m. Coinciding: one positive per row,
    confident logits (both losses ~0)."""
    if case.regime == DIVERGING:
        labels = case.rng(1).integers(0, 2, case.shape).astype(float)
        labels[..., :2] = 1.0
        return _cast(case, labels=labels, logits=np.where(labels > 0, 1.0, -1.0) * (4.0 + np.abs(_logits(case))))
    labels = _one_hot(case)
    return _cast(case, labels=labels, logits=_confident(labels))


def _wrong_one_hot(case: Case, logits: np.ndarray) -> np.ndarray:
    """One-hot targets on each row's smallest logit: a wrong model, so each loss is >= log(C)."""
    return np.eye(case.shape[-1])[np.argmin(logits, axis=-1)]


def _single_label(case: Case) -> Inputs:
    """One-hot targets. Diverging: an unsure model, logits in [-2, 2] (a sure one, right or
    wrong, makes both losses about |q| apart from exp(-|q|) terms). Coinciding: sure and right."""
    labels = _one_hot(case)
    if case.regime == DIVERGING:
        return _cast(case, labels=labels, logits=case.rng().uniform(-2.0, 2.0, case.shape))
    return _cast(case, labels=labels, logits=_confident(labels))


def _batch_losses(case: Case) -> Inputs:
    """Diverging: a wrong model (every example's loss >= log C). Coinciding: ordinary, N = 1."""
    logits = _logits(case)
    labels = _wrong_one_hot(case, logits) if case.regime == DIVERGING else _one_hot(case)
    return _cast(case, labels=labels, logits=logits)


def _theta_inputs(case: Case) -> Inputs:
    """Diverging: x grows by 3 / theta along axis 0 and barely varies along the last axis, so
    the seed's axis-0 softmax is sharp where TF's last-axis one is near uniform."""
    theta = float(case.rng(2).uniform(0.25, 4.0))
    x = _logits(case)
    if case.regime == DIVERGING:
        steps = np.arange(case.shape[0]).reshape((-1,) + (1,) * (len(case.shape) - 1))
        x = 0.03 * x + 3.0 / theta * steps
    return _cast(case, x=x) | {"theta": theta}


def _soft_labels(case: Case) -> Inputs:
    weights = case.rng(1).random(case.shape) + 1e-3
    return _cast(case, labels=weights / weights.sum(-1, keepdims=True), logits=_logits(case),
                 cotangent=case.rng(3).normal(0.0, 1.0, case.shape[:-1]))


# --- exact gaps, in float64 --------------------------------------------------------------------

def _sigmoid_ce(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return p * softplus(-q) + (1.0 - p) * softplus(q)


def _missing_negative_half(inputs: Inputs) -> np.ndarray:
    """The misuse drops (1 - p) * softplus(q): it is short by exactly that."""
    p, q = f64(inputs, "labels"), f64(inputs, "logits")
    return -(1.0 - p) * softplus(q)


def _ce_gap(misused_loss, correct_loss) -> Callable[[Inputs], np.ndarray]:
    return lambda inputs: misused_loss(f64(inputs, "labels"), f64(inputs, "logits")) - correct_loss(
        f64(inputs, "labels"), f64(inputs, "logits"))


# --- the catalogue ------------------------------------------------------------------------------

def _tf_summed_sigmoid_ce(inputs: Inputs) -> np.ndarray:
    return oracle.sigmoid_cross_entropy_with_logits(labels=inputs["labels"], logits=inputs["logits"]).sum(-1)


def _tf_softmax_ce(inputs: Inputs) -> np.ndarray:
    return oracle.softmax_cross_entropy_with_logits(labels=inputs["labels"], logits=inputs["logits"])


TF_NN_MISUSES: tuple[Misuse, ...] = (
    Misuse(
        name="sigmoid_then_multiclass_ce",
        source="seed 003 (loss1)",
        what="-reduce_sum(p * log(sigmoid(q)), 1) as a multi-label loss: the multiclass formula "
             "keeps only p * -log(q) and drops (1 - p) * -log(1 - q). It is short by "
             "sum((1 - p) * softplus(q)) and equals the right loss only where every p is 1.",
        correct="reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=p, logits=q), 1)",
        build=_binary,
        misused=lambda i: misuses.multiclass_ce_of_sigmoid(i["labels"], i["logits"]),
        reference=_tf_summed_sigmoid_ce,
        shapes=_batch_by_classes,
        gap=lambda i: _missing_negative_half(i).sum(-1),
    ),
    Misuse(
        name="positive_half_of_sigmoid_ce",
        source="seed 003 (prob1)",
        what="-p * log(sigmoid(q)) elementwise: only the positive half of binary cross entropy, "
             "short by (1 - p) * softplus(q); right only where p == 1.",
        correct="tf.nn.sigmoid_cross_entropy_with_logits(labels=p, logits=q)",
        build=_binary,
        misused=lambda i: misuses.positive_half_of_sigmoid_ce(i["labels"], i["logits"]),
        reference=lambda i: oracle.sigmoid_cross_entropy_with_logits(labels=i["labels"], logits=i["logits"]),
        shapes=_batch_by_classes,
        gap=_missing_negative_half,
    ),
    Misuse(
        name="softmax_without_max_shift",
        source="seed 000 (TF's docstring formula)",
        what="exp(x) / reduce_sum(exp(x)) without subtracting the max: a logit above log(max) "
             "(88.7 in f32, 709.8 in f64) makes exp overflow, inf / inf = nan for the row, where "
             "TF's shifted softmax is finite.",
        correct="tf.nn.softmax(x)",
        build=_overflowing,
        misused=lambda i: misuses.softmax_without_max_shift(i["logits"]),
        reference=lambda i: oracle.softmax(logits=i["logits"]),
        shapes=_batch_by_classes,
    ),
    Misuse(
        name="log_of_softmax",
        source="seed 002 (res2)",
        what="log(softmax(x)): a logit more than -log(smallest subnormal) (103 in f32, 745 in "
             "f64) below its row's max has softmax 0 and log gives -inf, where log_softmax is the "
             "finite x - max - log(sum).",
        correct="tf.nn.log_softmax(x)",
        build=_underflowing,
        misused=lambda i: misuses.log_of_softmax(i["logits"]),
        reference=lambda i: oracle.log_softmax(logits=i["logits"]),
        shapes=_batch_by_classes,
    ),
    Misuse(
        name="probabilities_into_with_logits",
        source="seed 001 (softmax, then softmax_cross_entropy_with_logits)",
        what="A softmax output fed as logits: softmax is applied twice, squashing every row "
             "towards uniform, so the loss is about log(C) whatever the model says. Equal only "
             "where a row's logits are all equal.",
        correct="tf.nn.softmax_cross_entropy_with_logits(labels, logits)  # the raw logits",
        build=_double_softmax,
        misused=lambda i: misuses.softmax_ce_of_probabilities(i["labels"], i["logits"]),
        reference=_tf_softmax_ce,
        shapes=_batch_by_classes,
    ),
    Misuse(
        name="softmax_ce_for_multi_label",
        source="seed 002 (summary)",
        what="softmax cross entropy on multi-hot targets reads them as a distribution of mass m "
             "(the number of positives): m * logsumexp(q) - sum(p * q). Even for perfect logits it "
             "stays near m * log(m), where the independent-sigmoid loss goes to 0.",
        correct="reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels, logits), -1)",
        build=_multi_hot,
        misused=lambda i: misuses.softmax_ce_for_multi_label(i["labels"], i["logits"]),
        reference=_tf_summed_sigmoid_ce,
        shapes=_batch_by_classes,
        gap=_ce_gap(_softmax_ce, lambda p, q: _sigmoid_ce(p, q).sum(-1)),
    ),
    Misuse(
        name="summed_sigmoid_ce_for_single_label",
        source="seed 002 (summary)",
        what="sigmoid cross entropy summed over the class axis on one-hot targets scores C "
             "independent yes/no questions: softplus(-q_k) + sum_{c != k} softplus(q_c), always "
             "above the softmax loss logsumexp(q) - q_k; most for an unsure model (0.24 or more "
             "for logits in [-2, 2]); they meet as the logits become certain and right.",
        correct="tf.nn.softmax_cross_entropy_with_logits(labels, logits)",
        build=_single_label,
        misused=lambda i: misuses.summed_sigmoid_ce_for_single_label(i["labels"], i["logits"]),
        reference=_tf_softmax_ce,
        shapes=_batch_by_classes,
        gap=_ce_gap(lambda p, q: _sigmoid_ce(p, q).sum(-1), _softmax_ce),
    ),
    Misuse(
        name="theta_softmax_default_axis",
        source="seed 000 (NumPy softmax with theta)",
        what="The seed's NumPy softmax(X, theta, axis=None) normalises theta * X along the first "
             "axis longer than 1; tf.nn.softmax's default is the last axis. They agree only when "
             "that first axis is the last (e.g. shape (1, C) or (C,)); with an explicit axis they "
             "agree everywhere.",
        correct="tf.nn.softmax(theta * x)  # axis=-1",
        build=_theta_inputs,
        misused=lambda i: misuses.theta_softmax(i["x"], i["theta"]),
        reference=lambda i: oracle.softmax(logits=i["x"] * i["x"].dtype.type(i["theta"])),
        shapes=_seed_axis_shapes,
    ),
    Misuse(
        name="reduce_sum_of_example_losses",
        source="seeds 001 and 002 (total_loss)",
        what="reduce_sum of per-example losses where Keras' CategoricalCrossentropy("
             "from_logits=True) reports their mean (reduction sum_over_batch_size): N times too "
             "large, off by (N - 1) * mean; the seeds' reduce_mean is what Keras reports.",
        correct="tf.keras.losses.CategoricalCrossentropy(from_logits=True)(labels, logits)",
        build=_batch_losses,
        misused=lambda i: misuses.summed_example_losses(i["labels"], i["logits"]),
        reference=lambda i: oracle.keras_categorical_crossentropy(labels=i["labels"], logits=i["logits"]),
        shapes=_batch_of(coinciding_batch=1),
        gap=lambda i: (len(i["labels"]) - 1) * _softmax_ce(f64(i, "labels"), f64(i, "logits")).mean(),
    ),
    Misuse(
        name="v1_softmax_ce_label_gradient",
        source="FIELD-NOTES; tf.compat.v1.nn.softmax_cross_entropy_with_logits",
        what="The v1 op sends no gradient into labels (None), so learned or distilled soft "
             "labels never move; v2 sends -cotangent * log_softmax(logits). They agree only when "
             "log_softmax is 0, i.e. a single class.",
        correct="tf.nn.softmax_cross_entropy_with_logits (v2), differentiated w.r.t. labels",
        build=_soft_labels,
        misused=lambda i: misuses.softmax_ce_v1_labels_gradient(i["cotangent"], i["labels"], i["logits"]),
        reference=lambda i: oracle.softmax_cross_entropy_with_logits_vjp(
            i["cotangent"], labels=i["labels"], logits=i["logits"])["labels"],
        shapes=_batch_of(coinciding_classes=1),
        gap=lambda i: f64(i, "cotangent")[..., None] * (f64(i, "logits") - np.logaddexp.reduce(
            f64(i, "logits"), axis=-1, keepdims=True)),
    ),
)
