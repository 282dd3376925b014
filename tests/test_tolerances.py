"""The tolerances ratchet: none may loosen past the committed ceilings, and each says what it rests on.

`tolerance_ceilings.json` holds each op's (ULP budget, abs_eps) per table and dtype as last derived
from measurement. Tightening a tolerance is free; loosening one means editing that file, in the
same commit as the measurement that forces it.
"""

from __future__ import annotations

import json
from pathlib import Path

import ml_dtypes
import pandas as pd
import pytest

from tfparity.dtypes import DTYPES
from tfparity.opdb import RECORDS

CEILINGS = json.loads((Path(__file__).with_name("tolerance_ceilings.json")).read_text())


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.name)
def test_no_tolerance_loosens_and_each_gives_its_measurement(record):
    for table, check in (("value", "value"), ("vjp", f"vjp_{record.grads[0]}")):
        for dtype in DTYPES:
            tolerance = record.tolerance(check, dtype)
            ulp, abs_eps = CEILINGS[record.name][table][dtype]
            assert tolerance.ulp <= ulp and tolerance.abs_eps <= abs_eps, (record.name, table, dtype, tolerance)
            # the floor is one ULP at most: of the dtype, or of the narrower one TF computes in (a
            # Keras class's float64 gradients carry float32's rounding)
            eps = ml_dtypes.finfo(dtype).eps
            limit = max(1.0, float(ml_dtypes.finfo(tolerance.computes_in or dtype).eps / eps))
            assert "measured" in tolerance.reason and tolerance.floor <= limit


EVIDENCE = pd.read_csv(Path(__file__).with_name("tolerance_evidence.csv"))


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.name)
def test_every_tolerance_has_its_measured_evidence(record):
    """`tolerance_evidence.csv` gives, per table and dtype, TF's error against the exact answer and
    the candidate's distance from TF (in abs_eps units, on each backend), and the margin the
    tolerance keeps over TF's error: it must describe the tolerances as they are."""
    mine = EVIDENCE[EVIDENCE["op"] == record.name].set_index(["table", "dtype"])
    for table, check in (("value", "value"), ("vjp", f"vjp_{record.grads[0]}")):
        for dtype in DTYPES:
            row = mine.loc[(table, dtype)]
            tolerance = record.tolerance(check, dtype)
            assert (row["ulp"], row["abs_eps"]) == (tolerance.ulp, tolerance.abs_eps), (record.name, table, dtype)
            assert row[["tf_vs_exact_off", "tf_vs_exact_on", "candidate_vs_tf_off", "candidate_vs_tf_on"]].notna().all()
