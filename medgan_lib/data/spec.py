"""``DataSpec``: the one identity of "which data" — dataset, root, resolution, count, split seed, preprocessing.

A GAN run holds one (``TrainConfig.data``); every later section takes it from the runs it evaluates, so the
real images an FID compares with, the test patients of the U-Net's Dice and the GAN's training patients
always come from the same prepared dataset. ``prepare(split)`` goes through the content-addressed cache.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from medgan_lib.data.dataset import DatasetError, PreparedDataset
from medgan_lib.data.prepare import SPLITS, prepare
from medgan_lib.data.sources import DATASETS
from medgan_lib.data.views import VIEWS
from medgan_lib.hashing import hash_inputs

EMPTY_SLICES = (None, "keep", "drop")


@dataclasses.dataclass(frozen=True)
class DataSpec:
    """Which prepared dataset. Built once (from notebook parameters or a run's config) and asked by everyone."""

    dataset: str = "cardiac_phantom"  # registered dataset name (``medgan data list``)
    root: str | None = None  # folder of a real dataset's copy (made absolute); None for phantoms
    resolution: int = 64  # square working resolution in pixels: a power of two in 32..256
    count: int | None = None  # 2-D slices of the whole dataset before splitting (None: the dataset's default)
    seed: int = 0  # phantom generation and patient-split seed
    empty_slices: str | None = None  # "keep"/"drop" volume slices without foreground (None: the manifest's rule)
    view: str | None = None  # "frontal"/"lateral": keep the films of one view (views.VIEWS); None: every film

    def __post_init__(self) -> None:
        source = DATASETS[self.dataset]  # an unknown name lists the valid ones
        res = self.resolution
        if isinstance(res, bool) or not isinstance(res, int) or not (32 <= res <= 256 and res & (res - 1) == 0):
            raise DatasetError(f"DataSpec.resolution: expected a power of two in 32..256 (the sizes the GANs build), "
                               f"got {res!r}")
        if self.count is not None and (isinstance(self.count, bool) or not isinstance(self.count, int)
                                       or self.count < 1):
            raise DatasetError(f"DataSpec.count: expected a positive integer or None, got {self.count!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise DatasetError(f"DataSpec.seed: expected an integer >= 0, got {self.seed!r}")
        if self.empty_slices not in EMPTY_SLICES:
            raise DatasetError(f"DataSpec.empty_slices: expected one of {list(EMPTY_SLICES)}, got {self.empty_slices!r}")
        if self.view is not None and self.view not in VIEWS:
            raise DatasetError(f"DataSpec.view: expected one of {list(VIEWS)} or None (every film), got {self.view!r}")
        root = self.root or None
        if source.kind == "phantom" or root is None:
            source.resolve_root(root)  # a phantom refuses a root, a real dataset needs one (messages say why)
        else:  # absolute, so the identity does not depend on the working folder; prepare() checks it exists
            root = os.path.abspath(os.path.expanduser(str(root)))
        object.__setattr__(self, "root", root)
        if self.count is None and source.default_count is not None:  # one spelling per identity
            object.__setattr__(self, "count", source.default_count)

    @property
    def hash(self) -> str:
        """Stable short hash of the spec (not of the files: the prepared cache key also covers those)."""
        return hash_inputs(self.to_dict())

    @property
    def gan_splits(self) -> tuple[str, ...]:
        """The prepared splits whose union the GANs train on (ACDC, IDRiD: all the training exams)."""
        return tuple(DATASETS[self.dataset].gan_splits)

    def prepare(self, split: str, progress: bool = False) -> PreparedDataset:
        """One split ("train", "val", "test"), or "gan": the GANs' training set (the union of ``gan_splits``)."""
        if split == "gan":
            return self.gan_train(progress)
        return prepare(self.dataset, split, self.resolution, root=self.root, count=self.count, seed=self.seed,
                       empty_slices=self.empty_slices, view=self.view, progress=progress)

    def splits(self, progress: bool = False) -> dict[str, PreparedDataset]:
        return {name: self.prepare(name, progress) for name in SPLITS}

    def gan_train(self, progress: bool = False) -> PreparedDataset:
        """The GANs' training images: one split, or several concatenated (their hashes combined in ``meta``)."""
        parts = [self.prepare(name, progress) for name in self.gan_splits]
        if len(parts) == 1:
            return parts[0]
        first = parts[0]
        meta = {**first.meta, "hash": hash_inputs([p.meta["hash"] for p in parts]), "splits": list(self.gan_splits)}
        return PreparedDataset.concatenate(parts, "+".join(self.gan_splits), meta)

    def label(self) -> str:
        """One line for reports: dataset, resolution, size, split seed and root."""
        size = f"{self.count} slices" if self.count is not None else "every slice"
        return (f"{self.dataset} at {self.resolution} px, {size}, split seed {self.seed}"
                + (f", empty slices {self.empty_slices}" if self.empty_slices else "")
                + (f", {self.view} views only" if self.view else "")
                + (f", from {self.root}" if self.root else ""))

    def to_dict(self) -> dict[str, Any]:
        """The fields, without an unset view (so specs from before views keep their hash)."""
        values = dataclasses.asdict(self)
        if values["view"] is None:
            del values["view"]
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any], where: str = "DataSpec") -> "DataSpec":
        from medgan_lib.config import from_dict

        return from_dict(cls, values, where)

    @classmethod
    def from_params(cls, dataset: str, root: str | Path | None = "", resolution: int = 64, count: int | None = 0,
                    seed: int = 0, view: str = "") -> "DataSpec":
        """From notebook parameters, where "" means no root (no view filter) and 0 the dataset's default count."""
        return cls(dataset, str(root) if root else None, resolution, count or None, seed, view=view or None)


def common_spec(specs: dict[str, DataSpec]) -> DataSpec:
    """The one DataSpec that every named item (e.g. run name -> its spec) shares; refuses, naming them, if they
    disagree, so no section compares a GAN with real images it was not trained against."""
    if not specs:
        raise DatasetError("no GAN runs to take the data from")
    groups: dict[DataSpec, list[str]] = {}
    for name, spec in specs.items():
        groups.setdefault(spec, []).append(name)
    if len(groups) > 1:
        lines = [f"{spec.label()} (hash {spec.hash}): {', '.join(names)}" for spec, names in groups.items()]
        raise DatasetError("these runs were trained on different data, so they cannot be evaluated together; "
                           "choose runs of one data spec (gans=/runs=) or train them alike:\n  " + "\n  ".join(lines))
    return next(iter(groups))


def prepare_splits(data: DataSpec, study_dir: str | os.PathLike | None = None, progress: bool = True
                   ) -> dict[str, PreparedDataset]:
    """All three splits of ``data`` (built and cached together); with ``study_dir`` a ``data`` result row records
    the spec, the splits' hashes and sizes, so later sections can show which data they used."""
    parts = data.splits(progress)
    if study_dir is not None:
        from medgan_lib.results import append_result

        meta = parts["train"].meta
        append_result(study_dir, "data", {
            "dataset": data.dataset, "data_spec": data.to_dict(), "data_spec_hash": data.hash, "kind": meta["kind"],
            "root": data.root, "resolution": data.resolution, "count": meta["count"], "seed": data.seed,
            "preprocessing": meta["preprocessing"], "gan_splits": list(data.gan_splits),
            "hashes": {name: ds.meta["hash"] for name, ds in parts.items()}, "split_sizes": meta["split_sizes"],
            "view": meta.get("view"), "label_names": list(parts["train"].label_names)})
    return parts
