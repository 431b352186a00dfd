"""U-Net FID (skandarani2023 Figure 7, bottom row): Frechet distance in the bottleneck of a U-Net trained on real data.

Features are the deepest encoder stage of a segmentation-models-pytorch ``Unet`` (``model.encoder(x)[-1]``),
global-average-pooled to one vector per image. The U-Net is given as an ``nn.Module`` or as the path of
a checkpoint of ``medgan_lib.segmentation`` (the U-Net notebook 04 trains on the real data). Inputs are the study's
uint8 images mapped back to [-1, 1], keeping the U-Net's own input channel count (grayscale images
replicated to RGB for the other extractors are reduced to one channel again).
"""

from __future__ import annotations

import copy
import hashlib
import os

import torch
import torch.nn.functional as F

from medgan_lib.hashing import sha256_file
from medgan_lib.metrics.extractors import (Extractor, FEATURE_EXTRACTORS, OneLayerExtractor,
                                           register_with_torch_fidelity)

TF_NAME = "medgan-unet-bottleneck"


def load_unet(source: torch.nn.Module | str | os.PathLike) -> torch.nn.Module:
    """A U-Net module, or one rebuilt from a checkpoint written by ``medgan_lib.segmentation.save_unet``."""
    if isinstance(source, torch.nn.Module):
        return source
    from medgan_lib.segmentation import load_unet as load_checkpoint

    return load_checkpoint(source)[0]


def module_sha256(module: torch.nn.Module) -> str:
    """SHA-256 over a module's state dict (names, shapes and bytes): the weights hash of an in-memory U-Net."""
    digest = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        digest.update(f"{name}{tuple(tensor.shape)}{tensor.dtype}".encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def input_channels(module: torch.nn.Module) -> int:
    """Channels the network's first convolution takes."""
    first = next((m for m in module.modules() if isinstance(m, torch.nn.Conv2d)), None)
    if first is None:
        raise ValueError("the U-Net has no Conv2d layer")
    return first.in_channels


class UNetBottleneckFeatures(OneLayerExtractor):
    """torch-fidelity extractor: global-average-pooled deepest encoder features of a U-Net ('bottleneck')."""

    LAYER = "bottleneck"

    def __init__(self, name, features_list, unet_module=None, unet_resolution=None, **kwargs):
        super().__init__(name, features_list)
        if unet_module is None:
            raise ValueError("the U-Net feature extractor needs unet_module (an nn.Module)")
        self.unet = copy.deepcopy(unet_module)  # torch-fidelity sets eval/requires_grad on its own copy
        self.in_channels = input_channels(self.unet)
        self.resolution = unet_resolution

    def forward(self, x):
        x = x.to(torch.float32) / 127.5 - 1.0
        x = x[:, :self.in_channels] if self.in_channels <= x.shape[1] else x[:, :1].expand(-1, self.in_channels, -1, -1)
        if self.resolution and x.shape[-1] != self.resolution:
            x = F.interpolate(x, size=(self.resolution, self.resolution), mode="bilinear", align_corners=False,
                              antialias=True)
        deepest = self.unet.encoder(x)[-1]
        return (F.adaptive_avg_pool2d(deepest, 1).flatten(1),)


register_with_torch_fidelity(TF_NAME, UNetBottleneckFeatures)


@FEATURE_EXTRACTORS.register("unet")
def unet_extractor(unet: torch.nn.Module | str | os.PathLike | None = None, resolution: int | None = None) -> Extractor:
    """U-Net bottleneck extractor for a U-Net module or checkpoint path (its SHA-256 names the caches)."""
    if unet is None:
        raise ValueError("extractor 'unet' needs unet= (a U-Net trained on the real data: nn.Module or checkpoint "
                         "path); pass extractor_options={'unet': {'unet': ...}}")
    module = load_unet(unet)
    digest = module_sha256(module) if isinstance(unet, torch.nn.Module) else sha256_file(unet)
    return Extractor("unet", TF_NAME, "bottleneck", digest, {"unet_module": module, "unet_resolution": resolution})
