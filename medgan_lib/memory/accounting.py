"""What a model costs in memory, counted from the real modules with hooks (no hand-typed formulas).

Three quantities, each for any ``nn.Module`` and any callable that runs it:
- parameter memory (parameters and buffers, by their real dtypes);
- the torchsummary-style activation count belmekki §III.E uses: the sum of the output sizes of every
  leaf module for one image, doubled for "forward/backward" (one gradient per output);
- the tensors autograd really keeps for the backward pass, caught with
  ``torch.autograd.graph.saved_tensors_hooks`` and deduplicated by storage (an honest count: in-place
  views, shared inputs/outputs and parameters are not counted twice, and parameters not at all).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pandas as pd
import torch
from torch import nn

MB = 2**20  # torchsummary's "MB" (mebibytes); every *_mb figure of this package uses it


@dataclasses.dataclass(frozen=True)
class ParameterMemory:
    """Parameter and buffer counts of a module and their bytes in their own dtypes."""

    parameters: int
    trainable: int
    parameter_bytes: int
    buffer_bytes: int

    @property
    def mb(self) -> float:
        return (self.parameter_bytes + self.buffer_bytes) / MB


def parameter_memory(module: nn.Module) -> ParameterMemory:
    """Count parameters (each shared tensor once) and buffers of ``module``."""
    params = {id(p): p for p in module.parameters()}.values()
    buffers = {id(b): b for b in module.buffers()}.values()
    return ParameterMemory(
        parameters=sum(p.numel() for p in params),
        trainable=sum(p.numel() for p in params if p.requires_grad),
        parameter_bytes=sum(p.numel() * p.element_size() for p in params),
        buffer_bytes=sum(b.numel() * b.element_size() for b in buffers),
    )


def _tensors(value: Any) -> list[torch.Tensor]:
    """Every tensor inside a module output (tensor, or nested tuple/list/dict of them)."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors(v)]
    return []


def leaf_output_summary(networks: Mapping[str, nn.Module], run: Callable[[], Any], batch: int) -> pd.DataFrame:
    """One row per leaf-module call during ``run()``: network, layer name, type, per-image output shape,
    elements and bytes per image (output size / ``batch``), in call order.

    Like torchsummary's ``summary()``, each leaf is counted in the first top-level call of its network
    only (a discriminator applied to a real and a fake batch is one network forward per image), while a
    leaf called several times within that forward (a shared activation module) is counted each time.
    ``nn.Identity`` placeholders (a disabled norm layer) hold no memory of their own and are skipped.
    """
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    rows: list[dict[str, Any]] = []
    calls = {name: 0 for name in networks}
    handles = []

    def count_call(name: str) -> Callable:
        def hook(module: nn.Module, args: Any) -> None:
            calls[name] += 1
        return hook

    def record(name: str, layer: str) -> Callable:
        def hook(module: nn.Module, args: Any, output: Any) -> None:
            if calls[name] > 1:
                return
            tensors = _tensors(output)
            numel = sum(t.numel() for t in tensors)
            rows.append({
                "network": name,
                "layer": layer,
                "type": type(module).__name__,
                "output_shape": tuple(tensors[0].shape[1:]) if len(tensors) == 1 else
                tuple(tuple(t.shape[1:]) for t in tensors),
                "elements_per_image": numel / batch,
                "bytes_per_image": sum(t.numel() * t.element_size() for t in tensors) / batch,
            })
        return hook

    seen: set[int] = set()
    try:
        for name, net in networks.items():
            handles.append(net.register_forward_pre_hook(count_call(name)))
            for layer, module in net.named_modules():
                leaf = next(module.children(), None) is None
                if leaf and not isinstance(module, nn.Identity) and id(module) not in seen:
                    seen.add(id(module))
                    handles.append(module.register_forward_hook(record(name, layer or type(net).__name__)))
        run()
    finally:
        for handle in handles:
            handle.remove()
    return pd.DataFrame(rows, columns=["network", "layer", "type", "output_shape", "elements_per_image",
                                       "bytes_per_image"])


def summary_mb_per_image(layers: pd.DataFrame) -> dict[str, float]:
    """torchsummary's "Forward/backward pass size (MB)" per network: 2 x the summed leaf outputs of one image."""
    return {name: float(2 * group["bytes_per_image"].sum() / MB) for name, group in layers.groupby("network", sort=False)}


@dataclasses.dataclass(frozen=True)
class SavedTensors:
    """Distinct storages autograd saved for backward during one call (parameters excluded)."""

    bytes: int
    storages: int
    packed: int  # how many tensors were packed before deduplication


def saved_tensor_memory(run: Callable[[], Any], exclude: Iterable[torch.Tensor] = ()) -> tuple[Any, SavedTensors]:
    """Call ``run()`` while recording every tensor autograd saves for backward; return its result and the
    bytes of the distinct storages saved (tensors sharing a storage with ``exclude``, e.g. parameters,
    are left out). Keep the result alive while reading: the graph holds the saved tensors."""
    excluded = {(t.device, t.untyped_storage().data_ptr()) for t in exclude}
    storages: dict[tuple[torch.device, int], int] = {}
    packed = 0

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        nonlocal packed
        packed += 1
        storage = tensor.untyped_storage()
        key = (tensor.device, storage.data_ptr())
        if key not in excluded and storage.data_ptr() != 0:
            storages[key] = max(storages.get(key, 0), storage.nbytes())
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        result = run()
    return result, SavedTensors(bytes=sum(storages.values()), storages=len(storages), packed=packed)
