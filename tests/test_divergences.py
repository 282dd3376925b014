"""Every known divergence keeps its evidence: TF still gives what was measured, impl the exact answer.

When TF changes (a fix, a new kernel), the first assertion fails and the record must be revisited.
"""

from __future__ import annotations

import numpy as np
import pytest

import impl
import oracle
from tfparity.compare import Tolerance, compare
from tfparity.opdb import BY_NAME, RECORDS

EXACT = Tolerance(2, 0, "impl is within 2 ULP of the exact answer")

# A divergence shared by several records keeps evidence for the first record that lists it.
EVIDENCE: dict[tuple[str, int], tuple] = {}
for record in RECORDS:
    for divergence in record.divergences:
        for i, evidence in enumerate(divergence.evidence):
            EVIDENCE.setdefault((divergence.name, i), (record, evidence))


def _run(module, record, check, inputs):
    kwargs = dict(inputs)
    if check == "value":
        return getattr(module, record.name)(**kwargs)
    value = getattr(impl, record.name)(**kwargs)
    grads = getattr(module, f"{record.name}_vjp")(np.ones_like(value), **kwargs)
    return grads[check.removeprefix("vjp_")]


@pytest.mark.parametrize("key", list(EVIDENCE), ids=[f"{name}-{i}" for name, i in EVIDENCE])
def test_tf_still_diverges(key):
    record, evidence = EVIDENCE[key]
    check = evidence.check
    if isinstance(evidence.tf, str):
        with pytest.raises(oracle.OracleError) as raised:
            _run(oracle, record, check, evidence.inputs)
        assert raised.value.tf_class == evidence.tf
    else:
        np.testing.assert_array_equal(_run(oracle, record, check, evidence.inputs), evidence.tf)


@pytest.mark.parametrize("key", list(EVIDENCE), ids=[f"{name}-{i}" for name, i in EVIDENCE])
def test_impl_gives_the_exact_answer(key):
    record, evidence = EVIDENCE[key]
    if isinstance(evidence.exact, str):
        with pytest.raises(impl.InvalidArgumentError):
            _run(impl, record, evidence.check, evidence.inputs)
        return
    got = np.asarray(_run(impl, record, evidence.check, evidence.inputs))
    exact = np.asarray(evidence.exact, np.float64).astype(got.dtype)
    result = compare(got, exact, EXACT)
    assert result.passed, result


def test_every_divergence_names_its_dtypes_and_effect():
    for record in RECORDS:
        for divergence in record.divergences:
            assert divergence.dtypes and divergence.what
            assert divergence.evidence or divergence.checks, divergence.name
    assert len({d.name for r in RECORDS for d in r.divergences}) == len(
        {id(d) for r in RECORDS for d in r.divergences}), "divergence names must be unique"
    assert set(BY_NAME) == {r.name for r in RECORDS}
