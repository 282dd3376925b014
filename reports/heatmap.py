"""Where each op and dtype stands, as one inline SVG grid: op x dtype, each cell coloured by the
candidate's worst share of its tolerance (red where checks failed), with who is nearer the
exact answer and how many checks were set apart on TF's account. No scripts, no external assets:
each cell's details are in its `<title>` (a tooltip)."""

from __future__ import annotations

from html import escape

import numpy as np
import pandas as pd

from reports.rows import MISUSE
from tfparity.dtypes import DTYPES

# Cell colours: the share of the tolerance from 0 to 1 runs from pale to deep blue; failing is red.
LOW, HIGH, FAILING, EMPTY = (np.array((239, 246, 255)), np.array((33, 102, 172)), "#c0392b", "#e6e6e6")
_LABEL_W, _CELL_W, _CELL_H, _HEAD, _GAP = 300, 150, 50, 22, 3
_LEGEND_H = 42


def cells(summary: pd.DataFrame) -> pd.DataFrame:
    """Per op and dtype (the summary's value and gradient classes): failures, the candidate's
    worst share, checks where each side is nearer exact, checks set apart, TF's errors."""
    checked = summary[~summary["check"].isin([MISUSE, "error"])]
    return checked.groupby(["op", "dtype"]).agg(
        failures=("failures", "sum"), share=("candidate_budget", "max"), candidate=("candidate_closer", "sum"),
        tf=("tf_closer", "sum"), apart=("set_apart", "sum"), tf_errors=("tf_errors", "sum"), cases=("cases", "sum"))


def fill(share: float, failures: int) -> str:
    """A cell's colour: red when any check failed, grey when no share was measured, else blue by share."""
    if failures:
        return FAILING
    if not np.isfinite(share):
        return EMPTY
    r, g, b = (LOW + (HIGH - LOW) * min(max(share, 0.0), 1.0)).round().astype(int)
    return f"#{r:02x}{g:02x}{b:02x}"


def nearer(candidate: int, tf: int) -> str:
    """Who the exact answer sides with more often where the two differ: a mark and the counts."""
    mark = "cand \u25b2" if candidate > tf else "TF \u25bc" if tf > candidate else "even ="
    return f"nearer: {mark} {candidate}:{tf}"


def svg(summary: pd.DataFrame) -> str:
    """The grid with its legend; empty when the summary has no value or gradient classes."""
    grid = cells(summary)
    if grid.empty:
        return ""
    ops = list(dict.fromkeys(grid.index.get_level_values("op")))
    dtypes = [d for d in DTYPES if d in set(grid.index.get_level_values("dtype"))]
    width = _LABEL_W + len(dtypes) * (_CELL_W + _GAP)
    height = _HEAD + len(ops) * (_CELL_H + _GAP) + _LEGEND_H
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
              'font-family="system-ui,sans-serif">'),
             "<title>The candidate's worst share of its tolerance per op and dtype</title>"]
    for j, dtype in enumerate(dtypes):
        parts.append(f'<text x="{_LABEL_W + j * (_CELL_W + _GAP) + _CELL_W / 2}" y="15" font-size="12" '
                     f'font-weight="bold" text-anchor="middle">{dtype}</text>')
    for i, op in enumerate(ops):
        y = _HEAD + i * (_CELL_H + _GAP)
        parts.append(_label(op, y))
        for j, dtype in enumerate(dtypes):
            x = _LABEL_W + j * (_CELL_W + _GAP)
            parts.append(_cell(x, y, op, dtype, grid.loc[(op, dtype)] if (op, dtype) in grid.index else None))
    parts.append(_legend(_HEAD + len(ops) * (_CELL_H + _GAP) + 8))
    parts.append("</svg>")
    return "".join(parts)


def _label(op: str, y: float) -> str:
    """The row's op, right-aligned; a Keras record's `<loss>:<variant>` on two lines (they are long)."""
    loss, colon, variant = op.partition(":")
    lines = [loss, colon + variant] if colon else [op]
    top = y + _CELL_H / 2 + 4 - 7 * (len(lines) - 1)
    return "".join(f'<text x="{_LABEL_W - 8}" y="{top + 14 * k}" font-size="12" text-anchor="end">{escape(line)}</text>'
                   for k, line in enumerate(lines))


def _cell(x: float, y: float, op: str, dtype: str, c: pd.Series | None) -> str:
    if c is None:
        return (f'<rect x="{x}" y="{y}" width="{_CELL_W}" height="{_CELL_H}" fill="{EMPTY}"/>'
                f'<text x="{x + _CELL_W / 2}" y="{y + _CELL_H / 2 + 4}" font-size="11" text-anchor="middle">'
                "not run</text>")
    share, failures = float(c.share), int(c.failures)
    colour = fill(share, failures)
    ink = "#fff" if failures or (np.isfinite(share) and share > 0.55) else "#111"
    head = (f"FAIL {failures}" if failures else f"{share:.2f}" if np.isfinite(share) else "none measured")
    apart = (f"set apart {int(c.apart)}" + (f", TF wrong {int(c.tf_errors)}" if c.tf_errors else "")
             if c.apart else "")
    tip = (f"{op} {dtype}: {int(c.cases)} checks, {failures} failing; the candidate's worst share of its "
           f"tolerance {share:.3g}; nearer exact where they differ: candidate {int(c.candidate)}, TF {int(c.tf)}; "
           f"set apart on TF's account {int(c.apart)} (TF in error {int(c.tf_errors)})")
    return (f'<g><title>{escape(tip)}</title>'
            f'<rect x="{x}" y="{y}" width="{_CELL_W}" height="{_CELL_H}" fill="{colour}"/>'
            f'<text x="{x + 6}" y="{y + 17}" font-size="14" font-weight="bold" fill="{ink}">{head}</text>'
            f'<text x="{x + 6}" y="{y + 31}" font-size="10" fill="{ink}">{escape(nearer(int(c.candidate), int(c.tf)))}</text>'
            + (f'<text x="{x + 6}" y="{y + 44}" font-size="10" fill="{ink}">{escape(apart)}</text>' if apart else "")
            + "</g>")


def _legend(y: float) -> str:
    """Swatches for the share from 0 to 1, failing, and none measured (the page says what the marks mean)."""
    steps = np.linspace(0.0, 1.0, 5)
    parts = [f'<text x="0" y="{y + 12}" font-size="11">the candidate\'s worst share of its tolerance:</text>']
    for k, share in enumerate(steps):
        x = 250 + k * 46
        parts.append(f'<rect x="{x}" y="{y}" width="44" height="16" fill="{fill(share, 0)}"/>'
                     f'<text x="{x + 22}" y="{y + 28}" font-size="10" text-anchor="middle">{share:g}</text>')
    x = 250 + len(steps) * 46 + 12
    parts.append(f'<rect x="{x}" y="{y}" width="44" height="16" fill="{FAILING}"/>'
                 f'<text x="{x + 22}" y="{y + 28}" font-size="10" text-anchor="middle">failing</text>'
                 f'<rect x="{x + 54}" y="{y}" width="44" height="16" fill="{EMPTY}"/>'
                 f'<text x="{x + 76}" y="{y + 28}" font-size="10" text-anchor="middle">none</text>')
    return "".join(parts)
