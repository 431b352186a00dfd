"""U-Net builder (segmentation-models-pytorch, trained from scratch), checkpoints that rebuild themselves,
and the bottleneck features the U-Net FID uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import segmentation_models_pytorch as smp
import torch
from torch import nn

from medgan_lib.atomic import torch_load, torch_save

# Named sizes. "quick": a timm ResNet-18 layout with 16..128 channels (about 0.3 M parameters), depth 4;
# about 5x cheaper than smp's resnet18 on 64x64 CPU batches. "paper": smp's standard U-Net (ResNet-34
# encoder, depth 5), for a GPU. encoder_weights is always None: nothing is downloaded.
SIZES: dict[str, dict[str, Any]] = {
    "quick": {"encoder_name": "tu-resnet18", "encoder_depth": 4, "decoder_channels": (64, 32, 16, 16),
              "channels": (16, 32, 64, 128), "stem_width": 16},
    "small": {"encoder_name": "resnet18", "encoder_depth": 4, "decoder_channels": (128, 64, 32, 16)},
    "paper": {"encoder_name": "resnet34", "encoder_depth": 5, "decoder_channels": (256, 128, 64, 32, 16)},
}


def build_unet(in_channels: int, num_classes: int, size: str = "quick") -> nn.Module:
    """An untrained smp U-Net of a named size; the builder args are kept on the model for checkpoints."""
    if size not in SIZES:
        raise ValueError(f"U-Net size {size!r} is unknown; valid sizes: {sorted(SIZES)}")
    if in_channels < 1 or num_classes < 2:
        raise ValueError(f"U-Net needs in_channels >= 1 and num_classes >= 2, got {in_channels}, {num_classes}")
    model = smp.Unet(encoder_weights=None, in_channels=in_channels, classes=num_classes, **SIZES[size])
    model.builder_args = {"in_channels": in_channels, "num_classes": num_classes, "size": size}
    return model


def save_unet(path: str | Path, model: nn.Module, **info: Any) -> Path:
    """Atomic checkpoint holding the builder args, the weights and ``info`` (labels, config, scores)."""
    return torch_save(path, {"builder": model.builder_args, "state_dict": model.state_dict(), "info": info})


def load_unet(path: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild a saved U-Net (eval mode) and return it with its ``info`` dict; the file is read as tensors and
    plain values only, so it cannot run code."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"U-Net checkpoint {path} does not exist")
    state = torch_load(path, "U-Net checkpoint", ("builder", "state_dict", "info"))
    model = build_unet(**state["builder"])
    model.load_state_dict(state["state_dict"])
    return model.to(device).eval(), state["info"]


@torch.no_grad()
def unet_features(model: nn.Module, images: torch.Tensor | Any, batch_size: int = 256) -> torch.Tensor:
    """(N, F) float32 on CPU: global-average-pooled deepest encoder features of images in [-1, 1]."""
    images = torch.as_tensor(images, dtype=torch.float32)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    parts = [model.encoder(images[i:i + batch_size].to(device))[-1].mean(dim=(2, 3)).cpu()
             for i in range(0, len(images), batch_size)]
    model.train(was_training)
    return torch.cat(parts) if parts else torch.zeros(0, model.encoder.out_channels[-1])


@torch.no_grad()
def predict(model: nn.Module, images: Any, batch_size: int = 256) -> torch.Tensor:
    """(N, H, W) int64 argmax label maps of images in [-1, 1]."""
    images = torch.as_tensor(images, dtype=torch.float32)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = [model(images[i:i + batch_size].to(device)).argmax(1).cpu() for i in range(0, len(images), batch_size)]
    model.train(was_training)
    return torch.cat(out)
