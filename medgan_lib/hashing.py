"""Content hashes that name caches: a cache key is the hash of everything that produced the artefact."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def hash_inputs(*parts: Any, length: int = 16) -> str:
    """Stable short hash of JSON-able values (dict order does not matter; paths are hashed as strings)."""
    text = json.dumps(parts, sort_keys=True, default=_canonical)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _canonical(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "__dataclass_fields__"):
        import dataclasses

        return dataclasses.asdict(obj)
    if hasattr(obj, "item"):
        return obj.item()
    raise TypeError(f"cannot hash a {type(obj).__name__}")
