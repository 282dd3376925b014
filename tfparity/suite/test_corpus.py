"""The candidate against a corpus (`--corpus`): TF's stored answers on the corpus's backend,
judged as the live run judges them, case by case; TensorFlow is never imported."""

from __future__ import annotations

import pytest

from tfparity.check import run_case
from tfparity.describe import failing
from tfparity.inputs import case_id
from tfparity.suite.families import skip_unless_provided
from tfparity.suite.test_parity import OP_DTYPES


@pytest.mark.parametrize("record, dtype", OP_DTYPES)
def test_corpus(record, dtype, candidate, recorder, shard, corpus):
    """Every case the corpus holds for the op and dtype (its sweep, fuzz and error cases)."""
    skip_unless_provided(record, candidate)
    if not corpus.holds(record.name, dtype):
        pytest.skip(f"the corpus holds no {record.name} {dtype} cases")
    answers = corpus.answers(record, dtype)
    results = []
    for case, source, cid in answers.cases:
        if shard.holds(case):
            checks = run_case(answers.answering(cid), case, candidate, corpus.backend)
            recorder.add(checks, source=source)
            results += checks
    failures = [r for r in results if not r.passed]
    assert not failures, failing(failures, candidate=candidate, record=lambda case: answers.answering(case_id(case)))
