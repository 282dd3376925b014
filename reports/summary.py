"""The per-class summary: op x check x dtype x label kind."""

from __future__ import annotations

import pandas as pd

from reports.rows import CLASS

# A summary row is a class on one backend: a merged report holds several machines' runs.
KEYS = [*CLASS, "backend"]
SUMMARY_COLUMNS = [*KEYS, "cases", "failures", "worst_budget", "candidate_closer", "tf_closer", "tf_errors",
                   "inaccurate", "known", "worst_ulp", "worst_rel", "worst_abs", "abs_eps_needed", "tf_abs_eps_needed", "rtol", "atol",
                   "known_divergences", "worst_case", "worst_budget_case"]


def summarize(rows: pd.DataFrame) -> pd.DataFrame:
    """Cases, failures (not explained by a known divergence), cases a known divergence touched,
    worst errors, the tolerance used, and which case was worst."""
    if rows.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    rows = rows.assign(
        failed=~rows["passed"].astype(bool),
        known_hit=rows["known_divergence"].fillna("") != "",
        ulp_key=rows["max_ulp"].fillna(-1.0),
        budget_key=rows["budget_used"].fillna(-1.0),
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
    failing = summary[summary["failures"] > 0].sort_values("failures", ascending=False)
    for _, c in failing.head(shown).iterrows():
        lines.append(f"  FAIL {c['op']}/{c['check']}/{c['dtype']}/{c['label_kind']}: {c['failures']} failing, "
                     f"worst ULP {c['worst_ulp']:g}; tfparity replay {c['worst_case']} --report {out}")
    lines += ["", f"reports: {out}/report.html, {out}/cases.csv (and .parquet), {out}/summary.csv"]
    return "\n".join(lines)
