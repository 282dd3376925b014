"""The report folder: cleared when a run starts, filled atomically when it ends.

`run.json` is written last. A folder without it, or whose `run.json` says `incomplete`, is not a
finished run, whatever else it holds.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from reports import across, html
from reports.environment import with_onednn
from reports.recording import Merged, add_work
from reports.summary import summarize
from tfparity.dtypes import np_dtype
from tfparity.inputs import parse

RUN_SCHEMA = "tfparity-run/6"  # 4: the full cases are in cases.parquet; 5: rows say what TF raised; 6: bound_used
ROWS, INPUTS = "rows", "inputs"
ACROSS = "tf_across_machines.csv"
# Every row in full, columnar (what the tools read back); and for a spreadsheet every row without
# the spec and replay columns, which are 40% of its bytes (`tfparity replay CASE_ID` finds both).
CASES, SHEET = "cases.parquet", "cases.csv"
SHEET_OMITS = ("spec", "replay")
FILES = ("run.json", CASES, SHEET, "summary.csv", "report.html", ACROSS)
SAVED_INPUTS = 200


def prepare(out: Path) -> Path:
    """Remove the previous run's files (manifest first) and return the folder for new rows."""
    for name in FILES:
        (out / name).unlink(missing_ok=True)
    for folder in (ROWS, INPUTS):
        shutil.rmtree(out / folder, ignore_errors=True)
    (out / ROWS).mkdir(parents=True)
    return out / ROWS


def write(out: Path, merged: Merged, environment: dict, exitstatus: int, aborted: bool,
          machines: dict[str, dict] | None = None) -> dict:
    """Write the cases (cases.parquet, cases.csv), summary.csv, the inputs of failing and worst cases,
    report.html, then run.json; then remove the per-process rows, once the run is complete.
    `machines` (merged reports) holds each backend fingerprint's probe record, CPU and flags;
    a run on one machine has its own."""
    rows = merged.rows
    fingerprint = merged.backend.get("fingerprint", "(no case ran)")
    machines = machines or ({fingerprint: machine(merged.backend, environment)} if merged.backend else {})
    summary = summarize(rows)
    summary["cpu_flags"] = summary["backend"].map(lambda b: machines.get(b, {}).get("cpu_flags", ""))
    problems = list(merged.problems) + (["the session was interrupted or hit an internal error"] if aborted else [])
    run = {
        "schema": RUN_SCHEMA,
        "status": "incomplete" if problems else "complete",
        "problems": problems,
        "processes": merged.processes,
        "cases": int(rows["case_id"].nunique()),
        "rows": len(rows),
        "failures": int((~rows["passed"].astype(bool)).sum()),
        "compile_work": merged.work or add_work({}, {}),
        "pytest_exitstatus": int(exitstatus),
        "environment": with_onednn(environment, machines) | {"backend": " + ".join(machines) or fingerprint,
                                      "backend_summary": merged.backend.get("summary", "")},
        "backend": merged.backend,
        "machines": machines,
    }
    atomic(out / CASES, lambda path: rows.to_parquet(path, index=False, compression="zstd"))
    atomic(out / SHEET, lambda path: rows.drop(columns=list(SHEET_OMITS)).to_csv(path, index=False))
    atomic(out / "summary.csv", lambda path: summary.to_csv(path, index=False))
    if len(machines) > 1:
        atomic(out / ACROSS, lambda path: across.table(rows, machines).to_csv(path, index=False))
    _save_inputs(out / INPUTS, rows, summary)
    atomic(out / "report.html", lambda path: path.write_text(html.render(rows, summary, run), encoding="utf-8"))
    atomic(out / "run.json", lambda path: path.write_text(json.dumps(run, indent=2), encoding="utf-8"))
    if run["status"] == "complete":  # the rows are in the tables now; an incomplete run keeps them
        shutil.rmtree(out / ROWS, ignore_errors=True)
    return run


def machine(backend: dict, environment: dict) -> dict:
    """What a report keeps of each machine it holds: the probe's record, the CPU and its flags."""
    return {"backend": backend, "cpu": environment.get("cpu", ""), "cpu_flags": environment.get("cpu_flags", "")}


def load(out: Path) -> tuple[dict, pd.DataFrame]:
    """A finished run's manifest and summary; raises ValueError saying why the folder is unusable."""
    manifest = out / "run.json"
    if not manifest.is_file():
        raise ValueError(f"{out}: no run.json (not a tfparity report, or the run crashed before finishing)")
    try:
        run = json.loads(manifest.read_text(encoding="utf-8"))
        summary = pd.read_csv(out / "summary.csv", keep_default_na=False, na_values=[""])
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise ValueError(f"{out}: unreadable report ({error})") from error
    if run.get("schema") != RUN_SCHEMA:
        raise ValueError(f"{out}: run.json schema {run.get('schema')!r}, expected {RUN_SCHEMA!r}")
    return run, summary


def load_cases(out: Path) -> pd.DataFrame:
    """Every row of a finished run, every column."""
    return pd.read_parquet(out / CASES)


def _save_inputs(folder: Path, rows: pd.DataFrame, summary: pd.DataFrame) -> None:
    """Inputs of the failing cases and of each class's worst case, as `<case_id>.npz`."""
    from tfparity.describe import arguments

    wanted = list(dict.fromkeys([*rows.loc[~rows["passed"].astype(bool), "case_id"], *summary["worst_case"].dropna()]))
    folder.mkdir(exist_ok=True)
    specs = rows.drop_duplicates("case_id").set_index("case_id")["spec"]
    for cid in wanted[:SAVED_INPUTS]:
        case = parse(specs[cid])
        inputs = arguments(case)
        atomic(folder / f"{cid}.npz", lambda path, inputs=inputs: np.savez(path, **portable(inputs)))


def portable(arguments: dict[str, object]) -> dict[str, np.ndarray]:
    """Arrays any NumPy reads back: bfloat16 (which .npz stores as raw bytes) goes as float32, exactly."""
    arrays = {name: np.asarray(value) for name, value in arguments.items()}
    return {name: a.astype(np.float32) if a.dtype == np_dtype("bfloat16") else a for name, a in arrays.items()}


def atomic(path: Path, write_to: Callable[[Path], object]) -> None:
    """Write through a temporary file in the same folder, then rename over `path`."""
    temporary = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        write_to(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
