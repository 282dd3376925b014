"""TF against TF across machines, or modes: the same case and check answered on two backend fingerprints.

A fingerprint names the machine's kernels and TF's mode (eager, graph, XLA), so one table serves
both: runs of several modes merged (`tfparity run --mode eager graph xla`) diff the modes.

Each row of a merged report carries digests of both sides' answers (`tf_answer`,
`candidate_answer`). Where TF's digests differ between two machines, TF answered the same inputs
differently. How far apart: where the candidate answered alike on both machines and matches TF
exactly on one, TF's answers are exactly the other machine's `max_ulp` apart; otherwise the two
`max_ulp`s bound it (|a - b| <= apart <= a + b). Which TF is nearer exact: each side's ULPs from
the exact answer at its worst element (where one TF equals the candidate, its error there is the
candidate's). Each difference is named by the mode and kernels TF ran on each side. Errors compare
by meaning (`tfparity.check.meaning`): a graph's trace-time ValueError and a kernel's
InvalidArgumentError for the same input are the same answer; such rows are listed as kind
`error class`, saying which class each side raised, and are not counted as disagreements.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

COLUMNS = ["op", "dtype", "check", "label_kind", "case_id", "machine_a", "machine_b", "mode_a", "mode_b",
           "kernel_a", "kernel_b", "kind", "named", "ulp_apart_low", "ulp_apart_high", "tf_exact_ulp_a",
           "tf_exact_ulp_b", "nearer_exact", "known_divergence_a", "known_divergence_b", "tf_answer_a", "tf_answer_b",
           "tf_raised_a", "tf_raised_b", "spec", "replay_a", "replay_b"]
_SIDE = ["case_id", "check", "op", "dtype", "label_kind", "spec", "tf_answer", "candidate_answer", "tf_raised",
         "max_ulp", "tf_exact_ulp", "candidate_exact_ulp", "known_divergence", "replay"]
VALUES, OUTCOME, ERROR_CLASS = "values", "outcome", "error class"  # kinds of difference


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
            tf_differs=("kind", lambda v: int((v != ERROR_CLASS).sum())),
            error_class_differs=("kind", lambda v: int((v == ERROR_CLASS).sum())),
            ulp_apart_high=("ulp_apart_high", "max"),
            a_nearer=("nearer_exact", lambda v: int((v == "a").sum())),
            b_nearer=("nearer_exact", lambda v: int((v == "b").sum())),
            named=("named", _summarized))
        frame = pd.concat([counts, apart], axis=1).reset_index()
        for column in ("tf_differs", "error_class_differs"):
            frame[column] = frame[column].fillna(0).astype(int)
        frames.append(frame.assign(machine_a=a, machine_b=b))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _summarized(names: pd.Series) -> str:
    """Names of one op and dtype's differences, said once: the sides, then each distinct outcome."""
    parts = [n.split(": ", 1)[-1].split("; ") for n in names]
    sides = dict.fromkeys(p[0] for p in parts)
    outcomes = sorted({part for p in parts for part in p[1:]})
    return "; ".join([*sides, *outcomes])


def _joined(rows: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    valued = rows[rows["tf_answer"].fillna("") != ""]
    side = {m: valued.loc[valued["backend"] == m, _SIDE] for m in (a, b)}
    return side[a].merge(side[b].drop(columns=["op", "dtype", "label_kind", "spec"]),
                         on=["case_id", "check"], suffixes=("_a", "_b"))


def _pair(joined: pd.DataFrame, a: str, b: str, machines: dict[str, dict]) -> pd.DataFrame:
    """The rows of `_joined(rows, a, b)` whose TF answers (or the error classes raised) differ,
    measured and named."""
    same = joined["tf_answer_a"] == joined["tf_answer_b"]
    both = joined[~same | (joined["tf_raised_a"] != joined["tf_raised_b"])].copy()
    if both.empty:
        return pd.DataFrame(columns=COLUMNS)
    raised = both["tf_raised_a"].ne("") | both["tf_raised_b"].ne("")
    both["kind"] = np.select([same[both.index], raised], [ERROR_CLASS, OUTCOME], VALUES)
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
    for side in (a, b):
        backend = machines[side].get("backend", {})
        key = "a" if side == a else "b"
        both[f"mode_{key}"] = backend.get("facts", {}).get("mode", "eager")
        both[f"kernel_{key}"] = [backend.get("kernels", {}).get(op, {}).get(dtype, "")
                                 for op, dtype in zip(both["op"], both["dtype"], strict=True)]
    both["named"] = [_named(*row) for row in zip(
        both["op"], both["dtype"], both["kind"], *(both[f"{c}_{k}"] for c in ("mode", "kernel", "tf_answer", "tf_raised")
                                                   for k in "ab"), strict=True)]
    return both.assign(machine_a=a, machine_b=b)[COLUMNS]


def _named(op: str, dtype: str, kind: str, mode_a: str, mode_b: str, kernel_a: str, kernel_b: str,
           answer_a: str, answer_b: str, raised_a: str, raised_b: str) -> str:
    """The difference in words: the mode and kernel on each side, and what TF raised on either."""
    def ran(mode: str, kernel: str) -> str:  # an op of one kernel names none (under XLA: "xla", once)
        return " ".join(dict.fromkeys(filter(None, (mode if mode_a != mode_b else "", kernel)))) or "unprobed"
    sides = f"{ran(mode_a, kernel_a)} on a, {ran(mode_b, kernel_b)} on b"
    if (mode_a, kernel_a) == (mode_b, kernel_b):
        sides = f"same {'kernel' if mode_a == mode_b else 'mode and kernel'} ({ran(mode_a, kernel_a)})"
    said = {k: f"{answer} ({cls})" if cls else "answered" for k, answer, cls in (("a", answer_a, raised_a),
                                                                                 ("b", answer_b, raised_b))}
    if kind == ERROR_CLASS:
        return f"{op} {dtype}: {sides}; both {answer_a.removeprefix('raised ')} by meaning: {raised_a} on a, {raised_b} on b"
    return f"{op} {dtype}: {sides}" + (f"; TF {said['a']} on a, {said['b']} on b" if kind == OUTCOME else "")


def outcomes(table: pd.DataFrame) -> pd.DataFrame:
    """The differences where a side raised (or raised another class), each named once per pair
    with its count, the divergences known on each side, and its first case to replay."""
    raised = table[table["kind"] != VALUES]
    keys = ["machine_a", "machine_b", "op", "dtype", "check", "kind", "named"]
    return raised.groupby(keys, sort=True).agg(
        cases=("case_id", "size"), known_divergence_a=("known_divergence_a", "first"),
        known_divergence_b=("known_divergence_b", "first"), spec=("spec", "first"),
        replay_a=("replay_a", "first"), replay_b=("replay_b", "first")).reset_index()
