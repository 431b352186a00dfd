"""``prepare``: any source -> cached train/val/test ``PreparedDataset`` files, split by patient.

The cache file is ``cache_dir()/prepared/<hash>.npz`` where the hash covers the source fingerprint,
preprocessing, resolution, split, count, seed and ``VERSION``. All three splits are built together,
validated, then written atomically, so a failure leaves nothing half-written in the cache. A cache file that
cannot be read or fails its checks is rebuilt, with a warning naming it.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path

import numpy as np

from medgan_lib import __version__
from medgan_lib.data.dataset import DatasetError, PreparedDataset
from medgan_lib.data.preprocessing import preprocessing_key
from medgan_lib.data.sources import DATASETS
from medgan_lib.data.views import VIEWS, select_view
from medgan_lib.hashing import hash_inputs
from medgan_lib.paths import cache_dir

VERSION = "prepare-1"  # bump whenever generated or read data would change
SPLITS = ("train", "val", "test")


def prepare(dataset: str = "cardiac_phantom", split: str = "train", resolution: int = 64,
            root: str | Path | None = None, count: int | None = None, seed: int = 0,
            empty_slices: str | None = None, view: str | None = None, progress: bool = False) -> PreparedDataset:
    """One split of ``dataset`` at ``resolution``; built once, then read from the content-addressed cache.

    ``count`` is the number of 2-D slices of the whole dataset before splitting (phantoms default to
    1200; real data to every slice). ``empty_slices`` ("keep"/"drop") overrides the manifest's rule
    for volume slices without foreground. ``view`` ("frontal"/"lateral", ``views.VIEWS``) keeps the films of
    that view among the ``count`` read (``meta["view"]`` says how many); None keeps every film.
    """
    source = DATASETS[dataset]
    if split not in SPLITS:
        raise DatasetError(f"split must be one of {list(SPLITS)}, got {split!r}")
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 8:
        raise DatasetError(f"resolution must be an integer >= 8, got {resolution!r}")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise DatasetError(f"count must be a positive integer or None, got {count!r}")
    prep = source.preprocessing
    if empty_slices is not None:
        if empty_slices not in ("keep", "drop"):
            raise DatasetError(f"empty_slices must be 'keep' or 'drop', got {empty_slices!r}")
        prep = dataclasses.replace(prep, empty_slices=empty_slices)
    root = source.resolve_root(root)
    count = count if count is not None else source.default_count
    if view is not None and view not in VIEWS:
        raise DatasetError(f"view: expected one of {list(VIEWS)} or None (every film), got {view!r}")
    inputs = {"dataset": dataset, "source": source.fingerprint(root), "preprocessing": preprocessing_key(prep),
              "resolution": resolution, "count": count, "seed": seed, "fractions": source.fractions,
              "version": VERSION, **({"view": view} if view else {})}
    prep_meta = json.loads(json.dumps(dataclasses.asdict(prep)))  # as a cached file's meta reads it back
    paths = {name: cache_dir() / "prepared" / f"{hash_inputs(inputs, name)}.npz" for name in SPLITS}
    if paths[split].is_file():
        try:
            cached = PreparedDataset.load(paths[split])
            # same key, same data; an entry written before a preprocessing field existed lacks it in its meta
            cached.meta["preprocessing"] = prep_meta
            return cached
        except DatasetError as err:
            warnings.warn(f"{err}; rebuilding the cached dataset")

    slices = source.load(root, count, resolution, seed, prep, progress=progress)
    views = None
    if view is not None:
        keep = select_view(slices.images, view, source.follows, dataset)
        views = {"view": view, "kept": int(keep.sum()), "read": int(len(keep))}
        if not keep.any():
            raise DatasetError(f"dataset '{dataset}': none of the {len(keep)} films read shows a {view} view")
        slices = dataclasses.replace(slices, images=slices.images[keep], masks=slices.masks[keep],
                                     patient_ids=slices.patient_ids[keep], fixed_split=slices.fixed_split[keep],
                                     classes=None if slices.classes is None else slices.classes[keep])
    parts = split_by_patient(slices.patient_ids, slices.fixed_split, source.fractions, seed,
                             source.fixed_patients)
    sizes = {name: {"patients": int(len(np.unique(slices.patient_ids[idx]))), "slices": int(len(idx))}
             for name, idx in parts.items()}
    built = {}
    for name, index in parts.items():
        meta = {"dataset": dataset, "kind": source.kind, "root": str(root) if root else None,
                "preprocessing": prep_meta, "resolution": resolution, "count": count,
                "seed": seed, "split_sizes": sizes, "view": views, "hash": paths[name].stem, "version": VERSION,
                "medgan_lib": __version__}
        built[name] = PreparedDataset(dataset, name, slices.images[index], slices.masks[index],
                                      slices.patient_ids[index], slices.label_names, meta, slices.class_names,
                                      None if slices.classes is None else slices.classes[index])
    if len(built[split]) == 0:
        raise DatasetError(f"dataset '{dataset}': split '{split}' is empty ({sizes}); raise count "
                           f"(now {count}) so every split gets at least one patient")
    for name, ds in built.items():
        ds.save(paths[name])
    return built[split]


def split_by_patient(patient_ids: np.ndarray, fixed_split: np.ndarray, fractions: dict[str, float],
                     seed: int, fixed_patients: dict[str, list[str]] | None = None) -> dict[str, np.ndarray]:
    """Slice indices per split; whole patients go to one split.

    A patient goes to the split its data impose (``fixed_split``, e.g. ACDC's testing exams), else to
    the split ``fixed_patients`` lists it in (e.g. our SLiver07 split); the remaining patients are
    split by ``fractions`` in a seeded order. Listed patients absent from the data are ignored; a
    patient whose data and listing disagree is an error.
    """
    order = list(dict.fromkeys(patient_ids.tolist()))
    fixed = {pid: split for pid, split in zip(patient_ids.tolist(), fixed_split.tolist()) if split}
    present = set(order)
    for split, listed in (fixed_patients or {}).items():
        if split not in SPLITS:
            raise DatasetError(f"fixed_patients: {split!r} is not a split; use {list(SPLITS)}")
        for pid in listed:
            if pid not in present:
                continue
            if fixed.get(pid, split) != split:
                raise DatasetError(f"patient {pid!r} is listed for the {split} split, but its data (or another "
                                   f"list) put it in the {fixed[pid]} split")
            fixed[pid] = split
    free = [pid for pid in order if pid not in fixed]
    free = [free[i] for i in np.random.default_rng([seed, 1]).permutation(len(free))]
    n = len(free)
    counts = {name: int(n * fractions.get(name, 0.0) + 1e-9) for name in ("val", "test")}
    for name in ("val", "test"):  # every split with a share gets a patient once there are enough
        if fractions.get(name, 0.0) > 0 and counts[name] == 0 and n >= 3:
            counts[name] = 1
    assign = dict(fixed)
    assign.update({pid: "val" for pid in free[:counts["val"]]})
    assign.update({pid: "test" for pid in free[counts["val"]:counts["val"] + counts["test"]]})
    assign.update({pid: "train" for pid in free[counts["val"] + counts["test"]:]})
    labels = np.array([assign[pid] for pid in patient_ids.tolist()])
    return {name: np.flatnonzero(labels == name) for name in SPLITS}
