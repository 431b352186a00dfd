"""Two of the quick study's savings, each measured side by side in one run (issue 15):

1. sample once per run and reuse: 02 draws a GAN's n samples and 03, 04 and 07 read them (``Run.samples``),
   against drawing them again in each of the four sections as the study did before;
2. ``channels_last`` for a conv GAN's training step (D and G forward and backward), against the default
   contiguous layout, at the quick preset's sizes.

    .venv/bin/python bench/savings.py [--gans dcgan,spade,stylegan2] [--n 1000] [--steps 30]

Run it on an idle machine: the printed ratios (before / now) are what to compare, not the seconds.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time

import torch

from medgan_lib.data.spec import DataSpec
from medgan_lib.gans import DataShape
from medgan_lib.training import Run, preset, train_gan
from medgan_lib.training.config import QUICK_RESOLUTION
from medgan_lib.training.run import build_gan

SECTIONS_SAMPLING = 4  # 02, 03, 04 and 07 each used a GAN's samples


def _quick(gan: str, **overrides):
    return preset("quick", gan=gan, data=DataSpec(resolution=QUICK_RESOLUTION), progress=False, **overrides)


def sampling_seconds(run: Run, n: int) -> tuple[float, float]:
    """(seconds to draw and write ``n`` samples, seconds to read them back as the later sections do)."""
    shutil.rmtree(run.path / "samples", ignore_errors=True)
    start = time.perf_counter()
    run.samples(n, seed=0)
    drawn = time.perf_counter() - start
    start = time.perf_counter()
    run.samples(n, seed=0).load()
    return drawn, time.perf_counter() - start


def step_seconds(gan: str, channels_last: bool, steps: int, warmup: int = 3) -> float:
    """Mean seconds of one D + G forward/backward step of ``gan`` at the quick preset on random joint batches."""
    config = _quick(gan)
    torch.manual_seed(0)
    data = config.data.gan_train()
    shape = DataShape(data.image_channels, data.num_classes, data.resolution)
    model = build_gan(config, shape)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    model.generator.to(memory_format=layout)
    model.discriminator.to(memory_format=layout)
    batch = torch.randn(config.batch_size, shape.joint_channels, config.resolution, config.resolution)
    batch = batch.contiguous(memory_format=layout)
    for i in range(warmup + steps):
        if i == warmup:
            start = time.perf_counter()
        for loss in (model.discriminator_loss(batch, None, i)[0], model.generator_loss(batch, None, i)[0]):
            model.generator.zero_grad(set_to_none=True)
            model.discriminator.zero_grad(set_to_none=True)
            loss.backward()
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gans", default="dcgan,spade,stylegan2", help="GANs whose sampling is timed")
    parser.add_argument("--conv-gans", default="dcgan,hinge", help="GANs whose training step is timed")
    parser.add_argument("--n", type=int, default=1000, help="samples per GAN (quick: 1000)")
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()

    print(f"1. sampling, {args.n} samples per GAN at {QUICK_RESOLUTION}x{QUICK_RESOLUTION}: before = "
          f"{SECTIONS_SAMPLING} draws, now = 1 draw + {SECTIONS_SAMPLING - 1} reads")
    print(f"{'GAN':<12}{'draw s':>9}{'read s':>9}{'before s':>10}{'now s':>8}{'ratio':>7}")
    with tempfile.TemporaryDirectory() as study:
        for gan in args.gans.split(","):
            run = Run(train_gan(_quick(gan, iterations=2, checkpoint_every=2, grid_every=10**6), study))
            drawn, read = sampling_seconds(run, args.n)
            before, now = SECTIONS_SAMPLING * drawn, drawn + (SECTIONS_SAMPLING - 1) * read
            print(f"{gan:<12}{drawn:>9.2f}{read:>9.3f}{before:>10.2f}{now:>8.2f}{before / now:>7.1f}")

    print(f"\n2. one D + G training step at the quick preset (batch {_quick('dcgan').batch_size}), "
          f"{args.steps} steps, {torch.get_num_threads()} threads")
    print(f"{'GAN':<12}{'contiguous s':>14}{'channels_last s':>17}{'speed-up':>10}")
    for gan in args.conv_gans.split(","):
        plain, last = step_seconds(gan, False, args.steps), step_seconds(gan, True, args.steps)
        print(f"{gan:<12}{plain:>14.4f}{last:>17.4f}{plain / last:>10.2f}")


if __name__ == "__main__":
    main()
