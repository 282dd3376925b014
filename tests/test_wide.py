"""The long-double arbiter against mpmath: within its bound everywhere, and nan exactly where
mpmath declines to evaluate."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tfparity import exact, wide
from tfparity.compare import as_scale
from tfparity.dtypes import DTYPES, as_constant
from tfparity.inputs import cotangent
from tfparity.opdb import RECORDS
from tfparity.strategies import cases

SAMPLED = 24  # elements per check compared with mpmath (a record checking one in `share`: a share of them)


@pytest.mark.skipif(not wide.USABLE, reason="long double is float64 here: mpmath decides alone")
@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.name)
@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=12)
@given(data=st.data())
def test_wide_within_bound(record, dtype, data):
    with np.errstate(all="ignore"):
        _check_all(record, data.draw(cases(record, dtype)))


def _check_all(record, case) -> None:
    kwargs = record.arguments(case)
    inputs = {k: as_constant(v) for k, v in kwargs.items() if k != "axis"}
    axis = record.class_axis(case)
    g = cotangent(case, record.wide("value", inputs, axis, None).shape)
    scales = record.scales(inputs, axis, g)
    for check in record.checks:
        w = record.wide(check, inputs, axis, g)
        assert w.dtype == wide.WIDE
        def at(index, check=check):
            return exact.evaluate(lambda: record.exact(check, inputs, axis, g, index), np.dtype(np.float64))
        limit = wide.bound(w, as_scale(scales.get(check, 0.0), w.shape))
        for flat in np.linspace(0, w.size - 1, min(w.size, SAMPLED // record.share)).astype(int):
            index = np.unravel_index(flat, w.shape)
            value = at(tuple(int(i) for i in index))
            if value is None or not np.isfinite(w[index]):
                assert value is None and not np.isfinite(w[index]), (check, index, value, w[index])
                continue
            off = abs(wide.to_mpf(w[index]) - value)
            assert off <= wide.to_mpf(limit[index]) + exact.AGREE * exact.spacing(value, np.dtype(np.float64)), (check, index, float(value), w[index], float(off), limit[index])
