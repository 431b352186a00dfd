"""Memory and time of one GAN training step (belmekki §III.E), estimated and measured side by side.

For one configuration (a registered GAN or a named preset such as ``belmekki_table2``, at a resolution,
a feature-map size and with or without BatchNorm) ``analyse_gan`` reports:
- parameter memory of G and D;
- belmekki's count: torchsummary's "forward/backward pass size" per image (2 x the summed leaf-module
  outputs of one G and one D forward), times the batch, plus parameters;
- our count: the storages autograd saves in the discriminator and the generator step, at two batch sizes
  (so a per-image slope and a fixed part), plus the resident tensors (parameters, buffers, gradients,
  optimiser state, the data batch) and the larger of two transients: a backward allowance of two copies
  of the largest layer output (the gradient flowing out of a layer and the one flowing in), and an
  optimiser allowance of two copies of the largest parameter tensor (the per-tensor Adam update computes
  ``sqrt(v)`` and its quotient as temporaries);
- the measured peak of one training step (a D update then a G update, optimiser steps included: further
  critic steps repeat the same pattern), taken from the allocator (CUDA peak counter, or the profiler's
  CPU allocation events), and the time of an iteration as ``train_gan`` runs it (``n_critic`` D updates,
  one G update), from the timed D and G updates.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
import torch
from torch import nn

from medgan_lib.config import replace
from medgan_lib.gans.base import GANS, GAN, DataShape
from medgan_lib.hashing import hash_inputs
from medgan_lib.memory.accounting import (MB, leaf_output_summary, parameter_memory, saved_tensor_memory,
                                          summary_mb_per_image)
from medgan_lib.memory.measure import peak_memory_delta, seconds_per_call, tensor_bytes
from medgan_lib.progress import tqdm
from medgan_lib.results import append_result
from medgan_lib.runtime import seed_everything, select_device
from medgan_lib.training.train import build_gan, make_optimizer

GIB = 2**30  # accelerator capacities ("12 GB") are read as GiB, like torchsummary's MB are MiB
ACCELERATORS_GB = (12, 16, 24, 80)


def memory_config(name: str, resolution: int, filters: int, batchnorm: bool = True, batch_size: int = 64,
                  base: str = "quick") -> Any:
    """The ``TrainConfig`` of GAN ``name`` (or experiment preset ``name``, e.g. ``belmekki_table2``) on the
    ``base`` scale profile, with ``filters`` feature maps in G and D (the channels of G's last and D's first
    layer; GAN-specific widths follow them, see below); ``batchnorm=False`` switches every BatchNorm of the
    configuration off (belmekki Figure 8)."""
    from medgan_lib.training.config import EXPERIMENT_PRESETS, preset

    overrides = dict(resolution=resolution, filters_g=filters, filters_d=filters, batch_size=batch_size)
    config = preset(f"{base}+{name}", **overrides) if name in EXPERIMENT_PRESETS else preset(base, gan=name,
                                                                                                 **overrides)
    options = GANS[config.gan].Options
    fields = {f.name for f in dataclasses.fields(options)} if dataclasses.is_dataclass(options) else set()
    if {"channel_base", "channel_max"} <= fields:
        # StyleGAN2-style width (channels = min(base // r, max)) shaped like the conv pair: ``filters`` at
        # full resolution, doubling per halving, capped at 8 x filters.
        config = replace(config, gan_options={**config.gan_options, "channel_base": filters * resolution,
                                              "channel_max": 8 * filters})
    if "spade_hidden" in fields:
        # SPADE's modulation networks follow the feature maps too (128 hidden for 64 filters in the paper).
        config = replace(config, gan_options={**config.gan_options, "spade_hidden": 2 * filters})
    if not batchnorm:
        config = replace(config, norm_g="none" if config.norm_g == "batch" else config.norm_g,
                         norm_d="none" if config.norm_d == "batch" else config.norm_d)
    return config


def _optimizers(gan: GAN, config: Any) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
    """G and D optimisers exactly as ``train_gan`` builds them (Adam, or belmekki's AdaS)."""
    return (make_optimizer(config.optimizer, gan.generator.parameters(), config.lr_g, config.betas_g),
            make_optimizer(config.optimizer, gan.discriminator.parameters(), config.lr_d, config.betas_d))


def _batch(gan: GAN, shape: DataShape, n: int, device: torch.device, seed: int
           ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """A random batch shaped like ``train_gan``'s: the joint tensor, or (images, one-hot float masks) when
    the GAN is conditional. Values do not change memory, only shapes do."""
    rng = torch.Generator().manual_seed(seed)
    res = shape.resolution
    if gan.conditional:
        images = torch.rand(n, shape.image_channels, res, res, generator=rng) * 2 - 1
        labels = torch.randint(0, max(shape.num_classes, 1), (n, res, res), generator=rng)
        onehot = nn.functional.one_hot(labels, max(shape.num_classes, 1)).permute(0, 3, 1, 2).float()
        return images.to(device), onehot.to(device)
    return (torch.rand(n, shape.joint_channels, res, res, generator=rng) * 2 - 1).to(device), None


def _discriminator_step(gan: GAN, optimizers: tuple[torch.optim.Optimizer, torch.optim.Optimizer],
                        real: torch.Tensor, cond: torch.Tensor | None, step: int) -> None:
    """One discriminator update as ``train_gan`` runs it."""
    opt_d = optimizers[1]
    opt_d.zero_grad(set_to_none=True)
    loss, _ = gan.discriminator_loss(real, cond, step)
    loss.backward()
    opt_d.step()
    gan.after_discriminator_step(step)


def _generator_step(gan: GAN, optimizers: tuple[torch.optim.Optimizer, torch.optim.Optimizer],
                    real: torch.Tensor, cond: torch.Tensor | None, step: int) -> None:
    """One generator update as ``train_gan`` runs it: D's weights frozen (gradients flow through D, none
    are kept for it)."""
    opt_g = optimizers[0]
    gan.discriminator.requires_grad_(False)
    try:
        opt_g.zero_grad(set_to_none=True)
        loss, _ = gan.generator_loss(real, cond, step)
        loss.backward()
        opt_g.step()
    finally:
        gan.discriminator.requires_grad_(True)
    gan.after_generator_step(step)


def _prime_optimizers(gan: GAN, optimizers: tuple[torch.optim.Optimizer, torch.optim.Optimizer]) -> None:
    """Create every gradient and the optimiser state as a training iteration leaves them, without running
    the networks: one optimiser step on zero gradients."""
    for p in gan.parameters():
        if p.requires_grad:
            p.grad = torch.zeros_like(p)
    for optimizer in optimizers:
        optimizer.step()


def _saved_per_phase(gan: GAN, real: torch.Tensor, cond: torch.Tensor | None, exclude: list[torch.Tensor]
                     ) -> dict[str, int]:
    """Bytes autograd saves in the D step and in the G step (step 0: lazy regularisers included)."""
    out = {}
    for phase, loss_fn in (("discriminator", gan.discriminator_loss), ("generator", gan.generator_loss)):
        gan.discriminator.requires_grad_(phase == "discriminator")
        try:
            result, saved = saved_tensor_memory(lambda: loss_fn(real, cond, 0), exclude=exclude)
        finally:
            gan.discriminator.requires_grad_(True)
        out[phase] = saved.bytes
        del result
    return out


def analyse_gan(config: Any, shape: DataShape, device: str = "auto", measure: bool = True, repeats: int = 1,
                seed: int = 0) -> dict[str, Any]:
    """Estimated and (if ``measure``) measured memory of one training step, and time of one iteration, of
    ``config`` on data of ``shape`` at ``config.batch_size``; one flat row of numbers (MB = MiB)."""
    dev = select_device(device)
    batch = config.batch_size
    seed_everything(seed)
    gan = build_gan(config, shape).to(dev).train()
    g_params, d_params = parameter_memory(gan.generator), parameter_memory(gan.discriminator)
    resident_model = [*gan.parameters(), *gan.buffers()]
    real, cond = _batch(gan, shape, batch, dev, seed)
    input_bytes_per_image = tensor_bytes([t for t in (real, cond) if t is not None]) / batch

    # belmekki's count: leaf outputs of one generator step (one G and one D forward), step 1 so that
    # lazily applied regularisers (StyleGAN2's) stay out of it, as they are out of a torchsummary call.
    layers = leaf_output_summary({"generator": gan.generator, "discriminator": gan.discriminator},
                                 lambda: gan.generator_loss(real, cond, 1), batch)
    per_network = summary_mb_per_image(layers)
    summary = {name: per_network.get(name, 0.0) for name in ("generator", "discriminator")}
    largest_output = layers["bytes_per_image"].max() if len(layers) else 0.0

    # our count: saved tensors at two batch sizes -> per-image slope and fixed part.
    small = 2 if batch > 2 else batch * 2
    real_small, cond_small = _batch(gan, shape, small, dev, seed + 1)
    saved_small = _saved_per_phase(gan, real_small, cond_small, resident_model)
    saved_full = _saved_per_phase(gan, real, cond, resident_model)
    phase = max(saved_full, key=saved_full.get)
    per_image = (saved_full[phase] - saved_small[phase]) / (batch - small)
    fixed = saved_full[phase] - per_image * batch

    optimizers = _optimizers(gan, config)
    d_step = lambda: _discriminator_step(gan, optimizers, real, cond, 0)  # noqa: E731
    g_step = lambda: _generator_step(gan, optimizers, real, cond, 0)  # noqa: E731
    step = lambda: (d_step(), g_step())  # noqa: E731
    if measure:
        step()  # warm-up: creates gradients and optimiser state
    else:
        _prime_optimizers(gan, optimizers)
    grads = [p.grad for p in gan.parameters() if p.grad is not None]
    state = [v for opt in optimizers for s in opt.state.values() for v in s.values() if torch.is_tensor(v)]
    static = tensor_bytes([*resident_model, *grads, *state])
    input_bytes = input_bytes_per_image * batch
    allowance = 2 * largest_output * batch
    optimizer_allowance = 2 * max(p.numel() * p.element_size() for p in gan.parameters())
    estimate = static + input_bytes + max(saved_full[phase] + allowance, optimizer_allowance)
    summary_estimate = (g_params.parameter_bytes + d_params.parameter_bytes + g_params.buffer_bytes
                        + d_params.buffer_bytes) + batch * (sum(summary.values()) * MB + input_bytes_per_image)
    row: dict[str, Any] = {
        "gan": config.gan, "resolution": shape.resolution, "filters_g": config.filters_g,
        "filters_d": config.filters_d, "norm_g": config.norm_g, "norm_d": config.norm_d,
        "batchnorm_layers": sum(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in gan.modules()),
        "batch_size": batch, "n_critic": config.n_critic, "optimizer": config.optimizer,
        "image_channels": shape.image_channels, "num_classes": shape.num_classes, "device": str(dev),
        "seed": seed, "config_hash": hash_inputs(config.to_dict(), shape),
        "params_g": g_params.parameters, "params_d": d_params.parameters,
        "param_mb": (g_params.parameter_bytes + d_params.parameter_bytes) / MB,
        "static_mb": static / MB,
        "input_mb_per_image": input_bytes_per_image / MB,
        "summary_g_mb_per_image": summary["generator"], "summary_d_mb_per_image": summary["discriminator"],
        # torchsummary's "Estimated Total Size" of the generator alone (belmekki Figure 8's "generator model")
        "summary_g_total_mb_per_image": summary["generator"] + g_params.parameter_bytes / MB,
        "summary_mb_per_image": sum(summary.values()),
        "summary_batch_mb": sum(summary.values()) * batch,
        # torchsummary's "Estimated Total Size" of G and D for one image: input + fwd/bwd + parameters
        "summary_total_mb_per_image": sum(summary.values()) + input_bytes_per_image / MB + (
            g_params.parameter_bytes + d_params.parameter_bytes) / MB,
        "summary_estimate_mb": summary_estimate / MB,
        "saved_phase": phase, "saved_mb": saved_full[phase] / MB,
        "saved_mb_per_image": per_image / MB, "saved_fixed_mb": fixed / MB,
        "allowance_mb_per_image": 2 * largest_output / MB,
        "optimizer_allowance_mb": optimizer_allowance / MB,
        "estimate_mb": estimate / MB,
    }
    if measure:
        measured = static + input_bytes + peak_memory_delta(step, dev)
        seconds_d, seconds_g = seconds_per_call(d_step, dev, repeats), seconds_per_call(g_step, dev, repeats)
        seconds = config.n_critic * seconds_d + seconds_g
        row.update({
            "measured_mb": measured / MB,
            "measured_over_estimate": measured / estimate,
            "measured_over_summary_estimate": measured / summary_estimate,
            "seconds_d_step": seconds_d, "seconds_g_step": seconds_g,
            "seconds_per_iteration": seconds,
            "images_per_second": batch / seconds,
        })
    return row


def dataset_shape(dataset: str, resolution: int) -> DataShape:
    """What a GAN learns on ``dataset`` at ``resolution`` (channels and labels from the dataset's source;
    no data is read: memory depends on shapes only)."""
    from medgan_lib.data import DATASETS

    source = DATASETS[dataset]
    return DataShape(source.image_channels, len(source.label_names), resolution)


def feature_map_sweep(names: Sequence[str], resolutions: Sequence[int], feature_maps: Sequence[int],
                      batchnorm: Sequence[bool] = (True, False), batch_size: int = 64,
                      dataset: str = "cardiac_phantom", device: str = "auto", measure: bool = True, repeats: int = 1,
                      seed: int = 0, base: str = "quick", study_dir: str | None = None,
                      progress: bool = True) -> pd.DataFrame:
    """belmekki Figures 7-8 for every name (GAN or preset) x resolution x feature-map size x BatchNorm
    on/off, on data shaped like ``dataset``: one ``analyse_gan`` row each. Configurations without any
    BatchNorm get no "off" row (it would be the same network); one that runs out of device memory gets a
    row with an ``error`` and no numbers. Rows are appended as ``memory`` results
    when ``study_dir`` is not None ("" is the default study)."""
    if not names or not resolutions or not feature_maps or not batchnorm:
        raise ValueError("feature_map_sweep: names, resolutions, feature_maps and batchnorm must be non-empty")
    rows: list[dict[str, Any]] = []
    without_bn: set[tuple[str, int, int]] = set()
    cases = list(itertools.product(names, resolutions, feature_maps, sorted(batchnorm, reverse=True)))
    for name, res, filters, bn in tqdm(cases, desc="memory sweep", disable=not progress):
        if not bn and (name, res, filters) in without_bn:
            continue
        config = memory_config(name, res, filters, bn, batch_size, base)
        row = {"config": name, "batchnorm": bn, "dataset": dataset, "n": batch_size}
        try:
            row.update(analyse_gan(config, dataset_shape(dataset, res), device, measure, repeats, seed))
        except torch.OutOfMemoryError as err:  # a configuration too large for the device is a result too
            row.update(gan=config.gan, resolution=res, filters_g=filters, filters_d=filters, batch_size=batch_size,
                       error=f"out of memory: {str(err).splitlines()[0]}")
            rows.append(row)
            continue
        if bn and row["batchnorm_layers"] == 0:
            without_bn.add((name, res, filters))
        if study_dir is not None:
            append_result(study_dir, "memory", row)
        rows.append(row)
    return pd.DataFrame(rows)


def bn_savings(sweep: pd.DataFrame, columns: Iterable[str] = ("summary_total_mb_per_image", "summary_mb_per_image",
                                                              "summary_g_total_mb_per_image", "saved_mb_per_image",
                                                              "estimate_mb", "measured_mb")
               ) -> pd.DataFrame:
    """Per configuration, resolution and feature-map size: memory with and without BatchNorm and the
    saving in percent of the with-BN value (belmekki report 1.2-7 % for one image)."""
    keys = ["config", "resolution", "filters_g"]
    columns = [c for c in columns if c in sweep.columns]
    on = sweep[sweep.batchnorm].set_index(keys)[columns]
    off = sweep[~sweep.batchnorm].set_index(keys)[columns]
    both = on.merge(off, left_index=True, right_index=True, suffixes=("_bn", "_no_bn"))
    for column in columns:
        both[f"{column}_saving_pct"] = 100 * (both[f"{column}_bn"] - both[f"{column}_no_bn"]) / both[f"{column}_bn"]
    return both.reset_index()


def max_batch(sweep: pd.DataFrame, capacities_gb: Sequence[float] = ACCELERATORS_GB) -> pd.DataFrame:
    """Largest batch that fits each accelerator (GiB) under two linear models, memory = fixed + batch x
    per image: belmekki's (parameters + torchsummary size per image incl. the input) and ours
    (resident tensors + saved-tensor fixed part + per image: saved tensors, backward allowance, input)."""
    rows = []
    for _, r in sweep.iterrows():
        if pd.isna(r.get("saved_mb_per_image")):
            continue  # the configuration did not run (out of memory)
        models = {
            "summary": (r.param_mb, r.summary_mb_per_image + r.input_mb_per_image),
            "saved": (r.static_mb + r.saved_fixed_mb,
                      r.saved_mb_per_image + r.allowance_mb_per_image + r.input_mb_per_image),
        }
        for model, (fixed_mb, per_image_mb) in models.items():
            row = {"config": r.config, "resolution": r.resolution, "filters_g": r.filters_g,
                   "batchnorm": r.batchnorm, "model": model, "fixed_mb": fixed_mb, "per_image_mb": per_image_mb}
            for gb in capacities_gb:
                row[f"{gb:g} GB"] = max(0, int((gb * GIB / MB - fixed_mb) // per_image_mb))
            rows.append(row)
    return pd.DataFrame(rows)


# Ours: memory "grows linearly" when a straight line explains >= 98 % of the variance (the findings use it too).
LINEAR_R2 = 0.98


def memory_notes(sweep: pd.DataFrame, savings: pd.DataFrame, column: str = "summary_mb_per_image",
                 saving: str = "summary_total_mb_per_image_saving_pct") -> list[str]:
    """"What to notice" lines written from the Table II sweep and BatchNorm savings (column ``saving``): how linear
    memory per image is in the number of feature maps (belmekki Figure 7) and the saving beside belmekki's 1.2-7 %."""
    from medgan_lib.stats import linear_fit

    notes = []
    for (config, resolution), group in sweep[sweep.batchnorm].groupby(["config", "resolution"]):
        if group.filters_g.nunique() >= 3:
            slope, r2 = linear_fit(group.filters_g, group[column])
            notes.append(f"{config} at {resolution}x{resolution}: memory per image grows by {slope.value:.3g} MB per "
                         f"feature map, R² = {r2:.3f} over {len(group)} sizes ({'linear' if r2 >= LINEAR_R2 else 'not linear'}"
                         f", as belmekki Figure 7 {'shows' if r2 >= LINEAR_R2 else 'does not show here'}).")
        else:
            notes.append(f"{config} at {resolution}x{resolution}: {group.filters_g.nunique()} feature-map size(s); "
                         f"linearity needs at least 3.")
    if saving in savings and len(savings):
        low, high = savings[saving].min(), savings[saving].max()
        inside = 1.2 <= low and high <= 7.0
        span = f"{low:.2g}" if f"{low:.2g}" == f"{high:.2g}" else f"{low:.2g}-{high:.2g}"
        where = ", ".join(sorted(set(savings["config"]))) if "config" in savings else "the sweep"
        notes.append(f"removing BatchNorm ({where}) saves {span} % of the memory per image (belmekki: 1.2-7 %; "
                     f"{'inside' if inside else 'outside'} their range).")
    return notes
