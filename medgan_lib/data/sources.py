"""Where a dataset's slices come from: the ``DATASETS`` registry maps every name to its source.

A source knows its label map and channels, fingerprints its inputs (for the cache key) and loads
normalised slices at a resolution. It also says how its patients are split: ``fractions``,
``fixed_patients`` (patient id lists per split that override the fractions) and ``gan_splits`` (the
prepared splits whose union the GANs train on). Phantom sources draw slices; real sources read files
(see readers.py).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import numpy as np

from medgan_lib.data.dataset import DatasetError
from medgan_lib.data.manifest import Manifest, load_manifest
from medgan_lib.data.phantoms import PHANTOMS, Phantom, generate, patient_classes
from medgan_lib.data.preprocessing import Preprocessing, normalise, resize_image, resize_mask
from medgan_lib.data.readers import Case, RawCase, format_of, read_case
from medgan_lib.hashing import hash_inputs
from medgan_lib.progress import tqdm
from medgan_lib.registry import Registry

DEFAULT_FRACTIONS = {"train": 0.7, "val": 0.15, "test": 0.15}


@dataclasses.dataclass
class Slices:
    """Normalised 2-D slices of a whole dataset before splitting."""

    images: np.ndarray  # float32 (N, C, R, R) in [-1, 1]
    masks: np.ndarray  # uint8 (N, R, R)
    patient_ids: np.ndarray  # str (N,)
    fixed_split: np.ndarray  # str (N,): "" = split by fraction, else the split the data's own layout imposes
    label_names: tuple[str, ...]
    class_names: tuple[str, ...] = ()  # image-level classes (PreparedDataset.class_names)
    classes: np.ndarray | None = None  # int (N,) or None


class PhantomSource:
    """A procedural phantom: no files, generated from the seed."""

    kind = "phantom"

    def __init__(self, phantom: Phantom) -> None:
        self.phantom = phantom
        self.name = phantom.name
        self.label_names = phantom.label_names
        self.image_channels = phantom.image_channels
        self.default_count: int | None = phantom.default_count
        # the real dataset's rule, unless the phantom has its own (two modalities)
        self.preprocessing = phantom.preprocessing or load_manifest(phantom.mimics).preprocessing
        self.follows = phantom.mimics  # the manifest whose rules (preprocessing, views) it follows
        self.fractions = dict(DEFAULT_FRACTIONS)
        self.fixed_patients: dict[str, list[str]] = {}
        self.gan_splits: tuple[str, ...] = ("train",)

    def resolve_root(self, root: str | Path | None) -> None:
        if root not in (None, ""):
            raise DatasetError(f"dataset '{self.name}' is a phantom and reads no files; got root={root!r} "
                               "(pass root only with a real dataset)")
        return None

    def fingerprint(self, root: None) -> dict[str, Any]:
        return {"phantom": self.name}

    def load(self, root: None, count: int, resolution: int, seed: int, prep: Preprocessing,
             progress: bool = False) -> Slices:
        drop = prep.empty_slices == "drop" and len(self.label_names) > 1
        raw, masks, ids = generate(self.phantom, count, resolution, seed, progress=progress, drop_empty=drop)
        images = normalise(raw, ids, prep)
        classes = patient_classes(self.phantom, ids) if self.phantom.class_names else None
        return Slices(images, masks, ids, np.full(len(ids), ""), self.label_names, self.phantom.class_names, classes)


class FileSource:
    """Shared reading of real files: patients in seeded order until ``count`` slices, then preprocessing."""

    kind = "real"
    default_count: int | None = None

    @property
    def follows(self) -> str:
        """The manifest whose rules (preprocessing, views) it follows: its own."""
        return self.name

    preprocessing = Preprocessing()
    fractions = dict(DEFAULT_FRACTIONS)
    fixed_patients: dict[str, list[str]] = {}
    gan_splits: tuple[str, ...] = ("train",)

    def resolve_root(self, root: str | Path | None) -> Path:
        if root in (None, ""):
            raise DatasetError(f"dataset '{self.name}' reads files: pass root=PATH to your copy "
                               f"({self.where_to_get()})")
        path = Path(root).expanduser().resolve()
        if not path.is_dir():
            raise DatasetError(f"root {path} for dataset '{self.name}' is not an existing folder")
        return path

    def fingerprint(self, root: Path) -> dict[str, Any]:
        """Root, layout and every input file's (name, size, mtime): a change to any file rebuilds the cache."""
        files = []
        for case in self.cases(root):
            for path in (case.image, case.mask, self.class_file(case)):
                if path is not None and path.exists():  # a missing class file fails in load, naming it
                    stat = path.stat()
                    files.append((path.relative_to(root).as_posix(), stat.st_size, stat.st_mtime_ns))
        return {"root": str(root), "description": self.description(), "files": hash_inputs(files, length=32)}

    def load(self, root: Path, count: int | None, resolution: int, seed: int, prep: Preprocessing,
             progress: bool = False) -> Slices:
        cases = self.cases(root)
        patients: dict[str, list[Case]] = {}
        for case in cases:
            patients.setdefault(case.patient, []).append(case)
        order = list(patients)
        if count is not None:
            order = [order[i] for i in np.random.default_rng([seed, 2]).permutation(len(order))]
        images, masks, ids, fixed, classes, label_names = [], [], [], [], [], None
        total = 0
        for patient in tqdm(order, desc=f"reading {self.name}", disable=not progress, leave=False):
            for case, raw, names in self._read_patient(patients[patient]):
                label_names = self.merge_labels(label_names, names)
                mask = raw.masks if raw.masks is not None else np.zeros(
                    (len(raw.images),) + raw.images.shape[-2:], np.uint8)
                if prep.empty_slices == "drop" and len(names) > 1:
                    keep = mask.reshape(len(mask), -1).any(axis=1)
                    raw.images, mask = raw.images[keep], mask[keep]
                if len(raw.images) == 0:
                    continue
                norm = normalise(raw.images, np.zeros(len(raw.images), dtype=int), prep)
                if images and norm.shape[1] != images[0].shape[1]:
                    raise DatasetError(f"{case.image}: {norm.shape[1]} channel(s), but earlier files have "
                                       f"{images[0].shape[1]}")
                images.append(np.stack([resize_image(img, resolution) for img in norm]))
                masks.append(np.stack([resize_mask(m, resolution) for m in mask]))
                ids.extend([patient] * len(norm))
                fixed.extend([case.fixed_split] * len(norm))
                classes.extend([self.case_class(case)] * len(norm))
                total += len(norm)
            if count is not None and total >= count:
                break
        if not images:
            raise DatasetError(f"{root}: no slices to prepare for dataset '{self.name}'")
        n = total if count is None else min(count, total)
        names = self.class_names
        return Slices(np.concatenate(images)[:n], np.concatenate(masks)[:n], np.array(ids[:n]),
                      np.array(fixed[:n]), label_names, names, np.array(classes[:n], np.int64) if names else None)

    series = False  # each file is one slice of its patient's series: read a patient's files as one volume

    def _read_patient(self, cases: list[Case]) -> list[tuple[Case, RawCase, tuple[str, ...]]]:
        """(case, raw, label names) of each file of one patient; for a series, one entry holding all its slices
        (in file-name order), so intensities are normalised per volume as for the 3-D formats."""
        read = [(case, *self.read(case)) for case in cases]
        if not self.series or len(read) < 2:
            return read
        shapes = {raw.images.shape[1:] for _, raw, _ in read}
        if len(shapes) > 1:
            raise DatasetError(f"{cases[0].image.parent}: the slices of patient {cases[0].patient!r} differ in "
                               f"shape ({sorted(shapes)}); one series needs one slice size")
        masks = [raw.masks for _, raw, _ in read]
        joined = RawCase(np.concatenate([raw.images for _, raw, _ in read]),
                         None if masks[0] is None else np.concatenate(masks))
        return [(cases[0], joined, read[0][2])]

    class_names: tuple[str, ...] = ()  # image-level classes the source reads (``case_class``)

    def case_class(self, case: Case) -> int | None:
        """The image-level class of ``case`` (an index into ``class_names``), None without classes."""
        return None

    def class_file(self, case: Case) -> Path | None:
        """The file ``case_class`` reads (part of the cache fingerprint), None without classes."""
        return None

    def merge_labels(self, known: tuple[str, ...] | None, names: tuple[str, ...]) -> tuple[str, ...]:
        """The label map of the dataset so far, given one more file's labels."""
        return names


class ManifestSource(FileSource):
    """A public dataset described by ``data_manifest/<name>.yaml``."""

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def manifest(self) -> Manifest:
        return load_manifest(self.name)

    @property
    def label_names(self) -> tuple[str, ...]:
        return self.manifest.label_names

    @property
    def image_channels(self) -> int:
        return self.manifest.image_channels

    @property
    def preprocessing(self) -> Preprocessing:  # type: ignore[override]
        return self.manifest.preprocessing

    @property
    def fractions(self) -> dict[str, float]:  # type: ignore[override]
        return dict(self.manifest.split)

    @property
    def fixed_patients(self) -> dict[str, list[str]]:  # type: ignore[override]
        return {split: list(ids) for split, ids in self.manifest.fixed_patients.items()}

    @property
    def gan_splits(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(self.manifest.gan_splits)

    def where_to_get(self) -> str:
        return f"how to obtain it: {self.manifest.obtain.url}, see data_manifest/{self.name}.yaml"

    @property
    def class_names(self) -> tuple[str, ...]:  # type: ignore[override]
        classes = self.manifest.classes
        return tuple(classes.names) if classes else ()

    def class_file(self, case: Case) -> Path | None:
        classes = self.manifest.classes
        return case.image.parent / classes.file if classes else None

    def case_class(self, case: Case) -> int | None:
        """The class on the ``key:`` line of the file the manifest names in the case's folder (ACDC's Info.cfg)."""
        path, classes = self.class_file(case), self.manifest.classes
        if path is None:
            return None
        if not path.is_file():
            raise DatasetError(f"{path}: missing; dataset '{self.name}' reads each image's class from its "
                               f"'{classes.key}:' line (see data_manifest/{self.name}.yaml)")
        for line in path.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == classes.key:
                if value.strip() not in classes.names:
                    raise DatasetError(f"{path}: {classes.key} {value.strip()!r} is not one of {classes.names}")
                return classes.names.index(value.strip())
        raise DatasetError(f"{path}: no '{classes.key}:' line (expected e.g. '{classes.key}: {classes.names[0]}')")

    def description(self) -> dict[str, Any]:
        return dataclasses.asdict(self.manifest)

    def scan(self, root: Path) -> tuple[list[Case], list[str]]:
        """Find and pair the files; problems are collected (for ``verify``) rather than raised.

        Each subset's images pair with the masks of its own mask glob (the layout's unless the subset
        names one), so two subsets may reuse file names. A patient id found in two subsets is a problem
        (the official splits of these datasets are by patient; reused file names need a subset's
        ``patient_prefix``).
        """
        cases, problems, clashes = self._scan(root)
        return cases, problems + clashes

    def _scan(self, root: Path) -> tuple[list[Case], list[str], list[str]]:
        """(cases, problems, patient ids shared by two subsets). Cases of a shared id are kept: they are
        one patient, which ``split_by_patient`` puts wholly in the subset's fixed split (no leakage)."""
        layout, problems, cases, clashes = self.manifest.layout, [], [], []
        pools: dict[str, dict[str, Path]] = {}  # mask glob -> key -> mask file
        for subset in layout.subsets:
            glob = subset.mask_glob or layout.mask_glob
            if glob and glob not in pools:
                pools[glob] = self._masks(root, glob, problems)
        used: set[Path] = set()
        owner: dict[str, str] = {}  # patient id -> the subset it was found in
        for subset in layout.subsets:
            glob = subset.mask_glob or layout.mask_glob
            for path in sorted(root.glob(subset.image_glob)):
                key = self._key(layout.image_key, path, root)
                patient = re.search(layout.patient, path.relative_to(root).as_posix())
                if key is None or not patient:
                    problems.append(f"{path}: {'path' if layout.key_on == 'path' else 'name'} does not match the "
                                    f"layout ({layout.image_key!r}, {layout.patient!r})")
                    continue
                mask = pools[glob].get(key) if glob else None
                if mask is not None:
                    used.add(mask)
                elif glob:
                    problems.append(f"{path}: mask file is missing (expected one matching "
                                    f"{glob!r} with key {_shown(key)})")
                    continue
                pid = subset.patient_prefix + patient.group(1)
                if owner.setdefault(pid, subset.name) != subset.name:
                    clashes.append(f"{path}: patient id {pid!r} of subset '{subset.name}' is also a patient of "
                                   f"subset '{owner[pid]}'; ids must be unique across subsets (give one subset "
                                   "a patient_prefix in the manifest)")
                cases.append(Case(pid, path, mask, subset.split, subset.name))
        unused = {m for pool in pools.values() for m in pool.values()} - used
        problems += [f"{m}: mask without an image" for m in sorted(unused)]
        return cases, problems, clashes

    def _key(self, pattern: str, path: Path, root: Path) -> tuple | None:
        """The pairing key of ``path``: the groups of ``pattern`` on its name (or relative path), numbers compared
        as numbers (CHAOS pairs ``i0005,0000b.dcm`` with ``liver_GT_005.png``); None when it does not match."""
        text = path.relative_to(root).as_posix() if self.manifest.layout.key_on == "path" else path.name
        found = re.search(pattern, text)
        return None if not found else tuple(int(g) if g and g.isdigit() else g for g in found.groups())

    def _masks(self, root: Path, glob: str, problems: list[str]) -> dict[tuple, Path]:
        """Mask files matching ``glob`` by their key; bad names and second masks for a key are problems."""
        layout, masks = self.manifest.layout, {}
        for path in sorted(root.glob(glob)):
            key = self._key(layout.mask_key, path, root)
            if key is None:
                problems.append(f"{path}: mask {layout.key_on} does not match {layout.mask_key!r}")
            elif key in masks:
                problems.append(f"{path}: a second mask for key {_shown(key)} ({masks[key]})")
            else:
                masks[key] = path
        return masks

    def cases(self, root: Path) -> list[Case]:
        cases, problems, _ = self._scan(root)  # a patient shared by two subsets is verify's to report
        if problems:
            raise DatasetError(f"dataset '{self.name}' under {root}: " + "; ".join(problems[:5])
                               + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""))
        if not cases:
            globs = ", ".join(s.image_glob for s in self.manifest.layout.subsets)
            raise DatasetError(f"{root}: no image files of dataset '{self.name}' (looked for {globs}); "
                               f"the expected layout is in data_manifest/{self.name}.yaml")
        return cases

    @property
    def series(self) -> bool:  # type: ignore[override]
        return self.manifest.layout.series

    def read(self, case: Case) -> tuple[RawCase, tuple[str, ...]]:
        m = self.manifest
        values = None if m.layout.mask_values is None else {k: tuple(v) for k, v in m.layout.mask_values.items()}
        raw = read_case(case, m.layout.format, m.layout.mask_format, m.image_channels, m.layout.volumes,
                        len(m.labels), m.layout.mask_binarise, values)
        return raw, m.label_names


def _shown(key: tuple) -> str:
    return repr(key[0]) if len(key) == 1 else repr(key)


class FolderSource(FileSource):
    """Any folder: ``images/`` (NIfTI, MetaImage, DICOM or pictures) and optional ``masks/`` with the
    same file names; optional ``labels.txt`` (one label name per line, starting with background).
    One patient per image file; per-image intensity normalisation."""

    name = "folder"
    label_names = None
    image_channels = None

    def where_to_get(self) -> str:
        return "a folder with images/ and optional masks/ of the same file names"

    def description(self) -> dict[str, Any]:
        return {"images": "images/", "masks": "masks/", "labels": "labels.txt"}

    @staticmethod
    def _stem(path: Path) -> str:
        name = path.name
        return name[:-7] if name.lower().endswith(".nii.gz") else path.stem

    def cases(self, root: Path) -> list[Case]:
        folder = root / "images"
        if not folder.is_dir():
            raise DatasetError(f"{folder}: missing; the folder dataset needs images/ (and optional masks/)")
        images = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                        and not p.name.lower().endswith(".raw"))
        if not images:
            raise DatasetError(f"{folder}: no image files")
        mask_dir = root / "masks"
        masks = {}
        if mask_dir.is_dir():
            masks = {self._stem(p): p for p in mask_dir.iterdir()
                     if p.is_file() and not p.name.lower().endswith(".raw")}
        cases = []
        for path in images:
            format_of(path)
            mask = masks.get(self._stem(path))
            if mask_dir.is_dir() and mask is None:
                raise DatasetError(f"{path}: no mask with the same name in {mask_dir}")
            cases.append(Case(self._stem(path), path, mask))
        orphans = sorted(set(masks) - {case.patient for case in cases})
        if orphans:
            raise DatasetError(f"{mask_dir}: {len(orphans)} mask(s) without an image of the same name in {folder} "
                               f"(e.g. {', '.join(str(masks[k].name) for k in orphans[:3])})")
        return cases

    def fingerprint(self, root: Path) -> dict[str, Any]:
        """The files' fingerprint plus the label names, so editing labels.txt rebuilds the cache."""
        labels = self.labels_file(root)
        return {**super().fingerprint(root), "labels": list(labels) if labels else None}

    def labels_file(self, root: Path) -> tuple[str, ...] | None:
        path = root / "labels.txt"
        if not path.is_file():
            return None
        names = tuple(line.strip() for line in path.read_text().splitlines() if line.strip())
        if not names or names[0] != "background":
            raise DatasetError(f"{path}: the first label must be 'background', got {names[:1]}")
        return names

    def read(self, case: Case) -> tuple[RawCase, tuple[str, ...]]:
        fmt = format_of(case.image)
        volumes = fmt in ("nifti", "metaimage")
        root = case.image.parent.parent
        names = self.labels_file(root)
        if case.mask is None:
            names = ("background",)
        raw = read_case(case, fmt, format_of(case.mask) if case.mask else None, None, volumes, 256)
        if raw.masks is not None:
            values = set(np.unique(raw.masks).tolist())
            if 255 in values and values <= {0, 255}:  # a binary mask saved as 0/255, as image editors do: label 1
                raw.masks = (raw.masks > 0).astype(np.uint8)
            if names is not None and int(raw.masks.max()) >= len(names):
                bad = sorted(set(np.unique(raw.masks).tolist()) - set(range(len(names))))
                raise DatasetError(f"{case.mask}: label values {bad} are not in labels.txt ({len(names)} labels: "
                                   f"0..{len(names) - 1}); binary masks may be stored as 0/1 or 0/255")
        if names is None:
            top = int(raw.masks.max()) if raw.masks is not None and raw.masks.size else 0
            names = ("background",) + tuple(f"label_{i}" for i in range(1, top + 1))
        return raw, names

    def merge_labels(self, known: tuple[str, ...] | None, names: tuple[str, ...]) -> tuple[str, ...]:
        if known is None or len(names) <= len(known):
            return known or names
        return names


class UnpairedSource:
    """Two single-modality datasets of one organ and label map, from different patients, as one two-channel
    dataset for unpaired translation (CHAOS: T2-SPIR MR and CT). A slice holds its own modality's channel; the
    other channel is -1 (black) and never read: its image-level class (``class_names`` = the channel names) says
    which channel it holds. Each part keeps its own split, so every split has patients of both modalities."""

    kind = "real"
    default_count: int | None = None
    fractions = dict(DEFAULT_FRACTIONS)  # unused: every patient's split is fixed by its part's
    fixed_patients: dict[str, list[str]] = {}
    gan_splits: tuple[str, ...] = ("train",)

    def __init__(self, name: str, parts: tuple[str, str], channel_names: tuple[str, str]) -> None:
        self.name, self.parts, self.channel_names = name, parts, channel_names
        self.class_names = channel_names
        self.image_channels = 2

    @property
    def follows(self) -> str:
        return self.parts[0]

    @property
    def label_names(self) -> tuple[str, ...]:
        return DATASETS[self.parts[0]].label_names

    @property
    def preprocessing(self) -> Preprocessing:
        """Each channel's part's rule (the parts apply them; this one names them, e.g. for HU per unit)."""
        first, second = (DATASETS[p].preprocessing for p in self.parts)
        return Preprocessing(intensity=first.intensity, percentiles=first.percentiles, window=second.window,
                             empty_slices=first.empty_slices, channels=(first.intensity, second.intensity))

    def where_to_get(self) -> str:
        return " and ".join(f"{p}: {DATASETS[p].where_to_get()}" for p in self.parts)

    def resolve_root(self, root: str | Path | None) -> Path:
        return DATASETS[self.parts[0]].resolve_root(root)

    def fingerprint(self, root: Path) -> dict[str, Any]:
        return {"parts": {p: DATASETS[p].fingerprint(root) for p in self.parts}}

    def description(self) -> dict[str, Any]:
        return {"parts": list(self.parts), "channels": list(self.channel_names)}

    def load(self, root: Path, count: int | None, resolution: int, seed: int, prep: Preprocessing,
             progress: bool = False) -> Slices:
        from medgan_lib.data.prepare import SPLITS, prepare

        if DATASETS[self.parts[0]].label_names != DATASETS[self.parts[1]].label_names:
            raise DatasetError(f"dataset '{self.name}': its parts {self.parts} have different label maps")
        images, masks, ids, fixed, classes = [], [], [], [], []
        for channel, part in enumerate(self.parts):
            for split in SPLITS:
                ds = prepare(part, split, resolution=resolution, count=None if count is None else max(1, count // 2),
                             seed=seed, root=root, empty_slices=prep.empty_slices, progress=progress)
                both = np.full((len(ds), 2, resolution, resolution), -1.0, dtype=np.float32)
                both[:, channel] = ds.images[:, 0]
                images.append(both)
                masks.append(ds.masks)
                ids.extend(ds.patient_ids.tolist())
                fixed.extend([split] * len(ds))
                classes.extend([channel] * len(ds))
        return Slices(np.concatenate(images), np.concatenate(masks), np.array(ids), np.array(fixed),
                      self.label_names, self.class_names, np.array(classes, np.int64))


DATASETS: Registry = Registry("dataset")
for _phantom in PHANTOMS.values():
    DATASETS.register(_phantom.name)(PhantomSource(_phantom))
for _name in ("acdc", "sliver07", "idrid", "chest_xray", "mura_elbow", "chaos_ct", "chaos_mr"):
    DATASETS.register(_name)(ManifestSource(_name))
DATASETS.register("folder")(FolderSource())
DATASETS.register("chaos")(UnpairedSource("chaos", ("chaos_mr", "chaos_ct"), ("MR", "CT")))


def describe(name: str) -> str:
    """A short card for a dataset: what it is, labels, preprocessing, and for real data where it comes from."""
    source = DATASETS[name]
    if isinstance(source, PhantomSource):
        phantom = source.phantom
        mimics = load_manifest(phantom.mimics)
        lines = [f"{name}: procedural phantom standing in for {mimics.title}.",
                 "NOT patient data: seeded synthetic anatomy for learning the method offline.",
                 f"labels: {dict(enumerate(phantom.label_names))}; channels: {phantom.image_channels}"
                 + (f" ({', '.join(phantom.channel_names)}: the same anatomy in each)" if phantom.channel_names else "")
                 + "; "
                 + (f"image classes: {', '.join(phantom.class_names)} (one per patient, balanced); "
                    if phantom.class_names else "") +
                 f"{phantom.slices_per_patient} slice(s) per patient; default count {phantom.default_count}",
                 f"preprocessing: {dataclasses.asdict(source.preprocessing)} "
                 + ("(its own: one rule per modality); " if phantom.preprocessing else f"(the rule of {mimics.name}); ")
                 + 
                 f"split by patient {source.fractions} (ours: a phantom has no paper split); "
                 f"GANs train on: {' + '.join(source.gan_splits)}"]
    elif isinstance(source, ManifestSource):
        m = source.manifest
        lines = [f"{name}: {m.title} ({m.modality}).", f"citation: {m.citation} doi:{m.doi}",
                 f"obtain: {m.obtain.url}", f"licence: {m.licence}",
                 f"labels: {m.labels}; channels: {m.image_channels}",
                 f"preprocessing: {dataclasses.asdict(m.preprocessing)}",
                 f"subsets: " + "; ".join(f"{s.name}: " + ", ".join(
                     [f"{s.files} files" if s.files is not None else "files not stated"]
                     + [f"{s.patients} patients"] * (s.patients is not None) + [f"{s.slices} slices"] * bool(s.slices))
                                          + (f" (fixed {s.split} split)" if s.split else "") for s in m.layout.subsets),
                 f"split by patient: {m.split}"
                 + (f"; fixed patients {m.fixed_patients}" if m.fixed_patients else ""),
                 f"GANs train on: {' + '.join(m.gan_splits)}",
                 f"split from the paper: {m.split_source.paper}",
                 f"split of our choosing: {m.split_source.ours}"]
    elif isinstance(source, UnpairedSource):
        lines = [f"{name}: {' and '.join(source.parts)} as one unpaired two-modality dataset: channel "
                 + ", ".join(f"{i} {c} (from {p})" for i, (c, p) in enumerate(zip(source.channel_names, source.parts)))
                 + "; each slice holds its own modality's channel, its image class says which; different patients",
                 f"labels: {dict(enumerate(source.label_names))}; each part's preprocessing and split",
                 f"obtain: {source.where_to_get()}"]
    else:
        lines = [f"{name}: your own data: images/ (NIfTI, MetaImage, DICOM, PNG/JPEG/TIFF/BMP), optional masks/ "
                 "with the same file names and labels.txt; one patient per file; per-image normalisation",
                 f"split by patient {source.fractions} at random with the split seed (ours); "
                 f"GANs train on: {' + '.join(source.gan_splits)}"]
    return "\n".join(lines)
