"""The per-class summary: op x check x dtype x label kind."""

from __future__ import annotations

import pandas as pd

from reports.rows import CLASS, MISUSE

# A summary row is a class on one backend: a merged report holds several machines' runs.
KEYS = [*CLASS, "backend"]
SUMMARY_COLUMNS = [*KEYS, "cases", "failures", "worst_budget", "candidate_budget", "worst_bound", "set_apart",
                   "candidate_closer", "tf_closer", "tf_errors", "inaccurate", "known", "worst_ulp", "worst_rel",
                   "worst_abs", "abs_eps_needed", "tf_abs_eps_needed", "rtol", "atol", "known_divergences",
                   "worst_case", "worst_budget_case"]


def set_apart(rows: pd.DataFrame) -> pd.Series:
    """The checks that pass on TF's account: TF is the side in error (verdict `tf_error`), or a
    known divergence (TF's, or the candidate's declared one) explained elements. Their share of
    the tolerance says where TF stands, not the candidate (a `tf_error` check's is unbounded when
    TF gives nan where the exact answer is finite), so they are counted apart."""
    explained = (rows["verdict"] == "tf_error") | (rows["known_divergence"].fillna("") != "")
    return rows["passed"].astype(bool) & explained


def judges_candidate(rows: pd.DataFrame) -> pd.Series:
    """The value and gradient checks whose share of the tolerance measures the candidate: compared
    with TF, not set apart, not a VJP the candidate does not provide."""
    return (rows["budget_used"].notna() & ~rows["check"].isin([MISUSE, "error"])
            & (rows["verdict"] != "not_provided") & ~set_apart(rows))


def summarize(rows: pd.DataFrame) -> pd.DataFrame:
    """Cases, failures (not explained by a known divergence), cases a known divergence touched,
    worst errors, the tolerance used (`worst_budget` over every check, as the gate reads it;
    `candidate_budget` over the checks that measure the candidate; `worst_bound` of the candidate's
    own bounded divergences where they excused it), checks set apart, and which case was worst."""
    if rows.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    rows = rows.assign(
        failed=~rows["passed"].astype(bool),
        known_hit=rows["known_divergence"].fillna("") != "",
        ulp_key=rows["max_ulp"].fillna(-1.0),
        budget_key=rows["budget_used"].fillna(-1.0),
        own_budget=rows["budget_used"].where(judges_candidate(rows)),
        apart=set_apart(rows),
    )
    worst = rows.sort_values("ulp_key", ascending=False, kind="stable").drop_duplicates(KEYS)
    grouped = rows.groupby(KEYS, sort=True)
    summary = pd.DataFrame({
        "cases": grouped["case_id"].nunique(),
        "failures": grouped["failed"].sum(),
        "known": grouped["known_hit"].sum(),
        "worst_ulp": grouped["max_ulp"].max(),
        "worst_rel": grouped["max_rel_err"].max(),
        "worst_abs": grouped["max_abs_err"].max(),
        "abs_eps_needed": grouped["abs_eps_needed"].max(),
        "tf_abs_eps_needed": grouped["tf_abs_eps_needed"].max(),
        "worst_budget": grouped["budget_used"].max(),
        "candidate_budget": grouped["own_budget"].max(),
        "worst_bound": grouped["bound_used"].max(),
        "set_apart": grouped["apart"].sum(),
        "candidate_closer": grouped["closer"].agg(lambda c: int((c == "candidate").sum())),
        "tf_closer": grouped["closer"].agg(lambda c: int((c == "tf").sum())),
        "tf_errors": grouped["verdict"].agg(lambda v: int((v == "tf_error").sum())),
        "inaccurate": grouped["verdict"].agg(lambda v: int((v == "inaccurate").sum())),
        "rtol": grouped["rtol"].max(),
        "atol": grouped["atol"].max(),
        "known_divergences": grouped["known_divergence"].agg(_names),
    })
    summary["worst_case"] = worst.set_index(KEYS)["case_id"]
    spent = rows.sort_values("budget_key", ascending=False, kind="stable").drop_duplicates(KEYS)
    summary["worst_budget_case"] = spent.set_index(KEYS)["case_id"]
    return summary.reset_index()[SUMMARY_COLUMNS]


def _names(column: pd.Series) -> str:
    return ";".join(sorted({n for cell in column.dropna() for n in cell.split(";") if n}))


def one_screen(run: dict, summary: pd.DataFrame, out: object, shown: int = 12) -> str:
    """What a terminal shows after a run: the verdict, failures per op and dtype, where to look."""
    lines = [(f"tfparity: {run['status'].upper()} run: {run['cases']} cases, {run['rows']} checks, "
              f"{run['failures']} failing (profile {run['environment'].get('profile')}, "
              f"seed {run['environment'].get('seed')})")]
    lines += [f"  incomplete: {p}" for p in run["problems"][:5]]
    if not summary.empty:
        grid = summary.pivot_table(index="op", columns="dtype", values=["cases", "failures"], aggfunc="sum")
        cells = (grid["failures"].fillna(0).astype(int).astype(str) + " / "
                 + grid["cases"].fillna(0).astype(int).astype(str)).where(grid["cases"].notna(), "-")
        lines += ["", "failing checks / checks, per op and dtype:", cells.to_string()]
        checked = summary[~summary["check"].isin([MISUSE, "error"])]
        lines += ["", (f"the candidate's worst share of its tolerance: {checked['candidate_budget'].max():.2f} "
                      f"(1 is the limit); set apart on TF's account: {int(checked['tf_errors'].sum()):,} checks where TF "
                      f"is the side in error, {int((checked['set_apart'] - checked['tf_errors']).sum()):,} explained by "
                      "a known divergence")]
    failing = summary[summary["failures"] > 0].sort_values("failures", ascending=False)
    for _, c in failing.head(shown).iterrows():
        lines.append(f"  FAIL {c['op']}/{c['check']}/{c['dtype']}/{c['label_kind']}: {c['failures']} failing, "
                     f"worst share of the tolerance {c['worst_budget']:.3g}; "
                     f"tfparity replay {c['worst_budget_case']} --report {out}")
    lines += ["", f"reports: {out}/report.html, {out}/cases.csv (and .parquet), {out}/summary.csv"]
    return "\n".join(lines)
