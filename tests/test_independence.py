"""The reference stays independent: nothing that sizes a tolerance or a scale calls impl.

A check's absolute budget is eps times the record's scale, and the accuracy verdict measures
against `tfparity.exact` / `tfparity.wide`: were any of them computed by impl, a bug in impl would
move the bound impl is held to. The records name impl's functions as the reference candidate
(`reference=impl.softmax`) and nothing more of it.
"""

from __future__ import annotations

import ast
import types
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import impl.activations
from tfparity.opdb import RECORDS

ROOT = Path(__file__).resolve().parents[1]
# The modules that size tolerances, scales or the exact answer: no import of impl at all.
MEASURING = ("tfparity/ops/scales.py", "tfparity/ops/common.py", "tfparity/wide.py", "tfparity/exact.py",
             "tfparity/accuracy.py", "tfparity/compare.py", "tfparity/dtypes.py")
RECORD_MODULES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tfparity" / "ops").glob("*.py"))


def impl_imports(path: str) -> list[str]:
    """Every import of impl (the package or a module of it) in the file at `path`."""
    found = []
    for node in ast.walk(ast.parse((ROOT / path).read_text())):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.split(".")[0] == "impl"]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "impl":
            found += [f"{node.module}.{alias.name}" for alias in node.names]
    return found


def reaches_impl(fn: Callable, own: tuple[str, ...] = ("tfparity",)) -> list[str]:
    """The impl objects `fn` can reach through the globals, attributes and closures its code
    names, following the functions of the packages in `own` (the engine's)."""
    seen: set[int] = set()
    hits: list[str] = []

    def visit(obj: object) -> None:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        module = obj.__name__ if isinstance(obj, types.ModuleType) else getattr(obj, "__module__", None) or ""
        if module.split(".")[0] == "impl":
            hits.append(f"{module}.{getattr(obj, '__qualname__', '')}".rstrip("."))
        elif isinstance(obj, types.FunctionType) and module.split(".")[0] in own:
            cells = [cell.cell_contents for cell in obj.__closure__ or ()]
            for target in cells + [obj.__globals__[name] for name in names(obj.__code__) if name in obj.__globals__]:
                visit(target)
                if isinstance(target, types.ModuleType):  # `module.name`: the names it may be read through
                    for name in names(obj.__code__):
                        if hasattr(target, name):
                            visit(getattr(target, name))

    visit(fn)
    return hits


def names(code: types.CodeType) -> set[str]:
    """The global and attribute names a code object (and the code nested in it) reads."""
    nested = [c for c in code.co_consts if isinstance(c, types.CodeType)]
    return set(code.co_names).union(*(names(c) for c in nested))


@pytest.mark.parametrize("path", MEASURING)
def test_measuring_modules_import_nothing_of_impl(path):
    assert impl_imports(path) == [], path


@pytest.mark.parametrize("path", RECORD_MODULES)
def test_records_take_only_impl_functions_as_reference(path):
    """A record module may import impl's public modules, whose functions the records name as the
    reference candidate; no names out of them, nothing private."""
    assert all(name.startswith("impl") and "_" not in name for name in impl_imports(path)), impl_imports(path)
    tree = ast.parse((ROOT / path).read_text())
    assert not [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                and (node.module or "").split(".")[0] == "impl"], path


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.name)
def test_scales_and_divergences_never_reach_impl(record):
    """The scales (which size the absolute budget) and the divergences' masks (which decide where
    TF is excused, and so where impl must meet the exact answer) call nothing of impl's."""
    functions = {"scales": record.scales, "exact": record.exact, "wide": record.wide}
    functions |= {f"divergence {d.name}": d.where for d in record.divergences}
    reached = {what: hits for what, fn in functions.items() if (hits := reaches_impl(fn))}
    assert reached == {}, reached


def _sized_by_impl(inputs: dict, axis: int, g: np.ndarray | None) -> dict:
    """A scale written the way this test must refuse: sized by impl's own softmax."""
    return {"value": impl.activations.softmax_wide(np.asarray(inputs["logits"], np.float64), axis)}


def test_the_scan_finds_a_scale_that_calls_impl():
    """The scan is not vacuous: a scale reaching impl through a module attribute, or through a
    helper's closure, is found."""
    def helper(inputs, axis, g):
        return _sized_by_impl(inputs, axis, g)
    for fn in (_sized_by_impl, helper):
        assert "impl.activations" in reaches_impl(fn, own=("tfparity", "tests"))
    assert reaches_impl(helper) == []  # a test's function is not the engine's: not followed
