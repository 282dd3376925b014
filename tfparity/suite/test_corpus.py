"""The candidate against a corpus (`--corpus`): TF's stored answers on the corpus's backend,
judged as the live run judges them; TensorFlow is never imported. A batchable candidate is
called once per signature (its cases stacked, as a device would take them), against TF's single
answers stacked; any other, once per case."""

from __future__ import annotations

import pytest

from tfparity.batch import batchable_candidate, run_batch
from tfparity.check import run_case
from tfparity.describe import failing
from tfparity.inputs import case_id
from tfparity.stacking import signatures
from tfparity.suite.families import skip_unless_provided
from tfparity.suite.test_parity import OP_DTYPES


@pytest.mark.parametrize("record, dtype", OP_DTYPES)
def test_corpus(record, dtype, candidate, recorder, shard, corpus):
    """Every case the corpus holds for the op and dtype (its sweep, fuzz and error cases)."""
    skip_unless_provided(record, candidate)
    if not corpus.holds(record.name, dtype):
        pytest.skip(f"the corpus holds no {record.name} {dtype} cases")
    answers = corpus.answers(record, dtype)
    held = [case for case, _, _ in answers.cases if shard.holds(case)]
    source = {case: source for case, source, _ in answers.cases}
    results = []
    for batch in signatures(held) if batchable_candidate(candidate) else [[case] for case in held]:
        stacked = answers.stacking(batch) if len(batch) > 1 else None
        per_case = (run_batch(stacked, batch, candidate, corpus.backend) if stacked else
                    [run_case(answers.answering(case_id(case)), case, candidate, corpus.backend) for case in batch])
        for case, checks in zip(batch, per_case, strict=True):
            recorder.add(checks, source=source[case])
            results += checks
    failures = [r for r in results if not r.passed]
    assert not failures, failing(failures, candidate=candidate, record=lambda case: answers.answering(case_id(case)))
