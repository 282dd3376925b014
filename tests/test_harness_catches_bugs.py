"""The parity machinery pointed at deliberately wrong candidates: each must be caught.

A candidate is any module-like object with TF's op names; here, impl with one function
replaced. Hypothesis searches the same case space as the parity suite for a failing case.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import find, settings

import impl
from impl._tensors import class_axis, float_tensor, same_dtype, widen
from tfparity.check import run_case
from tfparity.opdb import BY_NAME, SIGMOID_CE, SOFTMAX, SOFTMAX_CE, WEIGHTED_CE
from tfparity.strategies import cases


def candidate(**overrides) -> SimpleNamespace:
    return SimpleNamespace(**{name: getattr(impl, name) for name in impl.__all__} | overrides)


def softmax_without_max_shift(logits, axis=-1):
    x = float_tensor(logits, "logits")
    e = np.exp(widen(x))
    return (e / e.sum(axis=class_axis(axis, x.ndim), keepdims=True)).astype(x.dtype)


def softmax_first_non_singleton_axis(logits, axis=None):
    """Seed 000's NumPy softmax: with no axis it normalizes the first axis longer than 1."""
    x = float_tensor(logits, "logits")
    if axis is None:
        axis = next((i for i, n in enumerate(x.shape) if n > 1), -1)
    return impl.softmax(x, axis=axis)


def sigmoid_ce_log_not_log1p(labels, logits):
    x = float_tensor(logits, "logits")
    z, wx = widen(same_dtype(labels, x, "labels")), widen(x)
    return (np.maximum(wx, 0) - wx * z + np.log(1 + np.exp(-np.abs(wx)))).astype(x.dtype)


def weighted_ce_vjp_dropping_pos_weight_term(cotangent, labels, logits, pos_weight):
    """The labels gradient -x, missing (pos_weight - 1) * softplus(-x)."""
    grads = impl.weighted_cross_entropy_with_logits_vjp(cotangent, labels, logits, pos_weight)
    x = float_tensor(logits, "logits")
    grads["labels"] = (-widen(np.asarray(cotangent, x.dtype)) * widen(x)).astype(x.dtype)
    return grads


def softmax_ce_vjp_without_label_gradient(cotangent, labels, logits, axis=-1):
    """v1's behaviour: zero gradient into the labels."""
    grads = impl.softmax_cross_entropy_with_logits_vjp(cotangent, labels, logits, axis)
    return grads | {"labels": np.zeros_like(grads["labels"])}


def reduced_loss_mean_over_every_sample(y_true, y_pred, sample_weight=None, mask=None, **options):
    """sum_over_batch_size dividing by every sample, masked ones too (the mean Keras 2 took)."""
    kept = np.ones(np.shape(sample_weight), bool) if mask is None else np.asarray(mask, bool)
    weight = np.asarray(sample_weight) * kept
    masked = impl.reduced_loss(y_true, y_pred, weight, None, **options | {"reduction": "sum"})
    return (widen(masked) / max(kept.size, 1)).astype(np.float32)


def reduced_loss_in_input_dtype(y_true, y_pred, sample_weight=None, mask=None, **options):
    """A loss class that computes in its inputs' dtype (float16 losses), not in float32."""
    return impl.reduced_loss(y_true, y_pred, sample_weight, mask, **options).astype(np.asarray(y_pred).dtype)


MUTANTS = {
    "softmax without the max shift": (SOFTMAX, candidate(softmax=softmax_without_max_shift)),
    "softmax with seed 000's default axis": (SOFTMAX, candidate(softmax=softmax_first_non_singleton_axis)),
    "sigmoid CE with log(1 + exp(-|x|))": (
        SIGMOID_CE, candidate(sigmoid_cross_entropy_with_logits=sigmoid_ce_log_not_log1p)),
    "weighted CE labels gradient without its pos_weight term": (
        WEIGHTED_CE, candidate(weighted_cross_entropy_with_logits_vjp=weighted_ce_vjp_dropping_pos_weight_term)),
    "softmax CE without a labels gradient": (
        SOFTMAX_CE, candidate(softmax_cross_entropy_with_logits_vjp=softmax_ce_vjp_without_label_gradient)),
    "a loss class's mean over masked samples too": (
        BY_NAME["reduced_loss:logits_sum_over_batch_size"], candidate(reduced_loss=reduced_loss_mean_over_every_sample)),
    "a loss class computing in its inputs' dtype": (
        BY_NAME["reduced_loss:logits_sum"], candidate(reduced_loss=reduced_loss_in_input_dtype)),
}


@pytest.mark.parametrize("name", list(MUTANTS))
def test_wrong_candidate_is_caught(name):
    record, wrong = MUTANTS[name]
    failing = find(
        cases(record),
        lambda case: any(not r.passed for r in run_case(record, case, wrong)),
        settings=settings(max_examples=500, derandomize=True, database=None, deadline=None),
    )
    assert any(not r.passed for r in run_case(record, failing, wrong))
    assert all(r.passed for r in run_case(record, failing)), "impl itself must pass the same case"
