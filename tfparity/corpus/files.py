"""The corpus on disk: its manifest, checksums and arrays (see `tfparity.corpus`)."""

from __future__ import annotations

import hashlib
import io
import json
import math
import zipfile
from collections.abc import Mapping
from pathlib import Path

import ml_dtypes
import numpy as np

SCHEMA = 1  # a reader refuses any other: the layout above changed
MANIFEST = "manifest.json"
BFLOAT16 = np.dtype(ml_dtypes.bfloat16)
INDEX = ".index"  # the member locating each array in a packed member
SMOKE = Path(__file__).parent / "smoke"  # `--corpus smoke`: the corpus shipped in the package


class Refused(ValueError):
    """The corpus cannot be used as asked: its schema, a checksum, a fingerprint or its cases."""


def stem(op: str, dtype: str) -> str:
    return f"{op.replace(':', '.')}-{dtype}"  # no colon: the names stay portable (Windows)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


_EPOCH = (1980, 1, 1, 0, 0, 0)  # every member's time: the same arrays give the same bytes, hence checksum


def npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    """`arrays` as one compressed .npz (np.savez's layout), the same bytes for the same arrays."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for key, array in sorted(arrays.items()):
            info = zipfile.ZipInfo(f"{key}.npy", _EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w") as member:
                np.lib.format.write_array(member, np.require(array, requirements="C"), allow_pickle=False)
    return buffer.getvalue()


def packed(meta: dict, ids: list[str], arrays: Mapping[str, np.ndarray]) -> dict[str, bytes]:
    """A .json (`meta`) and .npz pair holding arrays named `<case id>/<part>`, `ids` giving the
    cases' order. Each part and dtype is one flat member (a member per array would be mostly zip
    headers) beside `<member>.index`: a row per array, [case number in `ids`, offset, its shape
    padded with -1]. bfloat16 members hold the bit pattern (NumPy has no bfloat16)."""
    number = {cid: n for n, cid in enumerate(ids)}
    flat: dict[str, list[np.ndarray]] = {}
    rows: dict[str, list[list[int]]] = {}
    ends: dict[str, int] = {}  # each member's length so far: the next array's offset
    for name, array in arrays.items():
        cid, part = name.split("/", 1)
        array = np.asarray(array)
        member = f"{part}.{array.dtype.name}"
        rows.setdefault(member, []).append([number[cid], ends.get(member, 0), *array.shape])
        ends[member] = ends.get(member, 0) + array.size
        flat.setdefault(member, []).append((array.view(np.uint16) if array.dtype == BFLOAT16 else array).ravel())
    members = {}
    for member, parts in flat.items():
        width = max(map(len, rows[member]))
        members[member] = np.concatenate(parts)
        members[f"{member}{INDEX}"] = np.array([r + [-1] * (width - len(r)) for r in rows[member]], np.int64)
    return {"json": json_bytes(meta), "npz": npz_bytes(members)}


def read_packed(folder: Path, name: str, ids_key: str) -> tuple[dict, dict[str, np.ndarray]]:
    """The `meta` and arrays `packed` wrote as `<name>.json` and `<name>.npz` in `folder`; the
    cases' order is `meta[ids_key]`'s (a list of case ids, or of dicts with a `case_id`)."""
    meta = json.loads((folder / f"{name}.json").read_text())
    ids = [c["case_id"] if isinstance(c, dict) else c for c in meta[ids_key]]
    arrays = {}
    with np.load(folder / f"{name}.npz", allow_pickle=False) as stored:
        for key in stored.files:
            if key.endswith(INDEX):
                continue
            data = stored[key].view(BFLOAT16) if key.endswith(".bfloat16") else stored[key]
            part = key.rsplit(".", 1)[0]
            for number, offset, *shape in stored[key + INDEX].tolist():
                shape = [n for n in shape if n >= 0]
                arrays[f"{ids[number]}/{part}"] = data[offset:offset + math.prod(shape)].reshape(shape)
    return meta, arrays


def json_bytes(content: object, indent: int | None = None) -> bytes:
    return (json.dumps(content, indent=indent, sort_keys=True, separators=(",", ": ") if indent else (",", ":"))
            + "\n").encode()


def write_bytes(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


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
    write_bytes(root / MANIFEST, json_bytes(content, indent=1))
