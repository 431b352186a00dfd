"""The real trial engine: ``train_gan`` runs scored by a Fréchet distance from ``medgan_lib.metrics``.

A score draws ``fid_n`` samples from the run's latest checkpoint (fixed latents) and compares them with
a fixed, seeded subset of ``fid_n`` real training images in the features of ``metric`` (the standard
Inception-v3 by default; real features are cached by the metrics module).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from medgan_lib.config import replace
from medgan_lib.tune.search_space import TrialSpec
from medgan_lib.tune.trial import Diverged

SCORE_SEED = 0  # latents and real subset of every score: the same for all trials, so scores compare


@dataclasses.dataclass
class GanEngine:
    """Trains with ``medgan_lib.training.train_gan`` and scores with ``medgan_lib.metrics``."""

    fid_n: int = 32  # samples (and real images) per score
    metric: str = "fid"  # "fid": standard Inception-v3 features; else a registered feature-extractor name
    checkpoint: str = ""  # the extractor's checkpoint (MedFID); "" for extractors that need none
    device: str = "auto"

    def config(self, spec: TrialSpec):
        from medgan_lib.training import preset

        return preset(spec.preset, **spec.overrides())

    def train(self, config, iterations: int, study_dir: Path) -> Path:
        """Train (or resume) the trial's run up to ``iterations``; a non-finite loss raises ``Diverged``."""
        from medgan_lib.training import TrainingDiverged, train_gan

        for attempt in range(5):
            try:
                return train_gan(replace(config, iterations=iterations), study_dir)
            except TrainingDiverged as err:
                raise Diverged(str(err)) from None
            except FileExistsError:  # another trial took the same run number at the same moment
                time.sleep(0.2 * (attempt + 1))
        return train_gan(replace(config, iterations=iterations), study_dir)

    def score(self, run_dir: Path, step: int) -> float:
        """Fréchet distance between ``fid_n`` generated and ``fid_n`` real training images."""
        from medgan_lib.metrics import extract_features, frechet_distance, get_extractor
        from medgan_lib.training.run import Run

        run = Run(run_dir)
        gan, data = run.load(self.device), run.data_spec.gan_train()
        pick = np.random.default_rng(SCORE_SEED).choice(len(data), size=min(self.fid_n, len(data)), replace=False)
        masks = data.masks[pick] if gan.conditional else None
        fake_images, _ = gan.sample(len(pick), masks, generator=torch.Generator().manual_seed(SCORE_SEED))
        if not np.isfinite(fake_images).all():
            return float("nan")
        options = {"checkpoint": self.checkpoint} if self.checkpoint else {}
        extractor = get_extractor("inception" if self.metric == "fid" else self.metric, **options)
        real_features = extract_features(data.images[pick], extractor, device=self.device)
        fake_features = extract_features(fake_images, extractor, device=self.device, cache=False)
        return frechet_distance(real_features, fake_features)

    def dloss_stats(self, run_dir: Path) -> dict[str, Any]:
        """belmekki's D-loss statistics over the run so far (from ``stats.jsonl``)."""
        from medgan_lib.training.run import Run
        from medgan_lib.training.stats import dloss_statistics

        rows = Run(run_dir).stats()
        return dloss_statistics(np.array([row["d_loss"] for row in rows if "d_loss" in row], dtype=float))
