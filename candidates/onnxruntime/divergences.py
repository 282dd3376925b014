"""Where the ONNX export of TF's ops, run by ONNX Runtime, departs from TF: measured, with evidence."""

from __future__ import annotations

from tfparity.records import CandidateDivergence

DIVERGENCES: dict[str, tuple[CandidateDivergence, ...]] = {}
