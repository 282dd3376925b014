"""What a run's numbers depend on: library versions, the oneDNN switch, the CPU, the profile."""

from __future__ import annotations

import datetime
import hashlib
import os
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from tfparity.backend import cpu_flags

_MISSING = "(not installed)"
ONEDNN_VARIABLE = "TF_ENABLE_ONEDNN_OPTS"
UNSET = "unset"
# Keys whose change the gate reports; the backend fingerprint decides how it compares.
COMPARABLE = ("tensorflow", "numpy", "TF_ENABLE_ONEDNN_OPTS", "cpu", "candidate", "profile", "mode")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def harness_version() -> str:
    """tfparity's version and a digest of the code that makes and judges the cases (its packages):
    runs whose harness differs do not merge."""
    root = Path(__file__).resolve().parents[1]
    files = sorted(f for package in ("impl", "oracle", "tfparity", "reports", "candidates")
                   for f in (root / package).rglob("*.py"))
    code = hashlib.sha1()
    for f in files:
        code.update(f.relative_to(root).as_posix().encode() + f.read_bytes())
    return f"{version_of('tfparity')}+{code.hexdigest()[:10]}"


def version_of(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return _MISSING


def collect(profile: str, seed: str, candidate: str) -> dict[str, str]:
    """Read without importing TensorFlow (the session's controller never needs it)."""
    tensorflow = version_of("tensorflow-cpu")
    return {
        "harness": harness_version(),
        "tensorflow": tensorflow if tensorflow != _MISSING else version_of("tensorflow"),
        "numpy": version_of("numpy"),
        ONEDNN_VARIABLE: os.environ.get(ONEDNN_VARIABLE, UNSET),
        "cpu": cpu_model(),
        "cpu_flags": cpu_flags(),
        "python": platform.python_version(),
        "hypothesis": version_of("hypothesis"),
        "pandas": version_of("pandas"),
        "ml_dtypes": version_of("ml_dtypes"),
        "platform": platform.platform(),
        "candidate": candidate,
        "profile": profile,
        "seed": seed,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def with_onednn(environment: dict[str, str], machines: dict[str, dict]) -> dict[str, str]:
    """`environment` with oneDNN's state as the probe found it on each machine (`machines`:
    fingerprint -> {"backend": probe record, ...}; empty when no case ran). TF's default when the
    variable is unset depends on the CPU (on x86, on only with AVX512-VNNI, AVX-VNNI, AVX512-BF16
    or AMX), so an unset variable is described by the probe's answer, never assumed on. Values
    already described (a merged report's parts) are kept."""
    states = {fp: m.get("backend", {}).get("facts", {}).get("onednn", "unknown") for fp, m in machines.items()}
    if not states:
        state = "not probed (no case ran)"
    elif len(set(states.values())) == 1:
        state = next(iter(states.values()))
    else:
        state = "; ".join(f"{fp}: {s}" for fp, s in states.items())
    described: dict[str, str] = {}
    for key, value in environment.items():
        described[key] = (f"{UNSET} (TF's default on this CPU: {state}, per the probe)"
                          if key == ONEDNN_VARIABLE and value == UNSET else value)
        if key == ONEDNN_VARIABLE:
            described["oneDNN"] = environment.get("oneDNN", f"{state} (probed in TF)")
    return described
