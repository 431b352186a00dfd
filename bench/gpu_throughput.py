"""The GPU path measured: training images/s of every registered GAN through ``train_gan`` at the paper profile's
settings, Inception feature extraction images/s, and StyleGAN2's seconds per 1,000 images beside
stylegan2-ada-pytorch's published V100 figure for the same resolution (as a ratio).

    .venv/bin/python bench/gpu_throughput.py [--resolution 256] [--iterations 10] [--gans dcgan,stylegan2]

On a CUDA device it runs the ``paper`` scale at ``--resolution`` (default 256, the paper profile's). Without one
it runs the ``smoke`` scale at 32 px and says "no GPU here": the numbers only show that the bench starts and
what a CPU does, not a GPU's cost. Warm-up iterations are excluded from every rate.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np
import torch

from medgan_lib.data import DataSpec
from medgan_lib.data.dataset import PreparedDataset
from medgan_lib.gans import GANS
from medgan_lib.metrics import get_extractor
from medgan_lib.metrics.features import extract_features
from medgan_lib.reference import stylegan2_ada_speed
from medgan_lib.runtime import select_device
from medgan_lib.training import preset, train_gan

CLASSES = 4


def random_data(resolution: int, n: int = 256) -> PreparedDataset:
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (n, 1, resolution, resolution)).astype(np.float32)
    masks = rng.integers(0, CLASSES, (n, resolution, resolution)).astype(np.uint8)
    return PreparedDataset("bench", "train", images, masks, np.array([str(i) for i in range(n)]),
                           ("background", "a", "b", "c"))


def gan_rate(gan: str, scale: str, resolution: int, iterations: int, warmup: int, device: str) -> tuple[float, int]:
    """(real images shown to D per second, batch size) of ``train_gan`` from the wall times it logs."""
    config = preset(scale, gan=gan, data=DataSpec(resolution=resolution), iterations=warmup + iterations,
                    grid_every=10**6, checkpoint_every=10**6, progress=False, device=device)
    with tempfile.TemporaryDirectory() as study:
        run = train_gan(config, study, data=random_data(resolution))
        wall = [json.loads(line)["wall_time"] for line in (run / "stats.jsonl").read_text().splitlines()]
    shown = config.batch_size * config.n_critic * iterations
    return shown / (wall[-1] - wall[warmup - 1]), config.batch_size


def inception_rate(resolution: int, n: int, device: str) -> float:
    """Inception-v3 feature extraction images/s (torch-fidelity's network, standard weights), cache off."""
    images = np.random.default_rng(1).uniform(-1, 1, (n, 1, resolution, resolution)).astype(np.float32)
    extractor = get_extractor("inception")
    extract_features(images[:8], extractor, device=device, cache=False)  # load the weights, warm up
    start = time.perf_counter()
    extract_features(images, extractor, device=device, cache=False)
    return n / (time.perf_counter() - start)


def published_sec_per_kimg(resolution: int) -> tuple[float, float] | None:
    """stylegan2-ada-pytorch's (low, high) s/kimg on one V100 at ``resolution``, or None."""
    return stylegan2_ada_speed(resolution).get(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resolution", type=int, default=None, help="default: 256 on a GPU, 32 without one")
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--inception-images", type=int, default=None, help="default: 2048 on a GPU, 64 on a CPU")
    parser.add_argument("--gans", default=",".join(GANS.names()))
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    device = select_device(args.device)
    gpu = device.type == "cuda"
    scale = "paper" if gpu else "smoke"
    resolution = args.resolution or (256 if gpu else 32)
    where = torch.cuda.get_device_name(device) if gpu else "no GPU here: CPU, smoke-sized networks, not a GPU's cost"
    print(f"{where}; scale {scale}, {resolution}x{resolution}, {args.iterations} timed iterations "
          f"after {args.warmup}")
    for gan in args.gans.split(","):
        rate, batch = gan_rate(gan, scale, resolution, args.iterations, args.warmup, args.device)
        line = f"train_gan {gan:<10} batch {batch:3d}  {rate:9.1f} real img/s"
        if gan == "stylegan2":
            ours = 1000.0 / rate
            published = published_sec_per_kimg(resolution)
            line += f"  {ours:8.1f} s/kimg"
            if published:
                middle = sum(published) / 2
                line += (f"  (stylegan2-ada-pytorch, 1 V100 at {resolution}px: {published[0]}-{published[1]} s/kimg; "
                         f"ours / theirs = {ours / middle:.2f})")
            else:
                line += f"  (no published V100 figure at {resolution}px)"
        print(line)
    n = args.inception_images or (2048 if gpu else 64)
    print(f"Inception-v3 features      {inception_rate(resolution, n, args.device):9.1f} img/s ({n} images)")


if __name__ == "__main__":
    main()
