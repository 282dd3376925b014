"""Candidates beyond impl: one without gradients, one with its own declared divergences, and
the shipped adapters' divergences held against their evidence.

A candidate divergence explains the candidate's mismatches where its conditions hold, within
its own bound, and nowhere else: the same difference outside it still fails.
"""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import numpy as np
import pytest

import impl
import oracle
from candidates import SHIPPED
from tests.test_divergences import _call, _dtype
from tfparity.backend import current
from tfparity.batch import run_batch
from tfparity.check import _beyond_bounds, explained_mask, meaning, run_case
from tfparity.compare import Tolerance, compare
from tfparity.dtypes import DTYPES
from tfparity.inputs import Case
from tfparity.opdb import BY_NAME, RECORDS, SOFTMAX
from tfparity.records import CandidateDivergence
from tfparity.stacking import members


def candidate(**overrides) -> SimpleNamespace:
    return SimpleNamespace(**{name: getattr(impl, name) for name in impl.__all__} | overrides)


def values_only() -> SimpleNamespace:
    return SimpleNamespace(GRADIENTS=False, **{r.function: getattr(impl, r.function) for r in RECORDS})


def test_a_candidate_without_gradients_has_its_vjp_checks_not_provided():
    case = Case("softmax_cross_entropy_with_logits", "float32", (3, 4), -1, "soft")
    results = run_case(BY_NAME["softmax_cross_entropy_with_logits"], case, values_only())
    assert [r.check for r in results] == ["value", "vjp_logits", "vjp_labels"]
    assert [r.verdict for r in results] == ["pass", "not_provided", "not_provided"]
    assert all(r.passed for r in results), "not provided is not a failure"
    batch = run_batch(SOFTMAX, members(Case("softmax", "float32", (2, 5), -1)), values_only())
    assert {r.verdict for checks in batch for r in checks} == {"pass", "not_provided"}
    assert all([r.check for r in checks] == ["value", "vjp_logits"] for checks in batch)


def test_a_candidate_without_gradients_needs_no_vjp_functions_but_others_do():
    assert SOFTMAX.candidate_problems(values_only()) == []
    del_vjp = candidate()
    del del_vjp.softmax_vjp
    assert SOFTMAX.candidate_problems(del_vjp) == ["no function softmax_vjp(cotangent, logits, axis)"]


def _off_by(factor: float):
    """impl's softmax, scaled: a candidate that differs from TF by about `factor` - 1, relative."""
    def softmax(logits, axis=-1):
        y = impl.softmax(logits, axis)
        return (y.astype(np.float64) * factor).astype(y.dtype)
    return softmax


def _declaring(factor: float, within_ulp: float | None) -> SimpleNamespace:
    divergence = CandidateDivergence(
        name="scaled_float16_softmax", what="scales float16 softmax", dtypes=frozenset({"float16"}),
        checks=frozenset({"value"}), where=lambda case, inputs: True, evidence=(),
        within=None if within_ulp is None else Tolerance(within_ulp))
    return candidate(softmax=_off_by(factor), DIVERGENCES={"softmax": (divergence,)})


@pytest.mark.parametrize("within_ulp", [None, 64.0])
def test_a_candidate_divergence_explains_its_difference_where_it_holds(within_ulp):
    declared = _declaring(1.01, within_ulp)  # 1% is ~10 float16 ULPs
    (value, *_) = run_case(SOFTMAX, Case("softmax", "float16", (3, 7), -1), declared)
    assert value.passed and value.known == ("scaled_float16_softmax",), value.describe()
    # what a bounded divergence excused stays measured: about 10 of its 64 ULPs (an unbounded one: none)
    assert (np.isnan(value.bound_used) if within_ulp is None else 0.05 < value.bound_used < 0.5), value.bound_used


def test_a_candidate_divergence_does_not_excuse_the_same_difference_elsewhere():
    (value, *_) = run_case(SOFTMAX, Case("softmax", "float32", (3, 7), -1), _declaring(1.01, None))
    assert not value.passed and value.known == ()


def test_a_candidate_divergence_does_not_excuse_more_than_its_bound():
    (value, *_) = run_case(SOFTMAX, Case("softmax", "float16", (3, 7), -1), _declaring(1.2, 64.0))
    assert not value.passed and "beyond every bound" in value.detail, value.describe()
    assert value.bound_used > 1, value.bound_used


def test_an_ulp_bound_at_an_unbounded_scale_still_bounds():
    """Where TF's terms overflowed (scale inf) an ULP-only bound is its ULP count: 8,389 ULP past a
    bound of 4 is beyond it, and spends 2,097 of it."""
    divergence = CandidateDivergence(name="ulps", what="", dtypes=frozenset({"float32"}), checks=frozenset({"value"}),
                                     where=lambda case, inputs: True, evidence=(), within=Tolerance(4))
    want = np.array([[1.0, 1.0]], np.float32)
    got = np.array([[1.0 + 8389 * 2.0**-23, 1.0]], np.float32)
    everywhere = np.ones(got.shape, bool)
    (detail,), (share,) = _beyond_bounds([(divergence, everywhere)], got, want, everywhere,
                                         np.array([[np.inf, 1.0]]), {}, flush=False)
    assert "beyond every bound" in detail and share == pytest.approx(8389 / 4)


def _shifted(delta: float):
    """impl's softmax plus `delta`: a candidate off from TF by that much, absolutely."""
    def softmax(logits, axis=-1):
        y = impl.softmax(logits, axis)
        return (y.astype(np.float64) + delta).astype(y.dtype)
    return softmax


@pytest.mark.parametrize("own_size, passes", [(None, False), (16.0, True)])
def test_a_candidate_divergence_bounds_by_its_own_terms_where_it_declares_them(own_size, passes):
    """An absolute bound is eps times the op's scale (at least 1), or the candidate's own terms'
    size where it declares them larger, in single and batched runs alike."""
    scales = None if own_size is None else (lambda inputs, axis, g: {"value": np.full(np.shape(inputs["logits"]),
                                                                                           own_size)})
    divergence = CandidateDivergence(name="other_formula", what="", dtypes=frozenset({"float32"}),
                                     checks=frozenset({"value"}), where=lambda case, inputs: True, evidence=(),
                                     within=Tolerance(0, 4), scales=scales)
    declared = candidate(softmax=_shifted(30 * float(np.finfo(np.float32).eps)),
                         DIVERGENCES={"softmax": (divergence,)})
    (value, *_) = run_case(SOFTMAX, Case("softmax", "float32", (2, 3), -1), declared)
    assert value.passed is passes, value.describe()
    batch = run_batch(SOFTMAX, members(Case("softmax", "float32", (2, 5), -1)), declared)
    assert all(checks[0].passed is passes for checks in batch), [checks[0].describe() for checks in batch]


def test_a_mask_over_sparse_logits_explains_the_rows_it_reduces_into():
    """sparse CE takes no axis: a mask over its [N, C] logits explains the gradient where it is and
    the losses of the rows it touches, whatever N and C."""
    mask = np.array([[False, False, True], [False, False, False], [False, False, False]])
    assert (explained_mask(mask, (3, 3), None) == mask).all()
    assert explained_mask(mask, (3,), None).tolist() == [True, False, False]


def test_a_bounded_candidate_divergence_never_excuses_a_raise():
    """A bound is on values: where the candidate raises and TF answers, only an unbounded
    divergence (None) explains it."""
    def raises(logits, axis=-1):
        raise ZeroDivisionError("a new crash")
    bounded = CandidateDivergence(name="rounds", what="rounds", dtypes=frozenset({"float32"}),
                                  checks=frozenset({"value"}), where=lambda case, inputs: True, evidence=(),
                                  within=Tolerance(8))
    (value,) = run_case(SOFTMAX, Case("softmax", "float32", (2, 3), -1),
                        candidate(softmax=raises, DIVERGENCES={"softmax": (bounded,)}))
    assert not value.passed and "a new crash" in value.detail


def test_a_candidate_divergence_must_be_one_and_named_apart_from_tfs():
    tf_name = SOFTMAX.divergences[0].name
    clash = CandidateDivergence(name=tf_name, what="", dtypes=frozenset({"float32"}), checks=frozenset({"value"}),
                                where=lambda case, inputs: True, evidence=())
    with pytest.raises(TypeError, match=tf_name):
        run_case(SOFTMAX, Case("softmax", "float32", (2, 3), -1), candidate(DIVERGENCES={"softmax": (clash,)}))


def test_a_candidate_divergence_need_not_meet_the_exact_answer():
    """TF's divergences make the candidate meet exact where they excuse TF; the candidate's own
    make it the side that departs: a candidate raising where it declares it raises passes."""
    def raises(logits, axis=-1):
        raise ValueError("no float16 here")
    divergence = CandidateDivergence(
        name="no_float16", what="raises for float16", dtypes=frozenset({"float16"}), checks=frozenset({"value"}),
        where=lambda case, inputs: True, evidence=())
    declared = candidate(softmax=raises, DIVERGENCES={"softmax": (divergence,)})
    (value,) = run_case(SOFTMAX, Case("softmax", "float16", (2, 3), -1), declared)
    assert value.passed and value.known == ("no_float16",), value.describe()
    (value,) = run_case(SOFTMAX, Case("softmax", "float32", (2, 3), -1), declared)
    assert not value.passed


def _shipped() -> list:
    """Every divergence of every shipped adapter whose extra is installed, once, with its adapter
    and the first op that lists it."""
    found = {}
    for name, module in SHIPPED.items():
        try:
            adapter = importlib.import_module(module)
        except ImportError:
            continue
        for op, divergences in adapter.DIVERGENCES.items():
            for d in divergences:
                found.setdefault(d.name, pytest.param(adapter, op, d, id=f"{name}-{d.name}"))
    return list(found.values())


@pytest.mark.parametrize("adapter, op, divergence", _shipped())
def test_a_shipped_candidates_divergence_holds_on_its_evidence(adapter, op, divergence):
    """The candidate still answers as its evidence says, TF as well (each within the op's
    tolerance, or raising the class named), and the two differ, or the candidate follows TF
    where TF is not exact: a divergence that vanished fails. On a backend where the divergence
    is not declared to hold (its `when`, modes or devices), only the candidate's answer is checked."""
    assert divergence.evidence, "a divergence needs evidence"
    for ev in divergence.evidence:
        record = BY_NAME[ev.op or op]
        mine = _answer(_call, *record.candidate_functions(adapter), record, ev)
        tolerance = record.tolerance(ev.check, _dtype(ev) if _dtype(ev) in DTYPES else "float32")
        assert _near(mine, ev.candidate, tolerance), f"{divergence.name}: the candidate gives {mine!r}"
        backend = current()
        if not divergence.holds_on(backend, _dtype(ev)):
            continue
        tf = _answer(_call, record.tf, record.tf_vjp, record, ev)
        assert _near(tf, ev.tf_answer(backend.mode), tolerance), f"{divergence.name}: TF gives {tf!r}"
        assert (not _near(mine, tf, tolerance) or not _near(tf, ev.exact, tolerance, same_dtype=False)
                or _ulps_from(mine, ev.exact) > _ulps_from(tf, ev.exact) + tolerance.floor), (
            f"{divergence.name} vanished: the candidate and TF agree, TF is exact and the candidate no further")


def _ulps_from(got: np.ndarray, exact: object) -> float:
    """The largest distance of `got` from the exact answer, in ULPs of `got`'s dtype."""
    want = np.asarray(exact, np.float64)
    spacing = np.spacing(np.abs(want).astype(got.dtype)).astype(np.float64)
    return float(np.nanmax(np.abs(got.astype(np.float64) - want) / spacing))


def _answer(fn, *args) -> np.ndarray | str:
    """What a side gives, or the class it raises (TF's by its own name)."""
    try:
        return np.asarray(fn(*args))
    except oracle.OracleError as error:
        return error.tf_class
    except Exception as error:  # noqa: BLE001  (the class is the answer)
        return type(error).__name__


def _near(got: np.ndarray | str, expected: object, tolerance: Tolerance, same_dtype: bool = True) -> bool:
    if isinstance(got, str) or isinstance(expected, str):
        return isinstance(got, str) and isinstance(expected, str) and meaning(got) == meaning(expected)
    if same_dtype and isinstance(expected, np.ndarray | np.generic) and np.asarray(expected).dtype != got.dtype:
        return False
    want = np.asarray(expected, np.float64).astype(got.dtype)
    return got.shape == want.shape and compare(got, want, tolerance, flush=False).passed
