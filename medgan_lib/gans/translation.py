"""The review's image-to-image translation GANs (AnbuDevi & Suganthi §3): pix2pix (Isola et al. 2017, paired) and
CycleGAN (Zhu et al. 2017, unpaired). Registered in ``GANS`` as pix2pix, cyclegan.

They learn a map between two image channels of one dataset (the two-modality phantom: channel 0 MR, channel 1 CT;
``source_channel``/``target_channel`` choose the direction). D sees target-domain images, G is conditioned on
source-domain images (``training_pair``). pix2pix is shown aligned pairs; CycleGAN never is: its source and target
slices come from disjoint halves of the training patients, as the CT and MR of a real unpaired dataset (CHAOS)
come from different patients. On such a dataset itself (``chaos``: each slice holds one modality's channel, its
image-level class naming which), CycleGAN takes each domain's slices by that class and pix2pix refuses it.
Neither draws samples from noise: ``translate(images)`` is how they are used, and ``sample`` refuses them.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from medgan_lib.config import ConfigError
from medgan_lib.gans.augment import diff_augment
from medgan_lib.gans.base import GAN, GANS, DataShape
from medgan_lib.gans.layers import init_weights
from medgan_lib.gans.networks import PatchDiscriminator


class UNetGenerator(nn.Module):
    """pix2pix's U-Net (Isola et al. §3.2.1): strided 4x4 conv encoder down to 1x1 with batch norm and LeakyReLU,
    a transposed-conv decoder with skip connections, dropout on its first three levels (the only noise, as in
    pix2pix) and tanh; channels double from ``filters`` to 8 x ``filters``."""

    def __init__(self, in_channels: int, out_channels: int, resolution: int, filters: int = 64,
                 dropout: float = 0.5) -> None:
        super().__init__()
        depth = int(np.log2(resolution))
        widths = [filters * min(2 ** i, 8) for i in range(depth)]
        self.down = nn.ModuleList()
        c = in_channels
        for i, w in enumerate(widths):
            layers: list[nn.Module] = [nn.Conv2d(c, w, 4, 2, 1, bias=i in (0, depth - 1))]
            if 0 < i < depth - 1:  # no norm on the first layer nor at 1x1 (a single value per channel)
                layers.append(nn.BatchNorm2d(w))
            layers.append(nn.LeakyReLU(0.2))
            self.down.append(nn.Sequential(*layers))
            c = w
        self.up = nn.ModuleList()
        for i in reversed(range(depth)):
            w_out = widths[i - 1] if i else out_channels
            c_in = widths[i] if i == depth - 1 else 2 * widths[i]
            if i == 0:
                self.up.append(nn.Sequential(nn.ConvTranspose2d(c_in, w_out, 4, 2, 1), nn.Tanh()))
                continue
            layers = [nn.ConvTranspose2d(c_in, w_out, 4, 2, 1, bias=False), nn.BatchNorm2d(w_out)]
            if dropout and depth - 1 - i < 3:
                layers.append(nn.Dropout(dropout))
            layers.append(nn.ReLU())
            self.up.append(nn.Sequential(*layers))
        init_weights(self, "normal", 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for layer in self.down:
            x = layer(x)
            skips.append(x)
        x = self.up[0](skips[-1])
        for layer, skip in zip(self.up[1:], reversed(skips[:-1])):
            x = layer(torch.cat([x, skip], dim=1))
        return x


@dataclasses.dataclass
class TranslationOptions:
    """Which channels are the two domains, and the PatchGAN's depth."""

    source_channel: int = 0  # the two-modality phantom: 0 = MR
    target_channel: int = 1  # 1 = CT
    discriminator_layers: int = 3  # PatchGAN conv layers (pix2pix's 70x70 at 256 px: 3; ours at 32-64 px: 3 as well)
    dropout: float = 0.5  # U-Net decoder dropout (pix2pix: 0.5)

    def __post_init__(self) -> None:
        if self.source_channel == self.target_channel or min(self.source_channel, self.target_channel) < 0:
            raise ConfigError(f"source_channel and target_channel must be two different channels, got "
                              f"{self.source_channel} and {self.target_channel}")


class TranslationGAN(GAN):
    """Shared: the two domains as channels of the data, translation, and refusing to sample from noise."""

    Options: ClassVar[type] = TranslationOptions
    translates: ClassVar[bool] = True

    def __init__(self, config: Any, shape: DataShape) -> None:
        super().__init__()
        self.config, self.shape = config, shape
        self.options = config.options(type(self))
        top = max(self.options.source_channel, self.options.target_channel)
        if top >= shape.image_channels:
            raise ConfigError(f"{config.gan} translates channel {self.options.source_channel} into channel "
                              f"{self.options.target_channel}, but the data has {shape.image_channels} image "
                              "channel(s); use a two-modality dataset (cardiac_mr_ct_phantom)")
        self.policy = config.policy() if config.diff_augment else []

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        return diff_augment(x, self.policy, x.shape[1]) if self.policy else x

    def domains(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(source, target) single-channel images of ``images``."""
        s, t = self.options.source_channel, self.options.target_channel
        images = np.asarray(images, dtype=np.float32)
        return np.ascontiguousarray(images[:, s:s + 1]), np.ascontiguousarray(images[:, t:t + 1])

    def training_pair(self, images, masks, classes=None, patients=None):
        """D sees target images; G is given source images (aligned pairs here; CycleGAN unpairs them)."""
        if classes is not None:
            raise ValueError(f"{type(self).__name__} learns from aligned pairs, but this dataset is unpaired (each "
                             "slice holds one modality, its class says which): use cyclegan")
        source, target = self.domains(images)
        return target, source

    def decode(self, fake, cond):
        """Translated images; their masks are those of the source images, unknown here (background)."""
        fake = np.clip(fake.float().cpu().numpy(), -1.0, 1.0)
        return fake, np.zeros((len(fake),) + fake.shape[2:], dtype=np.uint8)

    def sample_condition(self, n, masks, classes, generator):
        raise ValueError(f"{type(self).__name__} translates images and draws none from noise: use "
                         "gan.translate(source_images)")

    @torch.no_grad()
    def generate(self, n, cond=None, generator=None):
        """The translation of the source images ``cond`` (they decide N)."""
        if cond is None:
            raise ValueError(f"{type(self).__name__} translates: pass cond = source images (N, 1, H, W)")
        return self._translate(cond.to(self._device()))

    def _device(self) -> torch.device:
        return next(self.parameters()).device

    def _translate(self, source: torch.Tensor) -> torch.Tensor:
        net = self.forward_generator
        was_training = net.training
        net.eval()
        try:
            return net(source)
        finally:
            net.train(was_training)

    @property
    def forward_generator(self) -> nn.Module:
        """The source -> target network."""
        raise NotImplementedError

    @torch.no_grad()
    def translate(self, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """(N, 1, H, W) source-domain images in [-1, 1] -> their translations into the target domain."""
        images = np.asarray(images, dtype=np.float32)
        if images.ndim != 4 or images.shape[1] != 1:
            raise ValueError(f"translate expects (N, 1, H, W) source images, got {images.shape}")
        out = [self._translate(torch.from_numpy(images[i:i + batch_size]).to(self._device())).float().cpu()
               for i in range(0, len(images), batch_size)]
        return np.clip(torch.cat(out).numpy(), -1.0, 1.0) if out else images.copy()


@dataclasses.dataclass
class Pix2PixOptions(TranslationOptions):
    l1_weight: float = 100.0  # pix2pix's lambda for the L1 term


@GANS.register("pix2pix")
class Pix2Pix(TranslationGAN):
    """pix2pix: U-Net G(source) -> target, PatchGAN D on (source, target) pairs, BCE + lambda L1 (Isola et al.)."""

    Options = Pix2PixOptions
    config_defaults: ClassVar[dict[str, Any]] = {"lr_g": 2e-4, "lr_d": 2e-4, "betas_g": (0.5, 0.999),
                                                 "betas_d": (0.5, 0.999)}

    def __init__(self, config: Any, shape: DataShape) -> None:
        super().__init__(config, shape)
        self.generator = UNetGenerator(1, 1, shape.resolution, config.filters_g, self.options.dropout)
        self.discriminator = PatchDiscriminator(2, config.filters_d, self.options.discriminator_layers, False)

    @property
    def forward_generator(self):
        return self.generator

    def _d(self, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.discriminator(self._augment(torch.cat([source, target], dim=1)))[-1]

    def critic(self, real, cond):
        return self.discriminator(torch.cat([cond, real], dim=1))[-1].reshape(len(real), -1).mean(dim=1)

    def discriminator_loss(self, real, cond, step):
        fake = self.generator(cond)
        self._fake_for_generator = fake
        d_real, d_fake = self._d(cond, real), self._d(cond, fake.detach())
        loss = 0.5 * (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
                      + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
        return loss, {"d_real": float(torch.sigmoid(d_real.detach()).mean()),
                      "d_fake": float(torch.sigmoid(d_fake.detach()).mean())}

    def generator_loss(self, real, cond, step):
        fake, self._fake_for_generator = getattr(self, "_fake_for_generator", None), None
        if fake is None or fake.shape[0] != real.shape[0]:
            fake = self.generator(cond)
        d_fake = self._d(cond, fake)
        adversarial = F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake))
        l1 = F.l1_loss(fake, real)
        return adversarial + self.options.l1_weight * l1, {"d_fake_g": float(torch.sigmoid(d_fake.detach()).mean()),
                                                            "l1": float(l1.detach())}


@dataclasses.dataclass
class CycleGANOptions(TranslationOptions):
    cycle_weight: float = 10.0  # lambda of the cycle-consistency L1 terms (Zhu et al.)
    identity_weight: float = 0.5  # identity loss, as a share of cycle_weight (the official code's 0.5)
    pool_size: int = 50  # generated images kept per domain for D's updates (Shrivastava et al., as Zhu et al.)


class ImagePool(nn.Module):
    """The last ``size`` generated images of a domain; D is shown, per image, a stored one half the time (swapped
    for the new one) or the new one. Kept as buffers, so checkpoints hold it and resume is exact."""

    def __init__(self, size: int, shape: tuple[int, int, int]) -> None:
        super().__init__()
        self.size = size
        self.register_buffer("images", torch.zeros(size, *shape))
        self.register_buffer("count", torch.zeros((), dtype=torch.int64))

    @torch.no_grad()
    def query(self, fake: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return fake
        out = []
        for image in fake:
            n = int(self.count)
            if n < self.size:
                self.images[n] = image
                self.count += 1
                out.append(image)
            elif float(torch.rand(())) < 0.5:
                index = int(torch.randint(0, self.size, ()))
                out.append(self.images[index].clone())
                self.images[index] = image
            else:
                out.append(image)
        return torch.stack(out)


@GANS.register("cyclegan")
class CycleGAN(TranslationGAN):
    """CycleGAN: generators G: source -> target and F: target -> source, PatchGANs D_target and D_source,
    least-squares adversarial losses, cycle consistency F(G(x)) ~ x and G(F(y)) ~ y, the identity loss and image
    pools (Zhu et al.). Both generators share G's optimiser and both discriminators D's, as in the official code.
    The generators are U-Nets here (ours, the same as pix2pix's so the two compare on one architecture; Zhu et al.
    use ResNet generators)."""

    Options = CycleGANOptions
    config_defaults: ClassVar[dict[str, Any]] = {"lr_g": 2e-4, "lr_d": 2e-4, "betas_g": (0.5, 0.999),
                                                 "betas_d": (0.5, 0.999)}

    def __init__(self, config: Any, shape: DataShape) -> None:
        super().__init__(config, shape)
        r, o = shape.resolution, self.options
        self.generator = nn.ModuleDict({"to_target": UNetGenerator(1, 1, r, config.filters_g, o.dropout),
                                        "to_source": UNetGenerator(1, 1, r, config.filters_g, o.dropout)})
        self.discriminator = nn.ModuleDict({
            "target": PatchDiscriminator(1, config.filters_d, o.discriminator_layers, False),
            "source": PatchDiscriminator(1, config.filters_d, o.discriminator_layers, False)})
        self.pools = nn.ModuleDict({name: ImagePool(o.pool_size, (1, r, r)) for name in ("target", "source")})

    @property
    def forward_generator(self):
        return self.generator["to_target"]

    def training_pair(self, images, masks, classes=None, patients=None):
        """Unpaired: target images of the first half of the patients (in order of appearance), source images of
        the second half, each trimmed to the shorter; no slice is ever shown with its own counterpart. On an
        unpaired dataset (``classes``: the channel each slice holds) the target slices and the source slices."""
        source, target = self.domains(images)
        if classes is not None:
            first, second = (np.flatnonzero(np.asarray(classes) == c)
                             for c in (self.options.target_channel, self.options.source_channel))
        else:
            half = _patient_halves(len(images), patients)
            first, second = np.flatnonzero(half == 0), np.flatnonzero(half == 1)
        n = min(len(first), len(second))
        if n == 0:
            raise ValueError("cyclegan needs slices of at least two patients to unpair its domains")
        return np.ascontiguousarray(target[first[:n]]), np.ascontiguousarray(source[second[:n]])

    def critic(self, real, cond):
        return self.discriminator["target"](real)[-1].reshape(len(real), -1).mean(dim=1)

    def _d(self, name: str, x: torch.Tensor) -> torch.Tensor:
        return self.discriminator[name](self._augment(x))[-1]

    def discriminator_loss(self, real, cond, step):
        target, source = real, cond
        fake_target, fake_source = self.generator["to_target"](source), self.generator["to_source"](target)
        self._fakes_for_generator = (fake_target, fake_source)
        loss, stats = real.new_zeros(()), {}
        for name, real_x, fake_x in (("target", target, fake_target), ("source", source, fake_source)):
            shown = self.pools[name].query(fake_x.detach())
            d_real, d_fake = self._d(name, real_x), self._d(name, shown)
            loss = loss + 0.5 * (F.mse_loss(d_real, torch.ones_like(d_real)) + F.mse_loss(d_fake, torch.zeros_like(d_fake)))
            stats[f"d_real_{name}"], stats[f"d_fake_{name}"] = float(d_real.detach().mean()), float(d_fake.detach().mean())
        stats["d_real"], stats["d_fake"] = stats["d_real_target"], stats["d_fake_target"]
        return loss, stats

    def generator_loss(self, real, cond, step):
        target, source = real, cond
        kept, self._fakes_for_generator = getattr(self, "_fakes_for_generator", None), None
        if kept is None or kept[0].shape[0] != real.shape[0]:
            kept = (self.generator["to_target"](source), self.generator["to_source"](target))
        fake_target, fake_source = kept
        d_target, d_source = self._d("target", fake_target), self._d("source", fake_source)
        adversarial = F.mse_loss(d_target, torch.ones_like(d_target)) + F.mse_loss(d_source, torch.ones_like(d_source))
        cycle = (F.l1_loss(self.generator["to_source"](fake_target), source)
                 + F.l1_loss(self.generator["to_target"](fake_source), target))
        o = self.options
        loss = adversarial + o.cycle_weight * cycle
        stats = {"d_fake_g": float(d_target.detach().mean()), "cycle": float(cycle.detach())}
        if o.identity_weight > 0:
            identity = (F.l1_loss(self.generator["to_target"](target), target)
                        + F.l1_loss(self.generator["to_source"](source), source))
            loss = loss + o.cycle_weight * o.identity_weight * identity
            stats["identity"] = float(identity.detach())
        return loss, stats

    @torch.no_grad()
    def reconstruct(self, images: np.ndarray) -> np.ndarray:
        """F(G(x)) of source images: the cycle a trained CycleGAN should close."""
        forward = self.translate(images)
        back = self.generator["to_source"]
        was_training = back.training
        back.eval()
        try:
            out = back(torch.from_numpy(forward).to(self._device())).float().cpu().numpy()
        finally:
            back.train(was_training)
        return np.clip(out, -1.0, 1.0)


def _patient_halves(n: int, patients: np.ndarray | None) -> np.ndarray:
    """(n,) 0 or 1: which half of the patients (in order of first appearance) each slice's patient is in; without
    patient ids, the first and second half of the slices."""
    if patients is None:
        return (np.arange(n) >= (n + 1) // 2).astype(int)
    order = list(dict.fromkeys(np.asarray(patients).tolist()))
    second = set(order[(len(order) + 1) // 2:])
    return np.array([p in second for p in np.asarray(patients).tolist()], dtype=int)
