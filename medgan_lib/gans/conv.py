"""The conv GANs of skandarani §3.2 (one DCGAN-style network pair, only the loss differs) and chetty's
Vanilla GAN (MLP pair, BCE loss). Registered in ``GANS`` as vanilla, dcgan, lsgan, wgan, wgan_gp, hinge.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import nn

from medgan_lib import parallel
from medgan_lib.gans.augment import diff_augment
from medgan_lib.gans.base import GANS, GAN, DataShape
from medgan_lib.gans.losses import LOSSES, gradient_penalty
from medgan_lib.gans.networks import ConvDiscriminator, ConvGenerator, MLPDiscriminator, MLPGenerator, strides


@dataclasses.dataclass
class ConvOptions:
    """Options of the conv pair (every other knob comes from TrainConfig)."""

    stride: int = 2  # resampling stride per layer (kernel 2x stride); 4 or 8: belmekki §III.F's shallower networks

    def __post_init__(self) -> None:
        strides(32, self.stride)  # a power of two >= 2, with a clear error otherwise


class AdversarialGAN(GAN):
    """Shared training logic: latent sampling, DiffAugment, the registered loss, gradient penalty,
    feature matching and VGG loss. Subclasses choose the networks (``build``) and the loss name."""

    Options: ClassVar[type] = ConvOptions
    loss_name: ClassVar[str] = "dcgan"
    use_gradient_penalty: ClassVar[bool] = False

    def __init__(self, config: Any, shape: DataShape) -> None:
        super().__init__()
        self.config, self.shape = config, shape
        self.options = config.options(type(self))
        self.loss = LOSSES[self.loss_name]
        self.latent_dim = config.latent_dim
        self.policy = config.policy() if config.diff_augment else []
        self.generator, self.discriminator = self.build(config, shape)
        self._vgg: list[nn.Module] = []  # built on first use, kept out of state_dict (it is frozen and external)

    def build(self, config: Any, shape: DataShape) -> tuple[nn.Module, nn.Module]:
        c, res = shape.joint_channels, shape.resolution
        init = dict(init=config.weight_init, gain=config.weight_init_gain)
        stride = self.options.stride
        g = ConvGenerator(config.latent_dim, c, res, config.filters_g, config.activation_g, config.norm_g,
                          config.spectral_norm_g, **init, stride=stride)
        d = ConvDiscriminator(c, res, config.filters_d, config.activation_d, config.norm_d, config.spectral_norm_d,
                              **init, stride=stride)
        return g, d

    def _device(self) -> torch.device:
        return next(self.generator.parameters()).device

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        return diff_augment(x, self.policy, self.shape.image_channels) if self.policy else x

    def discriminator_loss(self, real, cond, step):
        z = parallel.randn(real.shape[0], self.latent_dim, device=real.device)
        # Generated with its graph and shown to D detached; the following generator step reuses it, so an
        # iteration costs one generator forward, as in the reference DCGAN loop.
        fake = self.generator(z)
        self._fake_for_generator = fake
        fake = fake.detach()
        real_in, fake_in = self._augment(real), self._augment(fake)
        d_real, d_fake = self.discriminator(real_in), self.discriminator(fake_in)
        loss = self.loss.discriminator(d_real, d_fake, self.config.label_smoothing)
        stats = {"d_real": self.loss.readout(d_real), "d_fake": self.loss.readout(d_fake)}
        if self.use_gradient_penalty and self.config.gradient_penalty_weight > 0:
            penalty = gradient_penalty(self.discriminator, real_in, fake_in)
            loss = loss + self.config.gradient_penalty_weight * penalty
            stats["gradient_penalty"] = float(penalty.detach())
        return loss, stats

    def generator_loss(self, real, cond, step):
        fake, self._fake_for_generator = getattr(self, "_fake_for_generator", None), None
        if fake is None or fake.shape[0] != real.shape[0]:
            fake = self.generator(parallel.randn(real.shape[0], self.latent_dim, device=real.device))
        need_features = self.config.feature_matching_weight > 0
        out = self.discriminator(self._augment(fake), features=need_features)
        d_fake, fake_features = out if need_features else (out, None)
        loss = self.loss.generator(d_fake)
        stats = {"d_fake_g": self.loss.readout(d_fake)}
        if need_features:
            with torch.no_grad():
                _, real_features = self.discriminator(self._augment(real), features=True)
            matching = F.mse_loss(parallel.batch_mean(fake_features), parallel.batch_mean(real_features))
            loss = loss + self.config.feature_matching_weight * matching
            stats["feature_matching"] = float(matching.detach())
        if self.config.vgg_loss_weight > 0:
            ic = self.shape.image_channels
            perceptual = self.vgg()(fake[:, :ic], real[:, :ic])
            loss = loss + self.config.vgg_loss_weight * perceptual
            stats["vgg"] = float(perceptual.detach())
        return loss, stats

    def vgg(self) -> nn.Module:
        """The frozen VGG16 perceptual network, loaded from ``config.vgg_weights`` on first use."""
        if not self._vgg:
            from medgan_lib.gans.perceptual import VGGLoss

            self._vgg.append(VGGLoss(self.config.vgg_weights))
        return self._vgg[0].to(self._device())

    @torch.no_grad()
    def generate(self, n, cond=None, generator=None):
        z = torch.randn(n, self.latent_dim, generator=generator).to(self._device())
        was_training = self.generator.training
        self.generator.eval()
        try:
            return self.generator(z)
        finally:
            self.generator.train(was_training)


@GANS.register("dcgan")
class DCGAN(AdversarialGAN):
    """DCGAN (Radford et al.): BCE loss with the non-saturating generator loss."""

    loss_name = "dcgan"


@GANS.register("lsgan")
class LSGAN(AdversarialGAN):
    """Least-squares GAN (Mao et al.)."""

    loss_name = "lsgan"


@GANS.register("hinge")
class HingeGAN(AdversarialGAN):
    """Geometric/Hinge GAN (Lim & Ye)."""

    loss_name = "hinge"


@GANS.register("wgan")
class WGAN(AdversarialGAN):
    """Wasserstein GAN (Arjovsky et al.): critic weights clipped to [-c, c] after each critic step."""

    loss_name = "wgan"
    config_defaults: ClassVar[dict[str, Any]] = {"n_critic": 5, "lr_g": 5e-5, "lr_d": 5e-5,
                                                 "betas_g": (0.5, 0.999), "betas_d": (0.5, 0.999)}

    @torch.no_grad()
    def after_discriminator_step(self, step):
        c = self.config.clip_value
        if c > 0:
            for p in self.discriminator.parameters():
                p.clamp_(-c, c)


@dataclasses.dataclass
class MLPOptions:
    """Widths of an MLP network pair (chetty's PyTorch-GAN generators are 128-256-512-1024, D 512-256)."""

    hidden: tuple[int, ...] = (256, 512, 1024)  # generator hidden widths
    hidden_d: tuple[int, ...] = ()  # discriminator hidden widths; () = the generator's reversed


def mlp_pair(config: Any, shape: DataShape, options: MLPOptions) -> tuple[nn.Module, nn.Module]:
    """The fully connected G and D of the Vanilla GAN (and of chetty's WGAN-GP)."""
    c, res, hidden = shape.joint_channels, shape.resolution, tuple(options.hidden)
    init = dict(init=config.weight_init, gain=config.weight_init_gain)
    g = MLPGenerator(config.latent_dim, c, res, hidden, config.activation_g, config.norm_g,
                     config.spectral_norm_g, **init)
    d = MLPDiscriminator(c, res, tuple(options.hidden_d) or hidden[::-1], config.activation_d, config.norm_d,
                         config.spectral_norm_d, **init)
    return g, d


@dataclasses.dataclass
class WGANGPOptions(MLPOptions, ConvOptions):
    """``networks="mlp"``: chetty's WGAN-GP (PyTorch-GAN wgan_gp.py), the Vanilla MLP pair with a linear critic;
    ``hidden``/``hidden_d`` apply to it only. The default is skandarani's conv pair."""

    networks: Literal["conv", "mlp"] = "conv"


@GANS.register("wgan_gp")
class WGANGP(AdversarialGAN):
    """WGAN with gradient penalty (Gulrajani et al.); the critic has no batch norm (it breaks the penalty)."""

    Options = WGANGPOptions
    loss_name = "wgan"
    use_gradient_penalty = True
    config_defaults: ClassVar[dict[str, Any]] = {"n_critic": 5, "lr_g": 1e-4, "lr_d": 1e-4, "norm_d": "instance",
                                                 "betas_g": (0.5, 0.9), "betas_d": (0.5, 0.9)}

    def build(self, config, shape):
        if self.options.networks == "mlp":
            return mlp_pair(config, shape, self.options)
        return super().build(config, shape)


@GANS.register("vanilla")
class VanillaGAN(AdversarialGAN):
    """Goodfellow et al.'s GAN with MLP generator and discriminator (chetty §2.2), BCE loss."""

    Options = MLPOptions
    loss_name = "dcgan"
    config_defaults: ClassVar[dict[str, Any]] = {"activation_g": "leaky_relu", "activation_d": "leaky_relu",
                                                 "norm_g": "none", "norm_d": "none"}

    def build(self, config, shape):
        return mlp_pair(config, shape, self.options)
