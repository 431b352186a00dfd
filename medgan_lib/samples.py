"""Synthetic sample sets on disk: sharded image+mask arrays plus ``meta.json``, read back in batches.

Images are stored as uint8 (the quantisation every FID implementation applies anyway); masks as uint8.
10,000 samples never need to sit in memory at once: writers take batches and readers yield them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from medgan_lib.atomic import save_npz, write_json


def to_uint8(images: np.ndarray) -> np.ndarray:
    """[-1, 1] float -> [0, 255] uint8 (rounded)."""
    return np.clip(np.rint((images + 1.0) * 127.5), 0, 255).astype(np.uint8)


def to_float(images: np.ndarray) -> np.ndarray:
    """[0, 255] uint8 -> [-1, 1] float32."""
    return images.astype(np.float32) / 127.5 - 1.0


def write_samples(out_dir: str | Path, batches: Iterable[tuple[np.ndarray, np.ndarray]], meta: dict[str, Any],
                  shard_size: int = 1000) -> "SampleSet":
    """Write (images in [-1, 1], masks) batches as shards of ``shard_size``; ``meta.json`` is written last,
    so a folder without it is an unfinished write and is never read as a sample set."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "meta.json").unlink(missing_ok=True)
    for old in out_dir.glob("shard_*.npz"):
        old.unlink()
    pending_img: list[np.ndarray] = []
    pending_msk: list[np.ndarray] = []
    count, shards = 0, 0

    def flush(take: int) -> None:
        nonlocal shards, pending_img, pending_msk
        images, masks = np.concatenate(pending_img), np.concatenate(pending_msk)
        save_npz(out_dir / f"shard_{shards:05d}.npz", images=to_uint8(images[:take]), masks=masks[:take])
        shards += 1
        pending_img, pending_msk = [images[take:]], [masks[take:]]

    for images, masks in batches:
        if images.shape[0] != masks.shape[0] or images.shape[-2:] != masks.shape[-2:]:
            raise ValueError(f"sample batch images {images.shape} and masks {masks.shape} do not match")
        pending_img.append(images)
        pending_msk.append(masks.astype(np.uint8))
        count += len(images)
        while sum(len(x) for x in pending_img) >= shard_size:
            flush(shard_size)
    if sum(len(x) for x in pending_img):
        flush(sum(len(x) for x in pending_img))
    write_json(out_dir / "meta.json", {**meta, "count": count, "shards": shards})
    return SampleSet(out_dir)


class SampleSet:
    """A finished sample folder. ``len()``, ``meta``, ``iter_batches()`` and ``load()``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        meta_file = self.path / "meta.json"
        if not meta_file.is_file():
            raise FileNotFoundError(f"{self.path} is not a finished sample set (no meta.json)")
        self.meta: dict[str, Any] = json.loads(meta_file.read_text())
        self.shards = sorted(self.path.glob("shard_*.npz"))
        if len(self.shards) != self.meta["shards"]:
            raise ValueError(f"{self.path}: meta.json lists {self.meta['shards']} shards, found {len(self.shards)}")

    def __len__(self) -> int:
        return int(self.meta["count"])

    def iter_batches(self, limit: int | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield (images float32 in [-1, 1], masks uint8) one shard at a time, up to ``limit`` samples."""
        left = len(self) if limit is None else min(limit, len(self))
        for shard in self.shards:
            if left <= 0:
                return
            with np.load(shard) as data:
                images, masks = data["images"][:left], data["masks"][:left]
            left -= len(images)
            yield to_float(images), masks

    def load(self, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        parts = list(self.iter_batches(limit))
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
