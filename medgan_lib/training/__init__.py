"""GAN training: ``TrainConfig`` and presets, ``train_gan``, sampling and run discovery."""

from medgan_lib.training.config import PRESETS, TrainConfig, preset

__all__ = ["PRESETS", "TrainConfig", "preset"]
