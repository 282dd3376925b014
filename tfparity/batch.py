"""Many cases per TF call: the bulk value fuzzing's engine.

A batch is cases that differ only in their seed. Their inputs are stacked on a new leading axis
and TF runs once (one tape gives every value and VJP); the candidate runs per case, as users
call it. Each case is then judged on its slice, vectorized across the batch.

TF's answer for a case depends on what it is batched with (Eigen's vector and scalar paths,
reduction blocking): `tfparity.spread` measures by how much, per op x dtype x check, on this
backend. A batched verdict stands only when it is a pass with headroom for that spread, in
the parity budget and in the accuracy slack; every other case (a failure, a near miss, a known
divergence at work, a batch TF rejects) is run again singly, and that verdict is the one
reported, with its replay. Where the spread is 0, batched answers are TF's single answers.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from types import ModuleType

import numpy as np

import impl
from tfparity import backend as backends
from tfparity import spread, wide
from tfparity.accuracy import Exact, exact_of
from tfparity.backend import Backend
from tfparity.check import (
    CheckResult,
    Outcome,
    explained,
    judge_values,
    outcome,
    pick,
    run_case,
)
from tfparity.compare import as_scale
from tfparity.dtypes import as_constant
from tfparity.inputs import Case, cotangent
from tfparity.records import OpRecord
from tfparity.stacking import batchable, stack

BATCH, CONFIRMED = "batch", "confirmed"

def run_batch(record: OpRecord, cases: list[Case], candidate: ModuleType = impl,
              backend: Backend | None = None) -> list[list[CheckResult]]:
    """Every check of every case, as `run_case` would give it."""
    backend = backend or backends.current()
    with np.errstate(all="ignore"):
        if len(cases) < 2 or not all(batchable(c) for c in cases):
            return [run_case(record, case, candidate, backend) for case in cases]
        return _run_batch(record, cases, candidate, backend)


def _run_batch(record: OpRecord, cases: list[Case], candidate: ModuleType, backend: Backend) -> list[list[CheckResult]]:
    each, stacked = stack(record, cases)
    draw = functools.cache(lambda shape: np.stack([cotangent(case, shape[1:]) for case in cases]))
    tf = outcome(record.tf_vjp, draw, **stacked)
    if tf.error:
        return [run_case(record, case, candidate, backend) for case in cases]
    grads = tf.value
    g = draw(grads.value.shape)
    value_fn, vjp_fn = record.candidate_functions(candidate)
    inputs = [{k: as_constant(v) for k, v in kwargs.items() if k != "axis"} for kwargs in each]
    axis = cases[0].class_axis if record.has_axis else -1
    checks = ["value", *(f"vjp_{name}" for name in record.grads)]
    tf_values = {"value": grads.value, **{f"vjp_{n}": _per_case(grads[n], len(cases), each[0][n]) for n in record.grads}}
    mine: dict[str, list[Outcome]] = {check: [] for check in checks}
    for case, kwargs, ct in zip(cases, each, g, strict=True):
        value, vjps = outcome(value_fn, **kwargs), outcome(vjp_fn, ct, **kwargs)
        mine["value"].append(value)
        for name in record.grads:
            mine[f"vjp_{name}"].append(pick(vjps, name))
    single = {b for b, case in enumerate(cases) if any(
        not _usable(mine[check][b], tf_values[check]) or any(
            mask.any() for _, mask in explained(record, case, check, inputs[b], tf_values[check][b].shape, backend))
        for check in checks)}
    keep = [b for b in range(len(cases)) if b not in single]
    results: list[list[CheckResult]] = [[] for _ in cases]
    final = np.ones(len(cases), bool)
    if keep:
        spreads = spread.measure(record, cases[0].dtype, backend)
        scales = [record.scales(inputs[b], axis, g[b]) for b in keep]
        batch_inputs = {k: as_constant(v)[keep] for k, v in stacked.items() if k != "axis"}
        for check in checks:
            want = tf_values[check][keep]
            got = np.stack([np.asarray(mine[check][b].value) for b in keep])
            scale = np.stack([as_scale(s.get(check, 0.0), want.shape[1:]) for s in scales])
            ex = _batch_exact(record, check, inputs, batch_inputs, keep, axis, g, want.dtype, scale)
            verdicts, headroom = judge_values(record, [cases[b] for b in keep], check, got, want, [], ex, scale,
                                              backend.flushes(cases[0].dtype))
            limit = spreads[check]
            for i, (b, result) in enumerate(zip(keep, verdicts, strict=True)):
                results[b].append(replace(result, path=BATCH, batch_spread=limit.parity, batch_spread_ulp=limit.ulp))
                stands = result.verdict == "pass" and (limit.zero or (
                    result.comparison.budget_used + limit.parity <= 1 and headroom[i] >= limit.accuracy))
                final[b] &= bool(stands)
    return [results[b] if b not in single and final[b] else
            [replace(r, path=CONFIRMED) for r in run_case(record, case, candidate, backend)]
            for b, case in enumerate(cases)]


def _per_case(grad: np.ndarray | None, size: int, single: object) -> np.ndarray | None:
    """A batched gradient with each case's slice in its single input's shape."""
    return None if grad is None else grad.reshape(size, *np.shape(single))


def _usable(mine: Outcome, tf: np.ndarray | None) -> bool:
    """The candidate gave a value of TF's per-case shape and dtype."""
    return (tf is not None and not mine.error and mine.value is not None
            and np.shape(mine.value) == tf.shape[1:] and np.asarray(mine.value).dtype == tf.dtype)


def _batch_exact(record: OpRecord, check: str, inputs: list[dict], batch_inputs: dict, keep: list[int],
                 axis: int, g: np.ndarray, dtype: np.dtype, scale: np.ndarray) -> Exact:
    """The exact answer over the kept cases at once; mpmath per case where it must decide."""
    stacked_axis = axis + 1 if axis >= 0 else axis
    value = np.asarray(record.wide(check, batch_inputs, stacked_axis, g[keep])).reshape(scale.shape)
    bound = wide.bound(value, scale) if wide.USABLE else np.full(value.shape, np.inf, wide.WIDE)

    @functools.cache
    def precise(index: tuple[int, ...]):
        b = keep[index[0]]
        return exact_of(record.exact, record.wide, check, inputs[b], axis, g[b], dtype, scale[index[0]]).precise((0, *index[1:]))
    return Exact(value, bound, precise, np.dtype(dtype))
