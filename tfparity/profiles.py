"""Hypothesis profiles: `ci` (the default: derandomized, no database), `quick` (ci's short form,
for TF's slower modes) and `thorough`.

Choose with `--hypothesis-profile=thorough` or `TFPARITY_PROFILE=thorough`.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from tfparity.inputs import Case
from tfparity.records import OpRecord
from tfparity.shards import Shard
from tfparity.stacking import SIZE
from tfparity.sweep import covering, slot, sweep

_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}
settings.register_profile("ci", derandomize=True, database=None, max_examples=60, print_blob=True, **_COMMON)
settings.register_profile("quick", derandomize=True, database=None, max_examples=20, print_blob=True, **_COMMON)
settings.register_profile("thorough", max_examples=2000, **_COMMON)
PROFILES = ("ci", "quick", "thorough")
DERANDOMIZED = frozenset({"ci", "quick"})  # the same cases on every run: no seed to give

# The batched fuzz's examples per op and dtype: each carries `stacking.SIZE` (128) cases, so ci
# checks 1,024 fuzzed cases per op and dtype and thorough 6,400.
FUZZ_EXAMPLES = {"ci": 8, "quick": 2, "thorough": 50}
# The part of the sweep a profile checks, chosen by case id (as shards are): quick keeps a
# quarter of every op and dtype's sweep, a hash's choice of its ranks, axes, label kinds and
# regimes. (It is shard 1/4's quarter, so `--shard K/N` with an even N splits it unevenly: with
# N = 2 all of it is in shard 1.)
SWEEP_PART = {"quick": Shard(1, 4)}
_active = ["ci"]


def load(name: str) -> None:
    """Load a profile for hypothesis and for `fuzz_examples`."""
    settings.load_profile(name)
    _active[0] = name


def fuzz_examples() -> int:
    """The batched fuzz's examples under the loaded profile."""
    return FUZZ_EXAMPLES.get(_active[0], settings.default.max_examples)


def batch_size(share: int = 1, profile: str | None = None) -> int:
    """The cases per fuzz batch under `profile` (default: the loaded one) of a record that checks
    one in `share` outside the thorough profile."""
    return SIZE // share if (profile or _active[0]) in DERANDOMIZED else SIZE


def sweeps(record: OpRecord, case: Case, profile: str | None = None) -> bool:
    """Whether the sweep of `profile` (default: the loaded one) checks `record`'s `case`: the
    derandomized profiles check the covering slots' cases alone (`sweep.covering`: every class
    met, a third of the programs a compiling mode builds), thorough every case."""
    profile = profile or _active[0]
    part = SWEEP_PART.get(profile)
    if part is not None and not part.holds(case):
        return False
    return profile not in DERANDOMIZED or slot(case) in covering(record)


def fuzzed_slots(record: OpRecord, dtype: str, profile: str | None = None) -> tuple[tuple, ...] | None:
    """The slots (`sweep.slot`) the fuzz of `record` and `dtype` draws its shape and axis from: in
    the derandomized profiles, those the ci sweep checks, so that a compiling mode's fuzz runs the
    programs its sweep built; None in thorough (any pooled shape and axis)."""
    if (profile or _active[0]) not in DERANDOMIZED:
        return None
    key = (record.name, dtype)
    if key not in _SWEPT_SLOTS:
        _SWEPT_SLOTS[key] = tuple(dict.fromkeys(slot(c) for c in sweep(record, dtype) if sweeps(record, c, "ci")))
    return _SWEPT_SLOTS[key]


_SWEPT_SLOTS: dict[tuple[str, str], tuple[tuple, ...]] = {}  # by record name (a candidate's record is the op's)


def selected(config: pytest.Config) -> str:
    """The profile this run uses."""
    return config.getoption("hypothesis_profile", None) or os.environ.get("TFPARITY_PROFILE", "ci")
