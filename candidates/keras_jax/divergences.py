"""Where Keras 3 on its JAX backend (keras 3.15.1, jax 0.10.2, CPU, float64 enabled) departs from
the same losses on its TensorFlow backend: measured, with evidence and the Keras source behind it."""

from __future__ import annotations

from tfparity.records import CandidateDivergence

DIVERGENCES: dict[str, tuple[CandidateDivergence, ...]] = {}
