"""Phantom generation throughput: image+mask pairs per second per phantom, vs the 2,000-pairs-per-minute target.

Run: .venv/bin/python bench/phantom_throughput.py [--count 2000] [--resolutions 64 256]
Measures generation plus intensity normalisation on one core (what ``prepare`` does before caching).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

from medgan_lib.data.phantoms import PHANTOMS  # noqa: E402
from medgan_lib.data.sources import DATASETS  # noqa: E402

TARGET = 2000 / 60.0  # pairs per second: 2,000 64x64 pairs in a minute


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="pairs per measurement at 64x64")
    parser.add_argument("--resolutions", type=int, nargs="+", default=[64, 256])
    args = parser.parse_args()
    print(f"{'phantom':16s} {'res':>4s} {'pairs':>6s} {'seconds':>8s} {'pairs/s':>9s} {'x target':>9s}")
    for name in PHANTOMS:
        source = DATASETS[name]
        for resolution in args.resolutions:
            count = max(50, args.count * 64 * 64 // (resolution * resolution))  # keep 256x256 runs short
            start = time.perf_counter()
            source.load(None, count, resolution, 0, source.preprocessing)
            seconds = time.perf_counter() - start
            rate = count / seconds
            print(f"{name:16s} {resolution:4d} {count:6d} {seconds:8.2f} {rate:9.1f} {rate / TARGET:9.2f}")


if __name__ == "__main__":
    main()
