"""AdaS on problems with known optima, and its step-size adaptation."""

from __future__ import annotations

import copy

import pytest
import torch

from medgan_lib.optim import Adas

TARGET = torch.tensor([3.0, -2.0])



def quadratic(x):
    return (((x - TARGET) ** 2) * torch.tensor([1.0, 10.0])).sum()


def rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def minimise(f, start, steps, **kwargs):
    x = torch.tensor(start, requires_grad=True)
    opt = Adas([x], **kwargs)
    for _ in range(steps):
        opt.zero_grad()
        f(x).backward()
        opt.step()
    return x.detach(), float(f(x.detach())), opt


def test_quadratic_converges_to_its_minimum():
    x, value, _ = minimise(quadratic, [0.0, 0.0], 500, lr=1e-2)
    assert torch.allclose(x, TARGET, atol=1e-3) and value < 1e-6


def test_rosenbrock_reaches_the_valley_minimum_and_beats_fixed_steps():
    x, value, _ = minimise(rosenbrock, [-1.0, 1.0], 3000, lr=1e-3)
    assert torch.allclose(x, torch.tensor([1.0, 1.0]), atol=0.05)
    _, fixed_value, _ = minimise(rosenbrock, [-1.0, 1.0], 3000, lr=1e-3, step_lr=0.0)  # Adam without momentum
    assert value < fixed_value / 10


def test_step_sizes_grow_on_consistent_gradients_and_shrink_when_oscillating():
    _, _, opt = minimise(lambda x: 2.0 * x.sum(), [0.0], 50, lr=1e-3)  # constant slope: always agreeing
    assert float(opt.state[opt.param_groups[0]["params"][0]]["step_size"]) > 2e-3
    x = torch.tensor([0.3], requires_grad=True)
    opt = Adas([x], lr=1.0, step_lr=0.5)  # |x| with steps that overshoot: gradient sign alternates
    for _ in range(20):
        opt.zero_grad()
        x.abs().sum().backward()
        opt.step()
    assert float(opt.state[x]["step_size"]) < 1.0


def test_state_dict_round_trip_continues_identically():
    a = torch.tensor([0.5, 0.5], requires_grad=True)
    opt = Adas([a], lr=1e-2)
    for _ in range(5):
        opt.zero_grad(); rosenbrock(a).backward(); opt.step()  # noqa: E702
    b = a.detach().clone().requires_grad_(True)
    opt_b = Adas([b], lr=1e-2)
    opt_b.load_state_dict(copy.deepcopy(opt.state_dict()))  # as torch.save/load would
    for x, o in ((a, opt), (b, opt_b)):
        for _ in range(5):
            o.zero_grad(); rosenbrock(x).backward(); o.step()  # noqa: E702
    assert torch.equal(a, b)


@pytest.mark.parametrize("kwargs", [dict(lr=0.0), dict(lr=-1.0), dict(step_lr=-0.1), dict(betas=(1.0, 0.9))])
def test_bad_arguments_rejected(kwargs):
    with pytest.raises(ValueError, match="Adas"):
        Adas([torch.zeros(1, requires_grad=True)], **kwargs)
