"""Sampling from finished GAN runs, and finding runs.

``sample(run_dir, n, seed)`` writes ``<run>/samples/n<n>-s<seed>/`` (sharded image+mask arrays via
``medgan_lib.samples.write_samples``, masks decoded from the generated mask channels) plus
``preview.png``, generating in batches so 10,000 samples never sit in memory at once.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from medgan_lib.data.dataset import from_joint
from medgan_lib.gans import GAN, DataShape
from medgan_lib.results import study_path
from medgan_lib.runtime import select_device
from medgan_lib.samples import SampleSet, write_samples
from medgan_lib.training.config import TrainConfig
from medgan_lib.training.grids import save_grid
from medgan_lib.training.train import CHECKPOINT, build_gan

PREVIEW = 16  # samples in the preview grid


def find_runs(study_dir: str | Path | None = None, gan: str | None = None, dataset: str | None = None,
              finished: bool = True) -> list[Path]:
    """GAN run directories of a study (oldest first), optionally filtered; ``finished`` keeps only runs
    with a ``summary.json``."""
    runs = study_path(study_dir) / "runs"
    if not runs.is_dir():
        return []
    found = []
    for run_dir in sorted(runs.iterdir()):
        m = re.match(r"^\d{5}-(.+)-s\d+$", run_dir.name)
        if not m or not (run_dir / "config.json").is_file():
            continue
        config = json.loads((run_dir / "config.json").read_text())
        if (gan is None or config.get("gan") == gan) and (dataset is None or config.get("dataset") == dataset) \
                and (not finished or (run_dir / "summary.json").is_file()):
            found.append(run_dir)
    return found


def load_run(run_dir: str | Path, device: str = "auto") -> tuple[GAN, TrainConfig]:
    """The trained GAN (eval mode, last checkpoint; GANs with EMA weights use them in ``generate``) and its
    config."""
    run_dir = Path(run_dir)
    for name in ("config.json", "run.json", str(CHECKPOINT)):
        if not (run_dir / name).is_file():
            raise FileNotFoundError(f"{run_dir} is not a trained GAN run: {name} is missing")
    config = TrainConfig.from_dict(json.loads((run_dir / "config.json").read_text()), where=str(run_dir / "config.json"))
    shape = DataShape(**json.loads((run_dir / "run.json").read_text())["shape"])
    gan = build_gan(config, shape)
    state = torch.load(run_dir / CHECKPOINT, map_location="cpu", weights_only=False)
    gan.load_state_dict(state["gan"])
    return gan.to(select_device(device)).eval(), config


def sample(run_dir: str | Path, n: int, seed: int = 0, batch_size: int = 256, mask_source: str = "train",
           device: str = "auto") -> SampleSet:
    """Write (or return the existing) ``n`` samples of a run with ``seed``. Conditional GANs (SPADE) take
    their masks from ``mask_source``: ``"train"`` cycles through the training masks in a seeded order."""
    run_dir = Path(run_dir)
    if n < 1 or batch_size < 1:
        raise ValueError(f"sample: n and batch_size must be >= 1, got n={n}, batch_size={batch_size}")
    out = run_dir / "samples" / f"n{n}-s{seed}"
    if (out / "meta.json").is_file():
        existing = SampleSet(out)
        if len(existing) == n and existing.meta.get("seed") == seed:
            return existing
    gan, config = load_run(run_dir, device)
    run_info = json.loads((run_dir / "run.json").read_text())
    shape = DataShape(**run_info["shape"])
    masks = _masks(config, mask_source, n, seed) if gan.conditional else None
    batches = _batches(gan, shape, n, seed, batch_size, masks)
    meta = {"run": run_dir.name, "gan": config.gan, "dataset": config.dataset, "seed": seed, "n": n,
            "resolution": shape.resolution, "image_channels": shape.image_channels,
            "label_names": run_info["data"]["label_names"], "mask_source": mask_source if gan.conditional else "generated",
            "train_seed": config.seed}
    samples = write_samples(out, batches, meta)
    images, decoded = samples.load(PREVIEW)
    save_grid(out / "preview.png", images, decoded)
    return samples


def _masks(config: TrainConfig, mask_source: str, n: int, seed: int) -> np.ndarray:
    if mask_source != "train":
        raise ValueError(f"sample: unknown mask_source '{mask_source}'; valid: train")
    from medgan_lib.data import prepare

    data = prepare(config.dataset, "train", config.resolution, root=config.root, count=config.count,
                   seed=config.data_seed)
    order = np.random.default_rng(seed).permutation(len(data))
    return data.masks[np.resize(order, n)]


def _batches(gan: GAN, shape: DataShape, n: int, seed: int, batch_size: int, masks: np.ndarray | None
             ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    generator = torch.Generator().manual_seed(seed)
    device = next(gan.parameters()).device
    for start in range(0, n, batch_size):
        b = min(batch_size, n - start)
        if masks is None:
            fake = gan.generate(b, None, generator=generator).float().cpu().numpy()
            yield from_joint(fake, shape.image_channels, shape.num_classes)
        else:
            m = masks[start:start + b]
            onehot = (m[:, None] == np.arange(shape.num_classes, dtype=np.uint8)[None, :, None, None])
            cond = torch.from_numpy(onehot.astype(np.float32)).to(device)
            fake = gan.generate(b, cond, generator=generator).float().cpu().numpy()
            yield np.clip(fake, -1, 1), m
