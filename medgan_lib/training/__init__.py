"""GAN training: ``TrainConfig`` and presets, ``train_gan``, runs (``Run``, ``find_runs``) and sampling."""

from medgan_lib.training.config import PRESETS, TrainConfig, preset
from medgan_lib.training.run import Run, find_runs, latest_mask_run, latest_per_gan, latest_per_seed, runs_spec
from medgan_lib.training.sampling import sample
from medgan_lib.training.train import TrainingDiverged, train_gan, train_gans

__all__ = ["PRESETS", "Run", "TrainConfig", "TrainingDiverged", "find_runs", "latest_mask_run", "latest_per_gan",
           "latest_per_seed", "preset", "runs_spec", "sample", "train_gan", "train_gans"]
