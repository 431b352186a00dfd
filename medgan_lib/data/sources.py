"""Where a dataset's slices come from: the ``DATASETS`` registry maps every name to its source.

A source knows its label map and channels, fingerprints its inputs (for the cache key) and loads
normalised slices at a resolution. Phantom sources draw slices; real sources read files (see readers.py).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from medgan_lib.data.dataset import DatasetError
from medgan_lib.data.phantoms import PHANTOMS, Phantom, generate
from medgan_lib.data.preprocessing import Preprocessing, normalise
from medgan_lib.registry import Registry

DEFAULT_FRACTIONS = {"train": 0.7, "val": 0.15, "test": 0.15}


@dataclasses.dataclass
class Slices:
    """Normalised 2-D slices of a whole dataset before splitting."""

    images: np.ndarray  # float32 (N, C, R, R) in [-1, 1]
    masks: np.ndarray  # uint8 (N, R, R)
    patient_ids: np.ndarray  # str (N,)
    fixed_split: np.ndarray  # str (N,): "" = split by fraction, else the split the data's own layout imposes


class PhantomSource:
    """A procedural phantom: no files, generated from the seed."""

    kind = "phantom"

    def __init__(self, phantom: Phantom) -> None:
        self.phantom = phantom
        self.name = phantom.name
        self.label_names = phantom.label_names
        self.image_channels = phantom.image_channels
        self.default_count: int | None = phantom.default_count
        self.preprocessing = Preprocessing(intensity=phantom.normalisation)
        self.fractions = dict(DEFAULT_FRACTIONS)

    def resolve_root(self, root: str | Path | None) -> None:
        if root not in (None, ""):
            raise DatasetError(f"dataset '{self.name}' is a phantom and reads no files; got root={root!r} "
                               "(pass root only with a real dataset)")
        return None

    def fingerprint(self, root: None) -> dict[str, Any]:
        return {"phantom": self.name}

    def load(self, root: None, count: int, resolution: int, seed: int, prep: Preprocessing,
             progress: bool = False) -> Slices:
        raw, masks, ids = generate(self.phantom, count, resolution, seed, progress=progress)
        images = normalise(raw, ids, prep)
        return Slices(images, masks, ids, np.full(len(ids), "", dtype=object).astype(str))


DATASETS: Registry = Registry("dataset")
for _phantom in PHANTOMS.values():
    DATASETS.register(_phantom.name)(PhantomSource(_phantom))
