"""A weight-free stand-in extractor: area-downsampled pixels as features.

Not a perceptual metric. It exists so smoke runs and unit tests exercise the whole metric pipeline
(torch-fidelity loop, caches, bootstrap, KID, precision/recall) in milliseconds instead of running
Inception-v3 at ~4 images/s.
"""

from __future__ import annotations

import hashlib

import torch
import torch.nn.functional as F

from medgan_lib.metrics.extractors import (Extractor, FEATURE_EXTRACTORS, OneLayerExtractor,
                                           register_with_torch_fidelity)

TF_NAME = "medgan-pixels"


class PixelFeatures(OneLayerExtractor):
    """uint8 N x 3 x H x W -> the 3 x side x side area-averaged image in [-1, 1], flattened."""

    LAYER = "pixels"

    def __init__(self, name, features_list, pixels_side=8, **kwargs):
        super().__init__(name, features_list)
        self.side = int(pixels_side)

    def forward(self, x):
        x = x.to(torch.float32) / 127.5 - 1.0
        return (F.adaptive_avg_pool2d(x, self.side).flatten(1),)


register_with_torch_fidelity(TF_NAME, PixelFeatures)


@FEATURE_EXTRACTORS.register("pixels")
def pixels_extractor(side: int = 8) -> Extractor:
    """Downsampled pixels (``side`` x ``side`` x 3 features); its 'weights hash' names the only parameter."""
    return Extractor("pixels", TF_NAME, "pixels", hashlib.sha256(f"pixels-avgpool-{side}".encode()).hexdigest(),
                     {"pixels_side": side})
