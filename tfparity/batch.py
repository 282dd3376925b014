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
from dataclasses import dataclass, replace
from types import ModuleType

import numpy as np

import impl
from tfparity import backend as backends
from tfparity import spread, wide
from tfparity.accuracy import Exact, exact_of, excused
from tfparity.backend import Backend
from tfparity.check import (
    CheckResult,
    Outcome,
    explained_mask,
    judge_raised,
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

BATCH, ALONE, CONFIRMED = "batch", "single", "confirmed"

def run_batch(record: OpRecord, cases: list[Case], candidate: ModuleType = impl,
              backend: Backend | None = None) -> list[list[CheckResult]]:
    """Every check of every case, as `run_case` would give it."""
    backend = backend or backends.current()
    with np.errstate(all="ignore"):
        if len(cases) < 2 or not all(batchable(c) for c in cases):
            return [run_case(record, case, candidate, backend) for case in cases]
        return _run_batch(record, cases, candidate, backend)


@dataclass(frozen=True)
class _Answers:
    """TF's answers for a batch: the values, and each VJP or the tape's error; `alone` when TF
    answered case by case (the batch was rejected), so no batch spread applies."""

    value: np.ndarray
    grads: dict[str, np.ndarray]
    tape: Outcome
    alone: bool = False


def _run_batch(record: OpRecord, cases: list[Case], candidate: ModuleType, backend: Backend) -> list[list[CheckResult]]:
    each, stacked = stack(record, cases)
    inputs = [{k: as_constant(v) for k, v in kwargs.items() if k != "axis"} for kwargs in each]
    answers = _answers(record, cases, each, stacked)
    if answers is None:
        return [run_case(record, case, candidate, backend) for case in cases]
    if isinstance(answers, Outcome):
        return _raised_alike(record, cases, each, inputs, stacked, answers, candidate, backend)
    g = np.stack([cotangent(case, answers.value.shape[1:]) for case in cases])
    value_fn, vjp_fn = record.candidate_functions(candidate)
    vjps = [f"vjp_{name}" for name in record.grads]
    tf_values = {"value": answers.value} | answers.grads
    mine: dict[str, list[Outcome]] = {check: [] for check in ["value", *vjps]}
    for kwargs, ct in zip(each, g, strict=True):
        value, grads = outcome(value_fn, **kwargs), outcome(vjp_fn, ct, **kwargs)
        mine["value"].append(value)
        for name in record.grads:
            mine[f"vjp_{name}"].append(pick(grads, name))
    keep = [b for b in range(len(cases)) if all(_usable(mine[check][b], tf_values[check]) for check in tf_values)]
    results: list[list[CheckResult]] = [[] for _ in cases]
    final = np.zeros(len(cases), bool)
    final[keep] = True
    if keep:
        scales = [record.scales(inputs[b], record_axis(record, cases[b]), g[b]) for b in keep]
        wheres = [_wheres(record, cases[b], inputs[b], backend) for b in keep]
        for check in tf_values:
            for b, result, stands in _judge_batch(record, cases, check, keep, inputs, stacked, g,
                                                  [m.value for m in mine[check]], tf_values[check], scales, wheres,
                                                  answers.alone, backend):
                results[b].append(result)
                final[b] &= stands
        for check in vjps if answers.tape.error else ():
            for b, result in _judge_raised(record, cases, check, keep, inputs, stacked, g, mine[check], answers.tape,
                                           scales, backend):
                results[b].append(result)
                final[b] &= result.passed
    return [results[b] if final[b] else [replace(r, path=CONFIRMED) for r in run_case(record, case, candidate, backend)]
            for b, case in enumerate(cases)]


def _answers(record: OpRecord, cases: list[Case], each: list[dict], stacked: dict) -> _Answers | Outcome | None:
    """As for one case, one tape gives the values and VJPs; where it fails, the forward call gives
    the values and every VJP check meets the tape's error. Where TF rejects the batch, the first
    case alone says why: its error (an error of the spec, the same for every case), or, where the
    batch itself was the trouble (its extra dimension past a kernel's rank limit, broadcast labels
    that no longer flatten), TF answers case by case. None: the cases' outcomes differ."""
    draw = functools.cache(lambda shape: np.stack([cotangent(case, shape[1:]) for case in cases]))
    tape = outcome(record.tf_vjp, draw, **stacked)
    forward = Outcome(tape.value.value) if not tape.error else outcome(record.tf, **stacked)
    if not forward.error:
        return _Answers(forward.value, {} if tape.error else {
            f"vjp_{n}": _per_case(tape.value[n], len(cases), each[0][n]) for n in record.grads}, tape)
    tapes = [outcome(record.tf_vjp, functools.partial(cotangent, case), **kwargs) for case, kwargs in
             zip(cases[:1], each[:1], strict=True)]
    first = Outcome(tapes[0].value.value) if not tapes[0].error else outcome(record.tf, **each[0])
    if first.error:
        return first if tapes[0].error and first.error == forward.error else None
    tapes += [outcome(record.tf_vjp, functools.partial(cotangent, case), **kwargs)
              for case, kwargs in zip(cases[1:], each[1:], strict=True)]
    if len({t.error for t in tapes}) > 1:
        return None
    if tapes[0].error:
        values = [outcome(record.tf, **kwargs) for kwargs in each]
        if any(v.error for v in values):
            return None
        return _Answers(np.stack([v.value for v in values]), {}, tapes[0], alone=True)
    grads = {f"vjp_{n}": np.stack([t.value[n] for t in tapes]) for n in record.grads}
    return _Answers(np.stack([t.value.value for t in tapes]), grads, tapes[0], alone=True)


def _wheres(record: OpRecord, case: Case, inputs: dict, backend: Backend) -> dict[str, object]:
    """Each applicable divergence's `where`, once per case for all its checks."""
    return {d.name: d.where(case, inputs) for d in record.divergences if d.applies(backend, case.dtype)}


def _raised_alike(record: OpRecord, cases: list[Case], each: list[dict], inputs: list[dict], stacked: dict,
                  alone: Outcome, candidate: ModuleType, backend: Backend) -> list[list[CheckResult]]:
    """TF rejects the spec (the first case alone raises as the batch did): every case meets that error."""
    value_fn = record.candidate_functions(candidate)[0]
    mine = [outcome(value_fn, **kwargs) for kwargs in each]
    return [[result] for _, result in _judge_raised(record, cases, "value", list(range(len(cases))), inputs, stacked,
                                                    None, mine, alone, None, backend)]


def _judge_raised(record: OpRecord, cases: list[Case], check: str, keep: list[int], inputs: list[dict], stacked: dict,
                  g: np.ndarray | None, mine: list[Outcome], tf: Outcome, scales: list[dict] | None, backend: Backend):
    """(case index, verdict) for one check where a side raised; where a divergence excuses TF, the
    candidates' values meet the exact answer in one evaluation over the batch."""
    verdicts = [judge_raised(record, cases[b], check, inputs[b], mine[b], tf, backend) for b in keep]
    excuse = [i for i, (_, needed) in enumerate(verdicts) if needed]
    details = {}
    if excuse:
        at = [keep[i] for i in excuse]
        got = np.stack([np.asarray(mine[b].value) for b in at])
        scale = np.stack([as_scale((scales[i] if scales else {}).get(check, 0.0), got.shape[1:]) for i in excuse])
        ex = _batch_exact(record, check, inputs, stacked, at, record_axis(record, cases[0]),
                          g if g is not None else np.zeros((len(cases), 0)), got.dtype, scale)
        details = dict(zip(excuse, excused(ex, got, np.ones(got.shape, bool), record.tolerance(check, cases[0].dtype),
                                           scale), strict=True))
    for i, (b, (result, _)) in enumerate(zip(keep, verdicts, strict=True)):
        yield b, replace(result, detail=details.get(i, result.detail), path=BATCH)


def record_axis(record: OpRecord, case: Case) -> int:
    return case.class_axis if record.has_axis else -1


def _judge_batch(record: OpRecord, cases: list[Case], check: str, keep: list[int], inputs: list[dict], stacked: dict,
                 g: np.ndarray, mine: list, tf: np.ndarray, scales: list[dict], wheres: list[dict], alone: bool,
                 backend: Backend):
    """(case index, its batched verdict, whether it stands) for one check of the kept cases."""
    want, got = tf[keep], np.stack([np.asarray(mine[b]) for b in keep])
    scale = np.stack([as_scale(s.get(check, 0.0), want.shape[1:]) for s in scales])
    mask_axis = cases[0].class_axis if record.has_axis else None
    masks = [(d.name, np.stack([explained_mask(where[d.name], want.shape[1:], mask_axis) for where in wheres]))
             for d in record.divergences_for(cases[0], check, backend)]
    ex = _batch_exact(record, check, inputs, stacked, keep, record_axis(record, cases[0]), g, want.dtype, scale)
    verdicts, headroom = judge_values(record, [cases[b] for b in keep], check, got, want, masks, ex, scale,
                                      backend.flushes(cases[0].dtype))
    limit = spread.measure(record, cases[0].dtype, backend)[check]
    for i, (b, result) in enumerate(zip(keep, verdicts, strict=True)):
        stands = result.verdict == "pass" and (alone or limit.zero or (
            result.comparison.budget_used + limit.parity <= 1 and headroom[i] >= limit.accuracy))
        yield b, (replace(result, path=ALONE) if alone else
                  replace(result, path=BATCH, batch_spread=limit.parity, batch_spread_ulp=limit.ulp)), bool(stands)


def _per_case(grad: np.ndarray | None, size: int, single: object) -> np.ndarray | None:
    """A batched gradient with each case's slice in its single input's shape."""
    return None if grad is None else grad.reshape(size, *np.shape(single))


def _usable(mine: Outcome, tf: np.ndarray | None) -> bool:
    """The candidate gave a value of TF's per-case shape and dtype."""
    return (tf is not None and not mine.error and mine.value is not None
            and np.shape(mine.value) == tf.shape[1:] and np.asarray(mine.value).dtype == tf.dtype)


def _batch_exact(record: OpRecord, check: str, inputs: list[dict], stacked: dict, keep: list[int], axis: int, g: np.ndarray,
                 dtype: np.dtype, scale: np.ndarray) -> Exact:
    """The exact answer over the kept cases at once; mpmath per case where it must decide."""
    stacked_axis = axis + 1 if axis >= 0 else axis
    batch_inputs = {name: np.asarray(value)[keep] for name, value in stacked.items() if name != "axis"}
    cts = g[keep] if g.size else None
    value = np.asarray(record.wide(check, batch_inputs, stacked_axis, cts)).reshape(scale.shape)
    bound = wide.bound(value, scale) if wide.USABLE else np.full(value.shape, np.inf, wide.WIDE)

    @functools.cache
    def precise(index: tuple[int, ...]):
        b = keep[index[0]]
        one = exact_of(record.exact, record.wide, check, inputs[b], axis, None if cts is None else g[b], dtype,
                       scale[index[0]])
        return one.precise((0, *index[1:]))
    return Exact(value, bound, precise, np.dtype(dtype))
