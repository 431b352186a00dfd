"""The configurable networks: a DCGAN-style conv generator/discriminator pair (skandarani §3.2), the
MLP pair of the Vanilla GAN (chetty §2.2) and pix2pix's PatchGAN (SPADE's and the translation GANs' discriminator).

Conv G: z -> 4x4 (transposed conv k4 s1) -> doubling by transposed convs k4 s2 (or, with a larger ``stride``,
fewer layers of kernel 2s: belmekki §III.F's compressed DCGAN) -> ``channels`` at the resolution, tanh. Channels halve at each doubling, from ``filters * 8`` (capped) down to ``filters``.
Conv D mirrors it with strided convs k4 s2 down to 4x4, then a k4 conv to one logit; no norm on D's
first layer (DCGAN). ``D(x, features=True)`` also returns the last hidden feature map (feature matching).
"""

from __future__ import annotations

import torch
from torch import nn

from medgan_lib.gans.layers import activation, apply_spectral_norm, init_weights, log2_int, norm1d, norm2d

MAX_MULT = 8  # widest layer has filters * 8 channels, as in DCGAN


def level_channels(resolution: int, filters: int, stride: int = 2) -> list[int]:
    """Channels of the feature maps from 4x4 up to the last one before the output (G's order; D uses them
    reversed): one per resampling layer of ``strides(resolution, stride)``."""
    n_up = len(strides(resolution, stride))
    return [filters * min(2 ** (n_up - 1 - i), MAX_MULT) for i in range(n_up)]


def strides(resolution: int, stride: int = 2) -> list[int]:
    """The stride of each resampling layer between 4x4 and ``resolution``: ``stride`` (a power of two) as often as
    it fits, then one layer for the remaining factor. Each layer has kernel 2s and padding s/2, so by belmekki's
    equation 5 it scales the side by exactly s (stride 2: DCGAN's k4 s2 p1; larger: belmekki §III.F's shallower
    "compressed" networks)."""
    if not (isinstance(stride, int) and stride >= 2 and stride & (stride - 1) == 0):
        raise ValueError(f"stride must be a power of two >= 2, got {stride!r}")
    step = stride.bit_length() - 1
    n = log2_int(resolution) - 2
    return [stride] * (n // step) + ([2 ** (n % step)] if n % step else [])


class ConvGenerator(nn.Module):
    def __init__(self, latent_dim: int, channels: int, resolution: int, filters: int, act: str = "relu",
                 norm: str = "batch", spectral: bool = False, init: str = "normal", gain: float = 0.02,
                 stride: int = 2) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        widths, steps = level_channels(resolution, filters, stride), strides(resolution, stride)
        layers: list[nn.Module] = [nn.ConvTranspose2d(latent_dim, widths[0], 4, 1, 0, bias=norm == "none"),
                                   norm2d(norm, widths[0]), activation(act)]
        for c_in, c_out, s in zip(widths[:-1], widths[1:], steps):
            layers += [nn.ConvTranspose2d(c_in, c_out, 2 * s, s, s // 2, bias=norm == "none"), norm2d(norm, c_out),
                       activation(act)]
        s = steps[-1]
        layers += [nn.ConvTranspose2d(widths[-1], channels, 2 * s, s, s // 2), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_weights(self, init, gain)
        if spectral:
            apply_spectral_norm(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(z.shape[0], -1, 1, 1))


class ConvDiscriminator(nn.Module):
    def __init__(self, channels: int, resolution: int, filters: int, act: str = "leaky_relu", norm: str = "batch",
                 spectral: bool = False, init: str = "normal", gain: float = 0.02, stride: int = 2) -> None:
        super().__init__()
        widths, steps = level_channels(resolution, filters, stride)[::-1], strides(resolution, stride)[::-1]
        layers: list[nn.Module] = [nn.Conv2d(channels, widths[0], 2 * steps[0], steps[0], steps[0] // 2),
                                   activation(act)]
        for c_in, c_out, s in zip(widths[:-1], widths[1:], steps[1:]):
            layers += [nn.Conv2d(c_in, c_out, 2 * s, s, s // 2, bias=norm == "none"), norm2d(norm, c_out),
                       activation(act)]
        self.features = nn.Sequential(*layers)
        self.head = nn.Conv2d(widths[-1], 1, 4, 1, 0)
        init_weights(self, init, gain)
        if spectral:
            apply_spectral_norm(self)

    def forward(self, x: torch.Tensor, features: bool = False):
        h = self.features(x)
        out = self.head(h).view(-1)
        return (out, h.flatten(1)) if features else out


class MLPGenerator(nn.Module):
    """Vanilla GAN generator: fully connected layers z -> hidden... -> C*H*W, tanh (norm on all but the first
    hidden layer, as in PyTorch-GAN's gan.py that chetty cites)."""

    def __init__(self, latent_dim: int, channels: int, resolution: int, hidden: tuple[int, ...], act: str = "leaky_relu",
                 norm: str = "none", spectral: bool = False, init: str = "normal", gain: float = 0.02) -> None:
        super().__init__()
        self.latent_dim, self.shape = latent_dim, (channels, resolution, resolution)
        layers: list[nn.Module] = []
        width = latent_dim
        for i, h in enumerate(hidden):  # the first hidden layer is never normalised (z is already N(0, I))
            layers += [nn.Linear(width, h), norm1d(norm, h) if i else nn.Identity(), activation(act)]
            width = h
        layers += [nn.Linear(width, channels * resolution * resolution), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_weights(self, init, gain)
        if spectral:
            apply_spectral_norm(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(z.shape[0], -1)).view(z.shape[0], *self.shape)


class MLPDiscriminator(nn.Module):
    """Vanilla GAN discriminator: C*H*W -> hidden... -> one logit."""

    def __init__(self, channels: int, resolution: int, hidden: tuple[int, ...], act: str = "leaky_relu",
                 norm: str = "none", spectral: bool = False, init: str = "normal", gain: float = 0.02) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = channels * resolution * resolution
        for i, h in enumerate(hidden):
            layers += [nn.Linear(width, h), norm1d(norm, h) if i else nn.Identity(), activation(act)]
            width = h
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(width, 1)
        init_weights(self, init, gain)
        if spectral:
            apply_spectral_norm(self)

    def forward(self, x: torch.Tensor, features: bool = False):
        h = self.features(x.flatten(1))
        out = self.head(h).view(-1)
        return (out, h) if features else out


def spectral_if(module: nn.Module, enabled: bool) -> nn.Module:
    """``module`` with spectral normalisation when ``enabled``."""
    return nn.utils.parametrizations.spectral_norm(module) if enabled else module


class PatchDiscriminator(nn.Module):
    """PatchGAN (pix2pix): 4x4 convs, stride 2 but the last two; returns every layer's output (for feature
    matching), the last one being the per-patch real/fake score map."""

    def __init__(self, in_channels: int, filters: int, layers: int, spectral: bool) -> None:
        super().__init__()
        self.layers = nn.ModuleList([nn.Sequential(spectral_if(nn.Conv2d(in_channels, filters, 4, 2, 2), spectral),
                                                   nn.LeakyReLU(0.2))])
        c = filters
        for i in range(1, layers):
            c_out = min(c * 2, 8 * filters)
            stride = 2 if i < layers - 1 else 1
            self.layers.append(nn.Sequential(spectral_if(nn.Conv2d(c, c_out, 4, stride, 2), spectral),
                                             nn.InstanceNorm2d(c_out, affine=False), nn.LeakyReLU(0.2)))
            c = c_out
        self.layers.append(nn.Sequential(nn.Conv2d(c, 1, 4, 1, 2)))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for layer in self.layers:
            x = layer(x)
            features.append(x)
        return features
