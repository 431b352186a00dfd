"""Dataset manifests (``data_manifest/<name>.yaml``): typed schema, validated at load.

A manifest states where a public dataset comes from (citation, how to obtain it, licence), what it
is (modality, label map, channels), how it lies on disk (globs and key patterns that pair images
with masks and name patients), what a complete copy holds (counts per subset) and how the study
uses it (split by patient, preprocessing).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from pathlib import Path
from typing import Literal

from medgan_lib.config import ConfigError, load_yaml
from medgan_lib.data.preprocessing import Preprocessing

MANIFEST_DIR = Path(__file__).resolve().parents[2] / "data_manifest"
FORMATS = ("nifti", "metaimage", "dicom", "image")


@dataclasses.dataclass
class Obtain:
    """Where and how to get the data: the page, the registration steps, the files to download."""

    url: str
    steps: list[str]


@dataclasses.dataclass
class Subset:
    """One part of the on-disk copy (e.g. ACDC ``training``), with the counts a complete copy has."""

    name: str
    image_glob: str  # relative to root; '**' recurses
    files: int  # image files a complete copy holds
    patients: int | None = None
    slices: int | None = None  # 2-D slices (for 3-D volumes: summed depth)
    split: Literal["", "train", "val", "test"] = ""  # "" = split by patient with the fractions


@dataclasses.dataclass
class Layout:
    """How files are found and paired. Keys come from a regex group on the file *name*."""

    format: Literal["nifti", "metaimage", "dicom", "image"]
    volumes: bool  # 3-D volumes cut into 2-D slices along the last (NIfTI) / first (MetaImage) axis
    subsets: list[Subset]
    image_key: str  # regex on the image file name; group 1 is the key that pairs it with its mask
    patient: str  # regex on the image path relative to root; group 1 is the patient id
    mask_glob: str | None = None
    mask_key: str | None = None  # regex on the mask file name; group 1 must equal the image's key
    mask_format: Literal["nifti", "metaimage", "dicom", "image"] | None = None
    mask_binarise: bool = False  # raw mask values > 0 mean label 1 (masks stored as 0/255)


@dataclasses.dataclass
class Manifest:
    """Everything the study needs to know about one real dataset."""

    name: str
    title: str
    citation: str
    doi: str
    obtain: Obtain
    licence: str
    modality: Literal["cine-MRI", "CT", "fundus photography", "X-ray"]
    image_channels: int
    labels: dict[int, str]  # mask value -> name; 0 is background
    layout: Layout
    split: dict[str, float]  # fractions of the patients not fixed by a subset, by patient, never by slice
    preprocessing: Preprocessing
    resolution: int  # default working resolution of the study
    phantom: str  # the phantom standing in for it by default
    notes: str = ""

    def __post_init__(self) -> None:
        where = f"manifest '{self.name}'"
        if sorted(self.labels) != list(range(len(self.labels))) or self.labels.get(0) != "background":
            raise ConfigError(f"{where}: labels must map 0..K-1 with 0 = 'background', got {self.labels}")
        if self.image_channels not in (1, 3):
            raise ConfigError(f"{where}: image_channels must be 1 or 3, got {self.image_channels}")
        if set(self.split) - {"train", "val", "test"} or abs(sum(self.split.values()) - 1.0) > 1e-6:
            raise ConfigError(f"{where}: split must give train/val/test fractions summing to 1, got {self.split}")
        layout = self.layout
        if (layout.mask_glob is None) != (len(self.labels) == 1):
            raise ConfigError(f"{where}: layout.mask_glob is needed exactly when labels has more than background")
        if layout.mask_glob is not None and (layout.mask_key is None or layout.mask_format is None):
            raise ConfigError(f"{where}: layout.mask_key and layout.mask_format are required with mask_glob")
        for field in ("image_key", "patient", "mask_key"):
            pattern = getattr(layout, field)
            if pattern is not None and re.compile(pattern).groups < 1:
                raise ConfigError(f"{where}: layout.{field} needs one regex group, got {pattern!r}")

    @property
    def label_names(self) -> tuple[str, ...]:
        return tuple(self.labels[i] for i in range(len(self.labels)))


def manifest_names() -> list[str]:
    return sorted(p.stem for p in MANIFEST_DIR.glob("*.yaml"))


@functools.lru_cache(maxsize=None)
def load_manifest(name: str) -> Manifest:
    """Read and validate ``data_manifest/<name>.yaml`` (a ConfigError names the bad key)."""
    path = MANIFEST_DIR / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"no manifest {path}; available: {', '.join(manifest_names())}")
    manifest = load_yaml(Manifest, path)
    if manifest.name != name:
        raise ConfigError(f"{path}: name '{manifest.name}' does not match the file name")
    return manifest
