"""Dataset manifests (``data_manifest/<name>.yaml``): typed schema, validated at load.

A manifest states where a public dataset comes from (citation, how to obtain it, licence), what it
is (modality, label map, channels), how it lies on disk (globs and key patterns that pair images
with masks and name patients), what a complete copy holds (counts per subset) and how the study
uses it (split by patient, preprocessing). Each manifest also says which part of its split comes
from the paper that used the dataset and which part is this project's assumption (``split_source``).
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
SPLIT_NAMES = ("train", "val", "test")


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
    files: int | None  # image files a complete copy holds (None: not published, so not checked)
    patients: int | None = None
    slices: int | None = None  # 2-D slices (for 3-D volumes: summed depth)
    split: Literal["", "train", "val", "test"] = ""  # "" = split by patient with the fractions
    # Masks of this subset (relative to root), paired only with this subset's images; None = the layout's.
    mask_glob: str | None = None
    # Prepended to the patient ids of this subset: keeps ids unique when two subsets reuse file names.
    patient_prefix: str = ""


@dataclasses.dataclass
class Layout:
    """How files are found and paired. Keys come from regex groups on the file *name* (or, with ``key_on: path``,
    on the path relative to root, for datasets that reuse file names in every patient's folder)."""

    format: Literal["nifti", "metaimage", "dicom", "image"]
    volumes: bool  # 3-D volumes cut into 2-D slices along the last (NIfTI) / first (MetaImage) axis
    subsets: list[Subset]
    image_key: str  # regex on the image file name; its groups are the key that pairs it with its mask
    patient: str  # regex on the image path relative to root; group 1 is the patient id
    mask_glob: str | None = None  # masks of every subset without a mask_glob of its own
    mask_key: str | None = None  # regex on the mask file name; its groups must equal the image's key
    mask_format: Literal["nifti", "metaimage", "dicom", "image"] | None = None
    mask_binarise: bool = False  # raw mask values > 0 mean label 1 (masks stored as 0/255)
    # label -> [low, high]: raw mask values in that closed range mean that label (masks stored as grey levels, e.g.
    # CHAOS MR's 63/126/189/252); 0 needs no range; any other raw value is an error naming the file
    mask_values: dict[int, list[float]] | None = None
    key_on: Literal["name", "path"] = "name"  # what image_key and mask_key are matched against
    # each image file is one 2-D slice of its patient's series (per-slice DICOM): a patient's slices are
    # normalised together, as one volume is, not one by one
    series: bool = False


@dataclasses.dataclass
class ImageClasses:
    """Image-level classes read from a text file in each image's folder: the value of its ``key: value`` line
    (ACDC: ``Group: DCM`` in each patient's Info.cfg), one of ``names``."""

    file: str  # file name beside the image file
    key: str
    names: list[str]


@dataclasses.dataclass
class SplitSource:
    """Where the split comes from: what the paper that used the dataset prescribes, and what we chose."""

    paper: str  # the part of the split the paper states (or that it states none)
    ours: str  # the part that is this project's assumption


@dataclasses.dataclass
class Manifest:
    """Everything the study needs to know about one real dataset."""

    name: str
    title: str
    citation: str
    doi: str
    obtain: Obtain
    licence: str
    modality: Literal["cine-MRI", "MRI", "CT", "fundus photography", "X-ray"]
    image_channels: int
    labels: dict[int, str]  # mask value -> name; 0 is background
    layout: Layout
    split: dict[str, float]  # fractions of the patients not fixed by a subset, by patient, never by slice
    split_source: SplitSource  # which part of the split is the paper's and which is ours
    preprocessing: Preprocessing
    resolution: int  # default working resolution of the study
    phantom: str  # the phantom standing in for it by default
    # The prepared splits whose union the GANs train on (never "test": the U-Net's Dice is measured there).
    gan_splits: list[str] = dataclasses.field(default_factory=lambda: ["train"])
    # Patients (ids as the layout names them) that go to a given split whatever the fractions say.
    fixed_patients: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    notes: str = ""
    classes: ImageClasses | None = None  # image-level classes (class-conditional GANs), if the dataset has them

    def __post_init__(self) -> None:
        where = f"manifest '{self.name}'"
        if self.classes is not None and (not self.classes.names or len(set(self.classes.names)) != len(self.classes.names)):
            raise ConfigError(f"{where}: classes.names must list distinct class names, got {self.classes.names}")
        if sorted(self.labels) != list(range(len(self.labels))) or self.labels.get(0) != "background":
            raise ConfigError(f"{where}: labels must map 0..K-1 with 0 = 'background', got {self.labels}")
        if self.image_channels not in (1, 3):
            raise ConfigError(f"{where}: image_channels must be 1 or 3, got {self.image_channels}")
        if set(self.split) - {"train", "val", "test"} or abs(sum(self.split.values()) - 1.0) > 1e-6:
            raise ConfigError(f"{where}: split must give train/val/test fractions summing to 1, got {self.split}")
        if not self.split_source.paper.strip() or not self.split_source.ours.strip():
            raise ConfigError(f"{where}: split_source needs both 'paper' and 'ours' (say 'none' if a side has nothing)")
        self._check_gan_splits(where)
        layout = self.layout
        names = [s.name for s in layout.subsets]
        if not names or len(set(names)) != len(names):
            raise ConfigError(f"{where}: layout.subsets needs at least one subset and unique names, got {names}")
        for subset in layout.subsets:
            if ((subset.mask_glob or layout.mask_glob) is None) != (len(self.labels) == 1):
                raise ConfigError(f"{where}: subset '{subset.name}' needs a mask glob (its own or layout.mask_glob) "
                                  "exactly when labels has more than background")
        if any(s.mask_glob or layout.mask_glob for s in layout.subsets) and (
                layout.mask_key is None or layout.mask_format is None):
            raise ConfigError(f"{where}: layout.mask_key and layout.mask_format are required with mask_glob")
        for field in ("image_key", "patient", "mask_key"):
            pattern = getattr(layout, field)
            if pattern is not None and re.compile(pattern).groups < 1:
                raise ConfigError(f"{where}: layout.{field} needs one regex group, got {pattern!r}")
        if layout.mask_key is not None and re.compile(layout.mask_key).groups != re.compile(layout.image_key).groups:
            raise ConfigError(f"{where}: layout.mask_key needs as many regex groups as layout.image_key (the key "
                              f"is all of them), got {layout.mask_key!r} and {layout.image_key!r}")
        if layout.series and layout.volumes:
            raise ConfigError(f"{where}: layout.series (one file per slice) contradicts layout.volumes")
        self._check_mask_values(where)
        self._check_fixed_patients(where)

    def _check_mask_values(self, where: str) -> None:
        values = self.layout.mask_values
        if values is None:
            return
        if self.layout.mask_binarise:
            raise ConfigError(f"{where}: layout.mask_values and layout.mask_binarise exclude each other")
        ranges = []
        for label, bounds in values.items():
            if label not in self.labels:
                raise ConfigError(f"{where}: layout.mask_values: {label} is not a label of {self.labels}")
            if len(bounds) != 2 or bounds[0] > bounds[1]:
                raise ConfigError(f"{where}: layout.mask_values.{label}: expected [low, high], got {bounds}")
            ranges.append((bounds[0], bounds[1], label))
        for (lo, hi, a), (lo2, hi2, b) in zip(sorted(ranges), sorted(ranges)[1:]):
            if lo2 <= hi:
                raise ConfigError(f"{where}: layout.mask_values: the ranges of labels {a} and {b} overlap")

    def _check_gan_splits(self, where: str) -> None:
        splits = self.gan_splits
        if not splits or len(set(splits)) != len(splits) or set(splits) - set(SPLIT_NAMES):
            raise ConfigError(f"{where}: gan_splits must list distinct splits of {list(SPLIT_NAMES)}, got {splits}")
        if "test" in splits:
            raise ConfigError(f"{where}: gan_splits must never include 'test' (the held-out test set), got {splits}")

    def _check_fixed_patients(self, where: str) -> None:
        seen: dict[str, str] = {}
        for split, patients in self.fixed_patients.items():
            if split not in SPLIT_NAMES:
                raise ConfigError(f"{where}: fixed_patients.{split}: not a split; use {list(SPLIT_NAMES)}")
            if not isinstance(patients, list) or not all(isinstance(p, str) and p for p in patients):
                raise ConfigError(f"{where}: fixed_patients.{split}: expected a list of patient ids, got {patients!r}")
            for pid in patients:
                if pid in seen:
                    raise ConfigError(f"{where}: fixed_patients: patient {pid!r} is listed for both "
                                      f"{seen[pid]} and {split}")
                seen[pid] = split
                if not self._is_patient_id(pid):
                    raise ConfigError(f"{where}: fixed_patients.{split}: {pid!r} is not a patient id of this layout "
                                      f"(layout.patient {self.layout.patient!r}, group 1, with a subset's prefix)")

    def _is_patient_id(self, pid: str) -> bool:
        """Whether ``pid`` is what ``layout.patient`` (plus some subset's prefix) would extract."""
        for subset in self.layout.subsets:
            rest = pid[len(subset.patient_prefix):] if pid.startswith(subset.patient_prefix) else None
            found = re.search(self.layout.patient, rest) if rest is not None else None
            if found and found.group(1) == rest:
                return True
        return False

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
