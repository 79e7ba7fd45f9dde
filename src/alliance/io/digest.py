"""Content digests of files: what ties a truth file to the data it was simulated with."""

from __future__ import annotations

import hashlib
from pathlib import Path

_CHUNK = 1 << 20


def file_sha256(path: str | Path) -> str:
    """SHA-256 of the file's bytes, as 64 lowercase hex digits (as ``sha256sum`` prints it)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()
