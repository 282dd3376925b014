"""Stacking cases into one TF call: which cases form a batch, and their stacked arguments."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tfparity.inputs import Case
from tfparity.records import ERROR_PREFIX, OpRecord

SIZE = 32  # cases per TF call


def members(case: Case, size: int = SIZE) -> list[Case]:
    """The batch a drawn case stands for: it and the next seeds."""
    return [replace(case, seed=(case.seed + i) % 2**32) for i in range(size)]


def batchable(case: Case) -> bool:
    """Error inputs keep their exact calls."""
    return not case.regime.startswith(ERROR_PREFIX)


def stack(record: OpRecord, cases: list[Case]) -> tuple[list[dict], dict]:
    """Each case's keyword arguments, and the batch's: inputs stacked on a new axis 0 (scalars and
    broadcast labels given the logits' rank first), a non-negative axis moved by one."""
    each = [record.arguments(case) for case in cases]
    rank = len(cases[0].shape)
    stacked: dict[str, object] = {}
    for name, value in each[0].items():
        if name == "axis":
            stacked[name] = value + 1 if value >= 0 else value
            continue
        aligned = name in record.scalars or (cases[0].broadcast and name == "labels")
        values = np.stack([np.reshape(kwargs[name], (1,) * (rank - np.ndim(value)) + np.shape(value)) if aligned
                           else kwargs[name] for kwargs in each])
        stacked[name] = values
    return each, stacked


