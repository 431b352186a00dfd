"""The interface every GAN implements, so one ``train_gan`` drives them all.

A GAN owns its generator, discriminator and losses, and says what it learns from: ``training_pair`` turns real
slices into (what D sees, what G is conditioned on) and ``decode`` turns what G made back into (images, masks).
``train_gan`` only calls those, one discriminator step, one generator step, per-step hooks, and ``generate``.
Unconditional GANs generate the joint image+mask tensor; mask-conditional ones (SPADE) take the one-hot mask as
``cond`` and generate image channels only; class-conditional ones (cGAN, ACGAN) take each slice's image-level
class. ``sample`` wraps ``generate`` into (images, masks) arrays for everyone else.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from medgan_lib.data.dataset import from_joint, mask_channels, to_joint
from medgan_lib.registry import Registry


@dataclasses.dataclass(frozen=True)
class DataShape:
    """What the GAN learns: image channels, label count and resolution of the prepared dataset."""

    image_channels: int
    num_classes: int
    resolution: int
    image_classes: int = 0  # image-level classes (PreparedDataset.class_names) a class-conditional GAN draws

    @property
    def joint_channels(self) -> int:
        return self.image_channels + mask_channels(self.num_classes)


class GAN(nn.Module):
    """Base class. Subclasses set ``Options`` (a dataclass of their own knobs) and implement the losses."""

    Options: ClassVar[type] = type(None)  # dataclass of GAN-specific options, validated by medgan_lib.config
    conditional: ClassVar[bool] = False  # True when the generator is conditioned on the mask (SPADE)
    class_conditional: ClassVar[bool] = False  # True when G and D are conditioned on an image-level class (cGAN)
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

    def training_pair(self, images: np.ndarray, masks: np.ndarray, classes: np.ndarray | None = None,
                      patients: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """(what D sees, what G is conditioned on) for real slices (with their image-level classes and patient
        ids): here the joint tensor (a masks-only GAN: its mask channels) and no condition; SPADE, the
        class-conditional and the translation GANs override it."""
        shape: DataShape = self.shape
        joint = to_joint(np.asarray(images, dtype=np.float32), np.asarray(masks), shape.num_classes)
        return np.ascontiguousarray(joint[:, images.shape[1] - shape.image_channels:]), None

    def decode(self, fake: torch.Tensor, cond: torch.Tensor | None) -> tuple[np.ndarray, np.ndarray]:
        """(images clipped to [-1, 1], uint8 masks) of a generated batch and its condition: the joint tensor split
        and argmax-decoded (a masks-only GAN's images have no channel); SPADE overrides it."""
        shape: DataShape = self.shape
        return from_joint(fake.float().cpu().numpy(), shape.image_channels, shape.num_classes)

    def sample_condition(self, n: int, masks: np.ndarray | None, classes: np.ndarray | None,
                         generator: torch.Generator | None) -> torch.Tensor | None:
        """What ``generate`` is conditioned on when ``sample`` is asked for ``n`` pairs: nothing here (it draws its
        own masks); SPADE takes ``masks``, the class-conditional GANs ``classes`` (drawn uniformly if None)."""
        if masks is not None or classes is not None:
            raise ValueError(f"{type(self).__name__} draws its own masks and has no classes; pass neither")
        return None

    @torch.no_grad()
    def sample(self, n: int, masks: np.ndarray | None = None, generator: torch.Generator | None = None,
               classes: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``n`` generated pairs (float32 images clipped to [-1, 1], uint8 masks): the one way every caller
        samples. An unconditional GAN draws both (masks argmax-decoded from its mask channels; a masks-only GAN's
        images are one constant -1 channel); a conditional one (SPADE) draws images for the given ``masks``; a
        class-conditional one pairs of the given ``classes``."""
        cond = self.sample_condition(n, masks, classes, generator)
        images, decoded = self.decode(self.generate(n, cond, generator=generator), cond)
        if images.shape[1] == 0:
            images = np.full((n, 1, *decoded.shape[1:]), -1.0, dtype=np.float32)
        return images, decoded

    @torch.no_grad()
    def realness(self, images: np.ndarray, masks: np.ndarray, batch_size: int = 64,
                 classes: np.ndarray | None = None) -> np.ndarray:
        """(N,) the discriminator's score of each real (image, mask) pair, higher = judged more real, fed as in
        training (``training_pair``) but without augmentation: what a white-box membership-inference attack reads
        (LOGAN, Hayes et al. 2019). ``batch_size`` should be a multiple of StyleGAN2's minibatch-std group."""
        device = next(self.parameters()).device
        scores = []
        for start in range(0, len(images), batch_size):
            part = slice(start, start + batch_size)
            real, cond = self.training_pair(np.asarray(images[part]), np.asarray(masks[part]),
                                            None if classes is None else np.asarray(classes[part]))
            cond = None if cond is None else torch.from_numpy(cond).to(device)
            scores.append(self.critic(torch.from_numpy(real).to(device), cond).float().cpu())
        return torch.cat(scores).numpy() if scores else np.zeros(0, np.float32)

    def critic(self, real: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        """(N,) discriminator outputs for a batch as D sees it in training (joint tensor, or images when
        conditional), averaged over any spatial outputs; GANs with another discriminator override it (SPADE)."""
        return self.discriminator(real).reshape(len(real), -1).mean(dim=1)

    def options_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self.options) if dataclasses.is_dataclass(getattr(self, "options", None)) else {}


# name -> GAN subclass; constructor signature: cls(config, shape) where config is the training config.
GANS: Registry[type[GAN]] = Registry("GAN")
