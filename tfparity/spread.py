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
from types import ModuleType

import numpy as np

import oracle
from tfparity import backend as backends
from tfparity.accuracy import ABS_SHARE, spacing_of
from tfparity.backend import Backend
from tfparity.compare import as_scale, compare, ulp_distance
from tfparity.inputs import Case, cotangent
from tfparity.records import OpRecord
from tfparity.stacking import SIZE, members, stack, tiled

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
    """One batch per value regime, ranks 1 to 4 in turn, half of them with broadcast labels
    where the op takes them."""
    return [members(Case(record.name, dtype, SAMPLE_SIDES[1 + i % 4], None, record.label_kinds[0], regime, 7 + i,
                         broadcast=record.broadcast_labels and i % 2 == 1), size)
            for i, regime in enumerate(record.regimes)]


_MEASURED: dict[tuple, dict[str, Spread]] = {}


def measure(record: OpRecord, dtype: str, backend: Backend) -> dict[str, Spread]:
    """Per check, on `backend` (measured once per process); none where TF's answers come from a
    corpus, whose stacked answers are its single ones."""
    if backends.from_corpus(backend):
        return {check: Spread() for check in record.checks}
    key = (record.name, record.checks, dtype, backend.fingerprint)
    if key not in _MEASURED:
        _MEASURED[key] = _measure(record, dtype, backend)
    return _MEASURED[key]


def _measure(record: OpRecord, dtype: str, backend: Backend) -> dict[str, Spread]:
    spreads = {check: Spread() for check in record.checks}
    with np.errstate(all="ignore"):
        for cases in sample(record, dtype, SIZE):
            each, stacked = stack(record, cases)
            draw = functools.cache(lambda shape, cases=cases: np.stack([cotangent(c, shape[1:]) for c in cases]))
            try:
                batched, alone_all = _both(record, cases, each, stacked, draw)
            except oracle.OracleError:  # a batch TF rejects is run singly by the engine
                continue
            for b, (case, kwargs, alone) in enumerate(zip(cases, each, alone_all, strict=False)):
                inputs = record.tensors(kwargs)
                scales = record.scales(inputs, record.class_axis(case), cotangent(case, np.shape(alone["value"])))
                for check, single in alone.items():
                    moved = batched[check][b].reshape(np.shape(single))
                    spreads[check] = spreads[check].widen(*_apart(record, case, check, moved, single,
                                                                  scales.get(check, 0.0), backend))
    return spreads


def _both(record: OpRecord, cases: list[Case], each: list[dict], stacked: dict, draw) -> tuple[dict, list[dict]]:
    """TF's answers per check for the batch, and for its first ALONE cases alone: values only
    where the batch tiles its labels (its tape is not TF's answer for them)."""
    if tiled(cases[0]):
        return ({"value": record.tf(**stacked)},
                [{"value": record.tf(**kwargs)} for kwargs in each[:ALONE]])
    def checks(grads) -> dict:
        return {"value": grads.value, **{f"vjp_{n}": grads[n] for n in record.grads}}
    return (checks(record.tf_vjp(draw, **stacked)),
            [checks(record.tf_vjp(functools.partial(cotangent, c), **kw)) for c, kw in zip(cases[:ALONE], each[:ALONE],
                                                                                           strict=True)])


def _apart(record: OpRecord, case: Case, check: str, moved: np.ndarray, single: np.ndarray, scale, backend: Backend):
    """(parity share, accuracy slacks, ULPs, elements differing, elements) between two TF answers."""
    tolerance = record.tolerance(check, case.dtype)
    scale = as_scale(scale, single.shape)
    comparison = compare(moved, single, tolerance, scale, flush=record.flushes(backend, check, case.dtype))
    a, b = moved.astype(np.float64), single.astype(np.float64)
    finite = np.isfinite(a) & np.isfinite(b)
    slack = tolerance.floor * spacing_of(b, single.dtype).astype(np.float64) + ABS_SHARE * tolerance.atol(single.dtype) * scale
    slacks = np.where(finite, np.abs(a - b) / slack, np.where(np.isnan(a) == np.isnan(b), 0.0, np.inf))
    ulps = np.where(finite, ulp_distance(moved, single), 0.0)
    differing = ~((a == b) | (np.isnan(a) & np.isnan(b)))
    return (comparison.budget_used, float(np.nan_to_num(slacks, nan=0.0).max(initial=0.0)), float(ulps.max(initial=0.0)),
            int(differing.sum()), int(differing.size))


_ALIKE: dict[tuple[str, str, str], bool] = {}


def candidate_alike(record: OpRecord, dtype: str, candidate: ModuleType) -> bool:
    """Whether the candidate gives each sample case, batched, bit for bit what it gives the case
    alone (values and VJPs): then the engine calls it once per batch, else once per case."""
    key = (candidate.__name__, record.name, dtype)
    if key not in _ALIKE:
        with np.errstate(all="ignore"):
            _ALIKE[key] = all(_alike(record, cases, candidate) for cases in sample(record, dtype, SIZE))
    return _ALIKE[key]


def _alike(record: OpRecord, cases: list[Case], candidate: ModuleType) -> bool:
    value_fn, vjp_fn = record.candidate_functions(candidate)
    each, stacked = stack(record, cases)
    try:
        value = np.asarray(value_fn(**stacked))
        g = np.stack([cotangent(case, value.shape[1:]) for case in cases])
        grads = vjp_fn(g, **stacked)
        for b, (kwargs, ct) in enumerate(zip(each[:ALONE], g, strict=False)):
            alone_grads = vjp_fn(ct, **kwargs)
            pairs = [(value[b], value_fn(**kwargs))] + [
                (np.asarray(grads[n])[b].reshape(np.shape(alone_grads[n])), alone_grads[n]) for n in record.grads]
            if not all(_same(np.asarray(x), np.asarray(y)) for x, y in pairs):
                return False
    except Exception:  # noqa: BLE001  (a candidate that cannot take a batch is called per case)
        return False
    return True


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(
        a.astype(np.float64), b.astype(np.float64), equal_nan=True)
