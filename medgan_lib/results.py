"""Result tables of a study: one JSONL file per kind under ``<study>/results/``, one row per result.

Every row carries its provenance. Reports read these files, never notebook outputs.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from pathlib import Path
from typing import Any

import pandas as pd

from medgan_lib.atomic import write_text
from medgan_lib.paths import runs_dir
from medgan_lib.provenance import provenance


def study_path(study_dir: str | os.PathLike | None = None) -> Path:
    """The study folder; empty means ``<runs>/default`` (the notebooks' default when run by hand)."""
    path = Path(study_dir) if study_dir else runs_dir() / "default"
    path.mkdir(parents=True, exist_ok=True)
    return path


def append_result(study_dir: str | os.PathLike | None, kind: str, row: dict[str, Any]) -> dict[str, Any]:
    """Append one row (with provenance and a timestamp) to ``results/<kind>.jsonl``; the file is
    rewritten atomically under an exclusive lock, so an interruption never leaves half a line and
    concurrent writers (parallel steps, Ray workers) never lose each other's rows."""
    path = study_path(study_dir) / "results" / f"{kind}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {**row, "time": time.strftime("%Y-%m-%dT%H:%M:%S"), "provenance": provenance()}
    with _locked(path.with_suffix(".lock")):
        old = path.read_text() if path.exists() else ""
        write_text(path, old + json.dumps(record, sort_keys=True, default=str) + "\n")
    return record


@contextlib.contextmanager
def _locked(lock_path: Path):
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read_results(study_dir: str | os.PathLike | None, kind: str) -> pd.DataFrame:
    """All rows of ``results/<kind>.jsonl`` as a DataFrame (empty if none yet)."""
    path = study_path(study_dir) / "results" / f"{kind}.jsonl"
    if not path.exists():
        return pd.DataFrame()
    return pd.DataFrame([json.loads(line) for line in path.read_text().splitlines() if line.strip()])
