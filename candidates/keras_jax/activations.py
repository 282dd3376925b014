"""Where Keras on JAX departs from TF in keras.activations.softmax / log_softmax and
keras.layers.Softmax."""

from __future__ import annotations

from tfparity.records import CandidateDivergence

DIVERGENCES: dict[str, tuple[CandidateDivergence, ...]] = {}
