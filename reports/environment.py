"""What a run's numbers depend on: library versions, the oneDNN switch, the CPU, the profile."""

from __future__ import annotations

import datetime
import os
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

_MISSING = "(not installed)"
# Keys whose change the gate reports; the backend fingerprint decides how it compares.
COMPARABLE = ("tensorflow", "numpy", "TF_ENABLE_ONEDNN_OPTS", "cpu", "candidate", "profile")
# The instruction sets TF's kernel choice reads (oneDNN's default policy, bf16 and f16 routing),
# reported beside the probed backend. Nothing decides on them: the probe does.
CPU_FLAGS = ("avx2", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "avx512_bf16", "avx512_fp16",
             "amx_bf16", "amx_int8", "amx_fp16", "avx_ne_convert")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> str:
    """Which of CPU_FLAGS the OS reports (Linux /proc/cpuinfo; elsewhere "unknown")."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown"
    present = next((set(line.split(":", 1)[1].split()) for line in text.splitlines()
                    if line.startswith(("flags", "Features"))), set())
    return " ".join(f for f in CPU_FLAGS if f in present) or "none of " + " ".join(CPU_FLAGS)


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return _MISSING


def collect(profile: str, seed: str, candidate: str) -> dict[str, str]:
    """Read without importing TensorFlow (the session's controller never needs it)."""
    tensorflow = _version("tensorflow-cpu")
    return {
        "tensorflow": tensorflow if tensorflow != _MISSING else _version("tensorflow"),
        "numpy": _version("numpy"),
        "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "(unset: on)"),
        "cpu": cpu_model(),
        "cpu_flags": cpu_flags(),
        "python": platform.python_version(),
        "hypothesis": _version("hypothesis"),
        "pandas": _version("pandas"),
        "ml_dtypes": _version("ml_dtypes"),
        "platform": platform.platform(),
        "candidate": candidate,
        "profile": profile,
        "seed": seed,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
