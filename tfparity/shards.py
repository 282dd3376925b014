"""Shards: a deterministic partition of a run's cases, the same on every machine.

A case belongs to shard K of N by its case id (a hash of its spec), so the same shard holds the
same cases on every machine and in every run with the same seed. A fuzz batch goes with the case
hypothesis drew for it (its other members follow it): its TF call, and so its numbers, are the
unsharded run's.
"""

from __future__ import annotations

from dataclasses import dataclass

from tfparity.inputs import Case, case_id


@dataclass(frozen=True)
class Shard:
    """Shard `index` (1-based) of `count`."""

    index: int = 1
    count: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.index <= self.count:
            raise ValueError(f"shard {self.index}/{self.count}: K/N needs 1 <= K <= N")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """`K/N`, as `--shard` takes it."""
        try:
            index, count = (int(part) for part in text.split("/"))
        except ValueError:
            raise ValueError(f"--shard {text!r}: expected K/N, e.g. 2/3") from None
        return cls(index, count)

    def holds(self, case: Case) -> bool:
        return int(case_id(case), 16) % self.count == self.index - 1

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


WHOLE = Shard()
