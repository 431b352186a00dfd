"""Run statistics: belmekki's discriminator-loss statistics (mean, variance, std, initial low-loss phase
T0). Sample diversity and the mode-collapse rule are ``medgan_lib.diversity``'s."""

from __future__ import annotations

import numpy as np


def dloss_statistics(d_loss: np.ndarray, window: int | None = None, fraction: float = 0.5) -> dict[str, float | int | None]:
    """Mean, variance and std of the D loss over training, and T0: the number of initial iterations
    during which the smoothed D loss stays below ``fraction`` x the median D loss of the second half of
    training (belmekki §III.A: D wins easily before G starts learning). T0 is None when that median is
    not positive (e.g. WGAN critic losses)."""
    d_loss = np.asarray(d_loss, dtype=np.float64)
    n = len(d_loss)
    if n == 0:
        return {"dloss_mean": None, "dloss_variance": None, "dloss_std": None, "t0": None}
    window = window or max(1, n // 50)
    smooth = np.convolve(d_loss, np.ones(window) / window, mode="full")[:n] / np.minimum(np.arange(1, n + 1), window) * window
    reference = float(np.median(d_loss[n // 2:]))
    t0 = None
    if reference > 0:
        above = np.nonzero(smooth >= fraction * reference)[0]
        t0 = int(above[0]) if len(above) else n
    return {"dloss_mean": float(d_loss.mean()), "dloss_variance": float(d_loss.var()),
            "dloss_std": float(d_loss.std()), "t0": t0}

