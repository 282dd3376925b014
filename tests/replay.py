"""Rerun one case and print its inputs, both sides' outputs and every check.

    python -m tests.replay "Case(op='softmax', dtype='float32', shape=(2, 3), ...)"
"""

from __future__ import annotations

import sys

import numpy as np

import impl
import oracle
from tests.check import CheckResult, outcome, run_case
from tests.inputs import Case
from tests.opdb import BY_NAME


def parse(spec: str) -> Case:
    return eval(spec, {"Case": Case})  # a spec is this package's own repr, pasted back


def describe(case: Case, results: list[CheckResult] | None = None) -> str:
    """Inputs, both outputs and the verdicts, for a failure message or the terminal."""
    record = BY_NAME[case.op]
    inputs = record.build(case)
    kwargs = record.call_kwargs(case, inputs)
    with np.printoptions(precision=10, threshold=200, linewidth=120):
        lines = [f"replay: python -m tests.replay {repr(case)!r}"]
        lines += [f"{name} =\n{value!r}" for name, value in inputs.items()]
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
