"""Checked cases per second: the parity fuzz (ci profile settings) next to a naive hypothesis loop,
and with --run, a whole `tfparity run` (pytest, xdist, recording and reports) timed end to end.

    python bench/throughput.py [--examples N] [--run ci|thorough]

The naive loop is the usual first attempt: `hypothesis.extra.numpy.arrays` draws every
element, then tf.nn.softmax, a NumPy softmax and `assert_allclose`, one value check per
example. The parity fuzz draws a case spec per example, runs its batch of `stacking.SIZE`
seeds through TF in one call (tfparity.batch), and checks every case's value and every VJP
against TF and the exact answer. It runs at two sizes, to show its cost is linear in cases; at
the larger one the naive loop runs in chunks between the fuzz's op x dtype runs, so the ratio
does not depend on which side met a slow minute of the VM.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np

import impl
import oracle  # noqa: F401  (first: it quiets TF's C++ logs, then imports TensorFlow outside the timings)

# isort: split
import tensorflow as tf
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from runs import timed_run

from reports import environment
from tfparity import profiles, spread
from tfparity.backend import current
from tfparity.batch import run_batch
from tfparity.dtypes import DTYPES
from tfparity.families import FAMILIES
from tfparity.opdb import RECORDS
from tfparity.shapes import pool
from tfparity.stacking import SIZE, members
from tfparity.strategies import cases

NAIVE_EXAMPLES = 4032  # 144 per op x dtype chunk


def _settings(n: int) -> settings:
    return settings(max_examples=n, derandomize=True, database=None, deadline=None,
                    suppress_health_check=list(HealthCheck))


def parity_fuzz(per_op_dtype: int, naive_total: int = 0) -> tuple[dict[str, list], int, float]:
    """Per family, [examples, checks, seconds] of the fuzz for every op and dtype, and (examples,
    seconds) of the naive loop run in `naive_total` / (ops x dtypes) chunks between them: the VM's
    speed drifts by 10-30% over a minute, and interleaving puts the same drift on both sides of the ratio."""
    families = {family: [0, 0, 0.0] for family in FAMILIES}
    naive_examples, naive_seconds = 0, 0.0
    pairs = [(record, dtype) for record in RECORDS for dtype in DTYPES]
    for chunk, (record, dtype) in enumerate(pairs):
        start = time.perf_counter()
        counted = _fuzz(record, dtype, per_op_dtype)
        totals = families[record.family]
        totals[0], totals[1], totals[2] = totals[0] + counted[0], totals[1] + counted[1], totals[2] + (
            time.perf_counter() - start)
        if naive_total:
            done, spent = naive_loop(naive_total // len(pairs), chunk)
            naive_examples, naive_seconds = naive_examples + done, naive_seconds + spent
    return families, naive_examples, naive_seconds


def _fuzz(record, dtype: str, n: int) -> tuple[int, int]:
    """(examples, checks) of one op and dtype's fuzz, every check asserted to pass."""
    counted = [0, 0]

    @_settings(n)
    @given(cases(record, dtype, profiles.fuzzed_slots(record, dtype, "ci")))
    def run(case):
        results = [r for checks in run_batch(record, members(case)) for r in checks]
        counted[0] += len({r.case for r in results})
        counted[1] += len(results)
        assert all(r.passed for r in results), [r.describe() for r in results if not r.passed]
    run()
    return counted[0], counted[1]


# The shapes the parity fuzz draws (the shape pool), but rank 1 to 5: f32 softmax aborts at
# rank 6 (a known divergence the naive loop would crash on).
SHAPES = st.integers(1, 5).flatmap(lambda rank: st.sampled_from(pool(rank)))


def naive_loop(total: int, chunk: int) -> tuple[int, float]:
    """(examples, seconds) for the naive softmax loop; each chunk draws its own examples."""
    examples = 0
    start = time.perf_counter()

    @seed(chunk)
    @settings(_settings(total), derandomize=False)
    @given(hnp.arrays(np.float32, SHAPES, elements=st.floats(-20, 20, width=32)))
    def run(x):
        nonlocal examples
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        np.testing.assert_allclose(tf.nn.softmax(x).numpy(), e / e.sum(axis=-1, keepdims=True),
                                   rtol=1e-5, atol=1e-6)
        examples += 1
    run()
    return examples, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=profiles.FUZZ_EXAMPLES["ci"],
                        help=f"fuzz examples per op and dtype, each {SIZE} cases (ci profile: {profiles.FUZZ_EXAMPLES['ci']})")
    parser.add_argument("--run", choices=("ci", "thorough"), help="also time a whole tfparity run")
    args = parser.parse_args()
    warm = time.perf_counter()
    for record in (r for r in RECORDS if r.stacks):  # TF's batch spread, once per process, outside the timings
        for dtype in DTYPES:  # (a record that never stacks runs case by case: no spread)
            spread.measure(record, dtype, current())
            spread.candidate_alike(record, dtype, impl)
    print(f"environment      {environment.collect('ci', 'derandomized', 'impl')}")
    print(f"backend          {current().fingerprint}: {current().summary()}")
    print(f"batch spread     TF's and the candidate's, every op x dtype, in {time.perf_counter() - warm:.1f} s "
          "(once per process)")
    small = parity_fuzz(max(args.examples // 4, 1))[0]
    families, naive_examples, naive_seconds = parity_fuzz(args.examples, NAIVE_EXAMPLES)
    naive = naive_examples / naive_seconds
    for family, (examples, checks, seconds) in families.items():
        few = small[family]
        print(f"parity fuzz      {family}: {few[0]} cases in {few[2]:.1f} s: {few[0] / few[2]:.0f} cases/s "
              f"({max(args.examples // 4, 1)} examples per op x dtype)")
        print(f"parity fuzz      {family}: {examples} cases ({checks} checks: values and VJPs) in {seconds:.1f} s: "
              f"{examples / seconds:.0f} cases/s, {checks / seconds:.0f} checks/s ({args.examples} examples per op x dtype)")
    print(f"naive loop       {naive_examples} cases (value only) in {naive_seconds:.1f} s: {naive:.0f} cases/s "
          "(tf.nn.softmax; in chunks between the fuzz's op x dtype runs)")
    for family, (examples, checks, seconds) in families.items():
        print(f"speed-up         {family}: {examples / seconds / naive:.1f}x cases/s, {checks / seconds / naive:.1f}x checks/s")
    if args.run:
        with tempfile.TemporaryDirectory() as out:
            run, wall = timed_run(Path(out), "--profile", args.run, "--seed", "1")
        print(f"tfparity run     {args.run}: {run['status']}, {run['cases']} cases ({run['rows']} checks) in "
              f"{wall:.0f} s wall: {run['cases'] / wall:.0f} cases/s, {run['rows'] / wall:.0f} checks/s "
              f"with {run['processes'] - 1 or 1} worker(s)")


if __name__ == "__main__":
    main()
