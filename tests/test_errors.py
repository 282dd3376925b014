"""Edge-of-domain inputs: impl must raise where TF raises (same category) and return what TF returns."""

from __future__ import annotations

import numpy as np
import pytest

import impl
import oracle
from tests.check import judge, outcome
from tests.inputs import DTYPES, Case, np_dtype
from tests.opdb import RECORDS

ERROR_INPUTS = [
    pytest.param(record, error, dtype, id=f"{record.name}-{error.name}-{dtype}")
    for record in RECORDS for error in record.errors for dtype in DTYPES
]


@pytest.mark.parametrize("record, error, dtype", ERROR_INPUTS)
def test_error_input(record, error, dtype):
    kwargs = error.kwargs(np_dtype(dtype))
    first = next(v for k, v in kwargs.items() if k in ("logits", "x"))
    case = Case(record.name, dtype, np.shape(first), kwargs.get("axis"), regime=f"error:{error.name}")
    mine = outcome(getattr(impl, record.name), **kwargs)
    tf = outcome(getattr(oracle, record.name), **kwargs)
    assert (tf.error is not None) == error.tf_raises, f"TF changed: expected raises={error.tf_raises}, got {tf}"
    result = judge(record, case, "value", kwargs, mine, tf)
    assert result.passed, result.describe()
    if mine.error and tf.error and not result.known:
        assert mine.error == tf.error == "InvalidArgument"
