"""One report from shard reports: `tfparity merge DIR... --out DIR`.

Shards of one machine must make a whole: the same harness, TF version, seed, profile, candidate
and selection, shards 1..N of one N, each complete, no case twice. Reports from several machines
(backend fingerprints), each whole, merge into one report with the backend as a column and a
table of TF against TF across them.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from reports import output
from reports.recording import Merged, add_work

# What every part must share: otherwise its cases, or their verdicts, are not the same run's.
SAME = ("harness", "tensorflow", "seed", "profile", "candidate", "selection")


class Refused(Exception):
    """The parts do not make one run; the message says why."""


@dataclass
class Part:
    folder: Path
    run: dict
    rows: pd.DataFrame

    @property
    def fingerprint(self) -> str:
        return self.run["backend"].get("fingerprint", "")

    @property
    def shard(self) -> tuple[int, int]:
        index, count = self.run["environment"].get("shard", "1/1").split("/")
        return int(index), int(count)


def load(folder: Path) -> Part:
    try:
        run, _ = output.load(folder)
    except ValueError as error:
        raise Refused(str(error)) from None
    if run["status"] != "complete":
        raise Refused(f"{folder}: an incomplete run ({'; '.join(run['problems'][:2])}): rerun that shard")
    if not run.get("backend"):
        raise Refused(f"{folder}: no case ran, so TF was not probed")
    return Part(folder, run, output.load_cases(folder))


def check(parts: list[Part]) -> dict[str, list[Part]]:
    """The parts by machine, each machine's a whole; raises Refused naming the problem."""
    for key in SAME:
        if len(seen := _distinct(key, parts, lambda p: p.run["environment"])) > 1:
            raise Refused(f"the shards differ in {key}: " + "; ".join(
                f"{p.folder}: {p.run['environment'].get(key)}" for p in seen.values()))
    machines: dict[str, list[Part]] = {}
    for part in parts:
        machines.setdefault(part.fingerprint, []).append(part)
    for fingerprint, group in machines.items():
        counts = {p.shard[1] for p in group}
        if len(counts) > 1:
            raise Refused(f"{fingerprint}: shards of different splits ({', '.join(f'{p.shard[0]}/{p.shard[1]}' for p in group)})")
        count = counts.pop()
        given = Counter(p.shard[0] for p in group)
        if twice := sorted(k for k, n in given.items() if n > 1):
            raise Refused(f"{fingerprint}: overlapping shards: {', '.join(f'{k}/{count}' for k in twice)} given more than once ("
                          + ", ".join(str(p.folder) for p in group if p.shard[0] in twice) + ")")
        if missing := sorted(set(range(1, count + 1)) - set(given)):
            raise Refused(f"{fingerprint}: missing shards: {', '.join(f'{k}/{count}' for k in missing)}")
        ids = Counter(cid for p in group for cid in p.rows["case_id"].unique())
        if doubled := [cid for cid, n in ids.items() if n > 1]:
            raise Refused(f"{fingerprint}: {len(doubled)} cases are in more than one shard (e.g. {doubled[0]})")
    return machines


def merge(folders: list[Path], out: Path) -> dict:
    """Write the merged report to `out` and return its run.json."""
    parts = [load(folder) for folder in folders]
    machines = check(parts)
    rows = pd.concat([p.rows for p in parts], ignore_index=True).sort_values(
        ["backend", "op", "dtype", "check", "case_id", "source"], kind="stable").reset_index(drop=True)
    first = parts[0].run
    described = {fp: output.machine(group[0].run["backend"], group[0].run["environment"]) for fp, group in machines.items()}
    environment = first["environment"] | _per_machine(machines) | {
        "shard": f"merged from {len(parts)} reports: " + ", ".join(
            f"{p.run['environment'].get('shard', '1/1')} on {p.fingerprint}" for p in parts)}
    output.prepare(out)
    merged = Merged(rows, sum(p.run["processes"] for p in parts), [], first["backend"] if len(machines) == 1 else {},
                    functools.reduce(add_work, (p.run.get("compile_work", {}) for p in parts), {}))
    return output.write(out, merged, environment, max(p.run["pytest_exitstatus"] for p in parts), False, described)


def _per_machine(machines: dict[str, list[Part]]) -> dict[str, str]:
    """Environment entries that differ between machines (the oneDNN switch, CPU, date...), each
    machine's value named by its fingerprint."""
    values = {fp: group[0].run["environment"] for fp, group in machines.items()}
    keys = {k for env in values.values() for k in env} - {"backend", "backend_summary", "shard"}
    return {k: "; ".join(f"{fp}: {env.get(k)}" for fp, env in values.items())
            for k in sorted(keys) if len(_distinct(k, list(values.values()), lambda env: env)) > 1}


def _distinct(key: str, items: list, environment_of) -> dict:
    """One of `items` per distinct value of the environment entry `key` (compared as JSON)."""
    return {json.dumps(environment_of(item).get(key), sort_keys=True): item for item in items}
