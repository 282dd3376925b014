"""The keras_jax candidate (Keras 3's losses on its JAX backend, in a worker process): its bounds,
what the backends give alike, the sigmoid its conditions read, and the worker, which keeps TF out,
re-raises argument errors as Python's and restarts after a crash. (Its divergences' evidence is
re-measured with every shipped candidate's, in tests/test_candidates.py.)"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("jax")
from candidates import keras_jax  # after the skip: it needs the jax extra
from candidates.keras_jax import binary
from tfparity.compare import Tolerance, compare
from tfparity.opdb import BY_NAME

DIVERGENCES = {d.name: d for ds in keras_jax.DIVERGENCES.values() for d in ds}


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


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_the_clip_edge_reads_the_sigmoid_jax_computes(dtype):
    """The sigmoid the binary divergences' conditions read is jax.nn.sigmoid's, bit for bit, in
    the half types (1 from x = 5.5625 in bfloat16, where the rounded exact sigmoid is below 1)."""
    import jax

    x = np.linspace(-30, 30, 60001).astype(dtype)
    jax_sigmoid = np.asarray(jax.jit(jax.nn.sigmoid)(x)).astype(np.float64)
    assert np.array_equal(binary._jax_sigmoid(x.astype(np.float64), np.dtype(dtype)), jax_sigmoid)
    rounded = (1.0 / (1.0 + np.exp(-x.astype(np.float64)))).astype(dtype).astype(np.float64)
    assert not np.array_equal(rounded, jax_sigmoid), "the correctly rounded sigmoid is not the one JAX gives"


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
