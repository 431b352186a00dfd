"""Figures and tables of the data-preparation notebook: one call per notebook step."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from medgan_lib.colours import add_label_legend, overlay_cmap
from medgan_lib.data.dataset import PreparedDataset
from medgan_lib.plotting import fit

def _display(image: np.ndarray) -> np.ndarray:
    """(C, H, W) in [-1, 1] -> something imshow draws: (H, W) gray or (H, W, 3) RGB in [0, 1]."""
    image = (image + 1.0) / 2.0
    return image[0] if image.shape[0] == 1 else np.clip(np.moveaxis(image, 0, -1), 0, 1)


def show_samples(ds: PreparedDataset, n: int = 8, seed: int = 0, alpha: float = 0.45) -> plt.Figure:
    """Random slices (top row) and the same slices with their mask overlaid (bottom row)."""
    index = np.sort(np.random.default_rng(seed).choice(len(ds), size=min(n, len(ds)), replace=False))
    fig, axes = plt.subplots(2, len(index), figsize=fit(1.6 * len(index), 3.6), squeeze=False)
    cmap = overlay_cmap(ds.num_classes)
    for column, i in enumerate(index):
        image = _display(ds.images[i])
        for row in (0, 1):
            ax = axes[row, column]
            ax.imshow(image, cmap="gray", vmin=0, vmax=1)
            ax.set_axis_off()
        if ds.num_classes > 1:
            overlay = np.ma.masked_equal(ds.masks[i], 0)
            axes[1, column].imshow(overlay, cmap=cmap, vmin=1, vmax=max(ds.num_classes - 1, 1) + 1e-6,
                                   alpha=alpha, interpolation="nearest")
        axes[0, column].set_title(str(ds.patient_ids[i]).split("-")[-1], fontsize=9)
    handles = add_label_legend(fig, ds.label_names)
    fig.suptitle(f"{ds.name} ({ds.split}, {ds.resolution}x{ds.resolution}): images and masks", fontsize=10)
    fig.tight_layout(rect=(0, 0.06 if handles else 0, 1, 1))
    return fig


def split_table(parts: dict[str, PreparedDataset]) -> pd.DataFrame:
    """Patients and slices per split (patients never cross splits)."""
    rows = [{"split": name, "patients": len(np.unique(ds.patient_ids)), "slices": len(ds),
             "slices per patient": round(len(ds) / max(len(np.unique(ds.patient_ids)), 1), 1)}
            for name, ds in parts.items()]
    return pd.DataFrame(rows).set_index("split")


def label_fractions(parts: dict[str, PreparedDataset]) -> tuple[pd.DataFrame, plt.Figure]:
    """Fraction of pixels per label and split, and the share of slices showing each label."""
    rows = []
    for name, ds in parts.items():
        present = ds.masks.reshape(len(ds), -1)
        for k, label in enumerate(ds.label_names):
            rows.append({"split": name, "label": label, "pixel fraction": float((ds.masks == k).mean()),
                         "slices with label": float((present == k).any(axis=1).mean())})
    table = pd.DataFrame(rows)
    foreground = table[table["label"] != "background"]
    fig, ax = plt.subplots(figsize=fit(6, 3))
    if len(foreground):
        pivot = foreground.pivot(index="label", columns="split", values="pixel fraction")
        pivot = pivot[[c for c in parts if c in pivot.columns]]
        pivot.plot.bar(ax=ax, rot=0)
        ax.set_ylabel("fraction of pixels")
        ax.set_title("Foreground fraction per label and split")
    else:
        ax.text(0.5, 0.5, "no segmentation labels (image-only dataset)", ha="center", va="center")
        ax.set_axis_off()
    fig.tight_layout()
    return table.set_index(["split", "label"]), fig


def intensity_histograms(parts: dict[str, PreparedDataset], bins: int = 64) -> plt.Figure:
    """Intensity histograms in [-1, 1]: per split (left) and per label region of the training split (right)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=fit(10, 3))
    edges = np.linspace(-1, 1, bins + 1)
    for name, ds in parts.items():
        left.hist(ds.images.ravel(), bins=edges, histtype="step", density=True, label=name)
    left.set(title="All pixels per split", xlabel="intensity", ylabel="density")
    left.legend(fontsize=9)
    train = parts.get("train", next(iter(parts.values())))
    gray = train.images.mean(axis=1)  # RGB: mean over channels
    for k, label in enumerate(train.label_names):
        values = gray[train.masks == k]
        if values.size:
            right.hist(values, bins=edges, histtype="step", density=True, label=label)
    right.set(title=f"Per label ({train.split})", xlabel="intensity")
    right.legend(fontsize=9)
    fig.tight_layout()
    return fig


def label_notes(table: pd.DataFrame, split: str = "train") -> list[str]:
    """"What to notice" lines written from ``label_fractions``'s table: how small each structure is against the
    background (a U-Net's Dice weighs every structure equally, however few its pixels) and how often it is absent."""
    if split not in table.index.get_level_values("split"):
        return []
    rows = table.loc[split]
    foreground = rows.drop(index="background", errors="ignore")
    if foreground.empty:
        return ["no segmentation labels: the image-only metrics apply, the U-Net Dice of 04 does not."]
    smallest = foreground["pixel fraction"].idxmin()
    notes = [f"{split}: the structures cover {foreground['pixel fraction'].sum():.1%} of the pixels; the smallest, "
             f"{smallest}, {foreground.loc[smallest, 'pixel fraction']:.2%}, counts as much in the mean Dice as the "
             f"largest."]
    absent = foreground[foreground["slices with label"] < 0.95]
    for label, row in absent.iterrows():
        notes.append(f"{label} is absent from {1 - row['slices with label']:.0%} of the {split} slices (a GAN must "
                     f"learn when to draw it, not only how).")
    return notes
