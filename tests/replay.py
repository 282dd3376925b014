"""A case's inputs, both sides' outputs and every check, as text (`tfparity replay` prints it)."""

from __future__ import annotations

from types import ModuleType

import numpy as np

import impl
import oracle
from tests.check import CheckResult, outcome, run_case
from tests.inputs import Case
from tests.opdb import BY_NAME


def describe(case: Case, results: list[CheckResult] | None = None, candidate: ModuleType = impl) -> str:
    """Inputs, both outputs and the verdicts, for a failure message or the terminal."""
    record = BY_NAME[case.op]
    kwargs = record.arguments(case)
    with np.printoptions(precision=10, threshold=200, linewidth=120):
        flag = "" if candidate is impl else f" --candidate {candidate.__name__}"
        lines = [f"replay: tfparity replay {repr(case)!r}{flag}"]
        lines += [f"{name} =\n{value!r}" for name, value in kwargs.items()]
        for side, module in ((candidate.__name__, candidate), ("tf", oracle)):
            result = outcome(getattr(module, record.name), **kwargs)
            lines.append(f"{side} -> {result.error + ': ' + result.message if result.error else repr(result.value)}")
    lines += [r.describe() for r in results or run_case(record, case, candidate)]
    return "\n".join(lines)

