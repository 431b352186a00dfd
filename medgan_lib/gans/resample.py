"""FIR resampling of StyleGAN2 (Karras et al. 2020): 2x up/down with a separable low-pass filter.

The official networks resample with the binomial filter [1, 3, 3, 1] (``upfirdn2d``): upsampling inserts
zeros and filters with gain 4 (1 pixel becomes 4), downsampling filters then keeps every second pixel.
Here the filter is a depthwise convolution in plain PyTorch (no custom CUDA kernels) with the 2-D kernel
outer(taps, taps); one 2-D pass was measured faster on CPU than two 1-D passes.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

BLUR_TAPS = (1.0, 3.0, 3.0, 1.0)  # StyleGAN2's resample filter


def fir_kernel(x: torch.Tensor, taps: Sequence[float], gain: float) -> torch.Tensor:
    """Depthwise weight (C, 1, k, k) for ``x``'s channels: outer(taps, taps) normalised to sum ``gain``."""
    k = torch.tensor(taps, dtype=x.dtype, device=x.device)
    k = torch.outer(k, k)
    return (k * (gain / k.sum()))[None, None].repeat(x.shape[1], 1, 1, 1)


def fir_filter(x: torch.Tensor, taps: Sequence[float] = BLUR_TAPS, pad: tuple[int, int] = (1, 1),
               down: int = 1, gain: float = 1.0) -> torch.Tensor:
    """Zero-pad (before, after) on both axes, filter every channel with outer(taps, taps) normalised to
    total ``gain``, and keep every ``down``-th pixel."""
    if x.ndim != 4:
        raise ValueError(f"fir_filter: expected an (N, C, H, W) tensor, got shape {tuple(x.shape)}")
    x = F.pad(x, [pad[0], pad[1], pad[0], pad[1]])
    return F.conv2d(x, fir_kernel(x, taps, gain), stride=down, groups=x.shape[1])


def upsample2d(x: torch.Tensor, taps: Sequence[float] = BLUR_TAPS) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, 2H, 2W): zero insertion and the filter with gain 4, in one stride-2 depthwise
    transposed convolution (same numbers as inserting zeros, then ``fir_filter`` with pad (2, 1))."""
    if x.ndim != 4 or len(taps) % 2:
        raise ValueError(f"upsample2d: expected an (N, C, H, W) tensor and an even number of taps, got shape "
                         f"{tuple(x.shape)} and {len(taps)} taps")
    p = (len(taps) - 2) // 2  # output side (H - 1) * 2 + taps - 2p = 2H
    return F.conv_transpose2d(x, fir_kernel(x, taps, 4.0), stride=2, padding=p, groups=x.shape[1])


def downsample2d(x: torch.Tensor, taps: Sequence[float] = BLUR_TAPS) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, H/2, W/2): the filter, then every second pixel."""
    fw = len(taps)
    return fir_filter(x, taps, pad=((fw - 1) // 2, (fw - 2) // 2), down=2)
