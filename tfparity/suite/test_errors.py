"""Edge-of-domain inputs: impl must raise where TF raises (same category) and return what TF returns."""

from __future__ import annotations

import pytest

from tfparity.backend import current
from tfparity.check import outcome, run_case
from tfparity.opdb import RECORDS
from tfparity.suite.families import skip_unless_provided

ERROR_INPUTS = [
    pytest.param(record, error, case, id=f"{record.name}-{error.name}-{case.dtype}")
    for record in RECORDS for error, case in record.error_cases()
]


@pytest.mark.parametrize("record, error, case", ERROR_INPUTS)
def test_error_input(record, error, case, candidate, recorder):
    skip_unless_provided(record, candidate)
    [result] = run_case(record, case, candidate)
    recorder.add([result], source="error")
    tf = outcome(record.tf, **record.arguments(case))
    mode = current().mode
    assert (tf.error is not None) == error.raises(mode), f"TF changed: expected raises={error.raises(mode)} in {mode}, got {tf}"
    assert result.passed, result.describe()
    if tf.error and not result.known:
        assert tf.error == "InvalidArgument", f"TF raised {tf.error}: {tf.message[:200]}"
