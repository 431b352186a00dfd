"""The prepared dataset every later step reads: images in [-1, 1], integer masks, patients, labels.

GANs train on the *joint* tensor: image channels followed by one-hot mask channels scaled to
[-1, 1] (skandarani2023 §3.6); a generated joint tensor is decoded back by an argmax over the
mask channels.
"""

from __future__ import annotations

import dataclasses
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from medgan_lib.atomic import save_npz


class DatasetError(ValueError):
    """A dataset (files, arrays or parameters) is not what was expected; the message says what and where."""


@dataclasses.dataclass
class PreparedDataset:
    """One split of one dataset, ready for training. Arrays are validated on construction."""

    name: str
    split: str
    images: np.ndarray  # float32 (N, C, H, W) in [-1, 1]
    masks: np.ndarray  # uint8 (N, H, W); 0 is background
    patient_ids: np.ndarray  # str (N,): splits are made by patient, never by slice
    label_names: tuple[str, ...]  # label_names[i] names mask value i; label_names[0] == "background"
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)  # source, preprocessing, hash, provenance
    # image-level classes, for class-conditional GANs (ACDC's diagnostic group of each slice's patient); none: ()
    class_names: tuple[str, ...] = ()
    classes: np.ndarray | None = None  # int64 (N,), indices into class_names; None without classes

    def __post_init__(self) -> None:
        where = f"dataset '{self.name}' split '{self.split}'"
        self.label_names = tuple(self.label_names)
        if self.images.ndim != 4:
            raise DatasetError(f"{where}: images must be (N, C, H, W), got shape {self.images.shape}")
        n, _, h, w = self.images.shape
        if self.images.dtype != np.float32:
            raise DatasetError(f"{where}: images must be float32, got {self.images.dtype}")
        if self.masks.shape != (n, h, w):
            raise DatasetError(f"{where}: masks must be {(n, h, w)} to match the images, got {self.masks.shape}")
        if len(self.patient_ids) != n:
            raise DatasetError(f"{where}: {len(self.patient_ids)} patient ids for {n} images")
        if not np.isfinite(self.images).all():
            raise DatasetError(f"{where}: images contain NaN or infinite values")
        if n and (self.images.min() < -1.0 - 1e-6 or self.images.max() > 1.0 + 1e-6):
            raise DatasetError(f"{where}: images must lie in [-1, 1], found [{self.images.min()}, {self.images.max()}]")
        if not self.label_names or self.label_names[0] != "background":
            raise DatasetError(f"{where}: label_names must start with 'background', got {self.label_names}")
        if n and int(self.masks.max()) >= len(self.label_names):
            bad = sorted(set(np.unique(self.masks).tolist()) - set(range(len(self.label_names))))
            raise DatasetError(f"{where}: mask values {bad} are not in the label map {dict(enumerate(self.label_names))}")
        self.masks = self.masks.astype(np.uint8, copy=False)
        self.class_names = tuple(self.class_names)
        if bool(self.class_names) != (self.classes is not None):
            raise DatasetError(f"{where}: classes and class_names come together (got class_names "
                               f"{self.class_names} and {'no' if self.classes is None else 'some'} classes)")
        if self.classes is not None:
            self.classes = np.asarray(self.classes)
            if self.classes.shape != (n,) or not np.issubdtype(self.classes.dtype, np.integer):
                raise DatasetError(f"{where}: classes must be {n} integers, got {self.classes.dtype} "
                                   f"{self.classes.shape}")
            if n and (self.classes.min() < 0 or self.classes.max() >= len(self.class_names)):
                raise DatasetError(f"{where}: class indices {sorted(set(self.classes.tolist()))} are not all in "
                                   f"{dict(enumerate(self.class_names))}")
            self.classes = self.classes.astype(np.int64, copy=False)

    def __len__(self) -> int:
        return len(self.images)

    @property
    def num_classes(self) -> int:
        return len(self.label_names)

    @property
    def image_channels(self) -> int:
        return self.images.shape[1]

    @property
    def resolution(self) -> int:
        return self.images.shape[-1]

    @property
    def joint_channels(self) -> int:
        return self.image_channels + mask_channels(self.num_classes)

    def joint(self) -> np.ndarray:
        """(N, C + K, H, W) float32: the image channels then the one-hot mask channels in [-1, 1]."""
        return to_joint(self.images, self.masks, self.num_classes)

    @property
    def num_image_classes(self) -> int:
        """Image-level classes (0 without them): what a class-conditional GAN is conditioned on."""
        return len(self.class_names)

    def subset(self, index: np.ndarray | slice, split: str | None = None) -> "PreparedDataset":
        return PreparedDataset(self.name, split or self.split, self.images[index], self.masks[index],
                               self.patient_ids[index], self.label_names, dict(self.meta), self.class_names,
                               None if self.classes is None else self.classes[index])

    @classmethod
    def concatenate(cls, parts: list["PreparedDataset"], split: str, meta: dict[str, Any]) -> "PreparedDataset":
        """Splits of one dataset as one (the GANs' training images when they train on several splits)."""
        first = parts[0]
        classes = None if first.classes is None else np.concatenate([p.classes for p in parts])
        return cls(first.name, split, np.concatenate([p.images for p in parts]),
                   np.concatenate([p.masks for p in parts]), np.concatenate([p.patient_ids for p in parts]),
                   first.label_names, meta, first.class_names, classes)

    def save(self, path: str | Path) -> Path:
        """Write one ``.npz`` atomically; ``meta`` travels as JSON inside it."""
        extra = {} if self.classes is None else {"classes": self.classes,
                                                 "class_names": np.array(self.class_names, dtype=str)}
        return save_npz(path, images=self.images, masks=self.masks, patient_ids=self.patient_ids.astype(str),
                        label_names=np.array(self.label_names, dtype=str),
                        info=np.array(json.dumps({"name": self.name, "split": self.split, "meta": self.meta})),
                        **extra)

    @classmethod
    def load(cls, path: str | Path) -> "PreparedDataset":
        """Read a file written by ``save``; a truncated, altered (the zip's CRC-32 fails) or invalid one raises a
        DatasetError naming it."""
        path = Path(path)
        if not path.is_file():
            raise DatasetError(f"prepared dataset file {path} does not exist")
        try:
            with np.load(path, allow_pickle=False) as data:
                info = json.loads(str(data["info"]))
                classes = data["classes"] if "classes" in data else None
                names = tuple(data["class_names"].tolist()) if "class_names" in data else ()
                return cls(info["name"], info["split"], data["images"], data["masks"], data["patient_ids"],
                           tuple(data["label_names"].tolist()), info["meta"], names, classes)
        except (OSError, KeyError, TypeError, ValueError, EOFError, zipfile.BadZipFile) as err:
            raise DatasetError(f"{path} is not a readable prepared dataset: {err}") from err


def mask_channels(num_classes: int) -> int:
    """Mask channels in the joint tensor: one per class, none when there is no mask (background only)."""
    return num_classes if num_classes > 1 else 0


def onehot(masks: np.ndarray, num_classes: int) -> np.ndarray:
    """(N, H, W) integer masks -> (N, K, H, W) float32 one-hot channels in {0, 1}."""
    masks = np.asarray(masks)
    return (masks[:, None] == np.arange(num_classes, dtype=masks.dtype)[None, :, None, None]).astype(np.float32)


def to_joint(images: np.ndarray, masks: np.ndarray, num_classes: int) -> np.ndarray:
    if mask_channels(num_classes) == 0:
        return images.astype(np.float32, copy=False)
    return np.concatenate([images, onehot(masks, num_classes) * 2.0 - 1.0], axis=1)


def from_joint(joint: np.ndarray, image_channels: int, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Split a (generated) joint tensor into images clipped to [-1, 1] and argmax-decoded uint8 masks."""
    if joint.shape[1] != image_channels + mask_channels(num_classes):
        raise DatasetError(f"joint tensor has {joint.shape[1]} channels; expected {image_channels} image + "
                           f"{mask_channels(num_classes)} mask channels")
    images = np.clip(joint[:, :image_channels], -1.0, 1.0).astype(np.float32)
    if mask_channels(num_classes) == 0:
        masks = np.zeros((joint.shape[0],) + joint.shape[2:], dtype=np.uint8)
    else:
        masks = joint[:, image_channels:].argmax(axis=1).astype(np.uint8)
    return images, masks
