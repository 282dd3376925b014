"""Plausible wrong implementations, each seeded into a copy of impl: the default test run must fail
on every one of them, and say which check caught it.

Each is a weakness a reviewer found the harness blind to: arithmetic done in the half type where TF
computes in float32 on every backend (float16 softmax CE: caught by the accuracy verdict, and where
a known divergence excuses TF, by the exact answer), a validity edge
moved by one (caught by the valid input next to each error input), NumPy's conventions for Python
inputs instead of TF's (caught by the convention inputs).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

HALF_ARITHMETIC = '''
import numpy as np
import impl
from impl import *


def softmax_cross_entropy_with_logits(labels, logits, axis=-1):
    """Each step rounded to float16 (TF computes float16 softmax CE in float32)."""
    checked = impl.softmax_cross_entropy_with_logits(labels, logits, axis)
    x, z = np.asarray(logits), np.asarray(labels)
    if x.dtype != np.float16 or x.size == 0 or z.shape != x.shape:
        return checked
    axis = -1 if axis is None else axis
    shifted = x - x.max(axis=axis, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True, dtype=np.float16))
    with np.errstate(all="ignore"):
        return np.where(z == 0, np.float16(0), -z * log_softmax).sum(axis=axis, dtype=np.float16)
'''

LAST_CLASS_REJECTED = '''
import numpy as np
import impl
from impl import *


def sparse_softmax_cross_entropy_with_logits(labels, logits):
    """Off by one at the top of the label range: rejects C - 1."""
    if np.size(labels) and np.max(labels) >= np.shape(logits)[-1] - 1:
        raise impl.InvalidArgumentError("label out of range")
    return impl.sparse_softmax_cross_entropy_with_logits(labels, logits)
'''

NUMPY_CONVENTIONS = '''
import numpy as np
import impl
from impl import *


def sigmoid(x):
    """np.asarray, not tf.constant: a Python float becomes float64."""
    return impl.sigmoid(np.asarray(x))
'''

WEAKNESSES = {
    "half_arithmetic": (HALF_ARITHMETIC, ["--ops", "softmax_cross_entropy_with_logits", "--dtypes", "float16"],
                        "ACCURACY|a known divergence excuses TF"),
    "last_class_rejected": (LAST_CLASS_REJECTED, ["--ops", "sparse_softmax_cross_entropy_with_logits",
                                                  "--dtypes", "float32"], "label_last_class"),
    "numpy_conventions": (NUMPY_CONVENTIONS, ["--ops", "sigmoid"], "python_float"),
}


@pytest.mark.parametrize("name", list(WEAKNESSES))
def test_default_run_fails_on_a_planted_weakness(name, tmp_path):
    source, selection, caught_by = WEAKNESSES[name]
    (tmp_path / f"{name}.py").write_text(source)
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tfparity/suite/test_parity.py", "tfparity/suite/test_errors.py", "-q", "-p", "no:cacheprovider",
         "-p", "no:xdist", f"--candidate={name}", *selection],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert re.search(caught_by, done.stdout), done.stdout[-3000:]
