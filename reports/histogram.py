"""Budget-used histograms as inline SVG: no plotting library, no external assets."""

from __future__ import annotations

from html import escape

import numpy as np
import pandas as pd

# Bin upper edges (inclusive) in shares of the tolerance; the last bin is open (a failure).
EDGES = (0, 1 / 16, 1 / 8, 1 / 4, 1 / 2, 3 / 4, 1)
LABELS = ("0", "1/16", "1/8", "1/4", "1/2", "3/4", "1", ">1")
_W, _H, _BAR, _TOP = 330, 150, 30, 26


def counts(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per bin: checks that passed, checks that failed (rows without a comparison are left out)."""
    measured = rows[rows["max_ulp"].notna()]
    bins = np.searchsorted(np.asarray(EDGES, float), measured["budget_used"].to_numpy(float), side="left")
    failed = ~measured["passed"].astype(bool).to_numpy()
    return (np.bincount(bins[~failed], minlength=len(LABELS)),
            np.bincount(bins[failed], minlength=len(LABELS)))


def svg(title: str, rows: pd.DataFrame) -> str:
    """A bar per bin, log-scaled heights, passing in blue and failing stacked in red."""
    passed, failed = counts(rows)
    total = passed + failed
    top = np.log10(1 + total.max(initial=1))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" role="img">',
             f'<title>{escape(title)}</title>',
             f'<text x="4" y="14" font-size="12" font-weight="bold">{escape(title)}</text>']
    plot = _H - _TOP - 18
    for i, (p, f) in enumerate(zip(passed, failed, strict=True)):
        x = 4 + i * (_BAR + 2)
        height = plot * np.log10(1 + p + f) / top if top else 0.0
        fail_height = height * f / (p + f) if p + f else 0.0
        base = _TOP + plot
        parts.append(f'<rect x="{x}" y="{base - height:.1f}" width="{_BAR}" height="{height - fail_height:.1f}" fill="#4a7bb7"/>')
        if f:
            parts.append(f'<rect x="{x}" y="{base - fail_height:.1f}" width="{_BAR}" height="{fail_height:.1f}" fill="#c0392b"/>')
        if p + f:
            parts.append(f'<text x="{x + _BAR / 2}" y="{base - height - 2:.1f}" font-size="9" text-anchor="middle">{p + f}</text>')
        parts.append(f'<text x="{x + _BAR / 2}" y="{_H - 4}" font-size="9" text-anchor="middle">{LABELS[i]}</text>')
    parts.append("</svg>")
    return "".join(parts)
