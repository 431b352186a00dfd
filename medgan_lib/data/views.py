"""Radiograph views: which projection a film shows, for datasets whose layout does not say (MURA's XR_ELBOW mixes
frontal and lateral films without a view label; chetty2023 used lateral elbows only).

The elbow rule is ours, a documented heuristic built on chetty §2.1's description of the two views: a lateral
film shows the elbow flexed at 90°, a frontal (AP) film shows it straight. The brightest quarter of the film (bone) is the shape; the ratio of its minor
to major principal spread (weighted by brightness above the quarter's threshold) is small for a straight arm and
large for a bent one. On the elbow phantom, whose views are known, it tells 96-99 % of 300 films apart at 64-256 px
(``tests/test_data_views.py``); it has not been checked against labelled MURA films.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from medgan_lib.data.dataset import DatasetError, PreparedDataset

VIEWS = ("frontal", "lateral")
BONE_QUANTILE = 0.75  # pixels above this intensity quantile are the shape (ours)
ELBOW_BENT_RATIO = 0.13  # minor / major spread above which an elbow film is lateral (ours, tuned on the phantom)


def spread_ratio(image: np.ndarray) -> float:
    """Minor over major principal spread of the film's brightest quarter (one channel, (H, W) or (1, H, W))."""
    image = np.asarray(image, dtype=np.float64).reshape(image.shape[-2:])
    threshold = np.quantile(image, BONE_QUANTILE)
    bright = image > threshold
    ys, xs = np.nonzero(bright)
    if len(xs) < 3:
        return 0.0
    spread = np.linalg.eigvalsh(np.cov(np.stack([xs, ys]).astype(float), aweights=image[bright] - threshold))
    return float(spread[0] / max(spread[1], 1e-12))


def elbow_view(image: np.ndarray) -> str:
    """"lateral" for a bent elbow, "frontal" for a straight one (``spread_ratio`` against ``ELBOW_BENT_RATIO``)."""
    return "lateral" if spread_ratio(image) > ELBOW_BENT_RATIO else "frontal"


VIEW_RULES: dict[str, Callable[[np.ndarray], str]] = {"mura_elbow": elbow_view}  # by the manifest a dataset follows


def select_view(images: np.ndarray, view: str, manifest: str, dataset: str) -> np.ndarray:
    """Boolean (N,): which of ``images`` (N, C, H, W) show ``view``, by the rule of ``manifest``'s modality."""
    if view not in VIEWS:
        raise DatasetError(f"view: expected one of {list(VIEWS)} (or none for every film), got {view!r}")
    if manifest not in VIEW_RULES:
        raise DatasetError(f"view={view!r}: dataset '{dataset}' has no view rule (views are told apart for "
                           f"{', '.join(VIEW_RULES)} and their phantoms); leave view unset")
    rule = VIEW_RULES[manifest]
    return np.array([rule(image[0]) == view for image in images], dtype=bool)


def view_note(prepared: PreparedDataset) -> str:
    """One line on a prepared dataset's view filter: how many of the films read it kept ("" without one)."""
    views = prepared.meta.get("view")
    if not views:
        return ""
    return (f"view filter: kept {views['kept']} {views['view']} films of the {views['read']} read "
            f"({views['kept'] / views['read']:.0%}; rule in medgan_lib/data/views.py)")
