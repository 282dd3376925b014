"""The shipped JAX candidate's own bookkeeping: what it compiles, as the report counts it."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("jax")
from candidates import jax as candidate  # after the skip: it needs the jax extra


def test_the_jax_candidate_counts_its_compiles_programs_and_releases(monkeypatch):
    """A new input signature (of a function or of its VJP) is one compile and one program; the
    same signature again is neither; past LIVE_SIGNATURES every compiled function is released,
    and a signature seen before compiles again without being a new program."""
    monkeypatch.setattr(candidate, "LIVE_SIGNATURES", 3)
    monkeypatch.setattr(candidate, "_signatures", set())
    before = candidate.work()
    x = np.linspace(-3, 3, 37, dtype=np.float32)  # a side no other test uses
    candidate.softmax(x)
    candidate.softmax(x + 1)  # values differ, the signature does not
    candidate.softmax_vjp(np.ones_like(x), x)
    candidate.softmax(x[:-1])
    assert {k: candidate.work()[k] - before[k] for k in before} == {"compiles": 3, "programs": 3, "releases": 0}
    candidate.softmax(x[:-2])  # a fourth signature: the three are released first
    candidate.softmax(x)  # compiled again, no new program
    assert {k: candidate.work()[k] - before[k] for k in before} == {"compiles": 5, "programs": 4, "releases": 1}
