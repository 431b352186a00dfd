"""The class colours of every mask the study draws (01's overlays, 02's sample grids, 04's predictions), so one
legend reads them all: label 1 red, 2 green, 3 blue (the cardiac phantom's RV cavity, myocardium, LV cavity)."""

from __future__ import annotations

import numpy as np

# RGB per label; label 0 (background) is black in a coloured mask and transparent in an overlay.
PALETTE = np.array([[0, 0, 0], [230, 60, 60], [60, 200, 60], [70, 110, 240], [240, 220, 60], [220, 80, 220],
                    [60, 220, 220], [250, 150, 50]], dtype=np.uint8)


def colour_masks(masks: np.ndarray) -> np.ndarray:
    """Integer masks (..., H, W) -> RGB uint8 (..., H, W, 3) in ``PALETTE``'s colours."""
    return PALETTE[np.asarray(masks) % len(PALETTE)]


def overlay_cmap(num_classes: int):
    """A matplotlib colormap for labels 1..num_classes-1 (draw with vmin=1, vmax=num_classes-1, background masked)."""
    from matplotlib.colors import ListedColormap

    return ListedColormap(PALETTE[1:max(num_classes, 2)] / 255.0)


def add_label_legend(fig, label_names, fontsize: int = 9) -> bool:
    """The shared class legend below ``fig`` for ``label_names`` (background first, not shown); False if no labels."""
    import matplotlib.pyplot as plt

    handles = [plt.Rectangle((0, 0), 1, 1, color=PALETTE[k % len(PALETTE)] / 255.0) for k in range(1, len(label_names))]
    if not handles:
        return False
    fig.legend(handles, list(label_names[1:]), loc="lower center", ncol=len(handles), fontsize=fontsize, frameon=False)
    return True
