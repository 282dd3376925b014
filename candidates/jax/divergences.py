"""Where JAX (jax.nn, optax) departs from TF on purpose: measured, with evidence."""

from __future__ import annotations

from tfparity.records import CandidateDivergence

DIVERGENCES: dict[str, tuple[CandidateDivergence, ...]] = {}
