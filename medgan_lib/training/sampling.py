"""Sampling from finished GAN runs: one sample set per (run, n, seed, mask source), written once and reused.

``sample(run, n, seed)`` writes ``<run>/samples/n<n>-s<seed>/`` (sharded image+mask arrays via
``medgan_lib.samples.write_samples``) plus ``preview.png``, generating in batches with ``GAN.sample`` so
10,000 samples never sit in memory at once. A mask-conditioned GAN (SPADE) takes its masks from a mask
source (``mask_batches``): the GAN's training masks, held-out validation masks, or a masks-only GAN run.
An existing set is hash-checked before it is reused; a damaged one is written again, with a warning naming it.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch

from medgan_lib.atomic import ArtefactError
from medgan_lib.data.spec import DataSpec
from medgan_lib.samples import SampleSet, write_samples
from medgan_lib.training.grids import save_grid
from medgan_lib.training.run import Run, as_run

PREVIEW = 16  # samples in the preview grid
MASK_SOURCES = ("train", "heldout", "gan")


def sample(run: Run | str | os.PathLike, n: int, seed: int = 0, batch_size: int = 256, mask_source: str = "train",
           mask_run: Run | str | os.PathLike | None = None, device: str = "auto") -> SampleSet:
    """Write (or return the existing) ``n`` samples of ``run`` drawn with ``seed``. Conditional GANs (SPADE) take
    their masks from ``mask_source`` (see ``mask_batches``); other sources than "train" get their own folder
    ``n<n>-s<seed>-<source>`` (``-gan-<mask run name>`` for "gan")."""
    run = as_run(run)
    if n < 1 or batch_size < 1:
        raise ValueError(f"sample: n and batch_size must be >= 1, got n={n}, batch_size={batch_size}")
    source = "train" if not run.conditional else mask_source
    mask = as_run(mask_run) if mask_run is not None else None
    if source == "gan" and mask is not None:
        source = f"gan-{mask.name}"
    out = run.samples_dir(n, seed, source)
    existing = _existing(run, out, n, seed, source)
    if existing is not None:
        return existing
    gan = run.load(device)
    shape = run.shape
    meta = {"run": run.name, "gan": run.gan_name, "dataset": run.data_spec.dataset, "data_spec": run.data_spec.to_dict(),
            "data_spec_hash": run.data_spec.hash, "seed": seed, "n": n, "resolution": shape.resolution,
            "image_channels": max(shape.image_channels, 1), "channels": run.config.channels,
            "label_names": run.label_names, "train_seed": run.config.seed, "mask_source": "generated"}
    masks = None
    if run.conditional:
        meta.update(mask_source_meta(mask_source, mask))  # checks mask_run before anything is written
        masks = mask_batches(mask_source, n, run.data_spec, seed=seed, batch_size=batch_size, mask_run=mask)
    samples = write_samples(out, _batches(run, gan, n, seed, batch_size, masks), meta)
    images, decoded = samples.load(PREVIEW)
    save_grid(out / "preview.png", images if not run.is_mask_generator else images[:, :0], decoded)
    return samples


def _existing(run: Run, out: Path, n: int, seed: int, source: str) -> SampleSet | None:
    """The run's set ``out`` if written, else the first ``n`` of a larger set drawn with the same seed and mask
    source (so each section reuses the one set notebook 02 drew); a damaged set is warned about and skipped."""
    larger = [p for p in run.path.glob(f"samples/n*-s{seed}" + ("" if source == "train" else f"-{source}"))
              if p != out and p.name.split("-")[0][1:].isdigit() and int(p.name.split("-")[0][1:]) > n]
    for path in [out, *sorted(larger, key=lambda p: int(p.name.split("-")[0][1:]))]:
        if not (path / "meta.json").is_file():
            continue
        try:
            found = SampleSet(path, limit=n).verify()
        except ArtefactError as err:
            warnings.warn(f"{err}; sampling {out} again" if path == out else f"{err}; not reused")
            continue
        if len(found) == n and found.meta.get("seed") == seed:
            return found
    return None


def _batches(run: Run, gan, n: int, seed: int, batch_size: int, masks: Iterator[np.ndarray] | None
             ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    generator = torch.Generator().manual_seed(seed)
    if masks is None:
        for start in range(0, n, batch_size):
            yield gan.sample(min(batch_size, n - start), generator=generator)
        return
    for m in masks:
        yield gan.sample(len(m), m, generator=generator)


def mask_batches(source: str, n: int, data: DataSpec, seed: int = 0, batch_size: int = 256,
                 mask_run: Run | str | os.PathLike | None = None) -> Iterator[np.ndarray]:
    """Yield ``n`` masks (uint8 (B, H, W) batches) of ``data`` to condition SPADE on, from ``source``:

    ``"train"``: the GANs' training masks in a seeded order, cycled (skandarani's way; what it generates can copy
    training images, the memorisation risk); ``"heldout"``: masks of the validation patients, never trained on
    (the test split stays untouched for the U-Net's Dice); ``"gan"``: masks generated by the masks-only GAN run
    ``mask_run`` trained on the same data: SPADE is then conditioned on no training patient's mask."""
    if source not in MASK_SOURCES:
        raise ValueError(f"mask source '{source}' is unknown; valid: {', '.join(MASK_SOURCES)}")
    if n < 1 or batch_size < 1:
        raise ValueError(f"mask_batches: n and batch_size must be >= 1, got n={n}, batch_size={batch_size}")
    if source == "gan":
        yield from _gan_masks(mask_run, n, data, seed, batch_size)
        return
    if mask_run is not None:
        raise ValueError(f"mask_run is only used with mask source 'gan', not '{source}'")
    if source == "heldout" and "val" in data.gan_splits:
        raise ValueError(f"mask source 'heldout': dataset '{data.dataset}' trains its GANs on the validation "
                         "patients too (gan_splits), so it has no held-out masks but the test split, kept for Dice")
    masks = data.gan_train().masks if source == "train" else data.prepare("val").masks
    if len(masks) == 0:
        raise ValueError(f"mask source '{source}': dataset '{data.dataset}' has no masks there")
    order = np.resize(np.random.default_rng(seed).permutation(len(masks)), n)
    for start in range(0, n, batch_size):
        yield masks[order[start:start + batch_size]]


def _gan_masks(mask_run: Run | str | os.PathLike | None, n: int, data: DataSpec, seed: int, batch_size: int
               ) -> Iterator[np.ndarray]:
    run = mask_generator(mask_run)
    if run.data_spec != data:
        raise ValueError(f"mask_run {run.name} was trained on {run.data_spec.label()}; masks for "
                         f"{data.label()} are needed")
    for _, masks in sample(run, n, seed=seed, batch_size=batch_size).iter_batches():
        for start in range(0, len(masks), batch_size):
            yield masks[start:start + batch_size]


def mask_generator(mask_run: Run | str | os.PathLike | None) -> Run:
    """``mask_run`` checked to be a masks-only GAN run (``TrainConfig.channels="masks"``)."""
    if mask_run is None:
        raise ValueError("mask source 'gan' needs mask_run: the directory of a masks-only GAN run "
                         "(TrainConfig.channels='masks')")
    try:
        run = as_run(mask_run)
    except FileNotFoundError as err:
        raise FileNotFoundError(f"mask_run: {err}") from None
    if not run.is_mask_generator:
        raise ValueError(f"mask_run {run.name} ({run.gan_name}) learnt channels={run.config.channels!r}; SPADE's mask "
                         "source 'gan' needs a masks-only run (train one with TrainConfig.channels='masks')")
    return run


def mask_source_meta(source: str, mask_run: Run | str | os.PathLike | None = None) -> dict[str, Any]:
    """What a sample set's meta records about where its masks came from (for "gan": the masks-only run, checked)."""
    if source not in MASK_SOURCES:
        raise ValueError(f"mask source '{source}' is unknown; valid: {', '.join(MASK_SOURCES)}")
    split = {"train": "train", "heldout": "val", "gan": None}[source]
    run = mask_generator(mask_run) if source == "gan" else None
    return {"mask_source": source, "mask_split": split, "mask_run": run.name if run else None,
            "mask_gan": run.gan_name if run else None}
