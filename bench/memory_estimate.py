"""Estimated against measured peak memory of one GAN training step, side by side in one run.

Prints, per configuration at 64x64: our saved-tensor estimate, torchsummary's (belmekki's) estimate, the
measured peak (CUDA peak counter, or the profiler's CPU allocation events) and the two ratios
measured / estimate. Usage: .venv/bin/python bench/memory_estimate.py [--device cpu|cuda] [--batch 32]
"""

from __future__ import annotations

import argparse

from medgan_lib.memory import analyse_gan, dataset_shape, memory_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--filters", type=int, default=32)
    parser.add_argument("--configs", nargs="+", default=["belmekki_table2", "dcgan", "wgan_gp", "stylegan2"])
    args = parser.parse_args()
    print(f"{'config':>16} {'estimate MB':>12} {'summary MB':>11} {'measured MB':>12} {'meas/est':>9} {'meas/summ':>10}")
    for name in args.configs:
        config = memory_config(name, 64, args.filters, batchnorm=True, batch_size=args.batch)
        row = analyse_gan(config, dataset_shape("cardiac_phantom", 64), args.device, measure=True)
        print(f"{name:>16} {row['estimate_mb']:12.1f} {row['summary_estimate_mb']:11.1f} {row['measured_mb']:12.1f} "
              f"{row['measured_over_estimate']:9.3f} {row['measured_over_summary_estimate']:10.3f}")


if __name__ == "__main__":
    main()
