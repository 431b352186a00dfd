"""Plots for the training notebook: loss curves, belmekki's D-loss statistics, sample grids over training,
SPADE on GAN-generated masks."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from PIL import Image

from medgan_lib.plotting import fit
from medgan_lib.training.grids import mask_to_image_grid
from medgan_lib.training.run import Run, as_run, find_runs, latest_mask_run, latest_per_gan
from medgan_lib.training.sampling import mask_batches


def _loss_of(run: Run):
    """The registered loss a run's GAN trains with (None for a GAN with its own losses, e.g. SPADE)."""
    from medgan_lib.gans import GANS, LOSSES

    name = getattr(GANS[run.config.gan], "loss_name", None) if run.config.gan in GANS else None
    return LOSSES[name] if name else None


def read_stats(run: Run | str | Path) -> pd.DataFrame:
    """``stats.jsonl`` of a run as a DataFrame (one row per logged iteration)."""
    return pd.DataFrame(as_run(run).stats())


def _smooth(values: pd.Series, window: int) -> pd.Series:
    return values.rolling(window, min_periods=1).mean()


def plot_losses(runs: dict[str, Path], smooth: int | None = None) -> plt.Figure:
    """Per run (moving average over ``smooth`` iterations): D and G losses with the D loss of a discriminator that
    cannot tell real from fake (2 ln 2 for BCE); D(x) and D(G(z)) (probabilities for BCE, raw scores otherwise);
    the gradient norms of both networks. Linear axes with plain tick labels; log for gradient norms."""
    from matplotlib.ticker import FuncFormatter

    fig, (loss_ax, out_ax, grad_ax) = plt.subplots(1, 3, figsize=fit(10, 3.3))
    chance_lines = {}
    for i, (name, run) in enumerate(runs.items()):
        run = as_run(run)
        stats, colour = read_stats(run), f"C{i}"
        window = smooth or max(1, len(stats) // 50)
        step = stats["step"]
        loss_ax.plot(step, _smooth(stats["d_loss"], window), color=colour, label=f"{name}: D")
        loss_ax.plot(step, _smooth(stats["g_loss"], window), color=colour, ls="--", label=f"{name}: G")
        for key, style, label in (("d_real", "-", "D(x)"), ("d_fake", "--", "D(G(z))")):
            if key in stats:
                out_ax.plot(step, _smooth(stats[key], window), color=colour, ls=style, label=f"{name}: {label}")
        for key, style, label in (("grad_norm_d", "-", "D"), ("grad_norm_g", "--", "G")):
            if key in stats and stats[key].notna().any():
                grad_ax.plot(step, _smooth(stats[key], window), color=colour, ls=style, label=f"{name}: {label}")
        loss = _loss_of(run)
        if loss is not None and np.isfinite(loss.chance_d_loss):
            chance_lines[loss.chance_d_loss] = type(loss).__name__.replace("Loss", "")
    for value, kind in chance_lines.items():
        text = "2 ln 2" if kind == "BCE" else f"{value:g}"
        loss_ax.axhline(value, color="0.35", ls=":", lw=1.2, label=f"D cannot tell ({kind}: {text})")
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    for ax, title, ylabel in ((loss_ax, "losses", "loss (moving average)"),
                              (out_ax, "discriminator outputs", "mean D output"),
                              (grad_ax, "gradient norms", "L2 norm")):
        ax.set(title=title, xlabel="iteration", ylabel=ylabel)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=9)
    if grad_ax.lines:
        grad_ax.set_yscale("log")
    for ax in (loss_ax, out_ax, grad_ax):
        ax.yaxis.set_major_formatter(plain)  # 0.00367, not 3.66873x10^-3
    fig.tight_layout()
    return fig


def dloss_table(runs: dict[str, Path]) -> pd.DataFrame:
    """belmekki Table I columns (mean, variance, std of D loss; T0) plus collapse flags, one row per run."""
    rows = []
    for name, run in runs.items():
        summary = as_run(run).summary
        rows.append({"gan": name, "run": summary["run"], "dloss_mean": summary["dloss_mean"],
                     "dloss_variance": summary["dloss_variance"], "dloss_std": summary["dloss_std"],
                     "t0": summary["t0"], "diversity_ratio": summary["diversity_ratio"],
                     "mode_collapse": summary["mode_collapse"], "images_per_s": summary["images_per_s"]})
    return pd.DataFrame(rows).set_index("gan")


def plot_dloss_stats(runs: dict[str, Path]) -> plt.Figure:
    """Bars of mean / variance / std of the D loss per GAN (belmekki Table I)."""
    table = dloss_table(runs)[["dloss_mean", "dloss_variance", "dloss_std"]]
    fig, ax = plt.subplots(figsize=fit(max(5, 1.2 * len(table)), 3.5))
    table.plot.bar(ax=ax, rot=0)
    ax.set(title="discriminator-loss statistics", ylabel="value")
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig


def show_grids(runs: dict[str, Path], per_run: int = 4) -> plt.Figure:
    """Sample grids saved through training: one row per run, ``per_run`` evenly spaced steps."""
    grids = {name: sorted(as_run(run).grids_dir.glob("step_*.png")) for name, run in runs.items()}
    cols = max(1, min(per_run, max((len(g) for g in grids.values()), default=1)))
    fig, axes = plt.subplots(len(runs), cols, figsize=fit(3.6 * cols, 2.2 * len(runs)), squeeze=False)
    for row, (name, files) in zip(axes, grids.items()):
        picks = [files[i] for i in np.unique(np.linspace(0, len(files) - 1, cols).round().astype(int))] if files else []
        for ax in row:
            ax.axis("off")
        for ax, path in zip(row, picks):
            ax.imshow(Image.open(path))
            ax.set_title(f"{name}, iteration {int(path.stem.split('_')[1])}", fontsize=9)
    fig.tight_layout()
    return fig


def show_architecture_grids(runs: dict[str, Path], masks: int = 5) -> plt.Figure | None:
    """The grids only some GANs have: StyleGAN2's style mixing (coarse styles of the left column, fine styles
    of the top row) and truncation (psi from 1 to 0), and SPADE's mask -> image rows (validation masks, several
    latents). None if neither ran (masks-only runs are left out)."""
    from medgan_lib.training.grids import style_mixing_grid, truncation_grid

    panels = []
    for gan_name, path in runs.items():
        run = as_run(path)
        if run.is_mask_generator:
            continue  # a mask generator: its grids are the masks themselves (show_grids)
        if gan_name == "stylegan2":
            gan = run.load(device="cpu")
            panels.append(("StyleGAN2 style mixing: rows take coarse styles from the left column,\n"
                           "columns take fine styles from the top row", style_mixing_grid(gan)))
            panels.append(("StyleGAN2 truncation: rows are latents, columns psi = 1, 0.7, 0.5, 0\n"
                           "(w pulled towards the average w; psi = 0 is the 'average' sample)", truncation_grid(gan)))
        elif run.conditional:
            val = run.data_spec.prepare("val").masks
            pick = np.linspace(0, len(val) - 1, masks).astype(int)
            panels.append(("SPADE: validation mask (left), then images generated for it with different latents",
                           mask_to_image_grid(run.load(device="cpu"), val[pick])))
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=fit(6 * len(panels), 6), squeeze=False)
    for ax, (title, grid) in zip(axes[0], panels):
        ax.imshow(grid, cmap="gray", vmin=0, vmax=1)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    return fig


def show_spade_on_gan_masks(runs: dict[str, Path], study_dir: str | Path | None = None, rows: int = 5, seed: int = 0
                            ) -> plt.Figure | None:
    """SPADE drawn on GAN-generated masks (skandarani §2.1.5, issue #4): each masks-only run among ``runs`` is
    paired with the study's latest SPADE run of the same data, each SPADE run among ``runs`` with the latest
    masks-only run of the same data; a panel per pair shows ``rows`` generated masks, each followed by SPADE
    images for it. None when there is no pair."""
    pairs = []
    for run in map(as_run, runs.values()):
        if run.is_mask_generator:
            spade = [r for r in find_runs(study_dir, data=run.data_spec) if r.conditional]
            pairs.append((spade[-1] if spade else None, run))
        elif run.conditional:
            pairs.append((run, latest_mask_run(run, study_dir)))
    pairs = [(s, m) for s, m in pairs if s is not None and m is not None]
    if not pairs:
        return None
    fig, axes = plt.subplots(1, len(pairs), figsize=fit(6 * len(pairs), 6), squeeze=False)
    for ax, (spade_run, mask_run) in zip(axes[0], pairs):
        masks = np.concatenate(list(mask_batches("gan", rows, spade_run.data_spec, seed=seed, mask_run=mask_run)))
        ax.imshow(mask_to_image_grid(spade_run.load(device="cpu"), masks), vmin=0, vmax=1)
        ax.set_title(f"{spade_run.name} on masks generated by {mask_run.name}:\ngenerated mask (left), "
                     "then SPADE images for it with different latents", fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    return fig


def compare_gans(runs: list[Run], real_images: np.ndarray, real_masks: np.ndarray | None, n: int = 6,
                 seed: int = 0) -> plt.Figure:
    """The comparison students make: real images with their masks on top, then per GAN (its latest run) its D loss
    against wall-clock training time (every quick run had the same budget) beside ``n`` of its samples."""
    from medgan_lib.names import gan_name
    from medgan_lib.training.grids import grid_array

    runs = latest_per_gan([as_run(r) for r in runs])
    fig = plt.figure(figsize=fit(10, 1.05 * (len(runs) + 1) + 0.4))
    grid = fig.add_gridspec(len(runs) + 1, 2, width_ratios=[1, 2.2], hspace=0.55, wspace=0.08)
    real = fig.add_subplot(grid[0, 1])
    real.imshow(grid_array(real_images[:n], None if real_masks is None else real_masks[:n], columns=n))
    real.set_title("real training images (each with its mask)", fontsize=9)
    real.axis("off")
    legend = fig.add_subplot(grid[0, 0])
    legend.axis("off")
    legend.text(0, 0.5, "left: D loss (moving average)\nagainst training time;\ndotted: a D that cannot tell",
                fontsize=9, va="center")
    for row, run in enumerate(runs, start=1):
        stats = read_stats(run)
        timed = "wall_time" in stats and stats["wall_time"].notna().all()
        x = stats["wall_time"] if timed else stats["step"]
        curve = fig.add_subplot(grid[row, 0])
        curve.plot(x, _smooth(stats["d_loss"], max(1, len(stats) // 50)), color=f"C{row - 1}")
        loss = _loss_of(run)
        if loss is not None and np.isfinite(loss.chance_d_loss):
            curve.axhline(loss.chance_d_loss, color="0.35", ls=":", lw=1)
        curve.set_ylabel(gan_name(run.gan_name), fontsize=9, rotation=0, ha="right", va="center")
        curve.tick_params(labelsize=9)
        curve.grid(alpha=0.3)
        if row == len(runs):
            curve.set_xlabel("training time (s)" if timed else "iteration", fontsize=9)
        images, masks = run.samples(n, seed=seed).load(n)
        shown = fig.add_subplot(grid[row, 1])
        shown.imshow(grid_array(images, masks, columns=n))
        shown.axis("off")
    return fig


def plot_diversity_overlay(runs: list[Run]) -> plt.Figure:
    """Every GAN on one axis: its samples' diversity relative to the real images (the fixed-latent grids through
    training) against training time, with the mode-collapse threshold; curves in different losses' units cannot
    share an axis, this ratio can."""
    from medgan_lib.diversity import COLLAPSE_RATIO
    from medgan_lib.names import gan_name

    fig, ax = plt.subplots(figsize=fit(7, 3.6))
    timed_all = True
    colours: dict[str, str] = {}  # one colour per GAN; its seeds share it, the legend names it once
    for run in (as_run(r) for r in runs):
        stats = read_stats(run)
        if run.is_mask_generator or "diversity_ratio" not in stats:  # image generators only
            continue
        rows = stats[stats["diversity_ratio"].notna()]
        timed = "wall_time" in rows and rows["wall_time"].notna().all()
        timed_all &= timed
        first = run.gan_name not in colours
        colour = colours.setdefault(run.gan_name, f"C{len(colours) % 10}")
        ax.plot(rows["wall_time"] if timed else rows["step"], rows["diversity_ratio"], marker="o", ms=3,
                color=colour, label=gan_name(run.gan_name) if first else None)
    ax.axhline(COLLAPSE_RATIO, color="0.35", ls=":", lw=1, label=f"collapse threshold ({COLLAPSE_RATIO})")
    ax.axhline(1.0, color="0.6", ls="--", lw=1, label="as diverse as the real images")
    ax.set(xlabel="training time (s)" if timed_all else "iteration", ylabel="sample diversity / real",
           title="How diverse each GAN's samples are through training")
    ax.legend(fontsize=9, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def training_notes(runs: dict[str, Path]) -> list[str]:
    """"What to notice" lines written from each run's losses and summary: where its D loss ended against a D
    that cannot tell real from fake, and whether its samples collapsed."""
    from medgan_lib.diversity import COLLAPSE_RATIO

    notes = []
    for name, run in runs.items():
        run = as_run(run)
        stats, summary = read_stats(run), run.summary
        end = float(stats["d_loss"].tail(max(1, len(stats) // 10)).mean())
        rule = _loss_of(run)
        chance = rule.chance_d_loss if rule is not None else float("nan")
        if np.isfinite(chance):
            side = ("D is winning: it still tells real from fake" if end < chance - 0.05 * max(abs(chance), 1) else
                    "near the value of a D that cannot tell" if abs(end - chance) <= 0.05 * max(abs(chance), 1) else
                    "above it: G is fooling D")
            loss = f"D loss ended at {end:.3g} against {chance:.3g} for a D that cannot tell ({side})"
        else:
            loss = f"D loss ended at {end:.3g}"
        ratio = summary.get("diversity_ratio")
        diversity = (f"sample diversity {ratio:.2f} x the real images'" + (" (mode collapse)" if ratio < COLLAPSE_RATIO
                                                                            else "")) if ratio is not None else ""
        notes.append(f"{name}: {loss}; {diversity}." if diversity else f"{name}: {loss}.")
    return notes
