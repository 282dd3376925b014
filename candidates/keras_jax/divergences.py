"""Where Keras 3 on its JAX backend (keras 3.15.1, jax 0.10.2, CPU, float64 enabled) departs from
the same losses on its TensorFlow backend: measured, each with the Keras source behind it.

Not yet named (seen on a 12-case-per-record-and-dtype sample of the sweep, or expected from the
source; the ci run is pending): float32 gradients of the binary losses about 2 ULP from exact
where TF is within 1 (XLA's rounding); float16 binary_focal_crossentropy gradients inf where TF
is finite (p near the clip bound of 1); binary_focal_crossentropy(from_logits=True), where on
JAX Keras never recovers the sigmoid's logits (TF's `_get_logits` does, through
`_keras_logits`) and clips sigmoid probabilities where TF uses sigmoid_cross_entropy_with_logits;
the categorical focal losses; the two pipelines (softmax/sigmoid then the loss), where TF
recovers the logits and JAX does not (TF's divergence excuses TF: JAX is held to exact).
"""

from __future__ import annotations

from candidates.keras_jax import activations, binary, categorical
from tfparity.records import CandidateDivergence

DIVERGENCES: dict[str, tuple[CandidateDivergence, ...]] = {
    **categorical.DIVERGENCES, **binary.DIVERGENCES, **activations.DIVERGENCES}
