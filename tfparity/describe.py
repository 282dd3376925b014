"""A case's inputs, both sides' outputs and every check, as text (`tfparity replay` prints it)."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import numpy as np

import impl
from tfparity import backend as backends
from tfparity import misusedb
from tfparity.check import CheckResult, outcome, run_case, run_misuse
from tfparity.inputs import Case
from tfparity.opdb import BY_NAME
from tfparity.records import OpRecord


def arguments(case: Case) -> dict[str, object]:
    """The inputs a case (an op's or a misuse's) stands for."""
    misuse = misusedb.BY_NAME.get(case.op)
    return misuse.build(case) if misuse else BY_NAME[case.op].arguments(case)


def describe(case: Case, results: list[CheckResult] | None = None, candidate: ModuleType = impl,
             record: OpRecord | None = None) -> str:
    """Inputs, both outputs and the verdicts, for a failure message or the terminal; `record`
    answers for TF where the op's own does not (a corpus)."""
    if case.op in misusedb.BY_NAME:
        return _describe_misuse(misusedb.BY_NAME[case.op], case)
    record = record or BY_NAME[case.op]
    kwargs = record.arguments(case)
    with np.printoptions(precision=10, threshold=200, linewidth=120):
        flag = "" if candidate is impl else f" --candidate {candidate.__name__}"
        lines = [f"replay: tfparity replay {repr(case)!r}{flag}"]
        lines += [f"{name} =\n{value!r}" for name, value in kwargs.items()]
        lines.append(f"backend: {backends.current().fingerprint} ({backends.current().summary()})")
        for side, function in ((candidate.__name__, record.candidate_functions(candidate)[0]), ("tf", record.tf)):
            result = outcome(function, **kwargs)
            lines.append(f"{side} -> {result.error + ': ' + result.message if result.error else repr(result.value)}")
    lines += [r.describe() for r in results or run_case(record, case, candidate)]
    return "\n".join(lines)



def _describe_misuse(misuse: misusedb.Misuse, case: Case) -> str:
    inputs = misuse.build(case)
    with np.printoptions(precision=10, threshold=200, linewidth=120), np.errstate(all="ignore"):
        lines = [f"replay: tfparity replay {repr(case)!r}", f"misuse {misuse.name} ({misuse.source}): {misuse.what}",
                 f"correct: {misuse.correct}"]
        lines += [f"{name} =\n{value!r}" for name, value in inputs.items()]
        lines.append(f"misuse -> {np.asarray(misuse.misused(inputs))!r}")
        lines.append(f"tf     -> {np.asarray(misuse.reference(inputs))!r}")
        if misuse.gap is not None:
            lines.append(f"predicted gap (misuse - tf) -> {np.asarray(misuse.gap(inputs))!r}")
    return "\n".join([*lines, run_misuse(misuse, case).describe()])


def failing(failures: list[CheckResult], limit: int = 3, candidate: ModuleType = impl,
            record: Callable[[Case], OpRecord] | None = None) -> str:
    """A test's failure message: how many checks and cases failed, and the first cases described
    (`record`: the record answering for TF in a case, where the op's own does not)."""
    cases_seen = list(dict.fromkeys(f.case for f in failures))
    shown = "\n\n".join(describe(case, [f for f in failures if f.case == case], candidate, record and record(case))
                         for case in cases_seen[:limit])
    return f"{len(failures)} failing checks in {len(cases_seen)} cases; first {limit}:\n\n{shown}"
