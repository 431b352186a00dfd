"""VGG16 perceptual loss (skandarani Table 1 "VGG loss") from a LOCAL weights file: nothing downloads here.

The weights file is a torchvision VGG16 state dict (``vgg16-397923af.pth`` or any dict holding at least the
``features.*`` tensors up to relu3_3). Images in [-1, 1] are mapped to ImageNet normalisation; grey
images are repeated to three channels.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.vgg import cfgs, make_layers

from medgan_lib.config import ConfigError

RELU3_3 = 16  # number of VGG16 feature layers up to and including relu3_3
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


class VGGLoss(nn.Module):
    """Mean squared distance of VGG16 relu3_3 features between fake and real images (frozen network)."""

    def __init__(self, weights_path: str | Path | None) -> None:
        super().__init__()
        if not weights_path:
            raise ConfigError("VGG perceptual loss needs vgg_weights: a local path to torchvision VGG16 weights "
                              "(e.g. vgg16-397923af.pth); nothing is downloaded here")
        path = Path(weights_path)
        if not path.is_file():
            raise ConfigError(f"vgg_weights: file {path} does not exist (expected a torchvision VGG16 state dict)")
        state = torch.load(path, map_location="cpu", weights_only=True)
        self.features = make_layers(cfgs["D"])[:RELU3_3]
        wanted = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
        missing = [k for k in self.features.state_dict() if k not in wanted]
        if missing:
            raise ConfigError(f"vgg_weights: {path} lacks VGG16 feature tensors {missing[:4]}...; "
                              "expected a torchvision VGG16 state dict")
        self.features.load_state_dict({k: wanted[k] for k in self.features.state_dict()})
        self.features.requires_grad_(False).eval()
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1))

    def _prep(self, x: torch.Tensor) -> torch.Tensor:
        x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x[:, :3]
        return ((x + 1) / 2 - self.mean) / self.std

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(self.features(self._prep(fake)), self.features(self._prep(real)))

    def train(self, mode: bool = True) -> "VGGLoss":
        super().train(mode)
        self.features.eval()  # frozen: never in training mode
        return self
