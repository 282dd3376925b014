"""Shipped candidates: the libraries TF ports go to, adapted to impl's API.

Each adapter is a thin translation (argument names, axis defaults, dtypes), never a fix-up that
hides a real difference; the differences it is known to have from TF are data beside it
(`DIVERGENCES`). Each needs its optional extra: `pip install "tfparity[jax]"` (also for
`keras_jax`, Keras's losses on its JAX backend), `"tfparity[onnx]"`.
"""

# `--candidate NAME`: a shipped adapter by its short name; any other name is a module to import.
SHIPPED = {"jax": "candidates.jax", "onnxruntime": "candidates.onnxruntime", "keras_jax": "candidates.keras_jax"}


def module_name(name: str) -> str:
    """The module a `--candidate` name stands for."""
    return SHIPPED.get(name, name)


def device_of(module: object) -> str:
    """Where a candidate computes, as its `device()` says (a device candidate names its platform
    and kind: `gpu:NVIDIA A100`); a module without one runs on the host."""
    device = getattr(module, "device", None)
    return str(device()) if callable(device) else "host (the candidate names no device)"
