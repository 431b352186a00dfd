"""The review's class-conditional GANs on skandarani's conv pair (AnbuDevi & Suganthi §3): cGAN (Mirza & Osindero
2014), ACGAN (Odena et al. 2017) and InfoGAN (Chen et al. 2016). Registered in ``GANS`` as cgan, acgan, infogan.

All three learn the joint image+mask tensor like the conv GANs and use the same BCE loss and DiffAugment. cGAN and
ACGAN are conditioned on each slice's image-level class (``PreparedDataset.classes``: ACDC's diagnostic group):
the generator reads the one-hot class beside z; cGAN's discriminator adds a class projection (Miyato & Koyama
2018, our choice of how D takes the label), ACGAN's predicts the class instead. InfoGAN is unconditional: it
draws its own categorical and continuous codes and a Q head on D's features recovers them (mutual information).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from medgan_lib import parallel
from medgan_lib.config import ConfigError
from medgan_lib.gans.base import GANS, DataShape
from medgan_lib.gans.conv import AdversarialGAN, ConvOptions
from medgan_lib.gans.networks import ConvDiscriminator, ConvGenerator


class HeadedDiscriminator(nn.Module):
    """The conv D with what a conditional GAN adds on its last feature map: a class projection (cGAN), and/or a
    linear head of ``outputs`` values (ACGAN's class logits; InfoGAN's code logits and means)."""

    def __init__(self, trunk: ConvDiscriminator, projection_classes: int = 0, outputs: int = 0) -> None:
        super().__init__()
        self.trunk = trunk
        width = trunk.head.in_channels * 4 * 4  # the 4x4 map the trunk's head reads
        self.embed = nn.Embedding(projection_classes, width) if projection_classes else None
        self.extra = nn.Linear(width, outputs) if outputs else None
        if self.embed is not None:
            nn.init.normal_(self.embed.weight, 0.0, 0.02)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None, heads: bool = False):
        """The realness logit (N,) (plus the class projection given ``labels``); with ``heads``, also the extra
        head's (N, outputs) values."""
        out, h = self.trunk(x, features=True)
        if self.embed is not None:
            if labels is None:
                raise ValueError("this discriminator projects the class: pass labels")
            out = out + (self.embed(labels) * h).sum(dim=1)
        return (out, self.extra(h)) if heads else out


class LabelledGAN(AdversarialGAN):
    """Shared logic: G reads z beside ``code_width`` code values; ``_codes`` says what they are for a batch."""

    code_width: int = 0

    def build(self, config: Any, shape: DataShape) -> tuple[nn.Module, nn.Module]:
        c, res = shape.joint_channels, shape.resolution
        init = dict(init=config.weight_init, gain=config.weight_init_gain)
        stride = self.options.stride
        g = ConvGenerator(config.latent_dim + self.code_width, c, res, config.filters_g, config.activation_g,
                          config.norm_g, config.spectral_norm_g, **init, stride=stride)
        trunk = ConvDiscriminator(c, res, config.filters_d, config.activation_d, config.norm_d,
                                  config.spectral_norm_d, **init, stride=stride)
        return g, self.discriminator_from(trunk, shape)

    def discriminator_from(self, trunk: ConvDiscriminator, shape: DataShape) -> nn.Module:
        raise NotImplementedError

    def _fake(self, z: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        return self.generator(torch.cat([z, codes], dim=1))

    @torch.no_grad()
    def generate(self, n, cond=None, generator=None):
        """``n`` samples for codes ``codes_for`` makes (given classes or codes decide the count, as SPADE's masks)."""
        codes = self.codes_for(n, cond, generator).to(self._device())
        z = torch.randn(len(codes), self.latent_dim, generator=generator).to(self._device())
        was_training = self.generator.training
        self.generator.eval()
        try:
            return self._fake(z, codes)
        finally:
            self.generator.train(was_training)

    def codes_for(self, n: int, cond: torch.Tensor | None, generator: torch.Generator | None) -> torch.Tensor:
        """(N, code_width) generator codes for ``generate``: from ``cond`` when given, else ``n`` drawn."""
        raise NotImplementedError


class ClassConditionalGAN(LabelledGAN):
    """G and D see each slice's image-level class (cGAN, ACGAN)."""

    class_conditional = True

    def __init__(self, config: Any, shape: DataShape) -> None:
        if shape.image_classes < 2:
            raise ConfigError(f"{config.gan} is conditioned on image-level classes, but the dataset has "
                              f"{shape.image_classes}; use a dataset with classes (cardiac_groups_phantom, acdc)")
        self.code_width = shape.image_classes
        super().__init__(config, shape)

    def training_pair(self, images, masks, classes=None, patients=None):
        """D sees the joint tensor; G (and cGAN's D) is given each slice's class."""
        if classes is None:
            raise ValueError(f"{type(self).__name__} needs each slice's image-level class; these slices have none")
        joint, _ = super().training_pair(images, masks)
        return joint, np.asarray(classes, dtype=np.int64)

    def sample_condition(self, n, masks, classes, generator):
        if masks is not None:
            raise ValueError(f"{type(self).__name__} draws its own masks; masks must be None")
        if classes is None:  # uniform over the classes
            return torch.randint(self.shape.image_classes, (n,), generator=generator)
        classes = torch.as_tensor(np.asarray(classes), dtype=torch.int64)
        if classes.shape != (n,) or classes.min() < 0 or classes.max() >= self.shape.image_classes:
            raise ValueError(f"classes must be {n} indices in [0, {self.shape.image_classes}), got "
                             f"{classes.tolist()[:10]}")
        return classes

    def codes_for(self, n, cond, generator):
        if cond is None or cond.dim() != 1:
            raise ValueError(f"{type(self).__name__} generates for given classes: pass cond = (N,) class indices")
        return F.one_hot(cond.long(), self.shape.image_classes).float()

    def critic(self, real, cond):
        return self.discriminator(real, cond)

    def _d(self, x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        raise NotImplementedError

    def discriminator_loss(self, real, cond, step):
        """Fakes of the batch's own classes (the data's class mix), as the real slices D is shown with them."""
        z = parallel.randn(real.shape[0], self.latent_dim, device=real.device)
        fake = self._fake(z, F.one_hot(cond, self.shape.image_classes).float())
        self._fake_for_generator = fake
        (d_real, aux_real), (d_fake, aux_fake) = self._d(self._augment(real), cond), self._d(
            self._augment(fake.detach()), cond)
        loss = self.loss.discriminator(d_real, d_fake, self.config.label_smoothing)
        stats = {"d_real": self.loss.readout(d_real), "d_fake": self.loss.readout(d_fake)}
        if aux_real is not None:
            aux = F.cross_entropy(aux_real, cond) + F.cross_entropy(aux_fake, cond)
            loss = loss + self.options.aux_weight * aux
            stats["aux_loss"] = float(aux.detach())
            stats["aux_accuracy_real"] = float((aux_real.argmax(1) == cond).float().mean())
        return loss, stats

    def generator_loss(self, real, cond, step):
        fake, self._fake_for_generator = getattr(self, "_fake_for_generator", None), None
        if fake is None or fake.shape[0] != real.shape[0]:
            z = parallel.randn(real.shape[0], self.latent_dim, device=real.device)
            fake = self._fake(z, F.one_hot(cond, self.shape.image_classes).float())
        d_fake, aux_fake = self._d(self._augment(fake), cond)
        loss = self.loss.generator(d_fake)
        stats = {"d_fake_g": self.loss.readout(d_fake)}
        if aux_fake is not None:
            aux = F.cross_entropy(aux_fake, cond)
            loss = loss + self.options.aux_weight * aux
            stats["aux_loss_g"] = float(aux.detach())
        return loss, stats


@GANS.register("cgan")
class CGAN(ClassConditionalGAN):
    """Conditional GAN (Mirza & Osindero 2014): the class one-hot beside z in G; D with a class projection."""

    def discriminator_from(self, trunk, shape):
        return HeadedDiscriminator(trunk, projection_classes=shape.image_classes)

    def _d(self, x, labels):
        return self.discriminator(x, labels), None


@dataclasses.dataclass
class ACGANOptions(ConvOptions):
    aux_weight: float = 1.0  # weight of the auxiliary classification loss (Odena et al.: the two log-likelihoods summed)


@GANS.register("acgan")
class ACGAN(ClassConditionalGAN):
    """Auxiliary-classifier GAN (Odena et al. 2017): the class one-hot beside z in G; D also predicts the class of
    real and generated slices, and G is trained to make its class recognisable."""

    Options = ACGANOptions

    def discriminator_from(self, trunk, shape):
        return HeadedDiscriminator(trunk, outputs=shape.image_classes)

    def _d(self, x, labels):
        return self.discriminator(x, heads=True)

    def critic(self, real, cond):
        return self.discriminator(real)


@dataclasses.dataclass
class InfoGANOptions(ConvOptions):
    categorical: int = 5  # values of the categorical code (ours: ACDC's five groups, to see whether it finds them)
    continuous: int = 2  # continuous codes, each uniform on [-1, 1] (Chen et al.: two for MNIST)
    info_weight: float = 1.0  # lambda of the categorical code's mutual-information term (Chen et al. §6: 1)
    continuous_weight: float = 0.1  # ours: Chen et al. advise a smaller lambda for continuous codes

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.categorical < 2 and self.continuous < 1:
            raise ConfigError("InfoGAN needs a code: categorical >= 2 or continuous >= 1")


@GANS.register("infogan")
class InfoGAN(LabelledGAN):
    """InfoGAN (Chen et al. 2016): G reads z, a categorical code c and continuous codes u; a Q head on D's features
    predicts (c, u) from G's output, and both D's trunk with Q (D step) and G (G step) minimise its error, a
    lower bound on the mutual information I(c, u; G(z, c, u)). Unconditional: it samples like the conv GANs."""

    Options = InfoGANOptions

    def __init__(self, config: Any, shape: DataShape) -> None:
        options = config.options(type(self))
        self.code_width = options.categorical * (options.categorical >= 2) + options.continuous
        super().__init__(config, shape)

    def discriminator_from(self, trunk, shape):
        return HeadedDiscriminator(trunk, outputs=self.code_width)

    def critic(self, real, cond):
        return self.discriminator(real)

    @property
    def categories(self) -> int:
        return self.options.categorical if self.options.categorical >= 2 else 0

    def make_codes(self, category: torch.Tensor | None, continuous: torch.Tensor) -> torch.Tensor:
        """G's code input: one-hot ``category`` (N,) then ``continuous`` (N, continuous)."""
        parts = [F.one_hot(category.long(), self.categories).float()] if self.categories else []
        return torch.cat(parts + [continuous.float()], dim=1)

    def _draw(self, n: int, device) -> tuple[torch.Tensor | None, torch.Tensor]:
        category = parallel.randint(0, self.categories, n, device=device) if self.categories else None
        return category, parallel.rand(n, self.options.continuous, device=device) * 2 - 1

    def _information(self, q: torch.Tensor, category: torch.Tensor | None, continuous: torch.Tensor
                     ) -> tuple[torch.Tensor, dict[str, float]]:
        """The mutual-information term: cross-entropy of the categorical code, squared error of the continuous
        ones (a fixed-variance Gaussian Q, as Chen et al.)."""
        k = self.categories
        loss, stats = q.new_zeros(()), {}
        if k:
            ce = F.cross_entropy(q[:, :k], category)
            loss = loss + self.options.info_weight * ce
            stats["info_categorical"] = float(ce.detach())
        if self.options.continuous:
            mse = F.mse_loss(q[:, k:], continuous)
            loss = loss + self.options.continuous_weight * mse
            stats["info_continuous"] = float(mse.detach())
        return loss, stats

    def discriminator_loss(self, real, cond, step):
        z = parallel.randn(real.shape[0], self.latent_dim, device=real.device)
        category, continuous = self._draw(real.shape[0], real.device)
        fake = self._fake(z, self.make_codes(category, continuous))
        self._fake_for_generator = (fake, category, continuous)
        d_real = self.discriminator(self._augment(real))
        d_fake, q = self.discriminator(self._augment(fake.detach()), heads=True)
        loss = self.loss.discriminator(d_real, d_fake, self.config.label_smoothing)
        info, stats = self._information(q, category, continuous)
        return loss + info, {"d_real": self.loss.readout(d_real), "d_fake": self.loss.readout(d_fake), **stats}

    def generator_loss(self, real, cond, step):
        kept, self._fake_for_generator = getattr(self, "_fake_for_generator", None), None
        if kept is None or kept[0].shape[0] != real.shape[0]:
            z = parallel.randn(real.shape[0], self.latent_dim, device=real.device)
            category, continuous = self._draw(real.shape[0], real.device)
            kept = (self._fake(z, self.make_codes(category, continuous)), category, continuous)
        fake, category, continuous = kept
        d_fake, q = self.discriminator(self._augment(fake), heads=True)
        info, stats = self._information(q, category, continuous)
        loss = self.loss.generator(d_fake) + info
        return loss, {"d_fake_g": self.loss.readout(d_fake), **{f"{k}_g": v for k, v in stats.items()}}

    def codes_for(self, n, cond, generator):
        """Codes drawn from their priors (``cond`` None), or given as ``cond`` = (n, code_width) (traversals)."""
        if cond is not None:
            if cond.dim() != 2 or cond.shape[1] != self.code_width:
                raise ValueError(f"infogan codes must be (N, {self.code_width}), got {tuple(cond.shape)}")
            return cond.float()
        category = torch.randint(self.categories, (n,), generator=generator) if self.categories else None
        return self.make_codes(category, torch.rand(n, self.options.continuous, generator=generator) * 2 - 1)

    @torch.no_grad()
    def traverse(self, n: int, code: str, values: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Samples varying one code with z and the other codes fixed (Chen et al. Figure 2): ``code`` is
        "categorical" (``values``: categories) or "continuous_<i>" (``values`` in [-1, 1]); returns images and masks
        of shape (len(values), n, ...): row j holds the same n latents (drawn from ``seed``) at value j."""
        index = int(code.split("_")[1]) if code.startswith("continuous_") and code[11:].isdigit() else -1
        if not ((code == "categorical" and self.categories) or 0 <= index < self.options.continuous):
            raise ValueError(f"unknown InfoGAN code {code!r}; this one has "
                             + ("categorical, " if self.categories else "")
                             + f"continuous_0..continuous_{self.options.continuous - 1}")
        others = torch.Generator().manual_seed(seed + 1)
        category = torch.randint(max(self.categories, 1), (n,), generator=others)
        continuous = torch.rand(n, self.options.continuous, generator=others) * 2 - 1
        images, masks = [], []
        for value in values:
            cat, cont = category.clone(), continuous.clone()
            if index < 0:
                cat[:] = int(value)
            else:
                cont[:, index] = float(value)
            codes = self.make_codes(cat, cont).to(self._device())
            fake = self.generate(n, codes, torch.Generator().manual_seed(seed))  # the same z at every value
            image, mask = self.decode(fake, None)
            images.append(image)
            masks.append(mask)
        return np.stack(images), np.stack(masks)
