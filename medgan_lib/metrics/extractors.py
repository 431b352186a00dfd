"""Named feature extractors for FID-style metrics: what they are, how torch-fidelity builds them, their identity.

``FEATURE_EXTRACTORS`` maps a study name (``inception``, ``unet``, ``medfid``) to a builder that takes
the extractor's options (weights path, U-Net, MedFID checkpoint) and returns an ``Extractor``. Each
extractor is also a class registered with torch-fidelity (``register_feature_extractor``), so
torch-fidelity's own extraction loop, preprocessing and ``calculate_metrics`` work with it.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, ClassVar

import numpy as np
import torch
import torch_fidelity
from torch_fidelity.feature_extractor_base import FeatureExtractorBase
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

from medgan_lib.registry import Registry


@dataclasses.dataclass
class Extractor:
    """A feature extractor as the metrics see it; ``identity()`` names its caches and goes into every result."""

    name: str  # study name: "inception", "unet", "medfid"
    tf_name: str  # torch-fidelity registry name of the FeatureExtractorBase subclass
    layer: str  # which of its features the metrics use
    weights_sha256: str  # SHA-256 of the weights (file bytes, or of the state dict for an in-memory module)
    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)  # passed to the torch-fidelity class
    derive: tuple["Extractor", Callable[[np.ndarray], np.ndarray]] | None = None  # features = f(base features)
    cpu_batch_size: int = 64  # images per forward pass on a CPU (a GPU gets GPU_BATCH_SIZE); not part of identity
    precision: str = "fp32"  # "fp32" (standard FIDs), or "bf16"/"fp16" autocast on CUDA: faster, not comparable

    def identity(self) -> dict[str, str]:
        """Name, layer and weights; the precision too when it is not fp32 (fp32 caches keep their keys)."""
        identity = {"name": self.name, "tf_name": self.tf_name, "layer": self.layer,
                    "weights_sha256": self.weights_sha256}
        return identity if self.standard else {**identity, "precision": self.precision}

    @property
    def standard(self) -> bool:
        """True when features are computed in fp32, as the published FIDs (torch-fidelity, pytorch-fid) are."""
        return self.precision == "fp32"


FEATURE_EXTRACTORS: Registry[Callable[..., Extractor]] = Registry("feature extractor")


class OneLayerExtractor(FeatureExtractorBase):
    """torch-fidelity extractor base for our networks, which each provide one feature layer, ``LAYER``
    (used for every metric); none of them is compiled by torch-fidelity."""

    LAYER: ClassVar[str]

    @classmethod
    def get_provided_features_list(cls):
        return (cls.LAYER,)

    @classmethod
    def get_default_feature_layer_for_metric(cls, metric):
        return cls.LAYER

    @staticmethod
    def can_be_compiled():
        return False

    @staticmethod
    def get_dummy_input_for_compile():
        return torch.zeros(1, 3, 8, 8, dtype=torch.uint8)


def register_with_torch_fidelity(tf_name: str, cls: type) -> None:
    """``torch_fidelity.register_feature_extractor`` once per process (re-imports are harmless)."""
    if tf_name not in FEATURE_EXTRACTORS_REGISTRY:
        torch_fidelity.register_feature_extractor(tf_name, cls)


def get_extractor(name: str | Extractor, precision: str = "fp32", **options: Any) -> Extractor:
    """``Extractor`` for a registered name and its options (an ``Extractor`` passes through unchanged); a
    ``precision`` other than "fp32" (``runtime.precision``) makes it, and any extractor it derives from, compute
    in that autocast precision."""
    if isinstance(name, Extractor):
        return name
    return with_precision(FEATURE_EXTRACTORS[name](**options), precision)


PRECISIONS = ("fp32", "bf16", "fp16")


def with_precision(extractor: Extractor, precision: str) -> Extractor:
    """``extractor`` computing in ``precision``, its base extractor too (derived features)."""
    if precision not in PRECISIONS:
        raise ValueError(f"feature extractor precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    derive = extractor.derive and (with_precision(extractor.derive[0], precision), extractor.derive[1])
    return dataclasses.replace(extractor, precision=precision, derive=derive)
