"""The derandomized profiles (ci, quick) draw each hypothesis test's examples from the test's
digest: its source text and signature (hypothesis's `function_digest`). Editing a suite test's
body, even renaming a helper it calls, draws other cases, and every strict baseline and every
corpus built from a ci run no longer matches. The digests are pinned here, so that such an edit
is a decision (remake the baselines, say so), never an accident found by the gate."""

from __future__ import annotations

import pytest
from hypothesis.internal.reflection import function_digest

import tfparity.suite.test_misuses
import tfparity.suite.test_parity

PINNED = {  # test -> the first 16 hex digits of its digest, as the committed baselines were drawn
    "test_parity.test_fuzz": "43dfea62c0344c25",
    "test_misuses.test_misuse": "ec898635b68307d8",
    "test_misuses.test_reduce_mean_is_what_keras_reports": "8a42be1973994308",
    "test_misuses.test_theta_softmax_is_tf_softmax_along_its_own_axis": "dcec44c545c06db8",
}
MODULES = (tfparity.suite.test_parity, tfparity.suite.test_misuses)


def _drawn() -> dict[str, str]:
    return {f"{module.__name__.rsplit('.', 1)[1]}.{name}": function_digest(test.hypothesis.inner_test).hex()[:16]
            for module in MODULES for name, test in vars(module).items()
            if name.startswith("test") and hasattr(test, "hypothesis")}


@pytest.mark.parametrize("test", sorted(PINNED))
def test_the_suite_draws_the_cases_the_baselines_were_made_from(test):
    assert _drawn()[test] == PINNED[test], (
        f"{test}'s source changed, so the derandomized profiles draw other cases: restore it, or remake "
        "every baseline (tfparity baseline) and say so, then pin the new digest here")


def test_every_hypothesis_test_of_the_suite_is_pinned():
    assert set(_drawn()) == set(PINNED)
