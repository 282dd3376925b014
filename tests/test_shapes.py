"""The shape pool: every dimension of every rank meets each side class, the thorough sweep of every
op covers every class of its ranks, and the sweep's distinct signatures (what a compiling mode
builds a program for) stay within the budget the pool is for."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from tfparity import profiles
from tfparity.dtypes import DTYPES
from tfparity.opdb import RECORDS
from tfparity.shapes import SIDES, coverage, pool, sides
from tfparity.stacking import signatures
from tfparity.strategies import cases
from tfparity.sweep import axes, classes, covering, slot, sweep

LARGEST = {1: 16, 2: 12, 3: 6, 4: 4, 5: 3, 6: 3}  # the sides drawn before the pool: 1 to these


def every_class(rank: int) -> set:
    """The classes that any side from 1 to the rank's largest gives, at every dimension and row."""
    shapes = [tuple([side] * rank) for side in range(1, LARGEST[rank] + 1)] if rank else [()]
    return coverage((shape, axis) for shape in shapes for axis in range(max(rank, 1)))


@pytest.mark.parametrize("rank", range(7))
def test_every_dimension_of_the_pool_meets_every_side_class(rank):
    assert max(SIDES[rank], default=0) == LARGEST.get(rank, 0)
    assert coverage((shape, axis) for shape in pool(rank) for axis in range(max(rank, 1))) == every_class(rank)
    assert len(set(pool(rank))) == len(pool(rank))


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.name)
def test_the_thorough_sweep_covers_every_class_of_its_ranks(record):
    profiles.load("thorough")
    try:
        cases = [case for dtype in DTYPES for case in sweep(record, dtype) if profiles.sweeps(record, case)]
    finally:
        profiles.load("ci")
    wanted = set().union(*(every_class(rank) for rank in range(record.min_rank, record.max_rank + 1)))
    assert coverage((case.shape, case.class_axis) for case in cases) == wanted


def test_the_sweep_shares_its_shapes_across_regimes():
    """A compiling mode builds a program per distinct signature: the pool keeps the ci sweep's to
    under a quarter of its cases (one per case before the pool), each rank and axis still swept."""
    held = [case for record in RECORDS for dtype in DTYPES for case in sweep(record, dtype)
            if profiles.sweeps(record, case)]
    assert len(signatures(held)) < len(held) / 4
    for record in RECORDS:
        swept = {(len(c.shape), c.axis) for c in sweep(record, "float32")}
        assert swept == {(rank, axis) for rank in range(record.min_rank, record.max_rank + 1)
                         for axis in axes(record, rank)}


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.name)
def test_the_ci_sweep_meets_every_class_of_the_whole_sweep(record):
    """The covering slots meet each class the thorough sweep meets (pairs of rank, dtype, axis and
    label kind; side classes at every dimension and class axis), with every case of each, no dtype
    left with few."""
    whole = [case for dtype in DTYPES for case in sweep(record, dtype)]
    swept = [case for case in whole if profiles.sweeps(record, case)]
    assert set().union(*(classes(record, c) for c in swept)) == set().union(*(classes(record, c) for c in whole))
    assert {slot(c) for c in swept} == covering(record)
    assert len(swept) == sum(slot(c) in covering(record) for c in whole)  # all of a slot's cases
    per_dtype = [sum(key[0] == dtype for key in covering(record)) for dtype in DTYPES]
    assert min(per_dtype) >= max(per_dtype) / 2, per_dtype


def test_the_covering_sweeps_build_a_third_of_the_programs():
    whole = {(r.name, slot(c)) for r in RECORDS for dtype in DTYPES for c in sweep(r, dtype)}
    assert sum(len(covering(r)) for r in RECORDS) < len(whole) / 3


@pytest.mark.parametrize("record", [RECORDS[0], RECORDS[-1]], ids=lambda r: r.name)
def test_each_profile_sweeps_its_part(record):
    """Thorough sweeps every case; ci the covering slots'; quick the ci part's quarter that
    shard 1/4 holds."""
    whole = list(sweep(record, "float32"))
    part = {name: [c for c in whole if profiles.sweeps(record, c, name)] for name in profiles.PROFILES}
    assert part["thorough"] == whole
    assert part["ci"] == [c for c in whole if slot(c) in covering(record)]
    assert part["quick"] == [c for c in part["ci"] if profiles.SWEEP_PART["quick"].holds(c)]
    assert 0 < len(part["quick"]) < len(part["ci"]) <= len(whole)


@pytest.mark.parametrize("record", [RECORDS[3], RECORDS[-1]], ids=lambda r: r.name)
def test_the_derandomized_fuzz_draws_the_swept_slots(record):
    """The ci fuzz draws its shape and axis from the ci sweep's slots of its dtype (a compiling
    mode's fuzz then runs the sweep's programs), each rank of them; thorough draws any."""
    slots = profiles.fuzzed_slots(record, "float16", "ci")
    assert set(slots) == {key for key in covering(record) if key[0] == "float16"}
    assert profiles.fuzzed_slots(record, "float16", "thorough") is None
    ranks = set()

    @settings(max_examples=300, derandomize=True, database=None)
    @given(cases(record, "float16", slots))
    def draw(case):
        assert slot(case) in slots
        ranks.add(len(case.shape))

    draw()
    assert ranks == {len(shape) for _, shape, _ in slots}


@pytest.mark.parametrize("low, high", [(1, 3), (1, 4), (1, 6), (2, 5), (2, 6), (2, 8)])
def test_a_misuse_range_keeps_its_ends_and_one_middle_side(low, high):
    """The misuses' sides: the range's ends and the pooled side nearest its middle (odd on a tie),
    three programs per dimension for a compiling oracle."""
    chosen = sides(low, high)
    middle = sorted(set(chosen) - {low, high})
    assert chosen[0] == low and chosen[-1] == high and len(middle) == 1
    assert middle[0] in (1, 2, 3, 5, 8)
    others = [s for s in (1, 2, 3, 5, 8) if low < s < high and s != middle[0]]
    assert all(abs(2 * s - low - high) > abs(2 * middle[0] - low - high)
               or (abs(2 * s - low - high) == abs(2 * middle[0] - low - high) and middle[0] % 2) for s in others)


def test_a_range_of_one_side_is_that_side():
    assert sides(2, 2) == (2,)
