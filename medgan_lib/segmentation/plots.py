"""Dice bar plots and prediction overlays (Table 2 itself is ``medgan_lib.study.table2``, shared with the index)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from medgan_lib.data.dataset import PreparedDataset
from medgan_lib.segmentation.unet import load_unet, predict


def bar_plot(summary: pd.DataFrame, structures: list[str]):
    """Mean Dice per condition and structure, error bars = std over seeds (None without rows)."""
    if summary.empty:
        return None
    cols = ["dice", *[f"dice_{s}" for s in structures]]
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(summary) * len(cols) / 2), 4))
    width = 0.8 / len(cols)
    x = np.arange(len(summary))
    for i, col in enumerate(cols):
        ax.bar(x + i * width, summary[f"{col}_mean"], width, yerr=summary[f"{col}_std"].fillna(0),
               label=col.replace("dice_", "") if col != "dice" else "mean", capsize=2)
    ax.set_xticks(x + 0.4 - width / 2, summary["condition"], rotation=40, ha="right")
    ax.set_ylabel("Dice on the real test split")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, ncol=len(cols))
    fig.tight_layout()
    return fig


def overlays(rows: pd.DataFrame, test: PreparedDataset, n: int = 4):
    """First ``n`` real test images: ground truth, then each condition's (first seed) prediction (None without
    rows)."""
    if rows.empty:
        return None
    first = rows.drop_duplicates("label")
    fig, axes = plt.subplots(n, len(first) + 1, figsize=(1.6 * (len(first) + 1), 1.6 * n), squeeze=False)
    index = np.linspace(0, len(test) - 1, n).astype(int)
    k = test.num_classes
    columns = [("ground truth", test.masks[index])]
    for _, row in first.iterrows():
        model, _ = load_unet(row["checkpoint"])
        columns.append((row["label"], predict(model, test.images[index]).numpy()))
    for j, (title, masks) in enumerate(columns):
        for i in range(n):
            ax = axes[i, j]
            ax.imshow(test.images[index[i], 0], cmap="gray")
            ax.imshow(np.ma.masked_equal(masks[i], 0), cmap="jet", vmin=0, vmax=k - 1, alpha=0.45)
            ax.axis("off")
        axes[0, j].set_title(title, fontsize=7)
    fig.tight_layout()
    return fig
