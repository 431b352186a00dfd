"""The papers' published numbers as package data (copied from the study's shared reference folder).

Everything read from here is *theirs*, on their data; reports label it so.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def reference_file(name: str) -> Path:
    """Path of one reference file; a missing name lists the files there are."""
    folder = resources.files(__name__)
    path = Path(str(folder.joinpath(name)))
    if not path.is_file():
        names = sorted(p.name for p in Path(str(folder)).iterdir() if p.suffix in (".csv", ".yaml"))
        raise FileNotFoundError(f"no reference file '{name}'; there are: {', '.join(names)}")
    return path
