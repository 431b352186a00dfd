"""The diversity of an image (or feature) set and the one mode-collapse rule that training summaries, the
memorisation audit, the findings and the index all apply, so no page calls a run collapsed that another does not."""

from __future__ import annotations

import numpy as np
import torch

# Ours (the papers give no number): a synthetic set whose diversity is below half the real set's is mode-collapsed.
COLLAPSE_RATIO = 0.5


def diversity(samples: np.ndarray | torch.Tensor) -> float:
    """Mean RMS distance over all distinct pairs of a set (0 when all are identical or there is only one)."""
    flat = torch.as_tensor(np.asarray(samples, dtype=np.float32) if isinstance(samples, np.ndarray) else samples)
    flat = flat.detach().float().reshape(len(flat), -1)
    if len(flat) < 2:
        return 0.0
    distances = torch.cdist(flat, flat) / flat.shape[1] ** 0.5
    return float(distances.sum() / (len(flat) * (len(flat) - 1)))


def collapsed(ratio: float) -> bool:
    """Whether a synthetic/real diversity ratio means mode collapse (``COLLAPSE_RATIO``)."""
    return bool(ratio < COLLAPSE_RATIO)
