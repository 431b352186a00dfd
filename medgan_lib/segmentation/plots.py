"""Dice bar plots and prediction overlays (Table 2 itself is ``medgan_lib.study.table2``, shared with the index)."""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from medgan_lib.colours import add_label_legend, overlay_cmap
from medgan_lib.data.dataset import PreparedDataset
from medgan_lib.plotting import fit
from medgan_lib.segmentation.unet import load_unet, predict


def bar_plot(summary: pd.DataFrame, structures: list[str]):
    """Mean Dice per condition and structure, error bars = std over seeds (None without rows)."""
    if summary.empty:
        return None
    cols = ["dice", *[f"dice_{s}" for s in structures]]
    fig, ax = plt.subplots(figsize=fit(max(6, 0.9 * len(summary) * len(cols) / 2), 4))
    width = 0.8 / len(cols)
    x = np.arange(len(summary))
    for i, col in enumerate(cols):
        ax.bar(x + i * width, summary[f"{col}_mean"], width, yerr=summary[f"{col}_std"].fillna(0),
               label=col.replace("dice_", "") if col != "dice" else "mean", capsize=2)
    ax.set_xticks(x + 0.4 - width / 2, summary["condition"], rotation=40, ha="right")
    ax.set_ylabel("Dice on the real test split")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=9, ncol=len(cols))
    fig.tight_layout()
    return fig


def overlays(rows: pd.DataFrame, test: PreparedDataset, n: int = 4):
    """First ``n`` real test images (columns): the image, its ground truth, then one row per condition with its
    (first seed's) prediction, each row named on its left (None without rows)."""
    if rows.empty:
        return None
    first = rows.drop_duplicates("label")
    index = np.linspace(0, len(test) - 1, n).astype(int)
    k = test.num_classes
    panels = [("image", None), ("ground truth", test.masks[index])]
    for _, row in first.iterrows():
        model, _ = load_unet(row["checkpoint"])
        panels.append((row["label"], predict(model, test.images[index]).numpy()))
    fig, axes = plt.subplots(len(panels), n, figsize=fit(2.6 + 1.25 * n, 1.25 * len(panels) + 0.5), squeeze=False)
    for i, (title, masks) in enumerate(panels):
        for j in range(n):
            ax = axes[i, j]
            ax.imshow(test.images[index[j], 0], cmap="gray")
            if masks is not None:
                ax.imshow(np.ma.masked_equal(masks[j], 0), cmap=overlay_cmap(k), vmin=1, vmax=max(k - 1, 1), alpha=0.5,
                          interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[i, 0].set_ylabel(textwrap.fill(title, 22), fontsize=9, rotation=0, ha="right", va="center")
    legend = add_label_legend(fig, test.label_names)
    fig.tight_layout(rect=(0, 0.04 if legend else 0, 1, 1))
    return fig


def learning_curves(rows: pd.DataFrame):
    """Training loss and validation Dice against iteration for each condition's first seed, as the U-Nets
    recorded them (None when no U-Net of ``rows`` recorded its curves)."""
    curves = []
    for _, row in rows.drop_duplicates("label").iterrows():
        _, info = load_unet(row["checkpoint"])
        if info.get("history", {}).get("iteration"):
            curves.append((row["label"], info["history"]))
    if not curves:
        return None
    fig, (loss_ax, dice_ax) = plt.subplots(1, 2, figsize=fit(10, 3.4))
    for i, (label, history) in enumerate(curves):
        loss_ax.plot(history["iteration"], history["loss"], color=f"C{i % 10}", marker="o", ms=3, label=label)
        dice_ax.plot(history["iteration"], history["val_dice"], color=f"C{i % 10}", marker="o", ms=3, label=label)
    loss_ax.set(title="training loss (cross-entropy + Dice)", xlabel="iteration", ylabel="loss at validation steps")
    dice_ax.set(title="validation Dice (real validation patients)", xlabel="iteration", ylabel="mean Dice", ylim=(0, 1))
    for ax in (loss_ax, dice_ax):
        ax.grid(alpha=0.3)
    dice_ax.legend(fontsize=9, loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False)
    fig.tight_layout()
    return fig
