"""Augmentations: DiffAugment (differentiable, on every discriminator input, real and fake alike; Zhao et
al. 2020) and classic augmentation of real batches (random flips and shifts of image and mask together).

Colour transforms touch the image channels only; geometric ones move image and mask channels together.
Random draws use the global torch RNG, so they are seeded and restored with the run, and draw for the whole
global batch when training runs on several processes (medgan_lib.parallel).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from medgan_lib import parallel


def _brightness(x: torch.Tensor) -> torch.Tensor:
    return x + (parallel.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype) - 0.5)


def _saturation(x: torch.Tensor) -> torch.Tensor:
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * (parallel.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype) * 2) + mean


def _contrast(x: torch.Tensor) -> torch.Tensor:
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (parallel.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype) + 0.5) + mean


def color(x: torch.Tensor, image_channels: int) -> torch.Tensor:
    """Random brightness, saturation (colour images only) and contrast of the image channels."""
    img = _brightness(x[:, :image_channels])
    if image_channels > 1:
        img = _saturation(img)
    img = _contrast(img)
    return torch.cat([img, x[:, image_channels:]], dim=1)


def _shift(x: torch.Tensor, ratio: float, padding: str) -> torch.Tensor:
    """Shift each sample by a random whole number of pixels, up to ``ratio`` of its size."""
    n, _, h, w = x.shape
    limit = torch.tensor([w * ratio, h * ratio], device=x.device)
    shift = torch.round((parallel.rand(n, 2, device=x.device) * 2 - 1) * limit)  # pixels (dx, dy)
    theta = torch.zeros(n, 2, 3, device=x.device, dtype=x.dtype)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    theta[:, 0, 2] = -shift[:, 0] * 2.0 / w
    theta[:, 1, 2] = -shift[:, 1] * 2.0 / h
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="nearest", padding_mode=padding, align_corners=False)


def translation(x: torch.Tensor, image_channels: int, ratio: float = 0.125) -> torch.Tensor:
    """Shift each sample by up to ``ratio`` of its size (whole pixels), zero-filled."""
    return _shift(x, ratio, "zeros")


def cutout(x: torch.Tensor, image_channels: int, ratio: float = 0.5) -> torch.Tensor:
    """Zero a random square of side ``ratio`` x size in each sample (all channels)."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio), int(w * ratio)
    y0 = parallel.randint(0, h - ch + 1, n, 1, 1, device=x.device)
    x0 = parallel.randint(0, w - cw + 1, n, 1, 1, device=x.device)
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    inside = (ys >= y0) & (ys < y0 + ch) & (xs >= x0) & (xs < x0 + cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


POLICIES = {"color": color, "translation": translation, "cutout": cutout}


def diff_augment(x: torch.Tensor, policy: list[str], image_channels: int) -> torch.Tensor:
    """Apply the transforms of ``policy`` in order; differentiable with respect to ``x``."""
    for name in policy:
        x = POLICIES[name](x, image_channels)
    return x


def classic_augment(x: torch.Tensor, max_shift: float = 0.0625) -> torch.Tensor:
    """Classic augmentation of a real batch: random horizontal flip and a small shift of image+mask,
    with edge padding (so background stays background)."""
    flip = parallel.rand(x.shape[0], device=x.device) < 0.5
    x = torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)
    return _shift(x, max_shift, "border")
