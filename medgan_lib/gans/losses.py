"""Adversarial losses with one interface, in the ``LOSSES`` registry (skandarani §2.1).

Each loss maps raw discriminator outputs (logits/critic values) to the D and G losses. ``readout``
turns raw outputs into the reported D(x), D(G(z)): probabilities for the BCE loss, raw values otherwise.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from medgan_lib import parallel
from medgan_lib.registry import Registry

SMOOTH_REAL = 0.9  # one-sided label smoothing target for real samples (Salimans et al. 2016)


class Loss:
    """Base interface: ``discriminator(d_real, d_fake, smoothing)`` and ``generator(d_fake)``, both scalars;
    ``chance_d_loss``: the D loss when D gives real and fake images the same best constant output (it cannot tell
    them apart), the reference line of the loss plots."""

    chance_d_loss: float = float("nan")

    def discriminator(self, d_real: torch.Tensor, d_fake: torch.Tensor, smoothing: bool = False) -> torch.Tensor:
        raise NotImplementedError

    def generator(self, d_fake: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def readout(self, d_out: torch.Tensor) -> float:
        return float(d_out.detach().float().mean())


LOSSES: Registry[Loss] = Registry("loss")  # filled at the end of this module


class BCELoss(Loss):
    """Original GAN loss (binary cross-entropy) with the non-saturating generator loss -log D(G(z))."""

    chance_d_loss = 2 * math.log(2)  # D(x) = D(G(z)) = 1/2

    def discriminator(self, d_real, d_fake, smoothing=False):
        target = torch.full_like(d_real, SMOOTH_REAL if smoothing else 1.0)
        return (F.binary_cross_entropy_with_logits(d_real, target)
                + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))

    def generator(self, d_fake):
        return F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake))

    def readout(self, d_out):
        return float(torch.sigmoid(d_out.detach().float()).mean())


class LeastSquaresLoss(Loss):
    """LSGAN (Mao et al.): D pushes real to 1 and fake to 0 in mean squared error; G pushes fake to 1."""

    chance_d_loss = 0.25  # D outputs 1/2 for both

    def discriminator(self, d_real, d_fake, smoothing=False):
        target = SMOOTH_REAL if smoothing else 1.0
        return 0.5 * ((d_real - target) ** 2).mean() + 0.5 * (d_fake ** 2).mean()

    def generator(self, d_fake):
        return 0.5 * ((d_fake - 1.0) ** 2).mean()


class WassersteinLoss(Loss):
    """WGAN critic loss E[D(fake)] - E[D(real)]; G maximises E[D(fake)]. Label smoothing does not apply."""

    chance_d_loss = 0.0  # equal critic scores (plus any gradient penalty)

    def discriminator(self, d_real, d_fake, smoothing=False):
        return d_fake.mean() - d_real.mean()

    def generator(self, d_fake):
        return -d_fake.mean()


class HingeLoss(Loss):
    """Geometric GAN hinge loss: D: E[relu(1 - D(real))] + E[relu(1 + D(fake))]; G: -E[D(fake)]."""

    chance_d_loss = 2.0  # D outputs 0 for both

    def discriminator(self, d_real, d_fake, smoothing=False):
        return F.relu(1.0 - d_real).mean() + F.relu(1.0 + d_fake).mean()

    def generator(self, d_fake):
        return -d_fake.mean()


# Losses are stateless: the registry holds one instance per name.
LOSSES.register("dcgan")(BCELoss())
LOSSES.register("lsgan")(LeastSquaresLoss())
LOSSES.register("wgan")(WassersteinLoss())
LOSSES.register("hinge")(HingeLoss())


def gradient_penalty(discriminator, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """WGAN-GP penalty E[(||grad_x D(x_hat)||_2 - 1)^2] at random interpolates x_hat of real and fake."""
    alpha = parallel.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
    x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    out = discriminator(x_hat)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1.0) ** 2).mean()
