"""Run one case through a candidate and through TF, and judge every check it yields."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any

import numpy as np

import impl
import oracle
from tfparity import backend as backends
from tfparity.accuracy import (
    Accuracy,
    Exact,
    assess,
    exact_of,
    excused_within,
    tf_abs_eps_needed,
)
from tfparity.backend import Backend
from tfparity.compare import Comparison, Tolerance, as_scale, compare, compare_batch
from tfparity.inputs import Case, cotangent
from tfparity.misusedb import DIVERGES_BY, DIVERGING, MATCH, Misuse
from tfparity.records import (
    ERROR_PREFIX,
    CandidateDivergence,
    Inputs,
    OpRecord,
    Scales,
    gradients,
)

OwnScale = dict[str, np.ndarray]  # divergence name -> the size of the candidate's own terms in it

# What an error means, whatever raised it (TF, or a candidate in Python's terms): TF raises a
# ValueError (or TypeError) where a graph is traced or an argument converted, an
# InvalidArgumentError where a kernel runs, for the same invalid input.
_TF_CATEGORIES = {"InvalidArgumentError": "InvalidArgument", "ValueError": "InvalidArgument",
                  "TypeError": "InvalidArgument", "AbortedError": "Aborted"}


def meaning(raised: str) -> str:
    """What raising `raised` (a TF or impl error class) means: InvalidArgument, Aborted, ..."""
    return _TF_CATEGORIES.get(raised, raised)


@dataclass(frozen=True)
class Outcome:
    """What one side returned, or what it raised: its meaning (`error`, the category both sides
    compare by), its class (`raised`) and message."""

    value: Any = None
    error: str | None = None
    message: str = ""
    raised: str = ""


def outcome(fn, *args, **kwargs) -> Outcome:
    try:
        return Outcome(fn(*args, **kwargs))
    except oracle.OracleError as error:
        return Outcome(error=meaning(error.tf_class), message=error.message,
                       raised=error.tf_class)
    except impl.InvalidArgumentError as error:
        return Outcome(error="InvalidArgument", message=str(error), raised=type(error).__name__)
    except Exception as error:  # noqa: BLE001  (a candidate's crash is a finding, not a harness failure)
        raised = type(error).__name__  # Python's argument errors mean what TF's do; anything else is a crash
        return Outcome(error=meaning(raised) if meaning(raised) != raised else f"crash:{raised}", message=str(error),
                       raised=raised)


@dataclass(frozen=True)
class CheckResult:
    """The verdict on one check (value, vjp_<input>) of one case."""

    case: Case
    check: str
    tolerance: Tolerance
    comparison: Comparison | None
    known: tuple[str, ...]
    detail: str
    expect_mismatch: bool = False  # a misuse in its diverging regime must NOT match TF
    accuracy: Accuracy | None = None
    tf_abs_eps_needed: float = float("nan")  # TF's own need against exact (see tfparity.accuracy)
    path: str = "single"  # how TF was called: single, batch (decided in a batch), confirmed (singly, after one)
    batch_spread: float = float("nan")  # TF's own batched-vs-single spread for the check, in budget shares
    batch_spread_ulp: float = float("nan")
    tf_answer: str = ""  # `digest` of TF's answer (or what it meant by raising): machines' answers compare by it
    candidate_answer: str = ""
    tf_raised: str = ""  # the class TF raised (ValueError at a graph's trace, InvalidArgumentError in a kernel)
    provided: bool = True  # False: a VJP check of a candidate without gradients (neither passed nor failed)
    bound_used: float = float("nan")  # the share of its divergences' bounds the candidate spends where they excuse it

    @property
    def tf_error(self) -> bool:
        """Parity failed, but at every mismatch the candidate is the one nearer the exact answer."""
        return bool(self.comparison and not self.comparison.passed and self.accuracy and self.accuracy.tf_wrong)

    @property
    def verdict(self) -> str:
        """pass, tf_error (TF is the side in error), inaccurate (further from exact than TF),
        mismatch (beyond the tolerance of TF), error (the outcomes differ: raised, dtype, shape), or
        not_provided (the candidate has no gradients)."""
        if not self.provided:
            return "not_provided"
        if self.comparison is None or self.detail:
            return "error" if self.detail else "pass"
        if self.expect_mismatch:
            return "pass" if self.passed else "mismatch"
        if self.accuracy is not None and not self.accuracy.accurate:
            return "inaccurate"
        return "pass" if self.comparison.passed else "tf_error" if self.tf_error else "mismatch"

    @property
    def passed(self) -> bool:
        """Within the tolerance of TF, or TF's error; and no further from exact than TF plus the
        op's floor. (A misuse that must diverge passes by a mismatch.)"""
        if self.comparison is None or self.detail:
            return not self.detail
        if self.expect_mismatch:
            return not self.comparison.passed
        accurate = self.accuracy is None or self.accuracy.accurate
        return accurate and (self.comparison.passed or self.tf_error)

    def describe(self) -> str:
        c = self.comparison
        metrics = (f"max_ulp={c.max_ulp:g} max_abs={c.max_abs_err:.3g} max_rel={c.max_rel_err:.3g} "
                   f"budget_used={c.budget_used:.3g} mismatches={c.mismatches} special={c.special_mismatch} "
                   f"at {c.worst_index}" if c else "")
        verdicts = []
        if self.accuracy:
            verdicts.append(self.accuracy.describe())
            if not self.accuracy.accurate:
                verdicts.append(f"ACCURACY: the candidate is further from exact than TF plus {self.tolerance.floor} "
                                "ULP (and an eighth of the absolute budget)")
            if self.tf_error:
                verdicts.append("TF'S ERROR: the candidate is nearer the exact answer at every mismatch")
        return " ".join([f"{self.check}: {metrics} {self.detail}", *verdicts, f"known={list(self.known)}"]).strip()



def digest(outcome: Outcome) -> str:
    """A short fingerprint of an answer (dtype, shape and bytes), or of what raising meant."""
    if outcome.error:
        return f"raised {outcome.error}"
    if outcome.value is None:
        return ""
    return digests(np.asarray(outcome.value)[None])[0]


def digests(answers: np.ndarray) -> list[str]:
    """`digest` of each case's answer in a batch (the cases on the leading axis); a scalar answer
    reads as one of shape (1,)."""
    a = np.ascontiguousarray(answers)
    head = f"{a.dtype}{a.shape[1:] or (1,)}".encode()
    return [hashlib.blake2b(head + row.tobytes(), digest_size=8).hexdigest() for row in a]


def judge(record: OpRecord, case: Case, check: str, inputs: Inputs, mine: Outcome, tf: Outcome,
          backend: Backend, scale: np.ndarray | float = 0.0, cotangent: np.ndarray | None = None,
          own_scale: OwnScale | None = None) -> CheckResult:
    """Compare both sides' outcomes for one check, letting the known divergences that apply on
    `backend` explain mismatches (`own_scale`: the size of the candidate's own terms, per
    divergence declaring it; see `bound_scale`)."""
    own_scale = own_scale or {}
    tolerance = record.tolerance(check, case.dtype)
    axis = record.class_axis(case)
    if mine.error or tf.error:
        result, excuse = judge_raised(record, case, check, inputs, mine, tf, backend)
        return _meets_exact(record, result, inputs, mine, backend, scale, cotangent, own_scale) if excuse else result
    if mine.value is None or tf.value is None:
        detail = "" if mine.value is tf.value else f"gradient missing: candidate {mine.value is None}, TF {tf.value is None}"
        return CheckResult(case, check, tolerance, None, (), detail)
    got, want = np.asarray(mine.value), np.asarray(tf.value)
    if got.shape != want.shape or got.dtype != want.dtype:  # unless a divergence explains the whole case
        covering = _covering(record, case, check, inputs, backend)
        result = CheckResult(case, check, tolerance, None, covering, "" if covering else
                             f"candidate {got.dtype}{list(got.shape)} vs TF {want.dtype}{list(want.shape)}",
                             tf_answer=digest(tf), candidate_answer=digest(mine))
        if _tf_excused(record, covering):
            return _meets_exact(record, result, inputs, mine, backend, scale, cotangent, own_scale)
        return result
    masks = [(name, mask[None]) for name, mask in explained(record, case, check, inputs, want.shape, backend)]
    scale = as_scale(scale, want.shape)
    ex = exact_of(record.exact, record.wide, check, inputs, axis, cotangent, want.dtype, scale)
    return judge_values(record, [case], check, got[None], want[None], masks, ex, scale[None],
                        record.flushes(backend, check, case.dtype), own_scale=_one_case(own_scale, want.shape))[0][0]


def _meets_exact(record: OpRecord, result: CheckResult, inputs: Inputs, mine: Outcome, backend: Backend,
                 scale: np.ndarray | float, cotangent: np.ndarray | None, own_scale: OwnScale) -> CheckResult:
    """Where a divergence excuses TF's whole answer, the candidate's value must meet the exact one
    (within its own divergences' bounds where they apply, not at all where one is unbounded)."""
    got = np.asarray(mine.value)
    scale = as_scale(scale, got.shape)
    ex = exact_of(record.exact, record.wide, result.check, inputs, record.class_axis(result.case), cotangent,
                  got.dtype, scale)
    own = [(name, mask[None]) for name, mask in departs(record, result.case, result.check, inputs, got.shape, backend)]
    detail = meets_exact(record, ex, got[None], np.ones((1, *got.shape), bool), own, result.tolerance, scale[None],
                         _one_case(own_scale, got.shape), record.flushes(backend, result.check, result.case.dtype))
    return replace(result, detail=detail[0])


def departs(record: OpRecord, case: Case, check: str, inputs: Inputs, shape: tuple[int, ...],
            backend: Backend) -> list[tuple[str, np.ndarray]]:
    """The candidate's own divergences that explain `check`, each with its mask."""
    return _own(record, explained(record, case, check, inputs, shape, backend))


def _own(record: OpRecord, masks: list[tuple[str, np.ndarray]]) -> list[tuple[str, np.ndarray]]:
    """The masks of the candidate's own divergences among those of every applicable one."""
    return [(name, mask) for name, mask in masks if not _tf_excused(record, (name,))]


def meets_exact(record: OpRecord, ex: Exact, got: np.ndarray, excused_where: np.ndarray,
                own: list[tuple[str, np.ndarray]], tolerance: Tolerance, scale: np.ndarray,
                own_scale: OwnScale | None = None, flush: bool = False) -> list[str]:
    """Where TF's divergences excuse TF (`excused_where`), each case's candidate must meet the exact
    answer: within the op's tolerance, within its own divergences' bounds where they apply (any
    one of them), and not at all where an unbounded one does; a subnormal flushed to zero passes
    where TF flushes (`flush`). "" per case where it does, else why not."""
    bounded, unbounded = _bounds(record, own, got.shape)
    return excused_within(ex, got, [(excused_where & ~_any([mask for _, mask in own], got.shape), tolerance, scale)]
                          + [(excused_where & mask & ~unbounded, d.within, bound_scale(scale, (own_scale or {}).get(d.name)))
                             for d, mask in bounded], flush)


def _bounds(record: OpRecord, own: list[tuple[str, np.ndarray]],
            shape: tuple[int, ...]) -> tuple[list[tuple[CandidateDivergence, np.ndarray]], np.ndarray]:
    """The candidate's bounded divergences with their masks, and the elements an unbounded one explains."""
    by_name = {d.name: d for d in record.divergences if isinstance(d, CandidateDivergence)}
    unbounded = _any([mask for name, mask in own if by_name[name].within is None], shape)
    return [(by_name[name], mask) for name, mask in own if by_name[name].within is not None], unbounded


def _beyond_bounds(bounded: list[tuple[CandidateDivergence, np.ndarray]], got: np.ndarray, want: np.ndarray,
                   judged: np.ndarray, scale: np.ndarray, own_scale: OwnScale,
                   flush: bool) -> tuple[list[str], list[float]]:
    """Per case, why the candidate is past every bound that applies at some element it departs
    from TF at (`judged`), or "": an element passes within any one of them. And the share of its
    bounds the candidate spends (at each such element the least share of the bounds that apply,
    the largest over the case; nan where none applies)."""
    spent = judged & _any([mask for _, mask in bounded], got.shape)
    beyond, least = spent.copy(), np.full(got.shape, np.inf)
    worst: list[tuple[str, list[Comparison]]] = []
    for divergence, mask in bounded:
        comparisons = compare_batch(got, want, divergence.within, bound_scale(scale, own_scale.get(divergence.name)),
                                    ~(mask & judged), flush=flush)
        beyond &= ~mask | np.stack([c.failing for c in comparisons])
        least = np.where(mask, np.fmin(least, np.stack([c.used for c in comparisons])), least)
        worst.append((divergence.name, comparisons))
    spent = spent.reshape(len(got), -1)
    shares = np.where(spent, least.reshape(len(got), -1), -np.inf).max(axis=1, initial=-np.inf)
    return ["" if not beyond[b].any() else
            "where the candidate's divergences apply (" + ", ".join(
                f"{name}: {comparisons[b].max_ulp:g} ULP from TF" for name, comparisons in worst)
            + "), it is beyond every bound" for b in range(len(got))], \
        [float(share) if spent[b].any() else float("nan") for b, share in enumerate(shares)]


def judge_raised(record: OpRecord, case: Case, check: str, inputs: Inputs, mine: Outcome, tf: Outcome,
                 backend: Backend) -> tuple[CheckResult, bool]:
    """The verdict where a side raised: they must raise alike, or a known divergence covers the
    case; then (the second value) the candidate's value must meet the exact answer."""
    covering = _covering(record, case, check, inputs, backend)
    agree = mine.error == tf.error
    detail = "" if agree or covering else (
        f"candidate {mine.error or 'returned'} {mine.message[:120]!r} vs "
        f"TF {tf.error or 'returned'} {tf.message[:120]!r}")
    result = CheckResult(case, check, record.tolerance(check, case.dtype), None, () if agree else covering, detail,
                         tf_answer=digest(tf), candidate_answer=digest(mine), tf_raised=tf.raised)
    return result, _tf_excused(record, covering) and not mine.error and mine.value is not None


def _tf_excused(record: OpRecord, names: tuple[str, ...]) -> bool:
    """Whether TF's divergences (not the candidate's) are among those named: then the candidate's
    answer must meet the exact one."""
    return any(d.name in names and not isinstance(d, CandidateDivergence) for d in record.divergences)


def explained(record: OpRecord, case: Case, check: str, inputs: Inputs, shape: tuple[int, ...],
              backend: Backend) -> list[tuple[str, np.ndarray]]:
    """Each applicable divergence's mask over the check's output."""
    mask_axis = case.class_axis if record.has_axis else None
    return [(d.name, explained_mask(d.where(case, inputs), shape, mask_axis))
            for d in record.divergences_for(case, check, backend)]


def judge_values(record: OpRecord, cases: list[Case], check: str, got: np.ndarray, want: np.ndarray,
                 masks: list[tuple[str, np.ndarray]], ex: Exact, scale: np.ndarray,
                 flush: bool, own_scale: OwnScale | None = None,
                 **row: object) -> tuple[list[CheckResult], np.ndarray]:
    """The verdicts on one check of a batch of cases (values stacked on the leading axis), and
    each case's accuracy headroom (see `tfparity.accuracy.assess`). `own_scale`: the size of the
    candidate's own terms, per divergence declaring it (see `bound_scale`); `row` sets the results'
    other fields (how TF was called)."""
    own_scale = own_scale or {}
    tolerance = record.tolerance(check, cases[0].dtype)
    ignore = np.logical_or.reduce([m for _, m in masks]) if masks else np.zeros(got.shape, bool)
    comparisons = compare_batch(got, want, tolerance, scale, ignore, flush=flush)
    failing = np.stack([c.failing for c in comparisons])
    accuracies, headroom = assess(ex, got, want, failing, ignore, tolerance, scale)
    own = _own(record, masks)
    tf_ignore = _any([mask for name, mask in masks if _tf_excused(record, (name,))], got.shape)
    details = meets_exact(record, ex, got, failing & tf_ignore, own, tolerance, scale, own_scale, flush)
    bounded, unbounded = _bounds(record, own, got.shape)  # elsewhere, its bounds against TF
    beyond, bound_used = _beyond_bounds(bounded, got, want, failing & ~tf_ignore & ~unbounded, scale, own_scale, flush)
    details = [d or b for d, b in zip(details, beyond, strict=True)]
    needs = tf_abs_eps_needed(ex, want, [c.need_index for c in comparisons], tolerance, scale)
    explains = [(name, (failing & mask).reshape(len(cases), -1).any(axis=1).tolist()) for name, mask in masks]
    tf_answers, candidate_answers = digests(want), digests(got)
    return [CheckResult(
        case, check, tolerance, comparison, tuple(name for name, hit in explains if hit[b]), details[b],
        accuracy=accuracies[b], tf_abs_eps_needed=needs[b],
        tf_answer=tf_answers[b], candidate_answer=candidate_answers[b], bound_used=bound_used[b], **row,
    ) for b, (case, comparison) in enumerate(zip(cases, comparisons, strict=True))], headroom


def _any(masks: list[np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
    return np.logical_or.reduce(masks) if masks else np.zeros(shape, bool)


def bound_scale(scale: np.ndarray, own_scale: np.ndarray | None = None) -> np.ndarray:
    """A candidate divergence's absolute bound is `abs_eps` eps times the larger of the check's
    scale (TF's terms) and the size of the candidate's own terms where the divergence declares
    it (its `scales`: another formula's), and at least `abs_eps` eps: an absolute accuracy (a
    kernel accurate to an ULP of 1) reads as one."""
    return np.maximum(scale if own_scale is None else np.maximum(scale, own_scale), 1.0)


def for_check(own_scales: dict[str, dict], check: str) -> OwnScale:
    """The candidate's own scales for one check, per divergence declaring one."""
    return {name: sizes[check] for name, sizes in own_scales.items() if check in sizes}


def _one_case(own_scale: OwnScale, shape: tuple[int, ...]) -> OwnScale:
    return {name: as_scale(size, shape)[None] for name, size in own_scale.items()}


def run_case(record: OpRecord, case: Case, candidate: ModuleType = impl,
             backend: Backend | None = None) -> list[CheckResult]:
    """Every check of `case`: the value, then each input's VJP when both sides gave a value;
    an error input has a single `error` check. `backend` defaults to this machine's, probed."""
    with np.errstate(all="ignore"):
        results = single(for_candidate(record, candidate), case, candidate, backend or backends.current())
    return results + not_provided(record, candidate, results)


def for_candidate(record: OpRecord, candidate: ModuleType) -> OpRecord:
    """The record as a candidate is judged by: with the candidate's own divergences for the op
    (its `DIVERGENCES`, op name -> `CandidateDivergence`s), and no VJP checks for a candidate
    without gradients (`not_provided` reports them)."""
    own = tuple(getattr(candidate, "DIVERGENCES", {}).get(record.name, ()))
    taken = {d.name for d in record.divergences}
    for d in own:
        if not isinstance(d, CandidateDivergence) or d.name in taken:
            raise TypeError(f"{record.name}: a candidate's divergence must be a CandidateDivergence named apart "
                            f"from TF's: {getattr(d, 'name', d)!r}")
    if not own and gradients(candidate):
        return record
    return replace(record, divergences=record.divergences + own, grads=record.grads if gradients(candidate) else (),
                   own_scales=_declared({d.name: d.scales for d in own if d.scales}))


def _declared(scales: dict[str, Scales]) -> Callable[[Inputs, int | None, np.ndarray | None], dict[str, dict]]:
    """The size of a candidate's own terms, per divergence declaring it, per check (non-finite: 0,
    never an infinite bound)."""
    def own_scales(inputs: Inputs, axis: int | None, g: np.ndarray | None) -> dict[str, dict[str, np.ndarray]]:
        with np.errstate(all="ignore"):
            return {name: {check: np.where(np.isfinite(size), size, 0.0) for check, size in each(inputs, axis, g).items()}
                    for name, each in scales.items()}
    return own_scales


def not_provided(record: OpRecord, candidate: ModuleType, results: list[CheckResult]) -> list[CheckResult]:
    """A candidate without gradients: each VJP check of a case whose value both sides gave is
    reported, as not provided."""
    value = results[0]
    if gradients(candidate) or value.check != "value" or value.tf_answer.startswith("raised") or (
            value.candidate_answer.startswith("raised")):
        return []
    return [CheckResult(value.case, check, record.tolerance(check, value.case.dtype), None, (), "", provided=False)
            for check in record.checks[1:]]


def single(record: OpRecord, case: Case, candidate: ModuleType, backend: Backend) -> list[CheckResult]:
    kwargs = record.arguments(case)
    inputs = record.tensors(kwargs)
    value_fn, vjp_fn = record.candidate_functions(candidate)
    mine = outcome(value_fn, **kwargs)
    if case.regime.startswith(ERROR_PREFIX):
        tf = outcome(record.tf, **kwargs)
        return [replace(judge(record, case, "value", inputs, mine, tf, backend), check="error")]
    # One tape gives TF's value and VJP; the cotangent is drawn (once) for the value's shape. When
    # the tape fails (the op, or only its gradient), the forward call alone says what the value does.
    draw = functools.cache(functools.partial(cotangent, case))
    tf_grads = outcome(record.tf_vjp, draw, **kwargs)
    tf = Outcome(tf_grads.value.value) if not tf_grads.error else outcome(record.tf, **kwargs)
    axis = record.class_axis(case)
    ct = draw(np.shape(tf.value)) if tf.value is not None else None
    scales = record.scales(inputs, axis, ct)
    own = record.own_scales(inputs, axis, ct)
    results = [judge(record, case, "value", inputs, mine, tf, backend, scales.get("value", 0.0), ct,
                     for_check(own, "value"))]
    if ct is None or mine.error:
        return results
    mine_grads = outcome(vjp_fn, ct, **kwargs)
    for name in record.grads:
        results.append(judge(
            record, case, f"vjp_{name}", inputs,
            pick(mine_grads, name), pick(tf_grads, name), backend, scales.get(f"vjp_{name}", 0.0), ct,
            for_check(own, f"vjp_{name}")))
    return results


def _covering(record: OpRecord, case: Case, check: str, inputs: Inputs, backend: Backend) -> tuple[str, ...]:
    """The divergences that explain `check` of `case` outright (TF raised, or answered in another shape):
    TF's, and the candidate's unbounded ones (a bounded one bounds values, never a raise or a shape)."""
    return tuple(d.name for d in record.divergences_for(case, check, backend) if _covers_whole_case(d, case, inputs)
                 and not (isinstance(d, CandidateDivergence) and d.within is not None))


def _covers_whole_case(divergence, case: Case, inputs: Inputs) -> bool:
    """Whether a divergence explains the case outright; one whose predicate cannot read
    malformed inputs (an error input) does not."""
    try:
        return divergence.where(case, inputs) is True
    except (ValueError, IndexError, TypeError, KeyError, OverflowError):
        return False


def explained_mask(mask: np.ndarray | bool, shape: tuple[int, ...], axis: int | None) -> np.ndarray:
    """A divergence's mask over `shape`. A mask over the logits explains the loss rows it
    reduces into (along `axis`, or the last where the op takes none: sparse CE); one that fits
    no other way explains a reduced output wholly."""
    if np.ndim(mask) == len(shape) + 1:
        mask = np.any(mask, axis=-1 if axis is None else axis)
    try:
        return np.broadcast_to(mask, shape)
    except ValueError:
        return np.broadcast_to(np.any(mask), shape)


def pick(grads: Outcome, name: str) -> Outcome:
    return grads if grads.error else Outcome(grads.value.get(name))


def run_misuse(misuse: Misuse, case: Case) -> CheckResult:
    """A misuse against TF's correct op: in the diverging regime it must mismatch, by at least
    DIVERGES_BY (or in nan / inf positions) and by its gap law; coinciding, it must match."""
    with np.errstate(all="ignore"):
        inputs = misuse.build(case)
        want = np.asarray(misuse.reference(inputs))
        got = np.asarray(misuse.misused(inputs)).astype(want.dtype)
        size = 1.0 + np.abs(want.astype(np.float64))
        comparison = compare(got, want, MATCH, np.nan_to_num(size, nan=1.0),
                             flush=backends.current().flushes(case.dtype))
        apart = got.astype(np.float64) - want.astype(np.float64)
        by = float(np.nanmax(np.abs(apart) / size, initial=0.0))
        detail = ""
        if case.regime == DIVERGING:
            if not comparison.special_mismatch and by < DIVERGES_BY:
                detail = f"diverges by only {by:.3g} (< {DIVERGES_BY}) of 1 + |TF|"
            elif misuse.gap is not None:
                predicted = misuse.gap(inputs)
                off = np.abs(apart - predicted) > MATCH.atol(want.dtype) * (size + np.abs(predicted))
                if off.any():
                    detail = f"gap law broken: measured {apart[off][:3]} vs predicted {predicted[off][:3]}"
    return CheckResult(case, "misuse", MATCH, comparison, (), detail, expect_mismatch=case.regime == DIVERGING)
