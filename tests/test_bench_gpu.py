"""bench/gpu_throughput.py starts on a machine without a GPU (as CI's) and says so; its StyleGAN2 line reads the
published V100 figure it compares with from the reference data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "gpu_throughput.py"


def test_the_gpu_bench_starts_without_a_gpu_and_says_so(tmp_path):
    out = subprocess.run([sys.executable, str(BENCH), "--device", "cpu", "--gans", "dcgan", "--iterations", "2",
                          "--warmup", "1", "--inception-images", "8"], capture_output=True, text=True, timeout=600,
                         env={**os.environ, "MEDGAN_CACHE": str(tmp_path)})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("no GPU here") and "train_gan dcgan" in out.stdout and "Inception-v3" in out.stdout


def test_the_published_stylegan2_speed_is_read_per_resolution():
    sys.path.insert(0, str(BENCH.parent))
    from gpu_throughput import published_sec_per_kimg

    assert published_sec_per_kimg(256) == (21.6, 24.2) and published_sec_per_kimg(128) == (12.8, 13.7)
    assert published_sec_per_kimg(32) is None
