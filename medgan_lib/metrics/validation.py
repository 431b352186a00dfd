"""chetty2023 Appendix A.7: validate a metric by distorting real images at increasing strength.

Four distortions (Gaussian blur, Gaussian noise, salt-and-pepper, black blocks), each with a strength
in [0, 1] mapped to a physical amount (``DISTORTIONS``). For each extractor the FID between the clean
reference set and a distorted held-out set is measured per strength, and the Pearson correlation of
FID with strength is reported per distortion (layout of chetty Tables 5-6). A useful metric rises
with every distortion (r close to +1).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd
from scipy import ndimage, stats

from medgan_lib.metrics.extractors import Extractor
from medgan_lib.metrics.features import extract_features
from medgan_lib.metrics.fidelity import frechet_distance
from medgan_lib.progress import tqdm


def gaussian_blur(images: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """Blur with sigma = strength x 5 % of the image side (3.2 px at 64 x 64)."""
    sigma = strength * 0.05 * images.shape[-1]
    return ndimage.gaussian_filter(images, sigma=(0, 0, sigma, sigma)) if sigma > 0 else images.copy()


def gaussian_noise(images: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """Add N(0, (strength x 0.5)^2) noise in [-1, 1] units (up to a quarter of the range), clipped."""
    return np.clip(images + rng.normal(0.0, 0.5 * strength, images.shape), -1, 1).astype(np.float32)


def salt_and_pepper(images: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """Set a fraction strength x 0.3 of the pixels to black or white (half each), all channels alike."""
    out = images.copy()
    n, _, h, w = images.shape
    hit = rng.random((n, h, w)) < 0.3 * strength
    white = rng.random((n, h, w)) < 0.5
    for value, where in ((1.0, hit & white), (-1.0, hit & ~white)):
        out.transpose(0, 2, 3, 1)[where] = value
    return out


def black_blocks(images: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """Black out round(strength x 20) squares of 1/8 of the side at random places (portions not seen)."""
    out = images.copy()
    n, _, h, w = images.shape
    side = max(1, h // 8)
    for i in range(n):
        for _ in range(int(round(strength * 20))):
            y, x = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
            out[i, :, y:y + side, x:x + side] = -1.0
    return out


DISTORTIONS: dict[str, Callable[[np.ndarray, float, np.random.Generator], np.ndarray]] = {
    "gaussian_blur": gaussian_blur, "gaussian_noise": gaussian_noise,
    "salt_and_pepper": salt_and_pepper, "black_blocks": black_blocks}


def distort(images: np.ndarray, distortion: str, strength: float, seed: int = 0) -> np.ndarray:
    """``images`` (float in [-1, 1]) distorted by the named distortion at ``strength`` in [0, 1]."""
    if distortion not in DISTORTIONS:
        raise ValueError(f"unknown distortion '{distortion}'; valid: {', '.join(DISTORTIONS)}")
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got {strength}")
    return DISTORTIONS[distortion](np.asarray(images, dtype=np.float32), strength, np.random.default_rng(seed))


def distortion_sweep(reference: np.ndarray, test: np.ndarray, extractors: Iterable[Extractor],
                     strengths: Iterable[float] = (0.0, 0.5, 1.0), distortions: Iterable[str] = tuple(DISTORTIONS),
                     seed: int = 0, device: str = "auto") -> pd.DataFrame:
    """FID(reference, distorted test) per extractor, distortion and strength (strength 0 is shared)."""
    rows: list[dict[str, Any]] = []
    extractors = list(extractors)
    jobs = [(d, s) for d in distortions for s in strengths]
    for distortion, strength in tqdm(jobs, desc="distortions", leave=False):
        images = distort(test, distortion, strength, seed)
        for extractor in extractors:
            fid = frechet_distance(extract_features(reference, extractor, device=device),
                                   extract_features(images, extractor, device=device))
            rows.append({"distortion": distortion, "strength": strength, "extractor": extractor.name, "fid": fid,
                         "n": len(test), "n_real": len(reference), "weights_sha256": extractor.weights_sha256})
    return pd.DataFrame(rows)


def correlation_table(sweep: pd.DataFrame) -> pd.DataFrame:
    """Pearson r (and p) of FID with distortion strength: rows distortions, columns (extractor, r/p)."""
    rows = []
    for (distortion, extractor), group in sweep.groupby(["distortion", "extractor"], sort=False):
        if group["strength"].nunique() < 3:
            r, p = float("nan"), float("nan")
        else:
            r, p = stats.pearsonr(group["strength"], group["fid"])
        rows.append({"distortion": distortion, "extractor": extractor, "pearson_r": float(r), "p_value": float(p)})
    table = pd.DataFrame(rows)
    return table.pivot(index="distortion", columns="extractor", values=["pearson_r", "p_value"])
