"""FIR resampling of StyleGAN2 (Karras et al. 2020): 2x up/down with a separable low-pass filter.

The official networks resample with the binomial filter [1, 3, 3, 1] (``upfirdn2d``): upsampling inserts
zeros and filters with gain 4 (1 pixel becomes 4), downsampling filters then keeps every second pixel.
Here the filter is a depthwise convolution applied per axis, in plain PyTorch (no custom CUDA kernels).
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

BLUR_TAPS = (1.0, 3.0, 3.0, 1.0)  # StyleGAN2's resample filter, normalised to sum 1 per axis


def fir_filter(x: torch.Tensor, taps: Sequence[float] = BLUR_TAPS, pad: tuple[int, int] = (1, 1),
               down: int = 1, gain: float = 1.0) -> torch.Tensor:
    """Zero-pad (before, after) on both axes, filter every channel with the separable kernel
    ``outer(taps, taps)`` normalised to total ``gain``, and keep every ``down``-th pixel."""
    if x.ndim != 4:
        raise ValueError(f"fir_filter: expected an (N, C, H, W) tensor, got shape {tuple(x.shape)}")
    c = x.shape[1]
    k = torch.tensor(taps, dtype=x.dtype, device=x.device)
    k = k * (gain ** 0.5 / k.sum())  # the 2-D kernel is the product of the two axes' kernels
    x = F.pad(x, [pad[0], pad[1], pad[0], pad[1]])
    x = F.conv2d(x, k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), stride=(1, down), groups=c)  # along W
    return F.conv2d(x, k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), stride=(down, 1), groups=c)  # along H


def upsample2d(x: torch.Tensor, taps: Sequence[float] = BLUR_TAPS) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, 2H, 2W): zero insertion and the filter with gain 4, done in one step per axis
    as a stride-2 depthwise transposed convolution (same numbers as inserting zeros, then ``fir_filter``)."""
    if x.ndim != 4 or len(taps) % 2:
        raise ValueError(f"upsample2d: expected an (N, C, H, W) tensor and an even number of taps, got shape "
                         f"{tuple(x.shape)} and {len(taps)} taps")
    c = x.shape[1]
    k = torch.tensor(taps, dtype=x.dtype, device=x.device)
    k = k * (2.0 / k.sum())  # gain 2 per axis, 4 in 2-D
    p = (len(taps) - 2) // 2  # output side (H - 1) * 2 + taps - 2p = 2H
    x = F.conv_transpose2d(x, k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), stride=(1, 2), padding=(0, p), groups=c)
    return F.conv_transpose2d(x, k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), stride=(2, 1), padding=(p, 0), groups=c)


def downsample2d(x: torch.Tensor, taps: Sequence[float] = BLUR_TAPS) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, H/2, W/2): the filter, then every second pixel."""
    fw = len(taps)
    return fir_filter(x, taps, pad=((fw - 1) // 2, (fw - 2) // 2), down=2)
