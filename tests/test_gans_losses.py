"""Every adversarial loss against hand-computed values; the gradient penalty against autograd."""

from __future__ import annotations

import math

import pytest
import torch

from medgan_lib.gans.losses import LOSSES, gradient_penalty

R = torch.tensor([1.0, -1.0])  # discriminator outputs on real samples
F_ = torch.tensor([0.5, -2.0])  # discriminator outputs on fake samples



def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def test_losses_registered():
    assert LOSSES.names() == ["dcgan", "hinge", "lsgan", "wgan"]


def test_bce_loss_values():
    loss = LOSSES["dcgan"]
    d = (softplus(-1) + softplus(1)) / 2 + (softplus(0.5) + softplus(-2)) / 2
    assert float(loss.discriminator(R, F_)) == pytest.approx(d, rel=1e-6)
    g = (softplus(-0.5) + softplus(2)) / 2  # non-saturating: -log sigmoid(D(G(z)))
    assert float(loss.generator(F_)) == pytest.approx(g, rel=1e-6)
    smooth_real = sum(-(0.9 * math.log(sigmoid(r)) + 0.1 * math.log(1 - sigmoid(r))) for r in (1.0, -1.0)) / 2
    d_smooth = smooth_real + (softplus(0.5) + softplus(-2)) / 2
    assert float(loss.discriminator(R, F_, smoothing=True)) == pytest.approx(d_smooth, rel=1e-6)
    assert loss.readout(torch.tensor([0.0, 0.0])) == pytest.approx(0.5)


def test_lsgan_loss_values():
    loss = LOSSES["lsgan"]
    assert float(loss.discriminator(R, F_)) == pytest.approx(0.5 * (0 + 4) / 2 + 0.5 * (0.25 + 4) / 2)
    assert float(loss.discriminator(R, F_, smoothing=True)) == pytest.approx(0.5 * (0.01 + 3.61) / 2 + 0.5 * 4.25 / 2)
    assert float(loss.generator(F_)) == pytest.approx(0.5 * (0.25 + 9) / 2)


def test_wgan_and_hinge_loss_values():
    assert float(LOSSES["wgan"].discriminator(R, F_)) == pytest.approx(-0.75 - 0.0)
    assert float(LOSSES["wgan"].generator(F_)) == pytest.approx(0.75)
    assert float(LOSSES["hinge"].discriminator(R, F_)) == pytest.approx((0 + 2) / 2 + (1.5 + 0) / 2)
    assert float(LOSSES["hinge"].generator(F_)) == pytest.approx(0.75)


def test_gradient_penalty_of_linear_critic_is_exact():
    w = torch.tensor([[3.0, 4.0]])  # ||grad|| = 5 everywhere -> penalty (5 - 1)^2 = 16
    critic = lambda x: (x * w).sum(1)  # noqa: E731
    real, fake = torch.randn(6, 2), torch.randn(6, 2)
    assert float(gradient_penalty(critic, real, fake)) == pytest.approx(16.0)


def test_gradient_penalty_matches_per_sample_autograd_reference():
    torch.manual_seed(0)
    critic = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.Tanh(), torch.nn.Flatten(), torch.nn.Linear(3 * 4 * 4, 1))
    real, fake = torch.randn(4, 2, 6, 6), torch.randn(4, 2, 6, 6)
    torch.manual_seed(1)
    penalty = gradient_penalty(lambda x: critic(x).view(-1), real, fake)
    torch.manual_seed(1)
    alpha = torch.rand(4, 1, 1, 1)
    expected = []
    for i in range(4):
        x = (alpha[i] * real[i] + (1 - alpha[i]) * fake[i]).unsqueeze(0).requires_grad_(True)
        (grad,) = torch.autograd.grad(critic(x).sum(), x)
        expected.append((grad.norm() - 1) ** 2)
    assert float(penalty.detach()) == pytest.approx(float(torch.stack(expected).mean()), rel=1e-5)
    penalty.backward()  # create_graph: the penalty is differentiable w.r.t. the critic's weights
    assert critic[0].weight.grad is not None and critic[0].weight.grad.abs().sum() > 0
