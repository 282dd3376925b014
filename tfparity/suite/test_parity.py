"""impl against TF, generated from the op records: a full sweep and a batched hypothesis fuzz per op and dtype."""

from __future__ import annotations

import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from tfparity import backend as backends
from tfparity import profiles
from tfparity.batch import run_batch
from tfparity.describe import describe
from tfparity.describe import failing as _report
from tfparity.dtypes import DTYPES
from tfparity.opdb import RECORDS
from tfparity.stacking import members, signatures
from tfparity.strategies import cases
from tfparity.suite.families import skip_unless_provided
from tfparity.sweep import sweep

# The tests call the failure message `_report`, as they always have: their source text seeds the
# derandomized profiles' draws (tests/test_derandomized.py).
OP_DTYPES = [pytest.param(r, d, id=f"{r.name}-{d}") for r in RECORDS for d in DTYPES]


@pytest.mark.parametrize("record, dtype", OP_DTYPES)
def test_sweep(record, dtype, candidate, recorder, shard):
    """Every rank, axis (and default), label kind and value regime, once: the cases of one shape,
    axis and label kind judged together (tfparity.batch) after one TF call, or where TF compiles
    per shape one call per case (the pooled shape's program then serves every case). A batch is
    checked by the shard holding its first case, so a sharded run's batches are the whole run's."""
    skip_unless_provided(record, candidate)
    results = []
    swept = [case for case in sweep(record, dtype) if profiles.sweeps(record, case)]
    held = [batch for batch in signatures(swept) if shard.holds(batch[0])]
    for batch in held:
        for checks in run_batch(record, batch, candidate, tf_alone=backends.current().compiles_per_shape):
            recorder.add(checks, source="sweep")
            results += checks
    failures = [r for r in results if not r.passed]
    assert results or not held, "no check ran"
    assert not failures, _report(failures)


@pytest.mark.parametrize("record, dtype", OP_DTYPES)
@settings(max_examples=profiles.fuzz_examples())
@given(data=st.data())
def test_fuzz(record, dtype, candidate, recorder, shard, data):
    """Hypothesis searches case specs, each the first of a batch of `stacking.SIZE` seeds run in one
    TF call (tfparity.batch; where TF compiles per shape, one call per case, the sweep's program
    serving them: the derandomized profiles draw the swept shapes and axes); a failure is confirmed singly, reported as its own case with its
    replay, and shrinks to the smallest spec whose batch still fails. A batch is checked by the
    shard holding its drawn case."""
    skip_unless_provided(record, candidate)
    case = data.draw(cases(record, dtype, profiles.fuzzed_slots(record, dtype)), label="case")
    if not shard.holds(case):
        return
    batch = run_batch(record, members(case, profiles.batch_size(record.share)), candidate,
                      tf_alone=backends.current().compiles_per_shape)
    results = [result for checks in batch for result in checks]
    recorder.add(results, source="fuzz")
    failures = [r for r in results if not r.passed]
    if failures:
        note(describe(failures[0].case, [f for f in failures if f.case == failures[0].case], candidate))
    assert not failures, _report(failures)
