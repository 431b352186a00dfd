"""The interface every GAN implements, so one ``train_gan`` drives them all.

A GAN owns its generator, discriminator and losses. ``train_gan`` only calls the methods below:
one discriminator step, one generator step, per-step hooks, and ``generate``. Unconditional GANs
generate the joint image+mask tensor; conditional ones (SPADE) take the mask as ``cond`` and
generate image channels only.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import torch
from torch import nn

from medgan_lib.data.dataset import mask_channels
from medgan_lib.registry import Registry


@dataclasses.dataclass(frozen=True)
class DataShape:
    """What the GAN learns: image channels, label count and resolution of the prepared dataset."""

    image_channels: int
    num_classes: int
    resolution: int

    @property
    def joint_channels(self) -> int:
        return self.image_channels + mask_channels(self.num_classes)


class GAN(nn.Module):
    """Base class. Subclasses set ``Options`` (a dataclass of their own knobs) and implement the losses."""

    Options: ClassVar[type] = type(None)  # dataclass of GAN-specific options, validated by medgan_lib.config
    conditional: ClassVar[bool] = False  # True when the generator is conditioned on the mask (SPADE)
    # TrainConfig values this GAN needs by default (e.g. n_critic=5 for WGAN); ``training.preset`` applies
    # them under paper-experiment values and explicit overrides.
    config_defaults: ClassVar[dict[str, Any]] = {}

    generator: nn.Module
    discriminator: nn.Module

    def discriminator_loss(self, real: torch.Tensor, cond: torch.Tensor | None, step: int
                           ) -> tuple[torch.Tensor, dict[str, float]]:
        """Loss to minimise for D on one batch (real joint tensor, or images when conditional), plus stats
        (at least ``d_real`` and ``d_fake``: mean discriminator outputs)."""
        raise NotImplementedError

    def generator_loss(self, real: torch.Tensor, cond: torch.Tensor | None, step: int
                       ) -> tuple[torch.Tensor, dict[str, float]]:
        """Loss to minimise for G; ``real`` is passed for losses that need it (feature matching, VGG)."""
        raise NotImplementedError

    def after_discriminator_step(self, step: int) -> None:
        """Hook after D's optimiser step (weight clipping for WGAN)."""

    def after_generator_step(self, step: int) -> None:
        """Hook after G's optimiser step (EMA of generator weights for StyleGAN2)."""

    def optimizer_settings(self, network: str, lr: float, betas: tuple[float, float]
                           ) -> tuple[float, tuple[float, float]]:
        """(lr, betas) the optimiser of ``network`` ("generator" or "discriminator") is built with; GANs with
        lazy regularisation override this to rescale them (StyleGAN2). Default: the configured values."""
        return lr, betas

    @torch.no_grad()
    def generate(self, n: int, cond: torch.Tensor | None = None, generator: torch.Generator | None = None
                 ) -> torch.Tensor:
        """``n`` samples in [-1, 1]-ish range: the joint tensor, or image channels when conditional."""
        raise NotImplementedError

    def options_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self.options) if dataclasses.is_dataclass(getattr(self, "options", None)) else {}


# name -> GAN subclass; constructor signature: cls(config, shape) where config is the training config.
GANS: Registry[type[GAN]] = Registry("GAN")
