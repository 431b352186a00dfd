"""MURA-v1.1 body parts as a classification set (chetty2023 Appendix A trains MedFID to tell them apart).

Reads ``<root>/{train,valid}/XR_<PART>/patient*/study*/image*.png`` for the seven upper-extremity parts,
with the study's PNG reader and the mura_elbow manifest's preprocessing (per-image percentile window,
padding to a square, antialiased resize), and samples up to ``per_class`` images of each part with a
seed of its own, so adding a part never changes the images drawn for another.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import numpy as np

from medgan_lib.data.dataset import DatasetError
from medgan_lib.data.manifest import load_manifest
from medgan_lib.data.preprocessing import normalise, resize_image
from medgan_lib.data.readers import read_file
from medgan_lib.progress import tqdm

MURA_PARTS = ("ELBOW", "FINGER", "FOREARM", "HAND", "HUMERUS", "SHOULDER", "WRIST")
SUBSETS = ("train", "valid")
IMAGE_GLOB = "{subset}/XR_{part}/patient*/study*/image*.png"


def mura_parts(parts: Iterable[str] | None = None) -> tuple[str, ...]:
    """Canonical part names ('elbow', 'XR_ELBOW' -> 'ELBOW'); None means all seven."""
    if parts is None:
        return MURA_PARTS
    names = tuple(str(p).upper().removeprefix("XR_") for p in parts)
    unknown = [p for p in names if p not in MURA_PARTS]
    if unknown or not names:
        raise ValueError(f"unknown MURA body part(s) {unknown or '(none given)'}; MURA-v1.1 has {list(MURA_PARTS)}")
    return names


def _how_to_get() -> str:
    manifest = load_manifest("mura_elbow")
    return (f"MURA-v1.1 from {manifest.obtain.url}: " + " ".join(manifest.obtain.steps)
            + " (see data_manifest/mura_elbow.yaml)")


def mura_files(root: str | os.PathLike, part: str) -> list[Path]:
    """Sorted image files of one body part in train/ and valid/; a clear error when there are none."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError(f"MURA root {root} is not an existing folder; expected the unpacked MURA-v1.1 folder "
                           f"holding train/ and valid/. Get {_how_to_get()}")
    files = sorted(f for subset in SUBSETS for f in root.glob(IMAGE_GLOB.format(subset=subset, part=part)))
    if not files:
        globs = " and ".join(IMAGE_GLOB.format(subset=s, part=part) for s in SUBSETS)
        raise DatasetError(f"{root}: no images of body part XR_{part} (looked for {globs}); expected the "
                           f"unpacked MURA-v1.1 folder. Get {_how_to_get()}")
    return files


def read_mura_image(path: Path, resolution: int) -> np.ndarray:
    """One radiograph as float32 (1, R, R) in [-1, 1], preprocessed as the mura_elbow manifest prescribes."""
    prep = load_manifest("mura_elbow").preprocessing
    image = read_file(path, "image", 1)
    return resize_image(normalise(image[None], np.zeros(1, dtype=int), prep)[0], resolution)


def mura_training_set(root: str | os.PathLike, parts: Iterable[str] | None = None, per_class: int = 40,
                      resolution: int = 64, seed: int = 0, progress: bool = True
                      ) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """(uint8 RGB images (N, 3, R, R), labels (N,), class names 'XR_<PART>'): up to ``per_class`` images of
    each body part, drawn with the seed ``[seed, part index]`` from train/ and valid/ together."""
    from medgan_lib.metrics.features import to_uint8_rgb

    names = mura_parts(parts)
    if per_class < 1:
        raise ValueError(f"per_class must be >= 1, got {per_class}")
    images, labels = [], []
    for label, part in enumerate(tqdm(names, desc="MURA parts", disable=not progress, leave=False)):
        files = mura_files(root, part)
        rng = np.random.default_rng([seed, MURA_PARTS.index(part)])
        take = np.sort(rng.choice(len(files), min(per_class, len(files)), replace=False))
        images.append(to_uint8_rgb(np.stack([read_mura_image(files[i], resolution) for i in take])))
        labels.append(np.full(len(take), label))
    return np.concatenate(images), np.concatenate(labels), tuple(f"XR_{p}" for p in names)
