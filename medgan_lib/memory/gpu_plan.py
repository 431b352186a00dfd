"""Planning a profile's study on GPUs before starting it: memory per GPU, GPUs per GAN run and hours per step,
estimated on this machine (no GPU needed).

- Memory of a training step: the saved-tensor model of ``analyse_gan`` (resident tensors and a fixed part, plus
  per image x the per-GPU batch), counted at a small batch and extrapolated; a U-Net's the same way.
- Work: floating-point operations of one training iteration (torch's ``FlopCounterMode``: convolutions and matrix
  products, forward and backward), per image; lazy regularisers are averaged over their interval.
- Time: work / an effective GPU rate. The rate is calibrated, not assumed: our StyleGAN2's operations per 1,000
  images at 256x256 over stylegan2-ada-pytorch's published seconds per kimg on one V100, scaled by the GPU's peak
  FP32 rate over the V100's 15.7 TFLOP/s and, for several GPUs, by that table's measured scaling. The official code
  trains its highest resolutions in FP16 with custom kernels, so the calibrated rate can exceed the V100's FP32
  peak: the estimate assumes mixed precision as good as theirs (paper.yaml's amp). Small conv GANs keep a GPU less
  busy than StyleGAN2 does, so their hours are lower bounds.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pandas as pd
import torch
from torch.utils.flop_counter import FlopCounterMode

from medgan_lib.gans.base import DataShape
from medgan_lib.memory.accounting import MB, saved_tensor_memory
from medgan_lib.memory.gan_memory import (GIB, _batch, _discriminator_step, _generator_step, _optimizers,
                                          analyse_gan)
from medgan_lib.reference import stylegan2_ada_speed
from medgan_lib.runtime import seed_everything
from medgan_lib.training.run import build_gan

V100_TFLOPS = 15.7  # NVIDIA Tesla V100 SXM2 peak FP32, the GPU of stylegan2-ada-pytorch's speed table
CALIBRATION_RESOLUTION = 256
SMALL_BATCH = 2  # images per counted iteration (work is per image; memory needs a second, larger batch)


class _WholeProgram:
    """Stands in for FlopCounterMode's per-module tracker: we need the total only, and the tracker's hooks fail
    on our networks' no-grad generator passes (torch 2.14: "Expected gradient function to be set")."""

    parents = ("Global",)

    def __enter__(self) -> "_WholeProgram":
        return self

    def __exit__(self, *args: Any) -> None:
        return None


def count_flops(work) -> int:
    """Floating-point operations of ``work()`` (matrix products and convolutions, forward and backward)."""
    counter = FlopCounterMode(display=False)
    counter.mod_tracker = _WholeProgram()
    with counter:
        work()
    return int(counter.get_total_flops())


@dataclasses.dataclass(frozen=True)
class StepCost:
    """One training iteration's cost model: memory = fixed + per image x batch; work per image shown to D."""

    fixed_mb: float
    per_image_mb: float
    flops_per_image: float
    batch_size: int  # the global batch it trains with
    batch_group: int = 1  # samples that must stay on one GPU (StyleGAN2's minibatch-stddev group)

    def memory_gib(self, gpus: int) -> float:
        return (self.fixed_mb + self.per_image_mb * self.batch_size / gpus) * MB / GIB

    def gpus_needed(self, gpu_gib: float, most: int = 64) -> int | None:
        """The fewest GPUs whose share of the global batch (whole groups) fits ``gpu_gib``; None if none does."""
        for gpus in range(1, most + 1):
            if self.batch_size % (gpus * self.batch_group) == 0 and self.memory_gib(gpus) <= gpu_gib:
                return gpus
        return None


def _lazy_interval(gan: Any, name: str, weight: str) -> int:
    options = getattr(gan, "options", None)
    if options is None or not getattr(options, weight, 0):
        return 1
    return int(getattr(options, name, 1))


def gan_flops_per_image(config: Any, shape: DataShape) -> float:
    """Work of ``config``'s iteration (``n_critic`` D updates and one G update) per image of the batch."""
    seed_everything(0)
    gan = build_gan(config, shape).train()
    optimizers = _optimizers(gan, config)
    real, cond = _batch(gan, shape, SMALL_BATCH, torch.device("cpu"), 0)

    def averaged(step, interval: int) -> float:
        """Work of one update, its lazy regulariser (run at step 0) spread over ``interval`` steps."""
        plain = count_flops(lambda: step(gan, optimizers, real, cond, 1))
        regularised = count_flops(lambda: step(gan, optimizers, real, cond, 0)) if interval > 1 else plain
        return plain + (regularised - plain) / interval

    d = averaged(_discriminator_step, _lazy_interval(gan, "r1_interval", "r1_gamma"))
    g = averaged(_generator_step, _lazy_interval(gan, "pl_interval", "pl_weight"))
    return (config.n_critic * d + g) / SMALL_BATCH


def gan_step_cost(config: Any, shape: DataShape) -> StepCost:
    """``config``'s iteration as a ``StepCost``: memory from ``analyse_gan``, work from ``gan_flops_per_image``."""
    row = analyse_gan(dataclasses.replace(config, batch_size=2 * SMALL_BATCH), shape, device="cpu", measure=False)
    fixed = row["static_mb"] + row["saved_fixed_mb"]
    per_image = row["saved_mb_per_image"] + row["allowance_mb_per_image"] + row["input_mb_per_image"]
    group = build_gan(config, shape).batch_group
    return StepCost(fixed, per_image, gan_flops_per_image(config, shape), config.batch_size, group)


def unet_step_cost(size: str, in_channels: int, num_classes: int, resolution: int, batch_size: int) -> StepCost:
    """One U-Net training step (cross-entropy + Dice, Adam) as a ``StepCost``."""
    from medgan_lib.segmentation.unet import build_unet

    seed_everything(0)
    model = build_unet(in_channels, num_classes, size).train()
    params = [*model.parameters(), *model.buffers()]

    def step(n: int):
        x = torch.randn(n, in_channels, resolution, resolution)
        return torch.nn.functional.cross_entropy(model(x), torch.zeros(n, resolution, resolution, dtype=torch.long))

    saved = [saved_tensor_memory(lambda n=n: step(n), exclude=params)[1].bytes for n in (SMALL_BATCH, 2 * SMALL_BATCH)]
    per_image = (saved[1] - saved[0]) / SMALL_BATCH
    resident = 4 * sum(p.numel() * p.element_size() for p in model.parameters())  # weights, grads, Adam m and v
    fixed = resident + saved[0] - per_image * SMALL_BATCH
    flops = count_flops(lambda: step(SMALL_BATCH).backward())
    input_mb = in_channels * resolution ** 2 * 4 / MB
    return StepCost(fixed / MB, per_image / MB + input_mb, flops / SMALL_BATCH, batch_size)


def inception_flops_per_image() -> float:
    """Inception-v3 forward at 299 x 299 (torchvision's architecture, the FID network's; no weights needed)."""
    from torchvision.models import inception_v3

    model = inception_v3(weights=None, aux_logits=False, init_weights=False).eval()
    with torch.no_grad():
        return float(count_flops(lambda: model(torch.zeros(1, 3, 299, 299))))


def scaling_efficiency(gpus: int, resolution: int = CALIBRATION_RESOLUTION) -> float:
    """Speed-up per GPU of ``gpus`` V100s in stylegan2-ada-pytorch's table (the nearest listed count at or
    below; 1 for one GPU)."""
    table = {g: sum(v) / 2 for g, v in stylegan2_ada_speed(resolution).items()}
    listed = max((g for g in table if g <= gpus), default=1)
    return table[1] / table[listed] / listed if 1 in table else 1.0


def calibrated_rate(stylegan2_config: Any, shape: DataShape) -> float:
    """Effective FLOP/s of one V100 on StyleGAN2: our StyleGAN2's work per 1,000 images at ``shape`` (256 x 256)
    over stylegan2-ada-pytorch's published seconds per kimg on one V100."""
    published = stylegan2_ada_speed(shape.resolution).get(1)
    if published is None:
        raise ValueError(f"stylegan2-ada-pytorch publishes no V100 speed at {shape.resolution} px; calibrate at "
                         f"{CALIBRATION_RESOLUTION}")
    return gan_flops_per_image(stylegan2_config, shape) * 1000 / (sum(published) / 2)


def hours(flops: float, rate: float, gpus: int) -> float:
    """Wall hours of ``flops`` on ``gpus`` GPUs of effective ``rate`` FLOP/s each."""
    return flops / (rate * gpus * scaling_efficiency(gpus)) / 3600


def gan_rows(costs: dict[str, tuple[StepCost, int]], rate: float, gpu_gib: float, step: str = "02_gan_training"
             ) -> list[dict[str, Any]]:
    """One row per GAN run: per-GPU memory on the fewest GPUs that hold the batch, and its hours there.
    ``costs``: GAN -> (its step cost, iterations)."""
    rows = []
    for gan, (cost, iterations) in costs.items():
        gpus = cost.gpus_needed(gpu_gib)
        row = {"step": f"{step}-{gan}", "what": f"{iterations} iterations, global batch {cost.batch_size}",
               "gpus": gpus, "memory_gib_per_gpu": cost.memory_gib(gpus) if gpus else cost.memory_gib(1),
               "hours": hours(cost.flops_per_image * cost.batch_size * iterations, rate, gpus) if gpus else math.nan}
        if gpus is None:
            row["what"] += f": does not fit {gpu_gib:g} GiB even split {cost.batch_size // cost.batch_group} ways"
        rows.append(row)
    return rows


def plan_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=["step", "what", "gpus", "memory_gib_per_gpu", "hours"])
    return table.round({"memory_gib_per_gpu": 2, "hours": 3})
