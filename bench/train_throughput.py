"""Training throughput (images/s) of every registered GAN through ``train_gan`` at 64x64, beside a plain
minimal DCGAN loop written inline here. The ratio framework/plain for DCGAN should be >= 0.95: the
framework (stats, gradient norms, hooks) must cost nothing measurable.

    .venv/bin/python bench/train_throughput.py [--batch 64] [--filters 32] [--iterations 20] [--threads 2]

Plain and framework DCGAN runs alternate (``--repeats`` times) so a busy machine hurts both alike.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np
import torch
from torch import nn

from medgan_lib.data import DataSpec
from medgan_lib.data.dataset import PreparedDataset
from medgan_lib.gans import GANS
from medgan_lib.training import preset, train_gan

RES, CLASSES = 64, 4


def plain_dcgan(batch: int, filters: int, iterations: int, warmup: int) -> float:
    """The textbook DCGAN loop: BCE, Adam(2e-4, 0.5), one D step then one G step. Returns images/s."""
    torch.manual_seed(0)
    f, c, z = filters, 1 + CLASSES, 100
    g = nn.Sequential(
        nn.ConvTranspose2d(z, f * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(f * 8), nn.ReLU(True),
        nn.ConvTranspose2d(f * 8, f * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(f * 4), nn.ReLU(True),
        nn.ConvTranspose2d(f * 4, f * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(f * 2), nn.ReLU(True),
        nn.ConvTranspose2d(f * 2, f, 4, 2, 1, bias=False), nn.BatchNorm2d(f), nn.ReLU(True),
        nn.ConvTranspose2d(f, c, 4, 2, 1), nn.Tanh())
    d = nn.Sequential(
        nn.Conv2d(c, f, 4, 2, 1), nn.LeakyReLU(0.2, True),
        nn.Conv2d(f, f * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(f * 2), nn.LeakyReLU(0.2, True),
        nn.Conv2d(f * 2, f * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(f * 4), nn.LeakyReLU(0.2, True),
        nn.Conv2d(f * 4, f * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(f * 8), nn.LeakyReLU(0.2, True),
        nn.Conv2d(f * 8, 1, 4, 1, 0))
    opt_g = torch.optim.Adam(g.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), 2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    data = torch.rand(512, c, RES, RES) * 2 - 1
    ones, zeros = torch.ones(batch), torch.zeros(batch)
    for i in range(warmup + iterations):
        if i == warmup:
            start = time.perf_counter()
        real = data[torch.randint(0, len(data), (batch,))]
        fake = g(torch.randn(batch, z, 1, 1))
        loss_d = bce(d(real).view(-1), ones) + bce(d(fake.detach()).view(-1), zeros)
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = bce(d(fake).view(-1), ones)
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        float(loss_d), float(loss_g)
    return batch * iterations / (time.perf_counter() - start)


def random_data(n: int = 512) -> PreparedDataset:
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (n, 1, RES, RES)).astype(np.float32)
    masks = rng.integers(0, CLASSES, (n, RES, RES)).astype(np.uint8)
    return PreparedDataset("bench", "train", images, masks, np.array([str(i) for i in range(n)]),
                           ("background", "a", "b", "c"))


def framework(gan: str, batch: int, filters: int, iterations: int, warmup: int) -> float:
    """images/s of ``train_gan`` from the wall times it logs (warm-up iterations excluded)."""
    config = preset("quick", gan=gan, data=DataSpec(resolution=RES), batch_size=batch, filters_g=filters, filters_d=filters,
                    diff_augment=False, label_smoothing=False,
                    iterations=warmup + iterations, grid_every=10**6, checkpoint_every=10**6, progress=False)
    with tempfile.TemporaryDirectory() as study:
        run = train_gan(config, study, data=random_data())
        wall = [json.loads(line)["wall_time"] for line in (run / "stats.jsonl").read_text().splitlines()]
    return batch * iterations / (wall[-1] - wall[warmup - 1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--filters", type=int, default=32)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--gans", default=",".join(GANS.names()))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    common = (args.batch, args.filters, args.iterations, args.warmup)
    print(f"64x64, batch {args.batch}, {args.filters} filters, {args.iterations} timed iterations, "
          f"{args.threads} threads")
    plain, ours = [], []
    for _ in range(args.repeats):
        plain.append(plain_dcgan(*common))
        ours.append(framework("dcgan", *common))
    ratio = float(np.median(np.array(ours) / np.array(plain)))
    print(f"plain DCGAN loop      {np.median(plain):8.1f} img/s")
    print(f"train_gan dcgan       {np.median(ours):8.1f} img/s   ratio {ratio:.3f} (target >= 0.95)")
    for gan in args.gans.split(","):
        if gan != "dcgan":
            rate = framework(gan, *common)
            print(f"train_gan {gan:<11} {rate:8.1f} img/s   ({rate / np.median(plain):.2f} x plain DCGAN; "
                  f"one iteration = n_critic D steps + 1 G step)")


if __name__ == "__main__":
    main()
