"""The corpus on disk: its manifest, checksums and arrays (see `tfparity.corpus`)."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Mapping
from pathlib import Path

import ml_dtypes
import numpy as np

SCHEMA = 1  # a reader refuses any other: the layout above changed
MANIFEST = "manifest.json"
BITS = "@bfloat16"  # an array stored as its bfloat16 bit pattern (uint16)
SMOKE = Path(__file__).parent / "smoke"  # `--corpus smoke`: the corpus shipped in the package


class Refused(ValueError):
    """The corpus cannot be used as asked: its schema, a checksum, a fingerprint or its cases."""


def stem(op: str, dtype: str) -> str:
    return f"{op.replace(':', '.')}-{dtype}"  # no colon: the names stay portable (Windows)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


_EPOCH = (1980, 1, 1, 0, 0, 0)  # every member's time: the same arrays give the same bytes, hence checksum


def npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    """`arrays` as one compressed .npz, bfloat16 ones as their bits (NumPy has no bfloat16)."""
    plain = {}
    for key, array in arrays.items():
        array = np.asarray(array)
        if array.dtype == ml_dtypes.bfloat16:
            plain[key + BITS] = array.view(np.uint16)
        else:
            plain[key] = array
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:  # np.savez's layout, no timestamps
        for key, array in sorted(plain.items()):
            with archive.open(zipfile.ZipInfo(f"{key}.npy", _EPOCH), "w") as member:
                np.lib.format.write_array(member, np.require(array, requirements="C"), allow_pickle=False)
    return buffer.getvalue()


def json_bytes(content: object) -> bytes:
    return (json.dumps(content, indent=1, sort_keys=True) + "\n").encode()


def write_bytes(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as stored:
        return {key.removesuffix(BITS): stored[key].view(ml_dtypes.bfloat16) if key.endswith(BITS) else stored[key]
                for key in stored.files}


def resolve(where: str | Path) -> Path:
    """A corpus folder, or `smoke` for the shipped one."""
    return SMOKE if str(where) == "smoke" else Path(where)


def manifest(root: Path, verify: bool = True) -> dict:
    """The manifest of the corpus in `root`, refused unless its schema is this reader's and (with
    `verify`) every file listed is present with its checksum and nothing else is there."""
    path = root / MANIFEST
    if not path.is_file():
        raise Refused(f"{root} is not a corpus: no {MANIFEST}")
    content = json.loads(path.read_text())
    if content.get("schema") != SCHEMA:
        raise Refused(f"{root}: schema {content.get('schema')!r}, this harness reads schema {SCHEMA}")
    if verify:
        listed = content["files"]
        present = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.name != MANIFEST}
        if missing := sorted(set(listed) - present):
            raise Refused(f"{root}: files missing: {', '.join(missing[:5])}")
        if extra := sorted(present - set(listed)):
            raise Refused(f"{root}: files not in the manifest: {', '.join(extra[:5])}")
        if bad := [name for name, digest in listed.items() if sha256(root / name) != digest]:
            raise Refused(f"{root}: checksum mismatch in {', '.join(bad[:5])}")
    return content


def seal(root: Path, content: dict) -> None:
    """Write the manifest with every file's checksum (the files are final)."""
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != MANIFEST)
    content = content | {"schema": SCHEMA, "files": {p.relative_to(root).as_posix(): sha256(p) for p in files}}
    write_bytes(root / MANIFEST, json_bytes(content))
