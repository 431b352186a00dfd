"""chetty2023 Appendix A.7: validate a metric by distorting real images at increasing strength.

Four distortions (Gaussian blur, Gaussian noise, salt-and-pepper, black blocks), each with a strength
in [0, 1] mapped to a physical amount on a protocol's scale (ours, or chetty's levels). For each extractor the
FID between the clean reference set and a distorted held-out set is measured per strength (or, as chetty did,
the distance between one random image and its distorted copy), and the Pearson correlation of FID with
strength is reported per distortion (layout of chetty Tables 5-6). A useful metric rises with every
distortion (r close to +1).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd
from scipy import ndimage, stats

from medgan_lib.metrics.extractors import Extractor
from medgan_lib.metrics.features import extract_features
from medgan_lib.metrics.fidelity import frechet_distance
from medgan_lib.progress import tqdm
from medgan_lib.reference import published


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


# chetty's levels (Appendix A.7, Figures 12-19, at 256 x 256): strength 1 is the largest level they show. Kernel
# sizes and block counts scale with the image side (ours), so a level covers the same share of the image.
CHETTY_SIDE = 256


def chetty_blur(images: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian blur with a kernel of strength x 49 px at 256 px (OpenCV's sigma for that kernel size)."""
    kernel = strength * max(published("chetty2023", "distortion_blur_kernels")) * images.shape[-1] / CHETTY_SIDE
    size = 2 * int(kernel // 2) + 1  # odd, as OpenCV's GaussianBlur needs
    if size < 3:
        return images.copy()
    sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8
    return ndimage.gaussian_filter(images, sigma=(0, 0, sigma, sigma), truncate=(size // 2) / sigma)


def chetty_noise(images: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise of standard deviation 0.1 and mean strength x 1 (in [0, 1] image units), clipped."""
    mean = strength * max(published("chetty2023", "distortion_noise_means"))
    std = published("chetty2023", "distortion_noise_std")
    return np.clip(images + 2 * rng.normal(mean, std, images.shape), -1, 1).astype(np.float32)


def chetty_salt_and_pepper(images: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """A fraction strength x 0.9 of the pixels set to black or white."""
    top = max(published("chetty2023", "distortion_salt_pepper_levels"))
    return salt_and_pepper(images, strength * top / 0.3, rng)


def chetty_blocks(images: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """strength x 10,000 black 2 x 2 px blocks at 256 px (count and size scaled to the image side; ours)."""
    out = images.copy()
    n, _, h, w = images.shape
    scale = h / CHETTY_SIDE
    count = int(round(strength * max(published("chetty2023", "distortion_blocks")) * scale * scale))
    side = max(1, int(round(2 * scale)))
    for i in range(n):
        ys, xs = rng.integers(0, h - side + 1, count), rng.integers(0, w - side + 1, count)
        for y, x in zip(ys, xs):
            out[i, :, y:y + side, x:x + side] = -1.0
    return out


CHETTY_DISTORTIONS = {"gaussian_blur": chetty_blur, "gaussian_noise": chetty_noise,
                      "salt_and_pepper": chetty_salt_and_pepper, "black_blocks": chetty_blocks}


@dataclasses.dataclass(frozen=True)
class Protocol:
    """Whose distortion levels, and what is distorted: the held-out set (a Fréchet distance between two sets), or
    one held-out image chosen at random, as chetty did (Appendix A.7)."""

    levels: dict[str, Callable[[np.ndarray, float, np.random.Generator], np.ndarray]]
    single_image: bool


PROTOCOLS = {"ours": Protocol(DISTORTIONS, single_image=False),
             "chetty": Protocol(CHETTY_DISTORTIONS, single_image=True),  # chetty's levels on one random image
             "chetty_set": Protocol(CHETTY_DISTORTIONS, single_image=False)}  # chetty's levels on the set (ours)


def distort(images: np.ndarray, distortion: str, strength: float, seed: int = 0, protocol: str = "ours") -> np.ndarray:
    """``images`` (float in [-1, 1]) distorted by the named distortion at ``strength`` in [0, 1], on ``protocol``'s
    scale of levels."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown distortion protocol '{protocol}'; valid: {', '.join(PROTOCOLS)}")
    if distortion not in DISTORTIONS:
        raise ValueError(f"unknown distortion '{distortion}'; valid: {', '.join(DISTORTIONS)}")
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got {strength}")
    levels = PROTOCOLS[protocol].levels
    return levels[distortion](np.asarray(images, dtype=np.float32), strength, np.random.default_rng(seed))


def point_distance(clean: np.ndarray, distorted: np.ndarray) -> float:
    """The Fréchet distance between the features of one image and of its distorted copy. Each side is a single
    point, so both covariances are zero and the distance is the squared distance of the two feature vectors.
    chetty do not say how their single-image MedFID was computed; this reading is ours."""
    return float(np.sum((clean.astype(np.float64) - distorted.astype(np.float64)) ** 2))


def distortion_sweep(reference: np.ndarray, test: np.ndarray, extractors: Iterable[Extractor],
                     strengths: Iterable[float] = (0.0, 0.5, 1.0), distortions: Iterable[str] = tuple(DISTORTIONS),
                     seed: int = 0, device: str = "auto", protocol: str = "ours") -> pd.DataFrame:
    """Per extractor, distortion and strength (strength 0 is shared): FID(reference, distorted test set), or, for a
    single-image protocol, the Fréchet distance between one random test image and its distorted copy
    (``point_distance``; its index in ``test`` is the row's ``image``)."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown distortion protocol '{protocol}'; valid: {', '.join(PROTOCOLS)}")
    single = PROTOCOLS[protocol].single_image
    image = int(np.random.default_rng(seed).integers(len(test))) if single else None
    test = test[image:image + 1] if single else test
    rows: list[dict[str, Any]] = []
    extractors = list(extractors)
    clean = {e.name: extract_features(reference if not single else test, e, device=device, cache=not single)
             for e in extractors}
    jobs = [(d, s) for d in distortions for s in strengths]
    for distortion, strength in tqdm(jobs, desc="distortions", leave=False):
        images = distort(test, distortion, strength, seed, protocol)
        for extractor in extractors:
            distorted = extract_features(images, extractor, device=device, cache=not single)
            fid = (point_distance if single else frechet_distance)(clean[extractor.name], distorted)
            rows.append({"distortion": distortion, "strength": strength, "protocol": protocol,
                         "extractor": extractor.name, "fid": fid, "n": len(test),
                         "n_real": 1 if single else len(reference), "image": image,
                         "weights_sha256": extractor.weights_sha256})
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
