"""TF's batch spread: how far TF's answer for a case moves when the case is batched with others.

Measured on this backend, per op x dtype x check, once per process: one batch per value regime
(ranks 1 to 4 in turn, `stacking.SIZE` cases), its first ALONE cases also run alone, the answers compared
under the check's own tolerance. `parity` is the largest share of the parity budget the move
spends, `accuracy` the largest move in accuracy slacks (floor ULPs plus ABS_SHARE of the absolute
budget). It is also the floor below which no parity tolerance can go: TF does not agree with
itself more closely.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

import oracle
from tfparity.accuracy import ABS_SHARE, spacing_of
from tfparity.backend import Backend
from tfparity.compare import as_scale, compare, ulp_distance
from tfparity.dtypes import as_constant
from tfparity.inputs import Case, cotangent
from tfparity.records import OpRecord
from tfparity.stacking import SIZE, members, stack

ALONE = 8  # cases of each sample batch also run alone
SAMPLE_SIDES = {1: (13,), 2: (5, 7), 3: (3, 2, 5), 4: (2, 3, 1, 4)}


@dataclass(frozen=True)
class Spread:
    """TF batched against TF alone, for one check, over the sample."""

    parity: float = 0.0
    accuracy: float = 0.0
    ulp: float = 0.0
    differing: int = 0
    elements: int = 0

    @property
    def zero(self) -> bool:
        return self.differing == 0

    def widen(self, parity: float, accuracy: float, ulp: float, differing: int, elements: int) -> Spread:
        return Spread(max(self.parity, parity), max(self.accuracy, accuracy), max(self.ulp, ulp),
                      self.differing + differing, self.elements + elements)


def sample(record: OpRecord, dtype: str, size: int) -> list[list[Case]]:
    """One batch per value regime, ranks 1 to 4 in turn."""
    return [members(Case(record.name, dtype, SAMPLE_SIDES[1 + i % 4], None, record.label_kinds[0], regime, 7 + i), size)
            for i, regime in enumerate(record.regimes)]


_MEASURED: dict[tuple[str, str, str], dict[str, Spread]] = {}


def measure(record: OpRecord, dtype: str, backend: Backend) -> dict[str, Spread]:
    """Per check, on `backend` (measured once per process)."""
    key = (record.name, dtype, backend.fingerprint)
    if key not in _MEASURED:
        _MEASURED[key] = _measure(record, dtype, backend)
    return _MEASURED[key]


def _measure(record: OpRecord, dtype: str, backend: Backend) -> dict[str, Spread]:
    spreads = {"value": Spread(), **{f"vjp_{n}": Spread() for n in record.grads}}
    with np.errstate(all="ignore"):
        for cases in sample(record, dtype, SIZE):
            each, stacked = stack(record, cases)
            draw = functools.cache(lambda shape, cases=cases: np.stack([cotangent(c, shape[1:]) for c in cases]))
            try:
                batched = record.tf_vjp(draw, **stacked)
                alone_all = [record.tf_vjp(functools.partial(cotangent, c), **kw)
                             for c, kw in zip(cases[:ALONE], each[:ALONE], strict=True)]
            except oracle.OracleError:  # a batch TF rejects is run singly by the engine
                continue
            for b, (case, kwargs, alone) in enumerate(zip(cases, each, alone_all, strict=False)):
                inputs = {k: as_constant(v) for k, v in kwargs.items() if k != "axis"}
                axis = case.class_axis if record.has_axis else -1
                scales = record.scales(inputs, axis, cotangent(case, np.shape(alone.value)))
                pairs = {"value": (batched.value[b], alone.value),
                         **{f"vjp_{n}": (batched[n][b].reshape(np.shape(alone[n])), alone[n]) for n in record.grads}}
                for check, (moved, single) in pairs.items():
                    spreads[check] = spreads[check].widen(*_apart(record, case, check, moved, single,
                                                                  scales.get(check, 0.0), backend))
    return spreads


def _apart(record: OpRecord, case: Case, check: str, moved: np.ndarray, single: np.ndarray, scale, backend: Backend):
    """(parity share, accuracy slacks, ULPs, elements differing, elements) between two TF answers."""
    tolerance = record.tolerance(check, case.dtype)
    scale = as_scale(scale, single.shape)
    comparison = compare(moved, single, tolerance, scale, flush=backend.flushes(case.dtype))
    a, b = moved.astype(np.float64), single.astype(np.float64)
    finite = np.isfinite(a) & np.isfinite(b)
    slack = tolerance.floor * spacing_of(b, single.dtype).astype(np.float64) + ABS_SHARE * tolerance.atol(single.dtype) * scale
    slacks = np.where(finite, np.abs(a - b) / slack, np.where(np.isnan(a) == np.isnan(b), 0.0, np.inf))
    ulps = np.where(finite, ulp_distance(moved, single), 0.0)
    differing = ~((a == b) | (np.isnan(a) & np.isnan(b)))
    return (comparison.budget_used, float(np.nan_to_num(slacks, nan=0.0).max(initial=0.0)), float(ulps.max(initial=0.0)),
            int(differing.sum()), int(differing.size))

