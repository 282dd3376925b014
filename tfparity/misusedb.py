"""The misuse catalogue: one record per formula or call people write instead of a TF op or a
Keras loss, with where it diverges from the correct call, by how much, and when it happens to
coincide. The records live by family in `tfparity.misuses` (`tfnn`: the softmax family's ops,
the sources in ../shared/seeds warn about each; `keras`: Keras 3's losses); this module gathers
them.

A misuse case is a `Case` whose `op` names the misuse and whose `regime` is `diverging` (inputs
where the misuse must differ from the correct call beyond the match tolerance, and by the `gap`
law when there is one) or `coinciding` (inputs meeting the condition under which it equals it).
"""

from __future__ import annotations

from hypothesis import strategies as st

from tfparity.inputs import Case
from tfparity.misuses.common import (
    COINCIDING,
    CONFIDENT,
    DIVERGES_BY,
    DIVERGING,
    MATCH,
    MISUSE_DTYPES,
    Misuse,
)
from tfparity.misuses.keras import KERAS_MISUSES
from tfparity.misuses.tfnn import TF_NN_MISUSES

__all__ = ["BY_NAME", "COINCIDING", "CONFIDENT", "DIVERGES_BY", "DIVERGING", "KERAS_MISUSES", "MATCH",
           "MISUSES", "MISUSE_DTYPES", "TF_NN_MISUSES", "Misuse", "misuse_cases"]

MISUSES: tuple[Misuse, ...] = TF_NN_MISUSES + KERAS_MISUSES
BY_NAME = {m.name: m for m in MISUSES}


@st.composite
def misuse_cases(draw: st.DrawFn, misuse: Misuse, dtype: str, regime: str) -> Case:
    shape = draw(misuse.shapes(regime))
    return Case(misuse.name, dtype, tuple(shape), regime=regime, seed=draw(st.integers(0, 2**32 - 1)))
