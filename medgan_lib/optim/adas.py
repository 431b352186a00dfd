"""AdaS, the adaptive step-size optimiser used by belmekki (YanaiEliyahu/AdasOptimizer), written from its
description as a ``torch.optim.Optimizer``.

Every parameter element has its own step size s. Gradient descent on s for F(x - s * d) gives
s(n+1) = s(n) + f'(x) . f'(x + f'(x) * s(n)): the step grows while the new gradient agrees with the
direction just taken and shrinks when it disagrees. As described, f'(x) (the direction of the last
step) is replaced by a running average m of the gradient, and f'(x + f'(x) * s) by the current gradient g.
Both are normalised by the RMS of the gradient, and the parameter update is Adam's without momentum:

    u    = g / (sqrt(v_hat) + eps)             v: running average of g^2 (bias-corrected)
    s   <- clamp(s + step_lr * lr * (m_hat_prev / (sqrt(v_hat) + eps)) * u, min_step, max_step)
    x   <- x - s * u
    m   <- beta1 * m + (1 - beta1) * g          (used at the next step)
"""

from __future__ import annotations

import torch
from torch.optim import Optimizer


class Adas(Optimizer):
    """Per-element adaptive step sizes (``lr`` is the initial step size; steps stay within
    [lr * min_scale, lr * max_scale])."""

    def __init__(self, params, lr: float = 1e-3, step_lr: float = 0.05, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, min_scale: float = 0.0, max_scale: float = 100.0) -> None:
        if not lr > 0:
            raise ValueError(f"Adas: lr must be > 0, got {lr}")
        if step_lr < 0:
            raise ValueError(f"Adas: step_lr must be >= 0, got {step_lr}")
        if not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"Adas: betas must lie in [0, 1), got {betas}")
        if not 0.0 <= min_scale <= 1.0 <= max_scale:
            raise ValueError(f"Adas: need 0 <= min_scale <= 1 <= max_scale, got {min_scale}, {max_scale}")
        super().__init__(params, dict(lr=lr, step_lr=step_lr, betas=tuple(betas), eps=eps, min_scale=min_scale,
                                      max_scale=max_scale))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, eps = group["lr"], group["eps"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["step_size"] = torch.full_like(p, lr)
                    state["grad_avg"] = torch.zeros_like(p)
                    state["sq_avg"] = torch.zeros_like(p)
                state["step"] += 1
                t = state["step"]
                sq_avg, grad_avg, step_size = state["sq_avg"], state["grad_avg"], state["step_size"]
                sq_avg.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                denom = (sq_avg / (1 - beta2 ** t)).sqrt_().add_(eps)
                direction = g / denom
                if t > 1:  # adapt s from the agreement of the previous average direction and the new gradient
                    previous = grad_avg / (1 - beta1 ** (t - 1)) / denom
                    step_size.add_(previous * direction, alpha=group["step_lr"] * lr)
                    step_size.clamp_(lr * group["min_scale"], lr * group["max_scale"])
                p.sub_(step_size * direction)
                grad_avg.mul_(beta1).add_(g, alpha=1 - beta1)
        return loss
