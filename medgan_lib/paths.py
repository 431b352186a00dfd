"""Where caches and runs live; both can be moved with environment variables."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Root of content-addressed caches: ``$MEDGAN_CACHE`` or ``~/.cache/medgan``."""
    path = Path(os.environ.get("MEDGAN_CACHE", Path.home() / ".cache" / "medgan"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def runs_dir() -> Path:
    """Root of GAN/U-Net run directories: ``$MEDGAN_RUNS`` or ``<cache>/runs``."""
    path = Path(os.environ.get("MEDGAN_RUNS", cache_dir() / "runs"))
    path.mkdir(parents=True, exist_ok=True)
    return path
