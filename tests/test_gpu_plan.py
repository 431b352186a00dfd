"""The GPU plan's pieces (medgan_lib.memory.gpu_plan) on cases with known answers, and bench/study_time.py
--estimate end to end on the smoke profile."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from medgan_lib.gans.base import DataShape
from medgan_lib.memory.gpu_plan import (StepCost, count_flops, gan_rows, gan_step_cost, hours, scaling_efficiency)
from medgan_lib.training.config import preset

BENCH = Path(__file__).resolve().parents[1] / "bench" / "study_time.py"


def test_flops_of_a_linear_layer_forward_and_backward():
    layer, x = torch.nn.Linear(10, 20), torch.randn(3, 10)
    assert count_flops(lambda: layer(x)) == 2 * 3 * 10 * 20
    assert count_flops(lambda: layer(x).sum().backward()) == 2 * (2 * 3 * 10 * 20)  # + the weight gradient


def test_the_fewest_gpus_that_hold_the_batch_in_whole_groups():
    cost = StepCost(fixed_mb=1024, per_image_mb=512, flops_per_image=1e9, batch_size=64, batch_group=4)
    assert cost.memory_gib(1) == pytest.approx(1 + 32) and cost.memory_gib(4) == pytest.approx(1 + 8)
    assert cost.gpus_needed(40) == 1 and cost.gpus_needed(16) == 4 and cost.gpus_needed(9) == 4
    assert cost.gpus_needed(5) == 8  # 8 GPUs x 8 images = 1 + 4 GiB
    assert cost.gpus_needed(2) is None  # 16 GPUs would need groups of 4 split: refused
    rows = gan_rows({"x": (cost, 1000)}, rate=1e12, gpu_gib=2)
    assert rows[0]["gpus"] is None and "does not fit" in rows[0]["what"]


def test_hours_follow_the_published_multi_gpu_scaling():
    assert scaling_efficiency(1) == 1.0
    # stylegan2-ada-pytorch at 256 px: 1 GPU 22.9 s/kimg, 4 GPUs 5.75 s/kimg -> 0.996 per GPU
    assert scaling_efficiency(4) == pytest.approx(22.9 / 5.75 / 4)
    assert hours(3600e12, 1e12, 1) == pytest.approx(1.0)  # 3600 s of work at 1 TFLOP/s
    assert hours(3600e12, 1e12, 4) == pytest.approx(1 / (4 * scaling_efficiency(4)))


def test_an_iteration_costs_n_critic_discriminator_updates_and_scales_with_resolution():
    shape = DataShape(1, 4, 32)
    one = gan_step_cost(preset("smoke", gan="wgan_gp", n_critic=1, resolution=32), shape)
    five = gan_step_cost(preset("smoke", gan="wgan_gp", n_critic=5, resolution=32), shape)
    assert five.flops_per_image > 2.5 * one.flops_per_image
    big = gan_step_cost(preset("smoke", gan="wgan_gp", n_critic=1, resolution=64), dataclasses.replace(shape, resolution=64))
    assert big.flops_per_image > 3 * one.flops_per_image and big.per_image_mb > 3 * one.per_image_mb


def test_the_estimate_of_the_smoke_profile_runs_and_lists_its_steps(tmp_path):
    out = subprocess.run([sys.executable, str(BENCH), "--estimate", "--profile", "smoke", "--gpu-memory", "16",
                          "--calibrate-at", "128"],
                         capture_output=True, text=True, timeout=900, env={**os.environ, "MEDGAN_CACHE": str(tmp_path)})
    assert out.returncode == 0, out.stderr[-2000:]
    assert "02_gan_training-dcgan" in out.stdout and "04_unet_dice" in out.stdout and "calibrated" in out.stdout
