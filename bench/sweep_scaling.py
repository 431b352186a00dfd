"""Hyperparameter-sweep scaling on this machine: Ray start-up, trials per hour with 1 and 2 Ray workers,
and the compute ASHA saves over the full grid (and whether it keeps the best configuration).

A small grid of real trials (DCGAN, skandarani Table 1 discriminator filters x learning rate, short
budget, FID on a few samples) is run three times in fresh study folders, side by side in one process:
1 worker, 2 workers, and ASHA followed by the full budget.

    .venv/bin/python bench/sweep_scaling.py [--iterations 20] [--fid-n 8]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import ray

from medgan_lib.data import DataSpec
from medgan_lib.tune import StudyConfig, compare_asha, run_study


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=12, help="training budget per trial")
    parser.add_argument("--interval", type=int, default=4, help="FID every this many iterations (ASHA rungs)")
    parser.add_argument("--fid-n", type=int, default=8, help="samples per FID")
    parser.add_argument("--resolution", type=int, default=32)
    args = parser.parse_args()

    start = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    startup = time.perf_counter() - start
    try:
        config = dict(name="bench", search="grid", gans=["dcgan"], grid_keys=["filters_discriminator", "learning_rate"],
                      restrict={"filters_discriminator": [16, 32], "learning_rate": [0.0002, 0.001]},
                      iterations=args.iterations, interval=args.interval, scale="quick", data=DataSpec(resolution=args.resolution),
                      base={"batch_size": 16, "filters_g": 16, "count": 128}, fid_n=args.fid_n)
        with tempfile.TemporaryDirectory() as warm:  # data preparation and Inception load, not timed
            run_study(StudyConfig(**{**config, "iterations": args.interval, "restrict": {
                "filters_discriminator": [16], "learning_rate": [0.0001]}}), warm)
        rates = {}
        for workers in (1, 2):
            with tempfile.TemporaryDirectory() as study:
                start = time.perf_counter()
                rows = run_study(StudyConfig(**config, workers=workers), study)
                seconds = time.perf_counter() - start
                rates[workers] = len(rows) / seconds * 3600
                print(f"{workers} worker(s): {len(rows)} trials in {seconds:.1f} s = {rates[workers]:.0f} trials/hour")
        with tempfile.TemporaryDirectory() as study:
            saving = compare_asha(StudyConfig(**config, workers=2), study)
    finally:
        ray.shutdown()
    print(f"load average during the run (other processes share these cores): {os.getloadavg()[0]:.1f}")
    print(f"Ray start-up (local, no dashboard): {startup:.1f} s")
    print(f"trials/hour with 2 workers / 1 worker: {rates[2] / rates[1]:.2f}x")
    print(f"ASHA: {saving['iterations_asha']:.0f} of {saving['iterations_full']:.0f} iterations "
          f"(saving {saving['saving']:.0%}, {saving['stopped_early']} of {saving['trials']} trials stopped early); "
          f"same best configuration as the full grid: {saving.get('same_best')}")


if __name__ == "__main__":
    main()
