"""The interface every GAN implements, so one ``train_gan`` drives them all.

A GAN owns its generator, discriminator and losses. ``train_gan`` only calls the methods below:
one discriminator step, one generator step, per-step hooks, and ``generate``. Unconditional GANs
generate the joint image+mask tensor; conditional ones (SPADE) take the mask as ``cond`` and
generate image channels only. ``sample`` wraps ``generate`` into (images, masks) arrays for everyone else.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from medgan_lib.data.dataset import from_joint, mask_channels, onehot
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

    @property
    def batch_group(self) -> int:
        """Samples of a batch the discriminator looks at together (StyleGAN2's minibatch stddev): data-parallel
        training keeps each such group on one process (``medgan_lib.parallel.shard``). Default: 1."""
        return 1

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

    @torch.no_grad()
    def sample(self, n: int, masks: np.ndarray | None = None, generator: torch.Generator | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """``n`` generated pairs (float32 images clipped to [-1, 1], uint8 masks): the one way every caller
        samples. An unconditional GAN draws both (masks argmax-decoded from its mask channels; a masks-only GAN's
        images are one constant -1 channel); a conditional one (SPADE) draws images for the given ``masks``."""
        shape: DataShape = self.shape
        if self.conditional:
            if masks is None or len(masks) != n:
                raise ValueError(f"{type(self).__name__} is conditioned on masks: pass {n} masks, got "
                                 f"{'none' if masks is None else len(masks)}")
            cond = torch.from_numpy(onehot(masks, shape.num_classes)).to(next(self.parameters()).device)
            fake = self.generate(n, cond, generator=generator).float().cpu().numpy()
            return np.clip(fake, -1.0, 1.0), np.asarray(masks, dtype=np.uint8)
        if masks is not None:
            raise ValueError(f"{type(self).__name__} draws its own masks; masks must be None")
        fake = self.generate(n, None, generator=generator).float().cpu().numpy()
        images, decoded = from_joint(fake, shape.image_channels, shape.num_classes)
        if shape.image_channels == 0:
            images = np.full((n, 1, *decoded.shape[1:]), -1.0, dtype=np.float32)
        return images, decoded

    @torch.no_grad()
    def realness(self, images: np.ndarray, masks: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """(N,) the discriminator's score of each real (image, mask) pair, higher = judged more real, fed as in
        training but without augmentation: what a white-box membership-inference attack reads (LOGAN, Hayes et al.
        2019). ``batch_size`` should be a multiple of StyleGAN2's minibatch-std group."""
        shape: DataShape = self.shape
        device = next(self.parameters()).device
        scores = []
        for start in range(0, len(images), batch_size):
            part = np.asarray(masks[start:start + batch_size])
            image = torch.from_numpy(np.asarray(images[start:start + batch_size], dtype=np.float32))
            if self.conditional:
                real, cond = image, torch.from_numpy(onehot(part, shape.num_classes)).to(device)
            else:  # the joint tensor of training: image channels, then the one-hot mask channels in {-1, 1}
                joint = [image] if shape.image_channels else []
                if mask_channels(shape.num_classes):
                    joint.append(torch.from_numpy(onehot(part, shape.num_classes) * 2.0 - 1.0))
                real, cond = torch.cat(joint, dim=1), None
            scores.append(self.critic(real.to(device), cond).float().cpu())
        return torch.cat(scores).numpy() if scores else np.zeros(0, np.float32)

    def critic(self, real: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        """(N,) discriminator outputs for a batch as D sees it in training (joint tensor, or images when
        conditional), averaged over any spatial outputs; GANs with another discriminator override it (SPADE)."""
        return self.discriminator(real).reshape(len(real), -1).mean(dim=1)

    def options_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self.options) if dataclasses.is_dataclass(getattr(self, "options", None)) else {}


# name -> GAN subclass; constructor signature: cls(config, shape) where config is the training config.
GANS: Registry[type[GAN]] = Registry("GAN")
