"""Inception-v3 feature-extraction throughput on this machine, as a fraction of its large-matmul FLOP rate.

Prints img/s for several settings (graph freezing, channels-last, batch size, inference mode), each
measured side by side in this run, and the fraction of the fp32 matmul rate measured here that it
reaches (Inception-v3 is about 5.7 GMAC = 11.4 GFLOP per 299x299 image). The library
(``medgan_lib.metrics.inception``) uses the best setting found here: a frozen graph, channels-last,
inference mode, 8 images per pass on a CPU; its own path is timed last, warmed up at that batch size.

    .venv/bin/python bench/fid_throughput.py [--images 16] [--threads N]
"""

from __future__ import annotations

import argparse
import time
import warnings

import torch

from medgan_lib.metrics.features import extract_features
from medgan_lib.metrics.extractors import get_extractor
from medgan_lib.metrics.inception import load_inception

GFLOP_PER_IMAGE = 2 * 5.7


def matmul_gflops(size: int = 2048, reps: int = 6) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    for _ in range(2):
        a @ b
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * size**3 * reps / (time.perf_counter() - start) / 1e9


def images_per_second(net, batch: torch.Tensor, channels_last: bool, inference_mode: bool, reps: int) -> float:
    if channels_last:
        batch = batch.contiguous(memory_format=torch.channels_last)
    context = torch.inference_mode() if inference_mode else torch.no_grad()
    with context:
        net(batch[:2])  # warm-up (graph optimisation happens on the first calls)
        net(batch[:2])
        start = time.perf_counter()
        for _ in range(reps):
            net(batch)
    return reps * len(batch) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=16, help="images per timed batch")
    parser.add_argument("--reps", type=int, default=1, help="timed batches per setting")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")
    peak = matmul_gflops()
    print(f"threads={args.threads}  fp32 matmul 2048^3: {peak:.1f} GFLOP/s  "
          f"(ceiling {peak / GFLOP_PER_IMAGE:.1f} img/s for Inception-v3)")
    plain, _ = load_inception(optimize=False)
    frozen, _ = load_inception(optimize=True)
    optimized = torch.jit.optimize_for_inference(load_inception(optimize=True)[0])
    x = torch.rand(args.images, 3, 299, 299) * 2 - 1
    settings = [
        ("scripted, no_grad", plain, False, False, args.images),
        ("scripted, inference_mode", plain, False, True, args.images),
        ("scripted, channels-last", plain, True, True, args.images),
        ("frozen, channels-last", frozen, True, True, args.images),
        ("frozen, contiguous", frozen, False, True, args.images),
        ("frozen+optimize_for_inference", optimized, False, True, args.images),
        ("frozen, channels-last, batch 8", frozen, True, True, 8),
        ("frozen, channels-last, batch 32", frozen, True, True, 32),
    ]
    # the CPU may be shared: the matmul rate is re-measured beside every setting and the fraction uses it
    print(f"{'setting':40s} {'img/s':>7s} {'GFLOP/s':>8s} {'matmul':>8s} {'of matmul':>9s}")
    for name, net, channels_last, inference_mode, size in settings:
        batch = x if size == len(x) else torch.rand(size, 3, 299, 299) * 2 - 1
        rate = images_per_second(net, batch, channels_last, inference_mode, args.reps)
        peak = matmul_gflops()
        print(f"{name:40s} {rate:7.2f} {rate * GFLOP_PER_IMAGE:8.1f} {peak:8.1f} {rate * GFLOP_PER_IMAGE / peak:9.1%}")
    # the library's own path, at its default CPU batch size: uint8 -> TF1 resize -> frozen network -> pool3
    extractor = get_extractor("inception")
    images = (torch.rand(4 * extractor.cpu_batch_size, 1, 64, 64) * 2 - 1).numpy()
    extract_features(images[:2 * extractor.cpu_batch_size], extractor, cache=False)  # load + warm-up at this shape
    start = time.perf_counter()
    extract_features(images, extractor, cache=False)
    rate = len(images) / (time.perf_counter() - start)
    peak = matmul_gflops()
    name = f"library path (64x64 gray, batch {extractor.cpu_batch_size})"
    print(f"{name:40s} {rate:7.2f} {rate * GFLOP_PER_IMAGE:8.1f} {peak:8.1f} {rate * GFLOP_PER_IMAGE / peak:9.1%}")


if __name__ == "__main__":
    main()
