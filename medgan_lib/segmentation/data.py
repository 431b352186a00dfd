"""Training sets of the Table 2 conditions, their checks, and classic augmentation (rotations, shifts,
flips) applied on the fly to each batch."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from medgan_lib.data.dataset import DatasetError, PreparedDataset
from medgan_lib.samples import SampleSet

MAX_ROTATION = 20.0  # degrees
MAX_SHIFT = 0.1  # fraction of the image side


def check_disjoint(train: PreparedDataset, val: PreparedDataset, test: PreparedDataset) -> None:
    """The test split must share no patient with the training or validation split."""
    for other in (train, val):
        shared = sorted(set(np.asarray(test.patient_ids).tolist()) & set(np.asarray(other.patient_ids).tolist()))
        if shared:
            raise DatasetError(f"test split of '{test.name}' shares {len(shared)} patient(s) with split "
                               f"'{other.split}' (e.g. {shared[:3]}); the test split must be held out by patient")


def check_test_patients(test: PreparedDataset, runs: list) -> str:
    """No test patient may be among any evaluated GAN's training patients (else its synthetic images could carry
    test anatomy into the U-Net's training); returns the sentence the report shows, raises naming the run if not."""
    patients = set(np.asarray(test.patient_ids).tolist())
    unknown = [run.name for run in runs if run.training_patients is None]
    for run in runs:
        shared = sorted(patients & (run.training_patients or set()))
        if shared:
            raise DatasetError(f"GAN run {run.name} trained on {len(shared)} of the {len(patients)} test patients "
                               f"of '{test.name}' (e.g. {shared[:3]}): its synthetic images could carry test anatomy; "
                               "train the GANs on this DataSpec's GAN split, never on the test split")
    checked = [run.name for run in runs if run.training_patients is not None]
    text = (f"Leakage check: none of the {len(patients)} test patients is among the training patients of the "
            f"{len(checked)} GAN run(s) evaluated here" + (f" ({', '.join(checked)})" if checked else ""))
    return text + (f"; runs without recorded patients, not checked: {', '.join(unknown)}." if unknown else ".")


def synthetic_arrays(samples: SampleSet, real: PreparedDataset, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Images and masks of a GAN sample set, checked against the real dataset (labels, shape, channels)."""
    where = f"synthetic sample set {samples.path}"
    if len(samples) == 0:
        raise DatasetError(f"{where} is empty; expected image+mask pairs")
    names = samples.meta.get("label_names")
    if names is not None and tuple(names) != real.label_names:
        raise DatasetError(f"{where}: label names {tuple(names)} differ from the real data's {real.label_names}")
    images, masks = samples.load(limit)
    if images.shape[1:] != real.images.shape[1:] or masks.shape[1:] != real.masks.shape[1:]:
        raise DatasetError(f"{where}: images {images.shape[1:]} / masks {masks.shape[1:]} do not match the real "
                           f"data's {real.images.shape[1:]} / {real.masks.shape[1:]}")
    if int(masks.max()) >= real.num_classes:
        bad = sorted(set(np.unique(masks).tolist()) - set(range(real.num_classes)))
        raise DatasetError(f"{where}: mask values {bad} are not in the label map {dict(enumerate(real.label_names))}")
    return images, masks


def augment(images: torch.Tensor, masks: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Random rotation (±20°), shift (±10 %) and horizontal/vertical flips per image; masks use nearest."""
    n = len(images)
    u = torch.rand(n, 5, generator=generator)
    angle = (u[:, 0] * 2 - 1) * math.radians(MAX_ROTATION)
    shift = (u[:, 1:3] * 2 - 1) * MAX_SHIFT * 2  # affine_grid coordinates span 2
    flip = torch.where(u[:, 3:5] < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack([torch.stack([cos * flip[:, 0], -sin * flip[:, 1], shift[:, 0]], 1),
                         torch.stack([sin * flip[:, 0], cos * flip[:, 1], shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta.to(images.device), list(images.shape), align_corners=False)
    out = F.grid_sample(images + 1.0, grid, mode="bilinear", padding_mode="zeros", align_corners=False) - 1.0
    lab = F.grid_sample(masks[:, None].float(), grid, mode="nearest", padding_mode="zeros", align_corners=False)
    return out, lab[:, 0].long()
