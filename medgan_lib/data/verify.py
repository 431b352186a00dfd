"""``medgan data verify``: check a downloaded copy against its manifest, then lock its file hashes.

Checks layout (every image has its mask within its subset, names match, patient ids unique across
subsets), counts per subset (files, patients, slices), that the patients the manifest's fixed split
names are present (in a subset without a split of its own), that every file reads, that image and
mask shapes agree, mask values are in the label map and pixels are finite. On success it writes
``medgan-lock.json`` beside the data (sizes and SHA-256 of every file, atomically); a later run
reports files that changed, appeared or disappeared since. A partial copy fails the count checks
(one problem per subset and count), so it is never locked as complete.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path


from medgan_lib.atomic import write_json
from medgan_lib.config import to_dict
from medgan_lib.data.dataset import DatasetError
from medgan_lib.data.sources import DATASETS, ManifestSource
from medgan_lib.hashing import hash_inputs, sha256_file
from medgan_lib.progress import tqdm

LOCK_NAME = "medgan-lock.json"


@dataclasses.dataclass
class VerifyReport:
    """What ``verify`` found: problems file by file, counts per subset, the lock file written (if any)."""

    dataset: str
    root: Path
    problems: list[str]
    counts: dict[str, dict[str, int]]
    lock: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def companion_files(path: Path) -> list[Path]:
    """A MetaImage header's data file (ElementDataFile), which must travel with it."""
    if not path.name.lower().endswith(".mhd"):
        return []
    found = re.search(r"^\s*ElementDataFile\s*=\s*(.+?)\s*$", path.read_text(errors="replace"), re.MULTILINE)
    if not found or found.group(1) == "LOCAL":
        return []
    return [path.parent / found.group(1)]


def verify(name: str, root: str | Path, update_lock: bool = False, progress: bool = True) -> VerifyReport:
    """Check ``root`` against the manifest of dataset ``name``; write or compare the lock file."""
    source = DATASETS[name]
    if not isinstance(source, ManifestSource):
        raise DatasetError(f"dataset '{name}' has no manifest to verify against; manifests: "
                           f"{', '.join(n for n in DATASETS.names() if isinstance(DATASETS[n], ManifestSource))}")
    root = source.resolve_root(root)
    manifest = source.manifest
    cases, problems = source.scan(root)
    counts = {}
    for subset in manifest.layout.subsets:
        mine = [c for c in cases if c.subset == subset.name]
        counts[subset.name] = {"files": len(mine), "patients": len({c.patient for c in mine}), "slices": 0}
    files: list[Path] = []
    for case in tqdm(cases, desc=f"verifying {name}", disable=not progress, leave=False):
        try:
            raw, _ = source.read(case)
            counts[case.subset]["slices"] += len(raw.images)
        except DatasetError as err:
            problems.append(str(err))
        for path in (case.image, case.mask):
            if path is not None:
                files.append(path)
                files.extend(p for p in companion_files(path) if p.exists())
    problems.extend(_check_fixed_patients(manifest, cases, root))
    for subset in manifest.layout.subsets:
        found = counts[subset.name]
        for key in ("files", "patients", "slices"):
            expected = getattr(subset, key)
            if expected is not None and found[key] != expected:
                problems.append(f"{root}: subset '{subset.name}' has {found[key]} {key}, "
                                f"the manifest expects {expected}")

    lock_path = root / LOCK_NAME
    hashes = {p.relative_to(root).as_posix(): {"size": p.stat().st_size, "sha256": sha256_file(p)}
              for p in tqdm(sorted(set(files)), desc="hashing", disable=not progress, leave=False)}
    if lock_path.is_file() and not update_lock:
        problems.extend(_compare_lock(lock_path, hashes, root))
    written = None
    if not problems:
        written = write_json(lock_path, {"dataset": name, "manifest": hash_inputs(to_dict(manifest)),
                                         "counts": counts, "files": hashes})
    return VerifyReport(name, root, problems, counts, written)


def _check_fixed_patients(manifest, cases, root: Path) -> list[str]:
    """Every patient of ``fixed_patients`` must be in the copy, and not in a subset with a split of its own."""
    found = {c.patient: c for c in cases}
    problems = []
    for split, patients in manifest.fixed_patients.items():
        for pid in patients:
            case = found.get(pid)
            if case is None:
                problems.append(f"{root}: patient {pid!r}, which the manifest's fixed split puts in {split}, "
                                "is not in the copy")
            elif case.fixed_split and case.fixed_split != split:
                problems.append(f"{case.image}: patient {pid!r} is listed for the {split} split, but subset "
                                f"'{case.subset}' is the {case.fixed_split} split")
    return problems


def _compare_lock(lock_path: Path, hashes: dict[str, dict], root: Path) -> list[str]:
    try:
        locked = json.loads(lock_path.read_text())["files"]
    except (ValueError, KeyError) as err:
        return [f"{lock_path}: unreadable lock file ({err}); rerun with --update-lock to rewrite it"]
    problems = []
    for rel in sorted(set(locked) | set(hashes)):
        if rel not in hashes:
            problems.append(f"{root / rel}: missing since the lock file was written")
        elif rel not in locked:
            problems.append(f"{root / rel}: new since the lock file was written")
        elif locked[rel] != hashes[rel]:
            problems.append(f"{root / rel}: changed since the lock file was written (size/SHA-256 differ)")
    return problems
