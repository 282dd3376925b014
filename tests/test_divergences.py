"""Every known divergence is checked on this machine's backend, in each of TF's modes (eager,
graph, XLA), where it applies and where it does not.

Where a divergence applies to its evidence (the probe says so for the evidence's dtype), TF must
still give what was measured; where it does not, TF must give the exact answer, within the op's
ULP budget. Either way impl gives the exact answer. When TF changes (a fix, a new kernel, another
CPU), one of these fails and the record must be revisited: a divergence that vanished or appeared
is news.
"""

from __future__ import annotations

import numpy as np
import pytest

import impl
import oracle
from oracle.modes import ENV as MODE_ENV
from oracle.modes import MODES
from tfparity.backend import current
from tfparity.check import meaning
from tfparity.compare import Tolerance, compare
from tfparity.opdb import BY_NAME, RECORDS
from tfparity.records import PRIMARY

EXACT = Tolerance(2, 0, "impl is within 2 ULP of the exact answer")

# A divergence shared by several records keeps evidence for the first record that lists it.
EVIDENCE: dict[tuple[str, int], tuple] = {}
for record in RECORDS:
    for divergence in record.divergences:
        for i, evidence in enumerate(divergence.evidence):
            EVIDENCE.setdefault((divergence.name, i), (record, divergence, evidence))
KEYS = [pytest.param(key, id=f"{key[0]}-{key[1]}") for key in EVIDENCE]


def _dtype(evidence) -> str:
    return str(np.asarray(next(evidence.inputs[k] for k in PRIMARY if k in evidence.inputs)).dtype)


def _outcome(fn, *args):
    try:
        return fn(*args)
    except (oracle.OracleError, impl.InvalidArgumentError) as error:
        return error


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("key", KEYS)
def test_tf_diverges_exactly_where_the_probe_says(key, mode, monkeypatch):
    """In each of TF's modes, whatever mode the run is in."""
    monkeypatch.setenv(MODE_ENV, mode)
    record, divergence, evidence = EVIDENCE[key]
    backend = current()
    applies = divergence.applies(backend, _dtype(evidence))
    expected = evidence.tf_answer(backend.mode) if applies else evidence.exact
    got = _outcome(_tf_side, record, evidence)
    where = (f"{divergence.name} {'applies' if applies else 'does not apply'} here "
             f"({divergence.conditions()}; backend {backend.fingerprint}: {backend.summary()})")
    if isinstance(expected, str):  # an error, compared by meaning (a graph raises ValueError at its trace)
        assert isinstance(got, oracle.OracleError) and meaning(got.tf_class) == meaning(expected), (
            f"{where}: TF gave {got!r}, expected {expected}")
        return
    assert not isinstance(got, Exception), f"{where}: TF raised {got}"
    if applies:
        np.testing.assert_array_equal(got, expected, err_msg=where)
    else:
        want = np.asarray(expected, np.float64).astype(got.dtype)
        result = compare(got, want, record.tolerance(evidence.check, str(got.dtype)), flush=False)
        assert result.passed, f"{where}: TF {got!r} is not the exact {want!r}: {result}"


def _tf_side(record, evidence):
    return _call(record.tf, record.tf_vjp, record, evidence)


def _call(value_fn, vjp_fn, record, evidence):
    kwargs = dict(evidence.inputs)
    if evidence.check == "value":
        return value_fn(**kwargs)
    ones = np.ones_like(record.reference(**kwargs))
    cotangent = ones if evidence.cotangent is None else np.asarray(evidence.cotangent, ones.dtype)
    return vjp_fn(cotangent, **kwargs)[evidence.check.removeprefix("vjp_")]


@pytest.mark.parametrize("key", KEYS)
def test_impl_gives_the_exact_answer(key):
    record, _, evidence = EVIDENCE[key]
    vjp = getattr(impl, f"{record.function}_vjp")
    if isinstance(evidence.exact, str):
        with pytest.raises(impl.InvalidArgumentError):
            _call(record.reference, vjp, record, evidence)
        return
    got = np.asarray(_call(record.reference, vjp, record, evidence))
    exact = np.asarray(evidence.exact, np.float64).astype(got.dtype)
    result = compare(got, exact, EXACT, flush=False)
    assert result.passed, result


def test_every_divergence_names_where_it_holds():
    for record in RECORDS:
        for divergence in record.divergences:
            assert divergence.dtypes and divergence.what and divergence.devices and divergence.modes
            assert divergence.evidence or divergence.checks, divergence.name
    assert len({d.name for r in RECORDS for d in r.divergences}) == len(
        {id(d) for r in RECORDS for d in r.divergences}), "divergence names must be unique"
    assert set(BY_NAME) == {r.name for r in RECORDS}
