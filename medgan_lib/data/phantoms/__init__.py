"""Procedural phantoms: offline, seeded stand-ins for the papers' datasets (not patient data).

Every phantom is a function ``patient(rng, n_slices, resolution) -> (raw images (S, C, R, R), masks (S, R, R))``
that draws one patient; :func:`generate` stacks patients, each with its own RNG stream derived from
``(seed, patient index)``, so a dataset is deterministic and independent of how it is chunked.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

from medgan_lib.data.phantoms import cardiac, liver, retina, xray
from medgan_lib.data.preprocessing import Preprocessing
from medgan_lib.progress import tqdm

PatientFn = Callable[[np.random.Generator, int, int], tuple[np.ndarray, np.ndarray]]


@dataclasses.dataclass(frozen=True)
class Phantom:
    """What a phantom draws; its raw intensities are normalised by the rule of the dataset it mimics."""

    name: str
    mimics: str  # the real dataset it stands in for
    patient: PatientFn
    label_names: tuple[str, ...]
    image_channels: int
    slices_per_patient: int
    default_count: int = 1200
    class_names: tuple[str, ...] = ()  # image-level classes: patient p draws class p % len (balanced); its
                                       # ``patient`` function then takes the class index as a fourth argument
    channel_names: tuple[str, ...] = ()  # what each image channel is, when they are modalities ("MR", "CT")
    preprocessing: Preprocessing | None = None  # None: the rule of the dataset it mimics

    def class_of(self, patient: int) -> int | None:
        return patient % len(self.class_names) if self.class_names else None


PHANTOMS: dict[str, Phantom] = {p.name: p for p in (
    Phantom("cardiac_phantom", "acdc", cardiac.cardiac_patient, cardiac.LABEL_NAMES, 1, cardiac.SLICES_PER_PATIENT),
    Phantom("liver_phantom", "sliver07", liver.liver_patient, liver.LABEL_NAMES, 1, liver.SLICES_PER_PATIENT),
    Phantom("chest_phantom", "chest_xray", xray.chest_patient, xray.CHEST_LABEL_NAMES, 1,
            xray.CHEST_SLICES_PER_PATIENT),
    Phantom("retina_phantom", "idrid", retina.retina_patient, retina.LABEL_NAMES, 3, retina.SLICES_PER_PATIENT),
    Phantom("elbow_phantom", "mura_elbow", xray.elbow_patient, xray.ELBOW_LABEL_NAMES, 1,
            xray.ELBOW_SLICES_PER_PATIENT),
    Phantom("cardiac_groups_phantom", "acdc", cardiac.cardiac_patient, cardiac.LABEL_NAMES, 1,
            cardiac.SLICES_PER_PATIENT, class_names=cardiac.GROUP_NAMES),
    Phantom("cardiac_mr_ct_phantom", "acdc", cardiac.cardiac_mr_ct_patient, cardiac.LABEL_NAMES, 2,
            cardiac.SLICES_PER_PATIENT, channel_names=("MR", "CT"),
            preprocessing=Preprocessing(channels=("mri_percentile", "ct_window"), window=cardiac.CT_WINDOW)),
    Phantom("liver_mr_phantom", "chaos_mr", liver.liver_mr_patient, liver.LABEL_NAMES, 1, liver.SLICES_PER_PATIENT),
    Phantom("liver_mr_ct_phantom", "chaos_mr", liver.liver_mr_ct_patient, liver.LABEL_NAMES, 2,
            liver.SLICES_PER_PATIENT, channel_names=("MR", "CT"),
            preprocessing=Preprocessing(channels=("mri_percentile", "ct_window"), window=liver.CT_WINDOW)),
)}


def patient_classes(phantom: Phantom, patient_ids: np.ndarray) -> np.ndarray:
    """(N,) int64 image-level class of each slice, from its patient id (``<name>-<index>``, see ``generate``)."""
    return np.array([phantom.class_of(int(pid.rsplit("-", 1)[1])) for pid in patient_ids.tolist()], dtype=np.int64)


def generate(phantom: Phantom, count: int, resolution: int, seed: int, progress: bool = False,
             drop_empty: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``count`` slices of raw images (N, C, R, R) float32, masks (N, R, R) uint8 and patient ids (N,).

    ``drop_empty`` skips slices without foreground (more patients are drawn to reach ``count``).
    """
    if count < 1 or resolution < 8:
        raise ValueError(f"{phantom.name}: count must be >= 1 and resolution >= 8, got count={count}, "
                         f"resolution={resolution}")
    images, masks, ids = [], [], []
    total, p = 0, 0
    with tqdm(total=count, desc=f"{phantom.name} slices", disable=not progress, leave=False) as bar:
        while total < count:
            n = min(phantom.slices_per_patient, count - total) if not drop_empty else phantom.slices_per_patient
            group = () if phantom.class_of(p) is None else (phantom.class_of(p),)
            image, mask = phantom.patient(np.random.default_rng([seed, p]), n, resolution, *group)
            if drop_empty:
                keep = mask.reshape(len(mask), -1).any(axis=1)
                image, mask = image[keep][:count - total], mask[keep][:count - total]
            images.append(image)
            masks.append(mask)
            ids.extend([f"{phantom.name}-{p:05d}"] * len(image))
            total += len(image)
            bar.update(len(image))
            p += 1
            if drop_empty and p > 100 * count:
                raise ValueError(f"{phantom.name}: no slices with foreground to keep")
    return np.concatenate(images), np.concatenate(masks), np.array(ids)
