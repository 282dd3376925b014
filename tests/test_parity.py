"""impl against TF, generated from the op records: a full sweep and a hypothesis fuzz per op and dtype."""

from __future__ import annotations

import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from tfparity.check import CheckResult, run_case
from tfparity.describe import describe
from tfparity.dtypes import DTYPES
from tfparity.opdb import RECORDS
from tfparity.strategies import cases
from tfparity.sweep import sweep

OP_DTYPES = [pytest.param(r, d, id=f"{r.name}-{d}") for r in RECORDS for d in DTYPES]


def _report(failures: list[CheckResult], limit: int = 3) -> str:
    cases_seen = list(dict.fromkeys(f.case for f in failures))
    shown = "\n\n".join(describe(case, [f for f in failures if f.case == case]) for case in cases_seen[:limit])
    return f"{len(failures)} failing checks in {len(cases_seen)} cases; first {limit}:\n\n{shown}"


@pytest.mark.parametrize("record, dtype", OP_DTYPES)
def test_sweep(record, dtype, candidate, recorder):
    """Every rank, axis (and default), label kind and value regime, once."""
    results = []
    for case in sweep(record, dtype):
        checks = run_case(record, case, candidate)
        recorder.add(checks, source="sweep")
        results += checks
    failures = [r for r in results if not r.passed]
    assert results and not failures, _report(failures)


@pytest.mark.parametrize("record, dtype", OP_DTYPES)
@given(data=st.data())
def test_fuzz(record, dtype, candidate, recorder, data):
    """Hypothesis searches case specs; a failure shrinks to the smallest spec that still fails."""
    case = data.draw(cases(record, dtype), label="case")
    results = run_case(record, case, candidate)
    recorder.add(results, source="fuzz")
    failures = [r for r in results if not r.passed]
    if failures:
        note(describe(case, failures, candidate))
    assert not failures, _report(failures)
