"""Rerun one case and print its inputs, both sides' outputs and every check.

    python -m tests.replay "Case(op='softmax', dtype='float32', shape=(2, 3), ...)"
"""

from __future__ import annotations

import ast
import sys

import numpy as np

import impl
import oracle
from tests.check import CheckResult, outcome, run_case
from tests.inputs import Case
from tests.opdb import BY_NAME


def parse(spec: str) -> Case:
    """A `Case(...)` repr back into a Case; anything else (code, other calls) is refused."""
    try:
        call = ast.parse(spec.strip(), mode="eval").body
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "Case"):
            raise ValueError("not a Case(...) call")
        return Case(*map(ast.literal_eval, call.args), **{k.arg: ast.literal_eval(k.value) for k in call.keywords})
    except (SyntaxError, ValueError, TypeError) as error:
        raise ValueError(f"not a case spec ({error}): {spec[:200]!r}") from error


def describe(case: Case, results: list[CheckResult] | None = None) -> str:
    """Inputs, both outputs and the verdicts, for a failure message or the terminal."""
    record = BY_NAME[case.op]
    kwargs = record.arguments(case)
    with np.printoptions(precision=10, threshold=200, linewidth=120):
        lines = [f"replay: python -m tests.replay {repr(case)!r}"]
        lines += [f"{name} =\n{value!r}" for name, value in kwargs.items()]
        for side, module in (("impl", impl), ("tf", oracle)):
            result = outcome(getattr(module, record.name), **kwargs)
            lines.append(f"{side} -> {result.error + ': ' + result.message if result.error else repr(result.value)}")
    lines += [r.describe() for r in results or run_case(record, case)]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    for spec in argv:
        print(describe(parse(spec)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
