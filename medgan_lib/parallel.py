"""Data-parallel training over ``torch.distributed``: which process this is, how a global batch is split across
the processes, and the collectives the trainer and the GANs need.

A run on W processes computes what one process computes with the same global batch (to float rounding): every
process draws each random number for the whole global batch from the same seeded RNG and keeps its share
(``shard``); gradients are averaged over the processes (one all-reduce per update, as stylegan2-ada does, because
``DistributedDataParallel``'s wrapper does not support the double backward of R1 and the gradient penalty); batch
norm and batch means use the global batch (``SyncBatchNorm``, ``batch_mean``). With one process, the default,
every function here is the single-process operation itself, so a run started without torchrun computes exactly
what it always did.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterable, Iterator
from typing import Any

import torch
from torch import nn

TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


@dataclasses.dataclass(frozen=True)
class World:
    """This process's place among the run's processes. ``group``: samples of the global batch kept together on one
    process, in the order one process would see them (StyleGAN2's minibatch-stddev group; 1 for the others)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    backend: str | None = None
    group: int = 1

    @property
    def main(self) -> bool:
        """The process that writes the run's files (rank 0)."""
        return self.rank == 0


_WORLD = World()


def world() -> World:
    return _WORLD


def launched_by_torchrun() -> bool:
    """True in a process torchrun started for a run of more than one process."""
    return all(name in os.environ for name in TORCHRUN_VARIABLES) and int(os.environ["WORLD_SIZE"]) > 1


@contextlib.contextmanager
def joined(device_type: str) -> Iterator[World]:
    """Join the process group torchrun's environment describes (NCCL on CUDA, gloo on CPU) for the duration, and
    leave it after; a process torchrun did not start stays the single-process world."""
    global _WORLD
    if not launched_by_torchrun() or torch.distributed.is_initialized():
        yield _WORLD
        return
    backend = "nccl" if device_type == "cuda" else "gloo"
    local_rank = int(os.environ["LOCAL_RANK"])
    if device_type == "cuda":
        torch.cuda.set_device(local_rank)
    torch.distributed.init_process_group(backend)
    _WORLD = World(torch.distributed.get_rank(), torch.distributed.get_world_size(), local_rank, backend)
    try:
        yield _WORLD
    finally:
        _WORLD = World()
        torch.distributed.destroy_process_group()


@contextlib.contextmanager
def batch_group(group: int) -> Iterator[None]:
    """Keep ``group`` consecutive-in-layout samples on one process while the block runs (see ``shard``)."""
    global _WORLD
    before = _WORLD
    _WORLD = dataclasses.replace(before, group=max(1, int(group)))
    try:
        yield
    finally:
        _WORLD = dataclasses.replace(_WORLD, group=before.group)


def check_batch(batch_size: int, what: str = "TrainConfig.batch_size") -> None:
    """Refuse a global batch the processes cannot share equally (in whole groups)."""
    w = world()
    if w.size > 1 and batch_size % (w.size * w.group):
        raise ValueError(f"{what}: the global batch of {batch_size} cannot be split over {w.size} processes"
                         f"{f' in groups of {w.group}' if w.group > 1 else ''}; use a multiple of {w.size * w.group}")


def shard(x: torch.Tensor) -> torch.Tensor:
    """This process's share of ``x``, which holds the whole global batch along dim 0. StyleGAN2's minibatch
    stddev groups sample i with samples i + k * (n / group); viewing the batch as (group, processes, n / (group *
    processes)) and keeping column ``rank`` gives each process whole groups in the order one process groups them."""
    w = world()
    if w.size == 1:
        return x
    n = x.shape[0]
    if n % w.size:
        raise ValueError(f"a batch of {n} cannot be split over {w.size} processes")
    g = w.group if n % (w.group * w.size) == 0 else 1
    return x.reshape(g, w.size, n // (g * w.size), *x.shape[1:])[:, w.rank].reshape(n // w.size, *x.shape[1:])


def randn(n: int, *shape: int, device: Any = None, dtype: torch.dtype | None = None) -> torch.Tensor:
    """``torch.randn(n, *shape)`` for this process's ``n`` samples of the global batch."""
    return shard(torch.randn(n * world().size, *shape, device=device, dtype=dtype))


def rand(n: int, *shape: int, device: Any = None, dtype: torch.dtype | None = None) -> torch.Tensor:
    """``torch.rand(n, *shape)`` for this process's ``n`` samples of the global batch."""
    return shard(torch.rand(n * world().size, *shape, device=device, dtype=dtype))


def randint(low: int, high: int, n: int, *shape: int, device: Any = None) -> torch.Tensor:
    """``torch.randint(low, high, (n, *shape))`` for this process's ``n`` samples of the global batch."""
    return shard(torch.randint(low, high, (n * world().size, *shape), device=device))


def randn_like(x: torch.Tensor) -> torch.Tensor:
    return randn(x.shape[0], *x.shape[1:], device=x.device, dtype=x.dtype)


def global_batch(n: int) -> int:
    """The global batch size of which this process holds ``n`` samples."""
    return n * world().size


def batch_mean(x: torch.Tensor) -> torch.Tensor:
    """Mean over dim 0 of the global batch, differentiable (feature matching, StyleGAN2's average w)."""
    w = world()
    if w.size == 1:
        return x.mean(dim=0)
    return all_reduce(x.sum(dim=0)) / (x.shape[0] * w.size)


class _AllReduce(torch.autograd.Function):
    """Sum over the processes; its gradient is the sum of the processes' gradients, itself differentiable."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        out = x.clone()
        torch.distributed.all_reduce(out)
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        return _AllReduce.apply(grad)


def all_reduce(x: torch.Tensor) -> torch.Tensor:
    """Differentiable (twice and more) sum of ``x`` over the processes."""
    return _AllReduce.apply(x) if world().size > 1 else x


def average(values: dict[str, float], device: Any = None) -> dict[str, float]:
    """Each value averaged over the processes (the losses and statistics a step logs)."""
    if world().size == 1 or not values:
        return values
    keys = sorted(values)
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=device)
    torch.distributed.all_reduce(t)
    t /= world().size
    return dict(zip(keys, t.tolist()))


def average_gradients(parameters: Iterable[nn.Parameter]) -> None:
    """Replace each gradient by its mean over the processes (one all-reduce of the flattened gradients)."""
    if world().size == 1:
        return
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    torch.distributed.all_reduce(flat)
    flat /= world().size
    for g, part in zip(grads, flat.split([g.numel() for g in grads])):
        g.copy_(part.view_as(g))


def gather(obj: Any) -> list[Any]:
    """Every process's ``obj``, in rank order (RNG states for a checkpoint)."""
    if world().size == 1:
        return [obj]
    out: list[Any] = [None] * world().size
    torch.distributed.all_gather_object(out, obj)
    return out


def broadcast_object(obj: Any) -> Any:
    """Rank 0's ``obj`` on every process."""
    if world().size == 1:
        return obj
    box = [obj]
    torch.distributed.broadcast_object_list(box, src=0)
    return box[0]


def barrier() -> None:
    if world().size > 1:
        torch.distributed.barrier()


class SyncBatchNorm(nn.modules.batchnorm._BatchNorm):
    """Batch norm over the global batch: the mean and variance of every process's samples (two all-reduces,
    differentiable twice, so R1 and the gradient penalty see through it). torch's ``SyncBatchNorm`` runs on CUDA
    only and has no double backward, hence this one; it holds the same state as ``BatchNorm1d/2d``, so
    checkpoints move between one and many processes."""

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if world().size == 1 or not self.training:
            return super().forward(x)
        dims = [0, *range(2, x.dim())]
        view = [1, -1] + [1] * (x.dim() - 2)
        count = x.numel() // x.shape[1] * world().size
        mean = all_reduce(x.sum(dim=dims)) / count
        var = all_reduce((x - mean.view(view)).square().sum(dim=dims)) / count
        y = (x - mean.view(view)) * torch.rsqrt(var.view(view) + self.eps)
        if self.affine:
            y = y * self.weight.view(view) + self.bias.view(view)
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                momentum = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
                self.running_mean.lerp_(mean.detach(), momentum)
                self.running_var.lerp_(var.detach() * count / max(count - 1, 1), momentum)
        return y


def sync_batchnorm(module: nn.Module) -> nn.Module:
    """``module`` with every ``BatchNorm1d/2d`` replaced by a ``SyncBatchNorm`` holding its state."""
    for name, child in module.named_children():
        if isinstance(child, (nn.BatchNorm1d, nn.BatchNorm2d)):
            sync = SyncBatchNorm(child.num_features, child.eps, child.momentum, child.affine,
                                 child.track_running_stats)
            sync.load_state_dict(child.state_dict())
            setattr(module, name, sync)
        else:
            sync_batchnorm(child)
    return module
