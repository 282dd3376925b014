"""The keras_jax candidate (Keras 3's losses on its JAX backend, in a worker process): its
divergences hold on their evidence, what the backends give alike matches, and the worker keeps
TF out, re-raises argument errors as Python's and restarts after a crash."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("jax")
from candidates import keras_jax  # after the skip: it needs the jax extra
from tests.test_candidates import _answer, _near
from tests.test_divergences import _call
from tfparity.compare import Tolerance, compare
from tfparity.opdb import BY_NAME

DIVERGENCES = {d.name: d for ds in keras_jax.DIVERGENCES.values() for d in ds}
EXACT_DTYPE = Tolerance(1)  # the evidence's own dtype, within an ULP


@pytest.mark.parametrize("name", sorted(DIVERGENCES))
def test_each_divergence_holds_on_its_evidence(name):
    """The candidate gives `candidate` (dtype included), TF gives `tf`, and the two differ."""
    divergence = DIVERGENCES[name]
    assert divergence.evidence and divergence.what
    for ev in divergence.evidence:
        record = BY_NAME[ev.op]
        mine = _answer(_call, *record.candidate_functions(keras_jax), record, ev)
        tf = _answer(_call, record.tf, record.tf_vjp, record, ev)
        assert _near(mine, ev.candidate, EXACT_DTYPE), f"{name}: the candidate gives {mine!r}"
        assert _near(tf, ev.tf, EXACT_DTYPE), f"{name}: TF gives {tf!r}"
        if isinstance(mine, str) or isinstance(tf, str):
            differ = not _near(mine, tf, EXACT_DTYPE)
        else:
            differ = mine.dtype != tf.dtype or not np.array_equal(mine, tf.astype(mine.dtype))
        assert differ or not _near(tf, ev.exact, EXACT_DTYPE, same_dtype=False), f"{name} vanished"


def test_float64_mean_bound_covers_its_evidence_and_no_more_than_float32():
    """The bound is float32's rounding at the scale of the terms (here about 1): the evidence is
    within it, an answer off by 16 float32 eps is not."""
    ev = DIVERGENCES["keras_jax_float64_mean_in_float32"].evidence[0]
    bound = DIVERGENCES["keras_jax_float64_mean_in_float32"].within
    got, tf = np.atleast_1d(ev.candidate), np.atleast_1d(ev.tf)
    assert compare(got, tf, bound, scale=1.0, flush=False).passed
    assert not compare(tf * (1 + 16 * 2.0**-23), tf, bound, scale=1.0, flush=False).passed


def test_what_both_backends_compute_alike_matches_within_an_ulp():
    """Keras's documented example (probabilities, float32): the same clip, log and sum on both
    backends, XLA's rounding aside (0.10536055 on JAX, 0.10536054 on TF: 1 ULP)."""
    y = np.eye(3, dtype=np.float32)
    p = np.array([[0.9, 0.05, 0.05], [0.05, 0.89, 0.06], [0.05, 0.01, 0.94]], np.float32)
    record = BY_NAME["categorical_crossentropy:probabilities"]
    mine = keras_jax.categorical_crossentropy(y, p)
    assert compare(mine, np.asarray(record.tf(y_true=y, y_pred=p)), Tolerance(1), flush=False).passed
    assert mine.dtype == np.float32
    np.testing.assert_allclose(np.around(mine, 5), [0.10536, 0.11653, 0.06188])


def test_the_worker_runs_keras_on_jax_without_tensorflow():
    keras_jax.binary_crossentropy(np.ones(3, np.float32), np.full(3, 0.3, np.float32))
    info = keras_jax.worker_info()
    assert info["backend"] == "jax" and info["tf_imported"] is False, info


def test_an_argument_error_is_raised_as_pythons_and_a_crash_restarts_the_worker():
    with pytest.raises(ValueError, match="same shape"):
        keras_jax.categorical_crossentropy(np.ones((2, 3), np.float32), np.ones((2, 4), np.float32))
    keras_jax._worker.process.kill()
    keras_jax._worker.process.wait()
    got = keras_jax.binary_crossentropy(np.ones(2, np.float32), np.full(2, 0.5, np.float32))
    np.testing.assert_allclose(got, np.log(2.0), rtol=1e-6)
