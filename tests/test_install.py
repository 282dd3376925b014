"""tfparity as a user installs it: the wheel in a fresh virtualenv, run from another directory.

`pip install tfparity-*.whl` (not editable) installs no TensorFlow: from a folder holding only the
user's own candidate package, `tfparity run --corpus smoke` checks it against the corpus shipped
in the wheel. With the `tf` extra added: `tfparity run --candidate mypkg.ops` and `tfparity
replay` work, the derandomized cases are the source checkout's, and a candidate missing a
function is refused before any case runs. (The tests run in file order: the bare install's first.)
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from tests.test_reports import ROOT, tfparity

pytestmark = pytest.mark.e2e
SELECTION = ["--profile", "quick", "--ops", "softmax", "--dtypes", "float32", "-n", "0"]


def _run(*args: str, cwd: Path, timeout: int = 1800) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def bare(tmp_path_factory) -> tuple[Path, Path]:
    """A fresh virtualenv with the wheel installed, no extra: its bin folder, and the wheel."""
    where = tmp_path_factory.mktemp("install")
    built = _run(sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-w", str(where / "dist"), cwd=where)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    (wheel,) = (where / "dist").glob("tfparity-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "tfparity/suite/test_parity.py" in names and "candidates/jax/__init__.py" in names
    assert not any(name.startswith("tests/") for name in names), "the project's own tests stay out of the wheel"
    made = _run(sys.executable, "-m", "venv", str(where / "venv"), cwd=where)
    assert made.returncode == 0, made.stderr
    bin_dir = where / "venv" / "bin"
    done = _run(str(bin_dir / "pip"), "install", "-q", str(wheel), cwd=where)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return bin_dir, wheel


@pytest.fixture(scope="module")
def installed(bare) -> Path:
    """The same virtualenv with the `tf` extra (TensorFlow, the live oracle); its bin folder."""
    bin_dir, wheel = bare
    done = _run(str(bin_dir / "pip"), "install", "-q", f"{wheel}[tf]", cwd=wheel.parent)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return bin_dir


@pytest.fixture
def elsewhere(tmp_path) -> Path:
    """A folder that is not the checkout, holding the user's candidate package."""
    package = tmp_path / "mypkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "ops.py").write_text("from impl import *  # the user's port: here, impl under another name\n")
    (package / "broken.py").write_text("from impl import *\ndel softmax_vjp\n")
    return tmp_path


def test_without_tensorflow_the_wheel_checks_against_its_smoke_corpus(bare, elsewhere):
    bin_dir, _ = bare
    absent = _run(str(bin_dir / "python"), "-c", "import tensorflow", cwd=elsewhere)
    assert absent.returncode != 0, "the bare install has no TensorFlow"
    run = _run(str(bin_dir / "tfparity"), "run", "--corpus", "smoke", "--ops", "softmax", "sparse_softmax_cross_entropy_with_logits",
               "--candidate", "mypkg.ops", "--out", "out", "-n", "0", cwd=elsewhere)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    environment = json.loads((elsewhere / "out" / "run.json").read_text())["environment"]
    assert environment["tensorflow"] == "(not installed)" and environment["corpus_fingerprint"]
    assert environment["corpus"].endswith("smoke")


def test_the_installed_wheel_runs_and_replays_from_another_directory(installed, elsewhere, tmp_path_factory):
    run = _run(str(installed / "tfparity"), "run", *SELECTION, "--candidate", "mypkg.ops", "--out", "out",
               cwd=elsewhere)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = elsewhere / "out"
    manifest = json.loads((report / "run.json").read_text())
    assert manifest["status"] == "complete" and manifest["environment"]["candidate"] == "mypkg.ops"
    assert (report / "report.html").is_file()
    cases = pd.read_parquet(report / "cases.parquet")
    replay = _run(str(installed / "tfparity"), "replay", cases["case_id"].iloc[0], "--report", "out", cwd=elsewhere)
    assert replay.returncode == 0 and "candidate: mypkg.ops" in replay.stdout, replay.stdout + replay.stderr

    source = tmp_path_factory.mktemp("source") / "out"
    from_checkout = tfparity("run", *SELECTION, "--out", str(source))
    assert from_checkout.returncode == 0, from_checkout.stdout[-2000:]
    assert set(cases["case_id"]) == set(pd.read_parquet(source / "cases.parquet")["case_id"]), (
        "installed or not, the derandomized profile draws the same cases")


def test_the_installed_wheel_refuses_a_candidate_missing_a_function(installed, elsewhere):
    done = _run(str(installed / "tfparity"), "run", *SELECTION, "--candidate", "mypkg.broken", "--out", "out",
                cwd=elsewhere)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "no function softmax_vjp(cotangent, logits, axis)" in done.stderr and not (elsewhere / "out").exists()
