"""GAN training: ``TrainConfig`` and presets, ``train_gan``, sampling and run discovery."""

from medgan_lib.training.config import PRESETS, TrainConfig, preset
from medgan_lib.training.sampling import find_runs, load_run, sample
from medgan_lib.training.train import TrainingDiverged, train_gan, train_gans

__all__ = ["PRESETS", "TrainConfig", "TrainingDiverged", "find_runs", "load_run", "preset", "sample", "train_gan", "train_gans"]
