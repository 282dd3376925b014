"""Stacking cases into one TF call: which cases form a batch, and their stacked arguments."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tfparity.inputs import Case, label_shape
from tfparity.records import ERROR_PREFIX, OpRecord

SIZE = 128  # cases per TF call


def members(case: Case, size: int = SIZE) -> list[Case]:
    """The batch a drawn case stands for: it and the next seeds."""
    return [replace(case, seed=(case.seed + i) % 2**32) for i in range(size)]


def signatures(cases: list[Case]) -> list[list[Case]]:
    """Cases grouped to stack, in their order: one dtype, shape, axis, label kind and broadcast
    (their regimes and seeds may differ); error inputs each alone."""
    groups: dict[tuple, list[Case]] = {}
    for case in cases:
        groups.setdefault(signature(case) if batchable(case) else (case,), []).append(case)
    return list(groups.values())


def signature(case: Case) -> tuple:
    """What cases share to stack (and a compiling mode's program): dtype, shape, axis, label kind
    and broadcast."""
    return case.dtype, case.shape, case.axis, case.labels, case.broadcast


def batchable(case: Case) -> bool:
    """Error inputs keep their exact calls."""
    return not case.regime.startswith(ERROR_PREFIX)


def tiled(case: Case) -> bool:
    """Whether a batch of `case` tiles its labels: its values are TF's, but not its tape, which
    rejects broadcast labels (known divergence softmax_ce_broadcast_labels_no_gradient)."""
    return case.broadcast and label_shape(case) != case.shape


def shifted(axis: int) -> int:
    """A case's axis in its batch: a non-negative one moves past the new leading axis."""
    return axis + 1 if axis >= 0 else axis


def stack(record: OpRecord, cases: list[Case]) -> tuple[list[dict], dict]:
    """Each case's keyword arguments, and the batch's: inputs stacked on a new axis 0 (scalars given
    the logits' rank, broadcast labels tiled to the logits' shape: TF flattens the outer dimensions
    of both, which a batch of broadcasts would not survive), a non-negative axis moved by one."""
    each = [record.arguments(case) for case in cases]
    rank = len(cases[0].shape)
    stacked: dict[str, object] = {}
    for name, value in each[0].items():
        if name == "axis":
            stacked[name] = shifted(value)
            continue
        if name in record.options:
            stacked[name] = value
            continue
        if name in record.scalars:
            values = [np.reshape(kwargs[name], (1,) * rank) for kwargs in each]
        elif tiled(cases[0]) and name == "labels":
            values = [np.broadcast_to(np.reshape(kwargs[name], (1,) * (rank - np.ndim(value)) + np.shape(value)),
                                      cases[0].shape) for kwargs in each]
        else:
            values = [kwargs[name] for kwargs in each]
        stacked[name] = np.stack(values)
    return each, stacked


