"""SPADE GAN (Park et al. 2019; skandarani2023 §2.1.5): mask-conditioned image synthesis in plain PyTorch.

The generator upsamples a latent through residual blocks whose normalisation layers are *spatially
adaptive*: after a parameter-free normalisation, each activation is scaled and shifted by maps predicted
from the segmentation mask (resized to that layer). The discriminator is a multi-scale PatchGAN that sees
image and mask together. Losses: hinge, discriminator feature matching, optional VGG perceptual loss and,
with the optional style encoder, a KL term (VAE-style). ``generate(n, cond=onehot_masks)`` returns image
channels only; ``sample(n, masks)`` takes integer masks. Where the masks come from (training masks, held-out
masks, a masks-only GAN) is the sampling layer's business: ``medgan_lib.training.sampling.mask_batches``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from medgan_lib.config import ConfigError
from medgan_lib import parallel
from medgan_lib.gans.augment import diff_augment
from medgan_lib.data.dataset import onehot
from medgan_lib.gans.base import GAN, GANS, DataShape
from medgan_lib.gans.networks import PatchDiscriminator, spectral_if



@dataclasses.dataclass
class SPADEOptions:
    """SPADE knobs (filters, spectral norm, feature-matching and VGG weights come from TrainConfig)."""

    channel_max: int = 1024  # generator channels at resolution r: min(filters_g * resolution / r, channel_max)
    spade_hidden: int = 128  # hidden channels of each SPADE modulation network (mask -> gamma, beta)
    norm: Literal["instance", "batch"] = "instance"  # parameter-free normalisation inside SPADE layers
    num_discriminators: int = 2  # PatchGAN scales (each sees the input average-pooled once more)
    discriminator_layers: int = 4  # strided conv layers per PatchGAN
    encoder: bool = False  # VAE-style style encoder: z from the real image during training
    kl_weight: float = 0.05  # weight of the encoder's KL divergence to N(0, I)

    def __post_init__(self) -> None:
        for name in ("channel_max", "spade_hidden", "num_discriminators", "discriminator_layers"):
            if getattr(self, name) < 1:
                raise ConfigError(f"spade option {name} must be >= 1, got {getattr(self, name)}")
        if self.kl_weight < 0:
            raise ConfigError(f"spade option kl_weight must be >= 0, got {self.kl_weight}")


class SPADE(nn.Module):
    """Normalise x without affine parameters, then x * (1 + gamma(mask)) + beta(mask), per pixel."""

    def __init__(self, channels: int, label_channels: int, hidden: int, norm: str) -> None:
        super().__init__()
        self.norm = (nn.InstanceNorm2d(channels, affine=False) if norm == "instance"
                     else nn.BatchNorm2d(channels, affine=False))
        self.shared = nn.Sequential(nn.Conv2d(label_channels, hidden, 3, padding=1), nn.ReLU())
        self.gamma = nn.Conv2d(hidden, channels, 3, padding=1)
        self.beta = nn.Conv2d(hidden, channels, 3, padding=1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        mask = F.interpolate(mask, size=x.shape[-2:], mode="nearest")
        hidden = self.shared(mask)
        return self.norm(x) * (1 + self.gamma(hidden)) + self.beta(hidden)


class SPADEResBlock(nn.Module):
    """SPADE -> lrelu -> conv, twice, plus a (SPADE -> 1x1 conv) shortcut when the channel count changes."""

    def __init__(self, c_in: int, c_out: int, label_channels: int, options: SPADEOptions, spectral: bool) -> None:
        super().__init__()
        c_mid = min(c_in, c_out)
        self.norm0 = SPADE(c_in, label_channels, options.spade_hidden, options.norm)
        self.conv0 = spectral_if(nn.Conv2d(c_in, c_mid, 3, padding=1), spectral)
        self.norm1 = SPADE(c_mid, label_channels, options.spade_hidden, options.norm)
        self.conv1 = spectral_if(nn.Conv2d(c_mid, c_out, 3, padding=1), spectral)
        self.shortcut = None
        if c_in != c_out:
            self.norm_s = SPADE(c_in, label_channels, options.spade_hidden, options.norm)
            self.shortcut = spectral_if(nn.Conv2d(c_in, c_out, 1, bias=False), spectral)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        skip = x if self.shortcut is None else self.shortcut(self.norm_s(x, mask))
        h = self.conv0(F.leaky_relu(self.norm0(x, mask), 0.2))
        h = self.conv1(F.leaky_relu(self.norm1(h, mask), 0.2))
        return skip + h


class StyleEncoder(nn.Module):
    """Image -> (mu, logvar) of the latent: stride-2 convs with instance norm down to 4x4, then two linears."""

    def __init__(self, image_channels: int, resolution: int, latent_dim: int, filters: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in, c, res = image_channels, filters, resolution
        while res > 4:
            layers += [nn.Conv2d(c_in, c, 3, stride=2, padding=1), nn.InstanceNorm2d(c, affine=False),
                       nn.LeakyReLU(0.2)]
            c_in, c, res = c, min(c * 2, 8 * filters), res // 2
        self.net = nn.Sequential(*layers)
        self.mu = nn.Linear(c_in * 16, latent_dim)
        self.logvar = nn.Linear(c_in * 16, latent_dim)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.net(image).flatten(1)
        return self.mu(h), self.logvar(h)


class SPADEGenerator(nn.Module):
    """z -> 4x4 features -> one SPADE residual block per resolution (nearest 2x upsampling between) -> tanh.
    Holds the optional style encoder, so one optimiser trains both."""

    def __init__(self, latent_dim: int, image_channels: int, label_channels: int, resolution: int, filters: int,
                 options: SPADEOptions, spectral: bool) -> None:
        super().__init__()
        sizes = [2 ** level for level in range(2, int(np.log2(resolution)) + 1)]
        chans = [min(filters * resolution // size, options.channel_max) for size in sizes]
        self.c0 = chans[0]
        self.fc = nn.Linear(latent_dim, chans[0] * 16)
        self.blocks = nn.ModuleList(SPADEResBlock(chans[max(i - 1, 0)], chans[i], label_channels, options, spectral)
                                    for i in range(len(chans)))
        self.out = nn.Conv2d(chans[-1], image_channels, 3, padding=1)
        self.encoder = (StyleEncoder(image_channels, resolution, latent_dim, filters) if options.encoder else None)

    def forward(self, z: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.fc(z).view(z.shape[0], self.c0, 4, 4)
        for i, block in enumerate(self.blocks):
            if i:
                x = F.interpolate(x, scale_factor=2, mode="nearest")
            x = block(x, mask)
        return torch.tanh(self.out(F.leaky_relu(x, 0.2)))


class MultiScaleDiscriminator(nn.Module):
    """PatchGANs at successively halved resolutions of the same image+mask input."""

    def __init__(self, in_channels: int, filters: int, options: SPADEOptions, spectral: bool) -> None:
        super().__init__()
        self.scales = nn.ModuleList(PatchDiscriminator(in_channels, filters, options.discriminator_layers, spectral)
                                    for _ in range(options.num_discriminators))

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        outputs = []
        for i, d in enumerate(self.scales):
            if i:
                x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
            outputs.append(d(x))
        return outputs


def onehot_cond(cond: torch.Tensor | None, num_classes: int) -> torch.Tensor:
    """Validate the mask condition (N, K, H, W) and map it to {0, 1} (accepts {0, 1} or the joint's {-1, 1})."""
    if cond is None or cond.ndim != 4 or cond.shape[1] != num_classes:
        got = None if cond is None else tuple(cond.shape)
        raise ValueError(f"spade needs cond = one-hot masks of shape (N, {num_classes}, H, W), got {got}")
    return (cond > 0).to(torch.float32)


@GANS.register("spade")
class SPADEGAN(GAN):
    """SPADE conditioned on one-hot masks; trained with hinge + feature matching (+ VGG, + KL with encoder)."""

    Options = SPADEOptions
    conditional = True
    # Park et al.: spectral norm in G and D, TTUR-style Adam (beta1 0, beta2 0.9), feature matching weight 10.
    config_defaults: ClassVar[dict[str, Any]] = {"lr_g": 1e-4, "lr_d": 4e-4, "betas_g": (0.0, 0.9),
                                                 "betas_d": (0.0, 0.9), "spectral_norm_g": True,
                                                 "spectral_norm_d": True, "feature_matching_weight": 10.0}

    def __init__(self, config: Any, shape: DataShape) -> None:
        super().__init__()
        if shape.num_classes < 2:
            raise ConfigError("spade needs segmentation masks (num_classes >= 2); this dataset has none")
        self.config, self.shape = config, shape
        self.options: SPADEOptions = config.options(type(self))
        self.latent_dim = int(config.latent_dim)
        self.policy = config.policy() if config.diff_augment else []
        k = shape.num_classes
        self.generator = SPADEGenerator(self.latent_dim, shape.image_channels, k, shape.resolution, config.filters_g,
                                        self.options, config.spectral_norm_g)
        self.discriminator = MultiScaleDiscriminator(shape.image_channels + k, config.filters_d, self.options,
                                                     config.spectral_norm_d)
        self._vgg: list[nn.Module] = []  # frozen external network, kept out of state_dict

    def training_pair(self, images, masks, classes=None, patients=None):
        """D sees the images (with the mask); G is conditioned on the one-hot masks."""
        return np.asarray(images, dtype=np.float32), onehot(np.asarray(masks), self.shape.num_classes)

    def decode(self, fake, cond):
        return (np.clip(fake.float().cpu().numpy(), -1.0, 1.0),
                cond.argmax(1).cpu().numpy().astype(np.uint8))

    def sample_condition(self, n, masks, classes, generator):
        if masks is None or len(masks) != n:
            raise ValueError(f"{type(self).__name__} is conditioned on masks: pass {n} masks, got "
                             f"{'none' if masks is None else len(masks)}")
        if classes is not None:
            raise ValueError(f"{type(self).__name__} has no image-level classes; classes must be None")
        return torch.from_numpy(onehot(np.asarray(masks), self.shape.num_classes)).to(self.generator.out.weight.device)

    def _d(self, image: torch.Tensor, mask: torch.Tensor) -> list[list[torch.Tensor]]:
        x = torch.cat([image, mask], dim=1)
        return self.discriminator(diff_augment(x, self.policy, self.shape.image_channels) if self.policy else x)

    def critic(self, real: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        """(N,) the multi-scale PatchGAN's final outputs for (image, mask), averaged over patches and scales."""
        outs = self.discriminator(torch.cat([real, onehot_cond(cond, self.shape.num_classes)], dim=1))
        return torch.stack([f[-1].reshape(len(real), -1).mean(dim=1) for f in outs]).mean(dim=0)

    def _fake(self, real: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Generated images for the batch's masks, and the KL term when the style encoder is on."""
        if self.generator.encoder is None:
            return self.generator(parallel.randn(real.shape[0], self.latent_dim, device=real.device), mask), None
        mu, logvar = self.generator.encoder(real)
        z = mu + parallel.randn_like(mu) * torch.exp(0.5 * logvar)
        kl = -0.5 * (1 + logvar - mu.square() - logvar.exp()).sum(dim=1).mean()
        return self.generator(z, mask), kl

    def discriminator_loss(self, real, cond, step):
        mask = onehot_cond(cond, self.shape.num_classes)
        with torch.no_grad():
            fake, _ = self._fake(real, mask)
        real_out = [f[-1] for f in self._d(real, mask)]
        fake_out = [f[-1] for f in self._d(fake, mask)]
        loss = sum(F.relu(1 - r).mean() + F.relu(1 + f).mean() for r, f in zip(real_out, fake_out)) / len(real_out)
        stats = {"d_real": float(sum(r.detach().mean() for r in real_out) / len(real_out)),
                 "d_fake": float(sum(f.detach().mean() for f in fake_out) / len(fake_out))}
        return loss, stats

    def generator_loss(self, real, cond, step):
        mask = onehot_cond(cond, self.shape.num_classes)
        fake, kl = self._fake(real, mask)
        fake_feats = self._d(fake, mask)
        loss = -sum(f[-1].mean() for f in fake_feats) / len(fake_feats)
        stats: dict[str, float] = {"d_fake_g": -float(loss.detach())}
        if self.config.feature_matching_weight > 0:
            with torch.no_grad():
                real_feats = self._d(real, mask)
            matching = sum(F.l1_loss(f, r) for fs, rs in zip(fake_feats, real_feats)
                           for f, r in zip(fs[:-1], rs[:-1])) / len(fake_feats)
            loss = loss + self.config.feature_matching_weight * matching
            stats["feature_matching"] = float(matching.detach())
        if self.config.vgg_loss_weight > 0:
            perceptual = self.vgg()(fake, real)
            loss = loss + self.config.vgg_loss_weight * perceptual
            stats["vgg"] = float(perceptual.detach())
        if kl is not None:
            loss = loss + self.options.kl_weight * kl
            stats["kl"] = float(kl.detach())
        return loss, stats

    def vgg(self) -> nn.Module:
        """The frozen VGG16 perceptual network (``medgan_lib.gans.perceptual``) from ``config.vgg_weights``."""
        if not self._vgg:
            from medgan_lib.gans.perceptual import VGGLoss

            self._vgg.append(VGGLoss(self.config.vgg_weights))
        return self._vgg[0].to(self.generator.out.weight.device)

    @torch.no_grad()
    def generate(self, n, cond=None, generator=None):
        """Images (N, C, H, W), one per one-hot mask of ``cond`` (the masks decide N, whatever ``n`` says);
        z ~ N(0, I) drawn from ``generator``."""
        mask = onehot_cond(cond, self.shape.num_classes)
        device = self.generator.out.weight.device
        z = torch.randn(mask.shape[0], self.latent_dim, generator=generator,
                        device=generator.device if generator is not None else device).to(device)
        was_training = self.generator.training
        self.generator.eval()
        try:
            return self.generator(z, mask.to(device))
        finally:
            self.generator.train(was_training)
