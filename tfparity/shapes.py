"""The shape pool: every swept and fuzzed case takes its shape from a few per rank, so a compiling
mode (XLA, JAX) builds a bounded number of programs while every dimension still meets each side
class. Values stay fuzzed; only the shapes are pooled."""

from __future__ import annotations

from collections.abc import Iterable

# Per rank: 1, 2, odd, the largest, and another odd and an even side where the rank has room
# (16 float32 fill an AVX-512 vector, 8 an AVX2 one, 13 leaves a tail). A case stays under
# 150 elements.
SIDES: dict[int, tuple[int, ...]] = {
    0: (),
    1: (1, 2, 7, 16, 13, 8),
    2: (1, 2, 5, 12, 11, 8),
    3: (1, 2, 3, 6, 5, 4),
    4: (1, 2, 3, 4),
    5: (1, 2, 3),
    6: (1, 2, 3),
}


def pool(rank: int) -> tuple[tuple[int, ...], ...]:
    """The rank's shapes: the rotations of its sides, so each dimension takes every side once;
    the first (the smallest at its front) is where hypothesis shrinks to."""
    sides = SIDES[rank]
    if not sides:
        return ((),)
    return tuple(tuple(sides[(first + i) % len(sides)] for i in range(rank)) for first in range(len(sides)))


def sides(low: int, high: int) -> tuple[int, ...]:
    """Three sides from `low` to `high`, for shapes drawn outside the pool (the misuses'): its ends
    and the side of 1, 2, 3, 5, 8 nearest its middle (an odd one on a tie). A misuse's law holds
    whatever the shape, and each side is a program a compiling oracle builds."""
    inner = [side for side in (1, 2, 3, 5, 8) if low < side < high]
    middle = min(inner, key=lambda side: (abs(2 * side - low - high), side % 2 == 0)) if inner else low
    return tuple(sorted({low, middle, high}))


def side_class(side: int, rank: int) -> str:
    """What a side stands for in the coverage table."""
    if side <= 2:
        return str(side)
    if side == max(SIDES[rank]):
        return "largest"
    return "odd" if side % 2 else "even"


def coverage(shapes_axes: Iterable[tuple[tuple[int, ...], int]]) -> set[tuple[int, str, str]]:
    """The coverage classes of (shape, class axis) pairs: (rank, "dim k" or "row", side class),
    where the row is the class axis's side."""
    classes = set()
    for shape, axis in shapes_axes:
        rank = len(shape)
        for k, side in enumerate(shape):
            classes.add((rank, f"dim {k}", side_class(side, rank)))
        if rank:
            classes.add((rank, "row", side_class(shape[axis], rank)))
    return classes
