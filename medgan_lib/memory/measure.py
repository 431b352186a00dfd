"""Measured memory and time of a piece of work: the allocator's own peak, on CUDA or on the CPU."""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch
from torch.profiler import ProfilerActivity, profile


def tensor_bytes(tensors: Iterable[torch.Tensor]) -> int:
    """Bytes of the distinct storages behind ``tensors`` (what stays resident between steps)."""
    storages: dict[tuple[torch.device, int], int] = {}
    for t in tensors:
        storage = t.untyped_storage()
        storages[(t.device, storage.data_ptr())] = storage.nbytes()
    return sum(storages.values())


def _cpu_peak_from_profiler(prof: profile) -> int:
    """Peak of the running sum of CPU allocation/free events (bytes above the level at the start)."""
    events = [e for e in prof.profiler.kineto_results.events()
              if e.name() == "[memory]" and e.device_type() == torch.autograd.DeviceType.CPU]
    level = peak = 0
    for event in sorted(events, key=lambda e: e.start_ns()):
        level += event.nbytes()
        peak = max(peak, level)
    return peak


# Kineto's own lines on every profiler start/stop (no log level silences the USDT ones), and its CUDA probe on a
# machine without a GPU: chatter that would fill the memory notebook's report.
_PROFILER_CHATTER = re.compile(r"^(USDT|STAGE):.*(profiler_(start|stop)|Completed Stage)|^ERROR:.*gpuGetDeviceCount")


@contextlib.contextmanager
def _without_profiler_chatter() -> Iterator[None]:
    """Capture the process's native stderr (fd 2) and write back every line but the profiler's chatter."""
    sys.stderr.flush()
    with tempfile.TemporaryFile(mode="w+b") as captured:
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [line for line in captured.read().decode(errors="replace").splitlines(keepends=True)
                    if not _PROFILER_CHATTER.search(line)]
            if kept:
                sys.stderr.write("".join(kept))


def peak_memory_delta(work: Callable[[], Any], device: torch.device) -> int:
    """Bytes the allocator holds at the worst moment of ``work()`` beyond what it held before.

    CUDA: ``torch.cuda.max_memory_allocated`` after a peak reset. CPU: the torch profiler's memory events
    (every c10 CPU allocation and free, with its size), summed in time order.
    """
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        start = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        work()
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) - start
    if device.type != "cpu":
        raise ValueError(f"peak memory is measured on cpu or cuda devices, got {device}")
    with _without_profiler_chatter(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        work()
    return _cpu_peak_from_profiler(prof)


def seconds_per_call(work: Callable[[], Any], device: torch.device, repeats: int = 3) -> float:
    """Mean wall time of ``work()`` over ``repeats`` calls (the caller warms up first)."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(repeats):
        work()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return (time.perf_counter() - start) / repeats
