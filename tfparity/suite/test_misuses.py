"""The misuse catalogue: each misuse must diverge from TF's correct op where the sources say it
does (by its gap law, when it has one), and must coincide under its stated condition, so a test
fails if the misuse were correct, and fails if the condition were wrong."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import find, given, note
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import oracle
from impl import misuses
from tfparity.check import run_misuse
from tfparity.describe import describe
from tfparity.misusedb import (
    COINCIDING,
    DIVERGING,
    MISUSE_DTYPES,
    MISUSES,
    misuse_cases,
)

CASES = [pytest.param(m, d, r, id=f"{m.name}-{d}-{r}") for m in MISUSES for d in MISUSE_DTYPES if d in m.dtypes
         for r in (DIVERGING, COINCIDING)]


@pytest.mark.parametrize("misuse, dtype, regime", CASES)
@given(data=st.data())
def test_misuse(misuse, dtype, regime, recorder, shard, data):
    case = data.draw(misuse_cases(misuse, dtype, regime), label="case")
    if not shard.holds(case):
        return
    result = run_misuse(misuse, case)
    recorder.add([result], source="misuse")
    if not result.passed:
        note(describe(case))
    assert result.passed, result.describe()


def test_v1_sends_no_gradient_into_labels():
    """The evidence for misuse 9: TF's v1 op has v2's value and logits gradient, and None for labels."""
    rng = np.random.default_rng(0)
    logits, labels, ct = rng.normal(size=(3, 4)), rng.dirichlet(np.ones(4), 3), rng.normal(size=3)
    v1 = oracle.softmax_cross_entropy_with_logits_v1_vjp(ct, labels=labels, logits=logits)
    v2 = oracle.softmax_cross_entropy_with_logits_vjp(ct, labels=labels, logits=logits)
    assert v1["labels"] is None and v2["labels"] is not None
    np.testing.assert_array_equal(v1["logits"], v2["logits"])
    np.testing.assert_array_equal(oracle.softmax_cross_entropy_with_logits_v1(labels=labels, logits=logits),
                                  oracle.softmax_cross_entropy_with_logits(labels=labels, logits=logits))


@given(shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4).filter(lambda s: max(s) > 1),
       theta=st.floats(0.25, 4.0), seed=st.integers(0, 2**32 - 1))
def test_theta_softmax_is_tf_softmax_along_its_own_axis(shape, theta, seed):
    """Misuse 7's other half: with the axis it actually uses, the seed's softmax is TF's."""
    x = np.random.default_rng(seed).normal(0.0, 3.0, shape)
    axis = misuses.first_non_singleton_axis(shape) - max(0, 2 - len(shape))
    want = oracle.softmax(logits=x * theta, axis=axis)
    np.testing.assert_allclose(misuses.theta_softmax(x, theta), want, rtol=1e-12, atol=1e-15)


def test_theta_softmax_without_a_long_axis_raises_clearly():
    """The seed's code raises a bare StopIteration for an all-singleton input; impl names the problem."""
    with pytest.raises(ValueError, match="no axis longer than 1"):
        misuses.theta_softmax(np.ones((1, 1)))


@given(n=st.integers(1, 6), c=st.integers(2, 6), seed=st.integers(0, 2**32 - 1))
def test_reduce_mean_is_what_keras_reports(n, c, seed):
    """Misuse 8's right half: the seeds' reduce_mean total_loss equals Keras' default, for any batch."""
    rng = np.random.default_rng(seed)
    labels, logits = np.eye(c)[rng.integers(0, c, n)], rng.normal(0.0, 3.0, (n, c))
    keras = oracle.keras_categorical_crossentropy(labels=labels, logits=logits)
    assert keras.dtype == np.float32  # Keras computes in its floatx, float32, even for float64 inputs
    # ... as x - logsumexp(x), so its error is absolute: a few float32 eps times the logits' size
    atol = 8 * np.finfo(np.float32).eps * (1 + np.abs(logits).max())
    np.testing.assert_allclose(misuses.mean_example_losses(labels, logits), keras, rtol=1e-6, atol=atol)


@pytest.mark.parametrize("misuse", MISUSES, ids=lambda m: m.name)
def test_the_correct_formula_in_a_misuse_place_fails(misuse):
    """The diverging test can fail: TF's own op, put where the misuse was, does not diverge."""
    honest = dataclasses.replace(misuse, misused=misuse.reference)
    case = find(misuse_cases(honest, "float64" if "float64" in misuse.dtypes else misuse.dtypes[0], DIVERGING),
                lambda case: True)
    assert not run_misuse(honest, case).passed


def test_keras_rescues_from_logits_on_its_own_softmax():
    """keras_probabilities_with_from_logits's other half: on TF a Keras softmax's output carries
    its logits, and the loss told from_logits=True takes them (and warns): no double softmax."""
    from oracle import keras as keras_oracle
    from oracle import keras_misuses

    rng = np.random.default_rng(0)
    labels, logits = np.eye(4)[rng.integers(0, 4, 3)], rng.normal(0.0, 3.0, (3, 4))
    rescued = keras_misuses.softmax_then_categorical_crossentropy_from_logits(labels, logits)
    np.testing.assert_allclose(rescued, oracle.softmax_cross_entropy_with_logits(labels=labels, logits=logits),
                               rtol=1e-12, atol=1e-12)
    probabilities = oracle.softmax(logits=logits)  # as NumPy: nothing to recover
    doubled = keras_oracle.value("categorical_crossentropy", y_true=labels, y_pred=probabilities, from_logits=True)
    assert np.abs(doubled - rescued).max() > 0.1
