"""Batching changes no verdict: every op x dtype, a sample run batched and singly, boundary
cases included; a wrong value in one case of a batch is reported as that case alone."""

from __future__ import annotations

import hashlib
import sys
import types

import numpy as np
import pytest

import impl
from tfparity.batch import BATCH, CONFIRMED, run_batch
from tfparity.check import Outcome, digest, digests, run_case
from tfparity.describe import describe
from tfparity.dtypes import DTYPES, np_dtype
from tfparity.inputs import Case
from tfparity.opdb import BY_NAME, KERAS_RECORDS, NN_RECORDS
from tfparity.spread import sample
from tfparity.stacking import SIZE, members

CHECKED = 8  # cases per batch also run alone: the first, and the nearest their budget's edge


def _nudged(ulps: int) -> types.ModuleType:
    """impl with every value moved `ulps` steps up: near the ULP budget, where verdicts turn."""
    module = types.ModuleType(f"impl_nudged_{ulps}")

    def nudge(value):
        if isinstance(value, dict):
            return {k: nudge(v) for k, v in value.items()}
        array = np.asarray(value)
        for _ in range(ulps):
            array = np.nextafter(array.astype(np.float64), np.inf).astype(array.dtype) if array.dtype.itemsize < 8 \
                else np.nextafter(array, np.inf)
        return array

    for name in dir(impl):
        function = getattr(impl, name)
        if callable(function) and not name.startswith("_"):
            setattr(module, name, lambda *a, _f=function, **k: nudge(_f(*a, **k)))
    sys.modules[module.__name__] = module
    return module


CANDIDATES = {"impl": impl, "nudged": _nudged(2)}
# Batching is the engine's, not an op's: the tf.nn records check it on every dtype; each Keras
# record (its own argument layout stacked) on one dtype, in turn, so every dtype is seen. Nudged
# float64 puts every element on a knife edge that mpmath settles (15 to 30 s per tf.nn record, 90 s
# per Keras binary loss, whose reference evaluates whole rows): it runs on one record per argument
# layout (axis, elementwise, integer labels), and impl on every record.
NUDGED_FLOAT64 = {"softmax", "sigmoid", "sparse_softmax_cross_entropy_with_logits"}
CASES = [pytest.param(c, r, d, id=f"{name}-{r.name}-{d}") for name, c in CANDIDATES.items() for r, d in (
    *((r, d) for r in NN_RECORDS for d in DTYPES),
    *((r, DTYPES[i % len(DTYPES)]) for i, r in enumerate(KERAS_RECORDS) if r.stacks))
    if name == "impl" or d != "float64" or r.name in NUDGED_FLOAT64]


@pytest.mark.parametrize("candidate, record, dtype", CASES)
def test_batched_verdicts_are_single_verdicts(candidate, record, dtype):
    """The spread's own sample (every value regime, broadcast labels), rank-5 cases at oneDNN's rank
    edge and every label kind: each case's verdicts, batched, equal its verdicts run alone, for
    the first cases of each batch and the ones nearest their budget's edge."""
    batches = sample(record, dtype, SIZE) + [
        members(Case(record.name, dtype, (2, 1, 2, 1, 3), None, record.label_kinds[0], record.regimes[0], 11)),
        *(members(Case(record.name, dtype, (3, 4), 0 if record.has_axis else None, kind, record.regimes[0], 12,
                       broadcast=record.broadcast_labels)) for kind in record.label_kinds)]
    for batch in batches:
        batched = run_batch(record, batch, candidate)
        nearest = sorted(range(len(batch)), key=lambda b: -max(_budget(r) for r in batched[b]))
        for b in sorted({*range(CHECKED), *nearest[:CHECKED]}):
            alone = run_case(record, batch[b], candidate)
            assert [(r.check, r.verdict) for r in batched[b]] == [(r.check, r.verdict) for r in alone], batch[b]


def _budget(result) -> float:
    return result.comparison.budget_used if result.comparison else 0.0


def test_a_wrong_value_in_one_case_is_reported_as_that_case():
    record = BY_NAME["softmax"]
    batch = members(Case("softmax", "float32", (3, 4), None, None, "ordinary", 5))
    target = record.arguments(batch[7])["logits"]
    wrong = types.ModuleType("impl_wrong_once")
    wrong.softmax_vjp = impl.softmax_vjp
    wrong.softmax = lambda logits, axis=None: impl.softmax(logits, axis) + (1e-3 if np.array_equal(logits, target) else 0)
    results = run_batch(record, batch, wrong)
    failing = {r.case for checks in results for r in checks if not r.passed}
    assert failing == {batch[7]}
    value = results[7][0]
    assert value.check == "value" and value.path == CONFIRMED and value.verdict in ("inaccurate", "mismatch")
    # the others pass, in the batch or (near the budget's edge for TF's batch spread) confirmed alone
    assert {r.path for b, checks in enumerate(results) if b != 7 for r in checks} <= {BATCH, CONFIRMED}
    assert f"tfparity replay {repr(batch[7])!r}" in describe(batch[7], results[7], wrong)


def test_where_tf_rejects_the_whole_batch_the_excused_candidate_has_its_scale():
    """TF rejects a negative class axis for every case of the batch (softmax_ce_negative_axis_raises),
    so the candidate meets the exact answer: with the op's scale, as alone. The thorough run found
    a batch judged in ULP alone: impl 64 ULP (5e-20 absolute, well inside 2 eps x a scale of 8) from
    a float64 loss of 6.1e-6, failing in the batch where it passed alone."""
    record = BY_NAME["softmax_then_categorical_crossentropy"]
    case = Case(record.name, "float64", (2, 1, 1, 1), -4, "one_hot", "ordinary", 107)
    batch = members(case, 8)
    batched = run_batch(record, batch)
    for b, checks in enumerate(batched):
        alone = run_case(record, batch[b], impl)
        assert [(r.check, r.verdict, r.passed) for r in checks] == [(r.check, r.verdict, r.passed) for r in alone], batch[b]
    assert all(r.passed for checks in batched for r in checks)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (1,), (3,), (2, 3), (2, 1, 4)])
def test_a_batch_digests_each_answer_as_alone(dtype, shape):
    """The batched answers' digests (dtype, shape, bytes) are each case's own, as a report made case by
    case (or another machine's) has them: blake2b of the dtype and shape (a scalar as (1,)) and bytes."""
    batch = np.random.default_rng(0).normal(size=(5, *shape)).astype(np_dtype(dtype))
    alone = []
    for answer in batch:
        a = np.ascontiguousarray(answer)  # ndim >= 1: a scalar reads as shape (1,)
        alone.append(hashlib.blake2b(f"{a.dtype}{a.shape}".encode() + a.tobytes(), digest_size=8).hexdigest())
    assert digests(batch) == alone == [digest(Outcome(answer)) for answer in batch]
    assert len(set(alone)) == len(alone)
