"""One corpus from several (machines', or one machine's backends): the cases must be the same,
byte for byte; each fingerprint's answers are kept, and one captured twice must agree."""

from __future__ import annotations

import shutil
from pathlib import Path

from tfparity.corpus.files import MANIFEST, Refused, manifest, seal


def merge(sources: list[Path], out: Path) -> dict:
    """Merge `sources` into the new folder `out` (the first source's default fingerprint kept)."""
    if out.exists():
        raise Refused(f"{out} exists: merge into a new folder")
    contents = [manifest(source) for source in sources]
    first = contents[0]
    for source, content in zip(sources[1:], contents[1:], strict=True):
        layer1 = {k: v for k, v in content["files"].items() if k.startswith("cases/")}
        theirs = {k: v for k, v in first["files"].items() if k.startswith("cases/")}
        if layer1 != theirs:
            raise Refused(f"{source} holds other cases than {sources[0]} (another profile, or another harness)")
    merged = {k: v for k, v in first.items() if k != "files"} | {"fingerprints": {}}
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(sources[0], staging, ignore=shutil.ignore_patterns(MANIFEST, "answers"))
    kept: dict[str, dict] = {}  # fingerprint -> the manifest its answers were taken from
    for source, content in zip(sources, contents, strict=True):
        for fingerprint, captured in content["fingerprints"].items():
            if fingerprint in kept:
                if _answers(content, fingerprint) != _answers(kept[fingerprint], fingerprint):
                    raise Refused(f"{fingerprint}: {source}'s answers differ from another source's for the same "
                                  "backend (a fingerprint must say everything TF's numbers depend on)")
                continue
            shutil.copytree(source / "answers" / fingerprint, staging / "answers" / fingerprint)
            merged["fingerprints"][fingerprint], kept[fingerprint] = captured, content
    seal(staging, merged)
    staging.rename(out)
    return merged


def _answers(content: dict, fingerprint: str) -> dict[str, str]:
    prefix = f"answers/{fingerprint}/"
    return {k: v for k, v in content["files"].items() if k.startswith(prefix)}

