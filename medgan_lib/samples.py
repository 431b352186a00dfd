"""Synthetic sample sets on disk: sharded image+mask arrays plus ``meta.json``, read back in batches.

Images are stored as uint8 (the quantisation every FID implementation applies anyway); masks as uint8.
10,000 samples never need to sit in memory at once: writers take batches and readers yield them.
``meta.json`` lists every shard with its sample count, size and SHA-256. Readers check the sizes and counts
always and each shard's SHA-256 the first time this process reads it (``verify()`` hashes every shard again).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from medgan_lib.atomic import ArtefactError, save_npz, write_json
from medgan_lib.hashing import sha256_file

_VERIFIED: set[tuple[str, int, str]] = set()  # (shard path, mtime in ns, SHA-256) hashed by this process


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
    count, files = 0, []

    def flush(take: int) -> None:
        nonlocal pending_img, pending_msk
        images, masks = np.concatenate(pending_img), np.concatenate(pending_msk)
        path = save_npz(out_dir / f"shard_{len(files):05d}.npz", images=to_uint8(images[:take]), masks=masks[:take])
        files.append({"file": path.name, "count": take, "bytes": path.stat().st_size, "sha256": sha256_file(path)})
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
    write_json(out_dir / "meta.json", {**meta, "count": count, "shards": len(files), "shard_files": files})
    return SampleSet(out_dir)


class SampleSet:
    """A finished sample folder. ``len()``, ``meta``, ``iter_batches()``, ``load()`` and ``verify()``; opening it
    checks that every shard ``meta.json`` lists is there with its recorded size. ``limit``: only the first
    ``limit`` samples (a smaller set drawn from a larger one: any prefix of independent draws is one)."""

    def __init__(self, path: str | Path, limit: int | None = None) -> None:
        self.path = Path(path)
        meta_file = self.path / "meta.json"
        if not meta_file.is_file():
            raise FileNotFoundError(f"{self.path} is not a finished sample set (no meta.json)")
        try:
            self.meta: dict[str, Any] = json.loads(meta_file.read_text())
        except ValueError as err:
            raise ArtefactError(f"sample set record {meta_file} is damaged ({err}); sample again") from None
        if "shard_files" not in self.meta:
            raise ArtefactError(f"sample set {self.path} was written by an older medgan_lib: {meta_file} lists no "
                                "shard sizes and hashes; sample again (Run.samples / sample() rewrite it)")
        self.files: list[dict[str, Any]] = self.meta["shard_files"]
        self.shards = [self.path / f["file"] for f in self.files]
        count = int(self.meta["count"])
        if sum(f["count"] for f in self.files) != count:
            raise ArtefactError(f"{meta_file}: shards of {sum(f['count'] for f in self.files)} samples, count "
                                f"says {count}")
        self.limit = count if limit is None else min(int(limit), count)
        for shard, expected in zip(self.shards, self.files):
            size = shard.stat().st_size if shard.is_file() else None
            if size != expected["bytes"]:
                raise ArtefactError(f"sample shard {shard} is damaged or missing: {meta_file.name} expects "
                                    f"{expected['bytes']} bytes, found {'no file' if size is None else size}")

    def __len__(self) -> int:
        return self.limit

    def verify(self) -> "SampleSet":
        """Hash every shard against ``meta.json`` now (even those this process checked before); returns self."""
        for index in range(len(self.shards)):
            self._check_hash(index, sha256_file(self.shards[index]))
        return self

    def _check_hash(self, index: int, digest: str) -> None:
        shard, expected = self.shards[index], self.files[index]
        if digest != expected["sha256"]:
            raise ArtefactError(f"sample shard {shard} is damaged: its SHA-256 is {digest}, meta.json records "
                                f"{expected['sha256']}")
        _VERIFIED.add((str(shard.resolve()), shard.stat().st_mtime_ns, digest))

    def _read(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Shard ``index`` as (uint8 images, masks), hash-checked the first time this process reads it."""
        shard, expected = self.shards[index], self.files[index]
        stat = shard.stat()
        if stat.st_size != expected["bytes"]:
            raise ArtefactError(f"sample shard {shard} is damaged: meta.json expects {expected['bytes']} bytes, "
                                f"found {stat.st_size}")
        if (str(shard.resolve()), stat.st_mtime_ns, expected["sha256"]) not in _VERIFIED:
            self._check_hash(index, sha256_file(shard))
        with np.load(shard, allow_pickle=False) as arrays:
            images, masks = arrays["images"], arrays["masks"]
        if len(images) != expected["count"] or len(masks) != expected["count"]:
            raise ArtefactError(f"sample shard {shard} holds {len(images)} images and {len(masks)} masks; meta.json "
                                f"expects {expected['count']} of each")
        return images, masks

    def iter_batches(self, limit: int | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield (images float32 in [-1, 1], masks uint8) one shard at a time, up to ``limit`` samples."""
        left = len(self) if limit is None else min(limit, len(self))
        for index in range(len(self.shards)):
            if left <= 0:
                return
            images, masks = self._read(index)
            images, masks = images[:left], masks[:left]
            left -= len(images)
            yield to_float(images), masks

    def load(self, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        parts = list(self.iter_batches(limit))
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
