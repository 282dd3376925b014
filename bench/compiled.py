"""The compiled paths' wall time against the eager run's, on one machine in one session:

    python bench/compiled.py [--profile ci] [--out DIR]

runs `tfparity run --profile ci` eagerly, under `--mode xla`, eagerly, with `--candidate jax`,
and eagerly again, and prints each compiled run's wall time as a ratio to the mean of the two
eager runs around it: this VM's speed drifts by 10-30% within minutes, and bracketing puts the
same drift on both sides. Each run's status, cases and compile work are printed beside it; with
--out the reports are kept (a complete run can become a baseline: `tfparity baseline`).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from runs import timed_run

RUNS = (("eager", ()), ("xla", ("--mode", "xla")), ("eager", ()), ("jax", ("--candidate", "jax")), ("eager", ()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="ci", choices=("ci", "quick"))
    parser.add_argument("--out", type=Path, help="keep each run's reports here (default: a scratch folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = args.out or Path(scratch)
        walls: list[float] = []
        complete = True
        for k, (name, options) in enumerate(RUNS):
            run, wall = timed_run(root / f"{k}-{name}", "--profile", args.profile, *options)
            walls.append(wall)
            if k == 0:
                env = run["environment"]
                print(f"machine  {env['cpu']} ({env['cpu_flags']}), TF_ENABLE_ONEDNN_OPTS="
                      f"{env['TF_ENABLE_ONEDNN_OPTS']}, TF {env['tensorflow']}, {run['processes'] - 1 or 1} worker(s)")
            work = {kind: count for kind, count in (run.get("compile_work") or {}).items() if count}
            print(f"{name:6s}   {run['environment']['backend']}: {run['status']}, {run['cases']} cases, "
                  f"{run['failures']} failing, {wall:.0f} s wall" + (f", compile work {work}" if work else ""))
            complete &= run["status"] == "complete"
        for k, (name, _) in enumerate(RUNS):
            if name != "eager":
                eager = (walls[k - 1] + walls[k + 1]) / 2
                print(f"ratio    {name}: {walls[k] / eager:.2f}x the eager runs around it ({eager:.0f} s)")
    if not complete:
        raise SystemExit("a run did not complete: its time is not the run's")


if __name__ == "__main__":
    main()
