"""Image sets -> feature arrays through torch-fidelity's own extraction loop, cached by content hash.

Images enter as the study stores them (float in [-1, 1] or uint8, N x C x H x W, C = 1 or 3) and are
quantised to uint8 RGB (grayscale replicated to three channels), which is what torch-fidelity feature
extractors take. Mask channels are never part of an image set: pass ``PreparedDataset.images``, not
``.joint()``. The cache key is the hash of the uint8 pixels and the extractor's identity (name, layer,
SHA-256 of its weights), so it is reused exactly when nothing changed and missed when anything did. A cache file
that cannot be read (truncated; a flipped byte fails the zip's CRC-32) or has the wrong shape is computed again.
"""

from __future__ import annotations

import hashlib
import warnings
import zipfile

import numpy as np
import torch
from torch_fidelity.utils import create_feature_extractor, get_featuresdict_from_dataset

from medgan_lib.atomic import save_npz
from medgan_lib.hashing import hash_inputs
from medgan_lib.metrics.extractors import Extractor
from medgan_lib.paths import cache_dir
from medgan_lib.progress import tqdm
from medgan_lib.runtime import autocast, select_device
from medgan_lib.samples import to_uint8

CACHE_VERSION = "features-1"
_MODULES: dict[str, torch.nn.Module] = {}


def to_uint8_rgb(images: np.ndarray) -> np.ndarray:
    """(N, 1|3, H, W) float in [-1, 1] or uint8 -> uint8 (N, 3, H, W); grayscale is replicated."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"images must be (N, 1 or 3, H, W) image channels only (no mask channels), "
                         f"got shape {images.shape}")
    if images.dtype != np.uint8:
        if not np.issubdtype(images.dtype, np.floating):
            raise ValueError(f"images must be float in [-1, 1] or uint8, got {images.dtype}")
        images = to_uint8(images)
    if images.shape[1] == 1:
        images = np.repeat(images, 3, axis=1)
    return np.ascontiguousarray(images)


def images_hash(images_u8: np.ndarray) -> str:
    """SHA-256 of a uint8 image array's shape and bytes (the identity of an image set)."""
    digest = hashlib.sha256(str(images_u8.shape).encode())
    digest.update(images_u8.tobytes())
    return digest.hexdigest()


class _Uint8Images(torch.utils.data.Dataset):
    """The torch Dataset torch-fidelity's loop expects: one uint8 3 x H x W tensor per item."""

    def __init__(self, images_u8: np.ndarray) -> None:
        self.images = torch.from_numpy(images_u8)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.images[index]


GPU_BATCH_SIZE = 64  # images per forward pass on a GPU (on a CPU: the extractor's cpu_batch_size)


def feature_module(extractor: Extractor, device: torch.device) -> torch.nn.Module:
    """The torch-fidelity extractor instance for ``extractor`` (built once per process and device)."""
    key = hash_inputs(extractor.identity(), str(device))
    if key not in _MODULES:
        # feature_device: networks frozen to TorchScript constants must be built on the device they run on
        module = create_feature_extractor(extractor.tf_name, [extractor.layer], cuda=False, verbose=False,
                                          feature_device=str(device), **extractor.kwargs)
        _MODULES[key] = module.to(device)
    return _MODULES[key]


def _read_cache(path, n: int) -> np.ndarray | None:
    """The cached (n, D) float32 features at ``path``; None, with a warning naming the file, if it cannot be read
    or holds another shape (the caller then computes and writes them again)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            features = data["features"]
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as err:
        problem = f"cannot be read ({err})"
    else:
        if features.ndim == 2 and len(features) == n and features.dtype == np.float32:
            return features
        problem = f"holds {features.dtype} features of shape {features.shape}, not ({n}, D) float32 for {n} images"
    warnings.warn(f"feature cache {path} {problem}; computing the features again")
    return None


def extract_features(images: np.ndarray, extractor: Extractor, batch_size: int | None = None, device: str = "auto",
                     cache: bool = True, progress: bool = False) -> np.ndarray:
    """(N, D) float32 features of ``images`` with ``extractor``; read from / written to the cache. ``batch_size``
    None: the extractor's ``cpu_batch_size`` on a CPU, GPU_BATCH_SIZE otherwise."""
    images_u8 = to_uint8_rgb(images)
    if not len(images_u8):
        raise ValueError(f"no images to extract {extractor.name} features from")
    path = cache_dir() / "features" / f"{hash_inputs(CACHE_VERSION, images_hash(images_u8), extractor.identity())}.npz"
    if cache and path.is_file():
        cached = _read_cache(path, len(images_u8))
        if cached is not None:
            return cached
    if extractor.derive is not None:
        base, transform = extractor.derive
        features = transform(extract_features(images_u8, base, batch_size, device, cache, progress))
    else:
        dev = select_device(device)
        module = feature_module(extractor, dev)
        batch_size = batch_size or (extractor.cpu_batch_size if dev.type == "cpu" else GPU_BATCH_SIZE)
        # torch-fidelity's own bar is a plain tqdm on stderr (red lines in a notebook): ours, by chunks, instead
        chunk = batch_size * 8
        parts = []
        if not extractor.standard and dev.type != "cuda":
            raise ValueError(f"{extractor.name} features in {extractor.precision} need a CUDA device, got {dev}; "
                             "use precision fp32 (the standard) on a CPU")
        with torch.inference_mode(), autocast(extractor.precision):
            for start in tqdm(range(0, len(images_u8), chunk), desc=f"{extractor.name} features", leave=False,
                              disable=not progress or len(images_u8) <= chunk):
                out = get_featuresdict_from_dataset(_Uint8Images(images_u8[start:start + chunk]), module, batch_size,
                                                    dev.type == "cuda", save_cpu_ram=True, verbose=False)
                parts.append(out[extractor.layer].float().numpy())
        features = np.concatenate(parts)
    features = np.ascontiguousarray(features, dtype=np.float32)
    if cache:
        save_npz(path, features=features)
    return features
