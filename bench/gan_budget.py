"""Seconds per training iteration of every GAN at the quick preset on the cardiac phantom, and the iterations
each gets under the quick profile's equal wall-clock budget (``training.config.QUICK_BUDGET_SECONDS``), each on the
phantom it trains on in the study.

    .venv/bin/python bench/gan_budget.py [--resolution 32] [--iterations 40] [--gans dcgan,hinge]

The quick profile's per-GAN iterations are derived from the seconds per iteration written in
``training.config.QUICK_SECONDS_PER_ITERATION``; this script measures them again on this machine, side by side
with those written, so a ratio far from 1 says the profile's budget does not hold here. Run it on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import tempfile

from medgan_lib.data.spec import DataSpec
from medgan_lib.gans import GANS
from medgan_lib.training import preset, train_gan
from medgan_lib.training.config import QUICK_BUDGET_SECONDS, QUICK_RESOLUTION, QUICK_SECONDS_PER_ITERATION


def dataset_for(gan: str) -> str:
    """The phantom a GAN trains on in the study: classes for the class-conditional GANs, two modalities for the
    translation GANs (08), the cardiac phantom for the others."""
    cls = GANS[gan]
    if cls.class_conditional:
        return "cardiac_groups_phantom"
    return "cardiac_mr_ct_phantom" if getattr(cls, "translates", False) else "cardiac_phantom"


def seconds_per_iteration(gan: str, resolution: int, iterations: int, warmup: int, channels: str) -> float:
    """Mean logged wall time per iteration after ``warmup`` iterations (threads: torch's default, all cores)."""
    config = preset("quick", gan=gan, data=DataSpec(dataset_for(gan), resolution=resolution), channels=channels,
                    iterations=warmup + iterations, log_every=1, grid_every=10**6, checkpoint_every=10**6,
                    progress=False)
    with tempfile.TemporaryDirectory() as study:
        run = train_gan(config, study, resume=None)
        wall = [json.loads(line)["wall_time"] for line in (run / "stats.jsonl").read_text().splitlines()]
    return (wall[-1] - wall[warmup - 1]) / iterations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resolution", type=int, default=QUICK_RESOLUTION)
    parser.add_argument("--iterations", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--gans", default=",".join(QUICK_SECONDS_PER_ITERATION))
    args = parser.parse_args()
    print(f"quick preset, cardiac phantom {args.resolution}x{args.resolution}, {args.iterations} timed iterations; "
          f"budget {QUICK_BUDGET_SECONDS} s per GAN")
    print(f"{'GAN':<14}{'written s/it':>13}{'measured s/it':>15}{'ratio':>8}{'iterations':>12}")
    for key in args.gans.split(","):
        gan, _, channels = key.partition(":")
        measured = seconds_per_iteration(gan, args.resolution, args.iterations, args.warmup, channels or "joint")
        written = QUICK_SECONDS_PER_ITERATION.get(key, float("nan"))
        print(f"{key:<14}{written:>13.4f}{measured:>15.4f}{measured / written:>8.2f}"
              f"{int(QUICK_BUDGET_SECONDS / measured):>12d}")


if __name__ == "__main__":
    main()
