"""Intensity normalisation to [-1, 1] and resizing, as each manifest prescribes.

MRI: per-volume percentile window (scanner gains differ per exam); CT: a fixed Hounsfield window
(HU are absolute); X-ray and RGB fundus: per-image percentile window (exposure differs per image).
Images are padded to a square, then resized with Pillow's antialiased bilinear filter; masks
with nearest neighbour so label values stay exact.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np
from PIL import Image

from medgan_lib.data.dataset import DatasetError


@dataclasses.dataclass
class Preprocessing:
    """How raw intensities become [-1, 1]; ``percentiles`` for MRI/per-image, ``window`` (HU centre, width) for CT."""

    intensity: Literal["mri_percentile", "ct_window", "per_image"] = "per_image"
    percentiles: tuple[float, float] = (1.0, 99.0)
    window: tuple[float, float] = (60.0, 400.0)
    empty_slices: Literal["keep", "drop"] = "keep"  # 2-D slices of a 3-D volume without any foreground label
    # one intensity rule per image channel (a two-modality phantom: MR percentiles, then the CT window); () = all
    # channels by ``intensity``
    channels: tuple[Literal["mri_percentile", "ct_window", "per_image"], ...] = ()


def preprocessing_key(prep: Preprocessing) -> dict:
    """The preprocessing as the prepared-data cache key sees it: without ``channels`` when there are none, so the
    keys of single-rule datasets stayed what they were before per-channel rules existed."""
    key = dataclasses.asdict(prep)
    if not prep.channels:
        del key["channels"]
    return key


def to_unit_range(values: np.ndarray, low: np.ndarray | float, high: np.ndarray | float) -> np.ndarray:
    """Clip to [low, high] and map linearly to [-1, 1] (a flat window maps to -1)."""
    low = np.asarray(low, dtype=np.float32)
    span = np.maximum(np.asarray(high, dtype=np.float32) - low, 1e-6)
    return (np.clip((values - low) / span, 0.0, 1.0) * 2.0 - 1.0).astype(np.float32)


def normalise(images: np.ndarray, groups: np.ndarray, prep: Preprocessing) -> np.ndarray:
    """(N, C, H, W) raw intensities -> [-1, 1]; ``groups`` (N,) names each slice's volume for per-volume rules."""
    images = np.asarray(images, dtype=np.float32)
    if not np.isfinite(images).all():
        raise DatasetError("images contain NaN or infinite values before normalisation")
    if prep.channels:
        if len(prep.channels) != images.shape[1]:
            raise DatasetError(f"preprocessing gives {len(prep.channels)} channel rules {prep.channels} for images "
                               f"with {images.shape[1]} channels")
        return np.concatenate([normalise(images[:, c:c + 1], groups, dataclasses.replace(prep, intensity=rule,
                                                                                        channels=()))
                               for c, rule in enumerate(prep.channels)], axis=1)
    lo_p, hi_p = prep.percentiles
    if prep.intensity == "ct_window":
        centre, width = prep.window
        return to_unit_range(images, centre - width / 2, centre + width / 2)
    if prep.intensity == "per_image":
        flat = images.reshape(len(images), -1)
        low, high = np.percentile(flat, [lo_p, hi_p], axis=1)
        return to_unit_range(images, low[:, None, None, None], high[:, None, None, None])
    out = np.empty_like(images)
    for group in np.unique(groups):
        index = np.flatnonzero(groups == group)
        low, high = np.percentile(images[index], [lo_p, hi_p])
        out[index] = to_unit_range(images[index], low, high)
    return out


def pad_square(array: np.ndarray, fill: float | int) -> np.ndarray:
    """Pad the last two axes symmetrically to a square (keeps the aspect ratio when resizing)."""
    h, w = array.shape[-2:]
    size = max(h, w)
    pad = [(0, 0)] * (array.ndim - 2) + [((size - h) // 2, size - h - (size - h) // 2),
                                         ((size - w) // 2, size - w - (size - w) // 2)]
    return np.pad(array, pad, constant_values=fill) if (h, w) != (size, size) else array


def resize_image(image: np.ndarray, resolution: int) -> np.ndarray:
    """(C, H, W) float -> (C, R, R): pad to square with the image minimum, antialiased bilinear resize."""
    image = pad_square(image, float(image.min()) if image.size else 0.0)
    if image.shape[-1] == resolution:
        return image.astype(np.float32)
    return np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(c, dtype=np.float32))
                                .resize((resolution, resolution), Image.BILINEAR)) for c in image])


def resize_mask(mask: np.ndarray, resolution: int) -> np.ndarray:
    """(H, W) integer labels -> (R, R) uint8 by nearest neighbour (label values are preserved)."""
    mask = pad_square(mask, 0)
    if mask.shape[-1] == resolution:
        return mask.astype(np.uint8)
    return np.asarray(Image.fromarray(mask.astype(np.uint8)).resize((resolution, resolution),
                                                                              Image.NEAREST))
