"""Many cases per TF call: the bulk value fuzzing's engine.

A batch is cases of one dtype, shape, axis and label kind (the fuzz's differ only in their seed,
the sweep's in their regimes too). Their inputs are stacked on a new leading axis
and TF runs once (one tape gives every value and VJP); the candidate runs per case, as users
call it, unless it declares itself batchable (`batchable_candidate`). Each case is then judged on
its slice, vectorized across the batch.

TF's answer for a case depends on what it is batched with (Eigen's vector and scalar paths,
reduction blocking): `tfparity.spread` measures by how much, per op x dtype x check, on this
backend. A batched verdict stands only when it is a pass with headroom for that spread, in
the parity budget and in the accuracy slack; every other case (a failure, a near miss) is
answered by TF alone and judged again, and that verdict is the one reported, with its replay.
Where TF rejects a batch, it takes another form (joined along an existing axis) or TF answers
case by case. Where the spread is 0, batched answers are TF's single answers.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
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
    departs,
    explained_mask,
    for_candidate,
    for_check,
    judge_raised,
    judge_values,
    meets_exact,
    not_provided,
    outcome,
    pick,
    run_case,
    single,
)
from tfparity.compare import as_scale
from tfparity.inputs import Case, cotangent
from tfparity.records import OpRecord
from tfparity.stacking import batchable, shifted, stack, tiled

BATCH, ALONE, CONFIRMED = "batch", "single", "confirmed"

def run_batch(record: OpRecord, cases: list[Case], candidate: ModuleType = impl,
              backend: Backend | None = None, tf_alone: bool = False) -> list[list[CheckResult]]:
    """Every check of every case, as `run_case` would give it. `tf_alone`: TF answers each case in
    its own call (where it compiles per shape, the cases' own program serves them all) and the
    batch is judged together."""
    backend = backend or backends.current()
    with np.errstate(all="ignore"):
        if len(cases) < 2 or not record.stacks or not all(batchable(c) for c in cases):
            return [run_case(record, case, candidate, backend) for case in cases]
        batch = _run_batch(for_candidate(record, candidate), cases, candidate, backend, alone=tf_alone)
    return [results + not_provided(record, candidate, results) for results in batch]


@dataclass(frozen=True)
class _Answers:
    """TF's answers for a batch: the values, and each VJP or the tape's error; `alone` when TF
    answered case by case (the batch was rejected), so no batch spread applies."""

    value: np.ndarray
    grads: dict[str, np.ndarray]
    tape: Outcome
    alone: bool = False
    cotangents: np.ndarray | None = None  # the stacked cotangents the tape was given, when it ran on the batch


def _run_batch(record: OpRecord, cases: list[Case], candidate: ModuleType, backend: Backend,
               alone: bool = False) -> list[list[CheckResult]]:
    each, stacked = stack(record, cases)
    inputs = [record.tensors(kwargs) for kwargs in each]
    answers = _answers(record, cases, each, stacked, alone)
    if answers is None:
        return [single(record, case, candidate, backend) for case in cases]
    if isinstance(answers, Outcome):
        return _raised_alike(record, cases, each, inputs, stacked, answers, candidate, backend)
    g = answers.cotangents if answers.cotangents is not None else np.stack(
        [cotangent(case, answers.value.shape[1:]) for case in cases])
    vjps = record.checks[1:]
    tf_values = {"value": answers.value} | answers.grads
    mine, whole = _candidate(record, cases, each, stacked, g, candidate)
    if whole and all(whole[c].shape == tf_values[c].shape and whole[c].dtype == tf_values[c].dtype for c in tf_values):
        keep = list(range(len(cases)))
    else:
        whole = None
        keep = [b for b in range(len(cases)) if all(_usable(mine[check][b], tf_values[check]) for check in tf_values)]
    results: list[list[CheckResult]] = [[] for _ in cases]
    final = np.zeros(len(cases), bool)
    final[keep] = True
    if keep:
        values, axis = record.tensors(stacked), shifted(record.class_axis(cases[0]))
        scales, own_scales = record.scales(values, axis, g), record.own_scales(values, axis, g)
        applicable = [d for d in record.divergences if d.applies(backend, cases[0].dtype)]
        wheres = {d.name: [d.where(cases[b], inputs[b]) for b in keep] for d in applicable}
        wheres = {name: marks for name, marks in wheres.items() if any(np.any(m) for m in marks)}  # False explains nothing
        for check in tf_values:
            for b, result, stands in _judge_batch(record, cases, check, keep, inputs, stacked, g,
                                                  whole[check] if whole else [m.value for m in mine[check]],
                                                  tf_values[check], (scales, own_scales), wheres,
                                                  answers.alone, backend):
                results[b].append(result)
                final[b] &= stands or answers.alone  # TF's own answer for the case: its verdict stands
        for check in vjps if answers.tape.error else ():
            for b, result in _judge_raised(record, cases, check, keep, inputs, stacked, g, mine[check], answers.tape,
                                           (scales, own_scales), backend, ALONE if answers.alone else BATCH):
                results[b].append(result)
                final[b] &= result.passed or answers.alone
    # Where the candidate raised for a value TF gives, that is the verdict (as for one case) however
    # TF's numbers move with the batch.
    raised = [b for b in range(len(cases)) if b not in keep and mine["value"][b].error]
    for b, result in _judge_raised(record, cases, "value", raised, inputs, stacked, None, mine["value"],
                                   Outcome(answers.value), None, backend, ALONE if answers.alone else BATCH):
        results[b], final[b] = [result], True
    pending = [b for b in range(len(cases)) if not final[b]]
    if pending and not alone:  # confirmed with TF's answers case by case, judged together
        for b, checks in zip(pending, _run_batch(record, [cases[b] for b in pending], candidate, backend, alone=True),
                             strict=True):
            results[b], final[b] = [replace(r, path=CONFIRMED) for r in checks], True
    return [results[b] if final[b] else [replace(r, path=CONFIRMED) for r in single(record, case, candidate, backend)]
            for b, case in enumerate(cases)]


def batchable_candidate(candidate: ModuleType) -> bool:
    """A candidate declares `BATCHABLE = True` when its answer for a case is the same alone or
    stacked with others on a new leading axis (impl: NumPy along the named axes). Others are
    called once per case, as their users call them: a batch could take other code paths."""
    return getattr(candidate, "BATCHABLE", False) is True


def _candidate(record: OpRecord, cases: list[Case], each: list[dict], stacked: dict, g: np.ndarray,
               candidate: ModuleType) -> tuple[dict[str, list[Outcome]], dict[str, np.ndarray] | None]:
    """The candidate's outcome per check and case, and its whole answer per check when one call
    on the batch gave it: where the candidate declares itself batchable and answers the spread's
    sample alike (`spread.candidate_alike`); else one call per case."""
    value_fn, vjp_fn = record.candidate_functions(candidate)
    checks = record.checks
    if batchable_candidate(candidate) and spread.candidate_alike(record, cases[0].dtype, candidate) and not tiled(cases[0]):
        value, grads = outcome(value_fn, **stacked), outcome(vjp_fn, g, **stacked)
        if not (value.error or grads.error) and np.shape(value.value)[:1] == (len(cases),):
            split = {"value": np.asarray(value.value)} | {
                f"vjp_{n}": _per_case(np.asarray(grads.value[n]), len(cases), each[0][n]) for n in record.grads}
            return {check: [Outcome(v) for v in split[check]] for check in checks}, split
    mine: dict[str, list[Outcome]] = {check: [] for check in checks}
    for kwargs, ct in zip(each, g, strict=True):
        value, grads = outcome(value_fn, **kwargs), outcome(vjp_fn, ct, **kwargs)
        mine["value"].append(value)
        for name in record.grads:
            mine[f"vjp_{name}"].append(pick(grads, name))
    return mine, None


def _answers(record: OpRecord, cases: list[Case], each: list[dict], stacked: dict,
             alone: bool = False) -> _Answers | Outcome | None:
    """As for one case, one tape gives the values and VJPs; where it fails, the forward call gives
    the values and every VJP check meets the tape's error. Where TF rejects the batch (or `alone`
    asks), TF answers case by case; the first case says whether its error is one of the spec (a
    negative axis, a tape that cannot take broadcast labels), which every case then meets, or the
    batch's own (its extra dimension past a kernel's rank limit, broadcast labels that no longer
    flatten). None: the cases' outcomes differ."""
    raised, first = None, None
    if tiled(cases[0]) and not alone:  # the values come from the batch, the tape's answer from the first case
        tape = first = outcome(record.tf_vjp, functools.partial(cotangent, cases[0]), **each[0])
        if tape.error:
            forward = outcome(record.tf, **stacked)
            if not forward.error:
                return _Answers(forward.value, {}, tape)
            raised = forward.error
        alone = True
    if not alone:
        draw = functools.cache(lambda shape: np.stack([cotangent(case, shape[1:]) for case in cases]))
        tape = outcome(record.tf_vjp, draw, **stacked)
        forward = Outcome(tape.value.value) if not tape.error else outcome(record.tf, **stacked)
        if not forward.error:
            return _Answers(forward.value, {} if tape.error else {
                f"vjp_{n}": _per_case(tape.value[n], len(cases), each[0][n]) for n in record.grads}, tape,
                cotangents=None if tape.error else draw(np.shape(forward.value)))
        raised = forward.error
        joined = _concatenated(record, cases, each)
        if joined is not None:
            return joined
    tapes = [first or outcome(record.tf_vjp, functools.partial(cotangent, cases[0]), **each[0])]
    if tapes[0].error:
        values = [outcome(record.tf, **each[0])]
        if values[0].error:
            return values[0] if raised == values[0].error else None
        values += [outcome(record.tf, **kwargs) for kwargs in each[1:]]
        if any(v.error for v in values):
            return None
        return _Answers(np.stack([v.value for v in values]), {}, tapes[0], alone=True)
    tapes += [outcome(record.tf_vjp, functools.partial(cotangent, case), **kwargs)
              for case, kwargs in zip(cases[1:], each[1:], strict=True)]
    if any(t.error for t in tapes):
        return None
    grads = {f"vjp_{n}": np.stack([t.value[n] for t in tapes]) for n in record.grads}
    return _Answers(np.stack([t.value.value for t in tapes]), grads, tapes[0], alone=True)


def _concatenated(record: OpRecord, cases: list[Case], each: list[dict]) -> _Answers | None:
    """The batch joined along an axis each case already has (not its class axis), so the rank TF
    sees is the case's own: where a new axis crossed a kernel's rank limit (oneDNN softmax: 5)."""
    rank, case = len(cases[0].shape), cases[0]
    if rank < 2 or record.scalars or case.broadcast:
        return None
    classes = record.class_axis(case) % rank
    along = 0 if classes != 0 else 1
    tensors = record.tensors(each[0])
    joined = {name: np.concatenate([kwargs[name] for kwargs in each], axis=along) if name in tensors else value
              for name, value in each[0].items()}

    def draw(shape: tuple[int, ...]) -> np.ndarray:
        out = along - (len(shape) < rank and along > classes)
        single = tuple(n // len(cases) if i == out else n for i, n in enumerate(shape))
        return np.concatenate([cotangent(c, single) for c in cases], axis=out)

    tape = outcome(record.tf_vjp, draw, **joined)
    if tape.error:
        return None
    value = tape.value.value
    out = along - (value.ndim < rank and along > classes)
    grads = {f"vjp_{n}": np.stack(np.split(tape.value[n], len(cases), axis=along)) for n in record.grads}
    return _Answers(np.stack(np.split(value, len(cases), axis=out)), grads, tape)


def _raised_alike(record: OpRecord, cases: list[Case], each: list[dict], inputs: list[dict], stacked: dict,
                  alone: Outcome, candidate: ModuleType, backend: Backend) -> list[list[CheckResult]]:
    """TF rejects the spec (the first case alone raises as the batch did): every case meets that error."""
    value_fn = record.candidate_functions(candidate)[0]
    mine = [outcome(value_fn, **kwargs) for kwargs in each]
    # where a divergence excuses TF, each candidate meets the exact answer with the op's scale, as alone
    values, axis = record.tensors(stacked), shifted(record.class_axis(cases[0]))
    scales = (record.scales(values, axis, None), record.own_scales(values, axis, None))
    return [[result] for _, result in _judge_raised(record, cases, "value", list(range(len(cases))), inputs, stacked,
                                                    None, mine, alone, scales, backend)]


def _judge_raised(record: OpRecord, cases: list[Case], check: str, keep: list[int], inputs: list[dict], stacked: dict,
                  g: np.ndarray | None, mine: list[Outcome], tf: Outcome, scales: tuple[dict, dict] | None,
                  backend: Backend, path: str = BATCH):
    """(case index, verdict) for one check where a side raised; where a divergence excuses TF, the
    candidates' values meet the exact answer in one evaluation over the batch. `scales`: the op's
    and the candidate's own; `path`: how TF answered."""
    verdicts = [judge_raised(record, cases[b], check, inputs[b], mine[b], tf, backend) for b in keep]
    excuse = [i for i, (_, needed) in enumerate(verdicts) if needed]
    details = {}
    if excuse:
        at = [keep[i] for i in excuse]
        got = np.stack([np.asarray(mine[b].value) for b in at])
        ops, own_scales = scales or ({}, {})
        shape = (len(cases), *got.shape[1:])
        scale = _scale(ops, check, stacked, shape)[at]
        ex = _batch_exact(record, check, inputs, stacked, at, record.class_axis(cases[0]), g, got.dtype, scale)
        per_case = [departs(record, cases[b], check, inputs[b], got.shape[1:], backend) for b in at]
        own = [(name, np.stack([masks[k][1] for masks in per_case])) for k, (name, _) in enumerate(per_case[0])]
        details = dict(zip(excuse, meets_exact(record, ex, got, np.ones(got.shape, bool), own,
                                               record.tolerance(check, cases[0].dtype), scale,
                                               _own_scale(own_scales, check, stacked, shape, at),
                                               record.flushes(backend, check, cases[0].dtype)), strict=True))
    for i, (b, (result, _)) in enumerate(zip(keep, verdicts, strict=True)):
        yield b, replace(result, detail=details.get(i, result.detail), path=path)


def _judge_batch(record: OpRecord, cases: list[Case], check: str, keep: list[int], inputs: list[dict], stacked: dict,
                 g: np.ndarray, mine: np.ndarray | list, tf: np.ndarray, scales: tuple[dict, dict],
                 wheres: dict[str, list], alone: bool, backend: Backend):
    """(case index, its batched verdict, whether it stands) for one check of the kept cases; `mine`
    is the candidate's answer for the whole batch, or per case; `scales` the op's and the candidate's own."""
    want = tf[keep]
    got = mine[keep] if isinstance(mine, np.ndarray) else np.stack([np.asarray(mine[b]) for b in keep])
    scale = _scale(scales[0], check, stacked, tf.shape)[keep]
    own_scale = _own_scale(scales[1], check, stacked, tf.shape, keep)
    mask_axis = cases[0].class_axis if record.has_axis else None
    masks = [(d.name, np.stack([explained_mask(where, want.shape[1:], mask_axis) for where in wheres[d.name]]))
             for d in record.divergences_for(cases[0], check, backend) if d.name in wheres]
    ex = _batch_exact(record, check, inputs, stacked, keep, record.class_axis(cases[0]), g, want.dtype, scale)
    limit = spread.Spread() if alone else spread.measure(record, cases[0].dtype, backend)[check]  # none: TF alone
    row = {"path": ALONE} if alone else {"path": BATCH, "batch_spread": limit.parity, "batch_spread_ulp": limit.ulp}
    verdicts, headroom = judge_values(record, [cases[b] for b in keep], check, got, want, masks, ex, scale,
                                      record.flushes(backend, check, cases[0].dtype), own_scale=own_scale, **row)
    for i, (b, result) in enumerate(zip(keep, verdicts, strict=True)):
        stands = result.verdict == "pass" and (alone or limit.zero or (
            result.comparison.budget_used + limit.parity <= 1 and headroom[i] >= limit.accuracy))
        yield b, result, bool(stands)


def _scale(scales: dict, check: str, stacked: dict, shape: tuple[int, ...]) -> np.ndarray:
    """A check's scale, computed over the stacked inputs, in the per-case shape (batch first);
    none for a gradient of tiled labels, which has another shape than each case's."""
    full = shape if check == "value" else np.shape(stacked[check.removeprefix("vjp_")])
    if np.prod(full) != np.prod(shape):
        return np.zeros(shape)
    return as_scale(np.broadcast_to(np.asarray(scales.get(check, 0.0), np.float64), full).reshape(shape), shape)


def _own_scale(own_scales: dict[str, dict], check: str, stacked: dict, shape: tuple[int, ...],
               at: list[int]) -> dict[str, np.ndarray]:
    """The candidate's own scales for one check (per divergence declaring one), as `_scale` gives
    the op's, for the cases `at`."""
    return {name: _scale({check: size}, check, stacked, shape)[at] for name, size in for_check(own_scales, check).items()}


def _per_case(grad: np.ndarray | None, size: int, single: object) -> np.ndarray | None:
    """A batched gradient with each case's slice in its single input's shape."""
    return None if grad is None else grad.reshape(size, *np.shape(single))


def _usable(mine: Outcome, tf: np.ndarray | None) -> bool:
    """The candidate gave a value of TF's per-case shape and dtype."""
    return (tf is not None and not mine.error and mine.value is not None
            and np.shape(mine.value) == tf.shape[1:] and np.asarray(mine.value).dtype == tf.dtype)


def _batch_exact(record: OpRecord, check: str, inputs: list[dict], stacked: dict, keep: list[int], axis: int,
                 g: np.ndarray | None, dtype: np.dtype, scale: np.ndarray) -> Exact:
    """The exact answer over the kept cases at once; mpmath per case where it must decide."""
    batch_inputs = {name: np.asarray(value)[keep] for name, value in record.tensors(stacked).items()}
    cts = None if g is None else g[keep]
    value = np.asarray(record.wide(check, batch_inputs, shifted(axis), cts))
    # the gradient of tiled labels is not each case's: the exact forms do not evaluate it either
    value = value.reshape(scale.shape) if value.size == scale.size else np.full(scale.shape, np.nan, wide.WIDE)

    @functools.cache
    def precise(index: tuple[int, ...]):
        b = keep[index[0]]
        one = exact_of(record.exact, record.wide, check, inputs[b], axis, None if g is None else g[b], dtype,
                       scale[index[0]])
        return one.precise((0, *index[1:]))
    return Exact(value, wide.bound(value, scale), precise, np.dtype(dtype))
