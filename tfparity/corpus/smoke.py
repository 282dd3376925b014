"""The smoke corpus's cases, chosen from a complete run's rows: every error input, special values
(one case per op, dtype, regime, label kind and rank), each known divergence where it fired (one
case per op, dtype and divergence), and every case that failed (a fuzz failure is its shrunk
counterexample). Where a group has several, the smallest is kept: a smoke corpus stays small."""

from __future__ import annotations

import numpy as np
import pandas as pd

SPECIAL_REGIMES = ("masked", "posinf", "nan", "near_overflow", "tiny")


def select(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per chosen case (`case_id`, `spec`, `source`)."""
    rows = rows[rows["source"] != "misuse"]
    dims = rows["shape"].astype(str).replace("()", "").str.split("x")
    rows = rows.assign(rank=dims.map(len) - (rows["shape"].astype(str) == "()"),
                       size=dims.map(lambda d: int(np.prod([int(n) for n in d if n]))))
    rows = rows.sort_values(["size", "case_id"])
    special = rows[rows["regime"].isin(SPECIAL_REGIMES)]
    known = rows[rows["known_divergence"].fillna("").astype(str) != ""]
    chosen = pd.concat([
        rows[rows["source"] == "error"],
        special.drop_duplicates(["op", "dtype", "regime", "label_kind", "rank"]),
        known.drop_duplicates(["op", "dtype", "known_divergence"]),
        rows[~rows["passed"].astype(bool)],
    ])
    return chosen.drop_duplicates("case_id")[["case_id", "spec", "source"]]
