"""TF against TF across machines: the same case and check answered on two backend fingerprints.

Each row of a merged report carries digests of both sides' answers (`tf_answer`,
`candidate_answer`). Where TF's digests differ between two machines, TF answered the same inputs
differently. How far apart: where the candidate answered alike on both machines and matches TF
exactly on one, TF's answers are exactly the other machine's `max_ulp` apart; otherwise the two
`max_ulp`s bound it (|a - b| <= apart <= a + b). Which TF is nearer exact: each side's ULPs from
the exact answer at its worst element (where one TF equals the candidate, its error there is the
candidate's). Each difference is named by the kernels TF chose on each machine.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

COLUMNS = ["op", "dtype", "check", "label_kind", "case_id", "machine_a", "machine_b", "kernel_a", "kernel_b",
           "named", "ulp_apart_low", "ulp_apart_high", "tf_exact_ulp_a", "tf_exact_ulp_b", "nearer_exact",
           "tf_answer_a", "tf_answer_b", "spec", "replay_a", "replay_b"]
_SIDE = ["case_id", "check", "op", "dtype", "label_kind", "spec", "tf_answer", "candidate_answer", "max_ulp",
         "tf_exact_ulp", "candidate_exact_ulp", "replay"]


def table(rows: pd.DataFrame, machines: dict[str, dict]) -> pd.DataFrame:
    """Every (case, check) whose TF answer differs between two machines, one row per pair of them."""
    found = [_pair(_joined(rows, a, b), a, b, machines) for a, b in itertools.combinations(sorted(machines), 2)]
    return pd.concat(found, ignore_index=True) if found else pd.DataFrame(columns=COLUMNS)


def compared(rows: pd.DataFrame, machines: dict[str, dict]) -> pd.DataFrame:
    """Per pair of machines, op, dtype and check: cases both answered, how many TF answered
    differently, the widest apart, and whose TF was nearer exact."""
    frames = []
    for a, b in itertools.combinations(sorted(machines), 2):
        both = _joined(rows, a, b)
        differ = _pair(both, a, b, machines)
        keys = ["op", "dtype", "check"]
        counts = both.groupby(keys).size().rename("cases_on_both")
        apart = differ.groupby(keys).agg(
            tf_differs=("case_id", "size"), ulp_apart_high=("ulp_apart_high", "max"),
            a_nearer=("nearer_exact", lambda v: int((v == "a").sum())),
            b_nearer=("nearer_exact", lambda v: int((v == "b").sum())), named=("named", lambda v: "; ".join(sorted(set(v)))))
        frame = pd.concat([counts, apart], axis=1).reset_index()
        frame["tf_differs"] = frame["tf_differs"].fillna(0).astype(int)
        frames.append(frame.assign(machine_a=a, machine_b=b))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _joined(rows: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    valued = rows[rows["tf_answer"].fillna("") != ""]
    side = {m: valued.loc[valued["backend"] == m, _SIDE] for m in (a, b)}
    return side[a].merge(side[b].drop(columns=["op", "dtype", "label_kind", "spec"]),
                         on=["case_id", "check"], suffixes=("_a", "_b"))


def _pair(joined: pd.DataFrame, a: str, b: str, machines: dict[str, dict]) -> pd.DataFrame:
    """The rows of `_joined(rows, a, b)` whose TF answers differ, measured and named."""
    both = joined[joined["tf_answer_a"] != joined["tf_answer_b"]].copy()
    if both.empty:
        return pd.DataFrame(columns=COLUMNS)
    # nan where a side raised or gave no values: no distance, the answers say what differs
    ua, ub = both["max_ulp_a"].astype(float), both["max_ulp_b"].astype(float)
    same_candidate = both["candidate_answer_a"] == both["candidate_answer_b"]
    exact = same_candidate & ((ua == 0) | (ub == 0))
    both["ulp_apart_low"] = np.where(exact, ua + ub, (ua - ub).abs())
    both["ulp_apart_high"] = np.where(same_candidate | ua.isna() | ub.isna(), ua + ub, np.inf)
    # where TF equals the candidate on one machine, that TF's error is the candidate's on the other
    ea = both["tf_exact_ulp_a"].where(ua != 0, both["candidate_exact_ulp_b"].where(same_candidate))
    eb = both["tf_exact_ulp_b"].where(ub != 0, both["candidate_exact_ulp_a"].where(same_candidate))
    both["tf_exact_ulp_a"], both["tf_exact_ulp_b"] = ea, eb
    both["nearer_exact"] = np.select([ea.isna() | eb.isna(), ea < eb, eb < ea], ["unknown", "a", "b"], "same")
    kernel = {m: machines[m].get("backend", {}).get("kernels", {}) for m in (a, b)}
    both["kernel_a"] = [kernel[a].get(op, {}).get(dtype, "") for op, dtype in zip(both["op"], both["dtype"], strict=True)]
    both["kernel_b"] = [kernel[b].get(op, {}).get(dtype, "") for op, dtype in zip(both["op"], both["dtype"], strict=True)]
    both["named"] = [_named(*row) for row in zip(both["op"], both["dtype"], both["kernel_a"], both["kernel_b"],
                                                 both["tf_answer_a"], both["tf_answer_b"], strict=True)]
    return both.assign(machine_a=a, machine_b=b)[COLUMNS]


def _named(op: str, dtype: str, kernel_a: str, kernel_b: str, answer_a: str, answer_b: str) -> str:
    """The difference in words: what TF raised on either side, and the kernels it chose."""
    said = {side: answer if answer.startswith("raised") else "answered" for side, answer in (("a", answer_a), ("b", answer_b))}
    raised = f"; TF {said['a']} on a, {said['b']} on b" if "answered" not in said.values() or said["a"] != said["b"] else ""
    kernels = f"{kernel_a} on a, {kernel_b} on b" if kernel_a != kernel_b else f"same kernel ({kernel_a or 'unprobed'})"
    return f"{op} {dtype}: {kernels}{raised}"
