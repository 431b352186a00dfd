"""Figures of the evaluation notebook: FID with CIs, distortion sweeps, memorisation panel, D-loss matrix, Figure 7."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from medgan_lib.metrics.memorization import MemorizationReport
from medgan_lib.plotting import fit
from medgan_lib.rows import DETECTED, FLAGGED_OWN, PLANTED, SHARE, SPACE


def _show(image: np.ndarray, ax) -> None:
    """Draw one (C, H, W) image in [-1, 1] (gray or RGB) without axes."""
    img = (np.transpose(image, (1, 2, 0)) + 1) / 2
    ax.imshow(img[..., 0] if img.shape[-1] == 1 else np.clip(img, 0, 1), cmap="gray", vmin=0, vmax=1)
    ax.axis("off")


def plot_fid(fid_rows: pd.DataFrame, extractor: str = "inception", ax=None, title: str | None = None):
    """One bar per GAN: its FID (the mean over its runs when it has several seeds), each run's FID with its
    bootstrap 95 % CI drawn on it (one extractor); ``title`` replaces the default one (which names n)."""
    rows = fid_rows[fid_rows["extractor"] == extractor].drop_duplicates("run", keep="last")
    ax = ax or plt.subplots(figsize=fit(7, 3.2))[1]
    gans = list(dict.fromkeys(rows["gan"]))
    for x, gan in enumerate(gans):
        runs = rows[rows["gan"] == gan]
        ax.bar(x, runs["fid"].mean(), color="#4a7ab5", alpha=0.85 if len(runs) == 1 else 0.5)
        offsets = np.linspace(-0.25, 0.25, len(runs)) if len(runs) > 1 else [0.0]
        for dx, (_, run) in zip(offsets, runs.iterrows()):
            low, high = run["fid_ci"]
            ax.errorbar(x + dx, run["fid"], yerr=[[max(run["fid"] - low, 0)], [max(high - run["fid"], 0)]],
                        fmt="o" if len(runs) > 1 else "none", ms=3, color="k", capsize=3)
    ax.set_xticks(range(len(gans)), gans)
    ax.set_ylabel(f"FID ({extractor})")
    seeds = _runs_per_gan(rows)
    ax.set_title(title if title is not None else f"FID with 95 % bootstrap CI (n = {_sizes(rows)} generated)"
                 + (f"; bars: mean of {seeds} runs" if seeds > 1 else ""))
    plt.setp(ax.get_xticklabels(), rotation=35, ha="right", rotation_mode="anchor")  # names end at their bar
    return ax


def _runs_per_gan(rows: pd.DataFrame) -> int:
    """The most runs any GAN has among ``rows`` (one extractor's FID rows): >1 means bars are means over seeds."""
    return int(rows.groupby("gan").size().max()) if len(rows) else 1


def _sizes(rows: pd.DataFrame) -> str:
    return ", ".join(map(str, sorted(rows["n"].unique())))


def plot_fid_panels(rows: pd.DataFrame, extractors: list[str]):
    """``plot_fid`` for each feature space, side by side (at most 10 in wide): one title above them all, so a
    panel's title cannot run past the page."""
    fig, axes = plt.subplots(1, len(extractors), figsize=fit(4.5 * len(extractors), 3.4), squeeze=False)
    for ax, name in zip(axes[0], extractors):
        plot_fid(rows, name, ax, title=name)
    shown = rows[rows["extractor"].isin(extractors)].drop_duplicates(["run", "extractor"])
    seeds = max((_runs_per_gan(part) for _, part in shown.groupby("extractor")), default=1)
    fig.suptitle(f"FID with 95 % bootstrap CI (n = {_sizes(shown)} generated)"
                 + (f"; bars: the mean of each GAN's {seeds} runs, dots: each run" if seeds > 1 else ""))
    fig.tight_layout()
    return fig


def plot_distortion_sweep(sweep: pd.DataFrame):
    """FID vs distortion strength, one panel per extractor, one line per distortion (chetty Figs. 12-19)."""
    extractors = list(dict.fromkeys(sweep["extractor"]))
    fig, axes = plt.subplots(1, len(extractors), figsize=fit(4 * len(extractors), 3.2), squeeze=False)
    for ax, name in zip(axes[0], extractors):
        sns.lineplot(data=sweep[sweep["extractor"] == name], x="strength", y="fid", hue="distortion", marker="o", ax=ax)
        ax.set_title(name)
        ax.set_ylabel("FID vs clean real")
    fig.tight_layout()
    return fig


def plot_memorization(report: MemorizationReport, fake: np.ndarray, train: np.ndarray, title: str = "", k: int = 6):
    """Nearest-training distance histograms (synthetic vs held-out, near-copy threshold) and the k closest
    synthetic/training pairs (top row synthetic, bottom row its nearest training image)."""
    audits = [a for a in (report.pixels, report.features) if a is not None]
    fig = plt.figure(figsize=fit(3.2 * len(audits) + 1.3 * k, 3.4))
    grid = fig.add_gridspec(2, len(audits) + k, width_ratios=[2.4] * len(audits) + [1] * k)
    for i, audit in enumerate(audits):
        ax = fig.add_subplot(grid[:, i])
        bins = np.linspace(0, max(audit.fake_nn.max(), audit.heldout_nn.max()) * 1.05, 30)
        ax.hist(audit.heldout_nn, bins=bins, alpha=0.6, density=True, label="held-out real")
        ax.hist(audit.fake_nn, bins=bins, alpha=0.6, density=True, label="synthetic")
        ax.axvline(audit.threshold, color="k", ls="--", lw=1, label="near-copy threshold")
        ax.set_title(f"{audit.space}: near-copies {audit.near_copy_share:.0%}, diversity x{audit.diversity_ratio:.2f}",
                     fontsize=9)
        ax.set_xlabel("distance to nearest training image")
        ax.legend(fontsize=9)
    for j, (fi, ti, dist) in enumerate(report.pixels.closest(k)):
        _show(fake[fi], fig.add_subplot(grid[0, len(audits) + j]))
        ax = fig.add_subplot(grid[1, len(audits) + j])
        _show(train[ti], ax)
        ax.set_title(f"d={dist:.3f}", fontsize=9, y=-0.25)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_correlation_matrix(corr: pd.DataFrame, title: str = "Pearson correlation across runs"):
    """Heatmap of a correlation matrix (belmekki Figure 5)."""
    fig, ax = plt.subplots(figsize=fit(4.6, 3.8))
    sns.heatmap(corr, annot=True, fmt=".2f", vmin=-1, vmax=1, cmap="coolwarm", square=True, ax=ax)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_umap_panels(panels: dict[str, pd.DataFrame]):
    """Figure 7 layout: one scatter per (space, GAN) panel; red real, blue generated (as in the paper)."""
    titles = list(panels)
    cols = 2 if len(titles) > 1 else 1
    rows = int(np.ceil(len(titles) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=fit(4.2 * cols, 3.8 * rows), squeeze=False)
    for ax, title in zip(axes.flat, titles):
        df = panels[title]
        for source, color in (("real", "tab:red"), ("generated", "tab:blue")):
            part = df[df["source"] == source]
            ax.scatter(part["x"], part["y"], s=8, alpha=0.6, c=color, label=source)
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.legend(fontsize=9)
    for ax in list(axes.flat)[len(titles):]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def plot_audit_calibration(table: pd.DataFrame, quantile: float = 0.05, title: str = ""):
    """The audit's calibration (``evaluate.calibrate_audit``): per feature space, the share of planted near-copies
    it flags against the planted share (solid), and the share of the GAN's own images it flags (dashed); the
    dotted line is the share of genuinely new images the threshold flags by construction."""
    fig, ax = plt.subplots(figsize=fit(6.5, 3.4))
    colours = dict(zip(dict.fromkeys(table[SPACE]), sns.color_palette("tab10")))
    for space, rows in table.groupby(SPACE, sort=False):
        planted = rows[rows[PLANTED] > 0]
        ax.plot(100 * planted[SHARE], planted[DETECTED], marker="o", color=colours[space], label=f"{space}: planted")
        ax.plot(100 * rows[SHARE], rows[FLAGGED_OWN], ls="--", color=colours[space], alpha=0.7,
                label=f"{space}: GAN's own")
    ax.axhline(quantile, ls=":", color="k", lw=1, label=f"expected for new images ({quantile:.0%})")
    ax.set_xlabel("planted near-copies (% of the synthetic set)")
    ax.set_ylabel("share flagged as near-copies")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(title or "How much would the memorisation audit catch?")
    ax.legend(fontsize=7, ncol=2, loc="center right")
    fig.tight_layout()
    return fig


def plot_image_rows(rows: dict[str, tuple[np.ndarray, np.ndarray | None]], title: str = "",
                    label_names: tuple[str, ...] | None = None):
    """One labelled row per entry: its images (N, C, H, W) in [-1, 1], each beside its coloured mask (08's
    samples per class, real beside synthetic, and InfoGAN's code traversals)."""
    from medgan_lib.colours import add_label_legend
    from medgan_lib.training.grids import grid_array

    tiles = {name: grid_array(images, masks, columns=len(images)) for name, (images, masks) in rows.items()}
    width, _ = fit(max(max(t.shape[1] for t in tiles.values()) / 40, 4.0), 1.0)
    aspect = max(t.shape[0] / t.shape[1] for t in tiles.values())
    height = len(tiles) * max(width * 0.85 * aspect, 0.35) + 0.5 + 0.35 * bool(title) + 0.4 * bool(label_names)
    fig, axes = plt.subplots(len(tiles), 1, figsize=(width, height), squeeze=False)
    for ax, (name, tile) in zip(axes[:, 0], tiles.items()):
        ax.imshow(tile)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    legend = bool(label_names) and add_label_legend(fig, label_names)
    fig.tight_layout(rect=(0, 0.4 / height if legend else 0, 1, 1), h_pad=0.2)
    return fig
