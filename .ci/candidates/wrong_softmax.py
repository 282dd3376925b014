"""A deliberately wrong candidate for CI's corpus step: impl with softmax 2^-10 too large."""

import impl
from impl import *  # every other op is impl's


def softmax(logits, axis=None):
    return (impl.softmax(logits, axis) * (1 + 2.0**-10)).astype(logits.dtype)
