"""Result tables of a study: one JSONL file per kind under ``<study>/results/``, one row per result.

Rows are checked against their kind's row type (``medgan_lib.rows``) when written, and every row carries its
provenance. Reports read these files, never notebook outputs.
"""

from __future__ import annotations

import contextlib
import difflib
import fcntl
import json
import os
import time
import warnings
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from medgan_lib.atomic import write_text
from medgan_lib.paths import runs_dir
from medgan_lib.provenance import provenance
from medgan_lib.rows import DATASET, PROVENANCE, TIME, result_kind


class RowError(ValueError):
    """A result row lacks a key of its kind's row type."""


def study_path(study_dir: str | os.PathLike | None = None) -> Path:
    """The study folder; empty means ``<runs>/default`` (the notebooks' default when run by hand)."""
    path = Path(study_dir) if study_dir else runs_dir() / "default"
    path.mkdir(parents=True, exist_ok=True)
    return path


def append_result(study_dir: str | os.PathLike | None, kind: str, row: dict[str, Any]) -> dict[str, Any]:
    """Append one row (with provenance and a timestamp) to ``results/<kind>.jsonl``, replacing an earlier row of
    the same result (equal identity keys, ``rows.KINDS``: a rerun does not duplicate rows); the file is
    rewritten atomically under an exclusive lock, so an interruption never leaves half a line and
    concurrent writers (parallel steps, Ray workers) never lose each other's rows. A row missing a key of its
    kind's row type is refused (``check_row``)."""
    check_row(kind, row)
    path = study_path(study_dir) / "results" / f"{kind}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {**row, TIME: time.strftime("%Y-%m-%dT%H:%M:%S"), PROVENANCE: provenance()}
    line = json.dumps(record, sort_keys=True, default=str)
    spec = result_kind(kind)
    key = _identity(json.loads(line), spec)
    with _locked(path.with_suffix(".lock")):
        kept = [old for old in (path.read_text().splitlines() if path.exists() else [])
                if old.strip() and not _same_result(old, key, spec)]  # a damaged (cut) line is kept, alone
        write_text(path, "".join(f"{old}\n" for old in [*kept, line]))
    return record


def _identity(row: Mapping[str, Any], spec) -> tuple:
    row = {spec.renamed.get(k, k): v for k, v in row.items()}
    return tuple(json.dumps(row.get(k), sort_keys=True) for k in spec.identity)


def _same_result(line: str, key: tuple, spec) -> bool:
    try:
        return _identity(json.loads(line), spec) == key
    except ValueError:
        return False


def check_row(kind: str, row: Mapping[str, Any]) -> None:
    """Raise ``RowError`` naming the kind and each key of its row type that ``row`` lacks (with the row's
    nearest key, if it looks like a misspelling); an unknown kind raises an error listing the kinds."""
    expected = result_kind(kind).keys
    missing = [key for key in expected if key not in row]
    if missing:
        others = [key for key in row if key not in expected]
        hints = [f"'{key}'" + "".join(f" (is '{m}' a misspelling?)" for m in difflib.get_close_matches(key, others, 1))
                 for key in missing]
        raise RowError(f"a '{kind}' result row must have the key(s) {', '.join(hints)}; it has {sorted(row)}")


@contextlib.contextmanager
def _locked(lock_path: Path):
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read_results(study_dir: str | os.PathLike | None, kind: str) -> pd.DataFrame:
    """All rows of ``results/<kind>.jsonl`` as a DataFrame (no rows if none yet) with at least the columns of the
    kind's row type: rows of an older study that lack a key read as missing values there (keys renamed since
    are read under their new name), so readers index by the ``rows`` constants without checks."""
    spec = result_kind(kind)
    path = study_path(study_dir) / "results" / f"{kind}.jsonl"
    frame = pd.DataFrame(_rows(path))
    for old, new in spec.renamed.items():
        if old in frame:
            frame[new] = frame.pop(old) if new not in frame else frame[new].combine_first(frame.pop(old))
    return frame.reindex(columns=[*frame.columns, *(k for k in spec.keys if k not in frame)])


def _rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a JSONL file; a damaged line (cut by a crash, edited by hand) is skipped with a warning naming
    the file and line, so one bad row never hides the others."""
    rows = []
    for number, line in enumerate(path.read_text().splitlines() if path.exists() else [], start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as err:
            warnings.warn(f"{path}, line {number}: damaged result row skipped ({err})", stacklevel=3)
            continue
        if isinstance(row, dict):
            rows.append(row)
        else:
            warnings.warn(f"{path}, line {number}: not a result row (a JSON {type(row).__name__}), skipped",
                          stacklevel=3)
    return rows


def latest(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Rows of ``kind`` with later rows of the same result (equal identity keys, see ``rows.KINDS``) replacing
    earlier ones, in the order of their last writing."""
    return frame.drop_duplicates(subset=list(result_kind(kind).identity), keep="last").reset_index(drop=True)


def of_dataset(frame: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Rows of ``dataset`` (rows that name no dataset, written by hand, are kept)."""
    return frame[frame[DATASET].isna() | (frame[DATASET] == dataset)]
