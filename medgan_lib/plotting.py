"""Figure sizes every plot of the study keeps to: at most ``MAX_WIDTH`` inches wide (a report page or a projector
shows it without scaling the text away), text at least ``MIN_FONT`` points."""

from __future__ import annotations

MAX_WIDTH = 10.0  # inches
MIN_FONT = 9  # points


def fit(width: float, height: float) -> tuple[float, float]:
    """``(width, height)`` scaled down, keeping the aspect, so the width is at most ``MAX_WIDTH``."""
    scale = min(1.0, MAX_WIDTH / width) if width > 0 else 1.0
    return width * scale, height * scale
