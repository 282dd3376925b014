"""One row per checked case and check: the schema every report, summary and gate reads."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from tfparity.dtypes import np_dtype
from tfparity.inputs import case_id

if TYPE_CHECKING:  # tfparity.check imports TensorFlow, which a session's controller never needs
    from tfparity.check import CheckResult

COLUMNS = (
    "case_id", "op", "check", "dtype", "shape", "axis", "label_kind", "regime", "source",
    "verdict", "budget_used", "bound_used", "candidate_exact_ulp", "tf_exact_ulp", "closer",
    "rtol", "atol", "abs_eps_needed", "tf_abs_eps_needed", "max_abs_err", "max_rel_err", "max_ulp", "mismatches",
    "special_mismatch", "ignored_mismatches", "flushed", "passed", "known_divergence", "detail", "backend",
    "path", "batch_spread", "batch_spread_ulp", "tf_answer", "candidate_answer", "tf_raised", "spec", "replay",
)
# A class is what the summary and the gate aggregate over.
CLASS = ["op", "check", "dtype", "label_kind"]
NO_LABELS = "none"
MISUSE = "misuse"
DEFAULT_AXIS = "default"


def shape_text(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape)) or "()"


def replay_command(cid: str, report_dir: str) -> str:
    return f"tfparity replay {cid} --report {report_dir}"


def row(result: CheckResult, source: str, report_dir: str, backend: str) -> dict[str, object]:
    """The row for one check of one case on the backend fingerprinted `backend`. Metrics are nan
    where no values were compared (either side raised, or a gradient was missing)."""
    case, c, a = result.case, result.comparison, result.accuracy
    cid = case_id(case)
    nan = math.nan
    return {
        "case_id": cid,
        "op": case.op,
        "check": result.check,
        "dtype": case.dtype,
        "shape": shape_text(case.shape),
        "axis": DEFAULT_AXIS if case.axis is None else str(case.axis),
        "label_kind": case.labels or NO_LABELS,
        "regime": case.regime,
        "source": source,
        "rtol": result.tolerance.rtol(np_dtype(case.dtype)),
        "atol": result.tolerance.atol(np_dtype(case.dtype)),
        "abs_eps_needed": c.abs_eps_needed if c else nan,
        "tf_abs_eps_needed": result.tf_abs_eps_needed,
        "max_abs_err": c.max_abs_err if c else nan,
        "max_rel_err": c.max_rel_err if c else nan,
        "max_ulp": c.max_ulp if c else nan,
        "verdict": result.verdict,
        "budget_used": c.budget_used if c else (0.0 if result.passed else math.inf),
        "bound_used": result.bound_used,
        "candidate_exact_ulp": a.candidate_ulp if a else nan,
        "tf_exact_ulp": a.tf_ulp if a else nan,
        "closer": a.closer if a else "",
        "mismatches": c.mismatches if c else int(not result.passed),
        "special_mismatch": c.special_mismatch if c else 0,
        "ignored_mismatches": c.ignored_mismatches if c else 0,
        "flushed": c.flushed if c else 0,
        "passed": result.passed,
        "known_divergence": ";".join(result.known),
        "detail": result.detail,
        "backend": backend,
        "path": result.path,
        "batch_spread": result.batch_spread,
        "batch_spread_ulp": result.batch_spread_ulp,
        "tf_answer": result.tf_answer,
        "candidate_answer": result.candidate_answer,
        "tf_raised": result.tf_raised,
        "spec": repr(case),
        "replay": replay_command(cid, report_dir),
    }
