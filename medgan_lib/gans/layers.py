"""Building blocks shared by the GAN networks: activations, normalisations, weight init, spectral norm."""

from __future__ import annotations

import math

from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

ACTIVATIONS = {
    "relu": lambda: nn.ReLU(inplace=True),
    "leaky_relu": lambda: nn.LeakyReLU(0.2, inplace=True),
    "elu": lambda: nn.ELU(inplace=True),
    "selu": lambda: nn.SELU(inplace=True),
}


def activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation '{name}'; valid: {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


def norm2d(name: str, channels: int) -> nn.Module:
    """``batch`` -> BatchNorm2d, ``instance`` -> affine InstanceNorm2d, ``none`` -> identity."""
    if name == "batch":
        return nn.BatchNorm2d(channels)
    if name == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if name == "none":
        return nn.Identity()
    raise ValueError(f"unknown normalisation '{name}'; valid: batch, instance, none")


def norm1d(name: str, features: int) -> nn.Module:
    """For MLPs: ``batch`` -> BatchNorm1d, ``instance`` -> LayerNorm (per-sample), ``none`` -> identity."""
    if name == "batch":
        return nn.BatchNorm1d(features)
    if name == "instance":
        return nn.LayerNorm(features)
    if name == "none":
        return nn.Identity()
    raise ValueError(f"unknown normalisation '{name}'; valid: batch, instance, none")


def init_weights(module: nn.Module, scheme: str, gain: float) -> None:
    """Initialise conv/linear weights (biases to 0) and norm scales (N(1, 0.02), as DCGAN does)."""
    if scheme == "default":
        return
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            if scheme == "normal":
                nn.init.normal_(m.weight, 0.0, gain)
            elif scheme == "xavier":
                nn.init.xavier_normal_(m.weight, gain=gain)
            elif scheme == "xavier_uniform":
                nn.init.xavier_uniform_(m.weight, gain=gain)
            elif scheme == "kaiming":
                nn.init.kaiming_normal_(m.weight, a=0.2, nonlinearity="leaky_relu")
                m.weight.data.mul_(gain)
            else:
                raise ValueError(f"unknown weight_init '{scheme}'; valid: normal, xavier, xavier_uniform, kaiming, default")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.InstanceNorm2d, nn.LayerNorm)):
            if getattr(m, "weight", None) is not None:
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)


def apply_spectral_norm(module: nn.Module) -> None:
    """Spectral normalisation on every conv/linear layer of ``module`` (call after init_weights)."""
    for name, child in list(module.named_children()):
        if isinstance(child, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            setattr(module, name, spectral_norm(child))
        else:
            apply_spectral_norm(child)


def log2_int(resolution: int) -> int:
    """log2 of a power-of-two resolution, with a clear error otherwise."""
    power = int(round(math.log2(resolution))) if resolution > 0 else -1
    if resolution < 4 or 2**power != resolution:
        raise ValueError(f"resolution must be a power of two >= 4, got {resolution}")
    return power
