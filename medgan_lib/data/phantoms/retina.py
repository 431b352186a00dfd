"""Retinal fundus photograph phantom (RGB) with an optic-disc mask (IDRiD-like).

Each patient contributes both eyes (mirrored layouts). A photo is a vignetted orange-red disc with
choroidal texture; the bright yellow optic disc with its pale cup; a vessel tree of four arcades
branching from the disc and curving around the darker macula; and diabetic-retinopathy lesions
(yellow hard exudates, dark red haemorrhages). The RGB preprocessing (per-image percentile window
over all channels) maps it to [-1, 1].
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from medgan_lib.data.phantoms.common import blur, grid, smooth_noise

LABEL_NAMES = ("background", "optic_disc")
SLICES_PER_PATIENT = 2  # left and right eye


def _vessel_segments(rng: np.random.Generator, disc: tuple[float, float], side: float) -> np.ndarray:
    """(M, 5) segments (ax, ay, bx, by, width) of a vessel tree growing from the disc."""
    segments = []

    def grow(x, y, angle, width, steps, bend):
        for _ in range(steps):
            angle += bend + rng.normal(0, 0.12)
            nx, ny = x + 0.075 * np.cos(angle), y + 0.075 * np.sin(angle)
            segments.append((x, y, nx, ny, width))
            if width > 0.009 and rng.random() < 0.22:  # a side branch
                grow(nx, ny, angle + rng.choice([-1, 1]) * rng.uniform(0.5, 1.0), width * 0.65,
                     int(rng.integers(3, 6)), -bend * 0.5)
            x, y, width = nx, ny, max(width * 0.93, 0.006)

    # Temporal arcades leave the disc up and down, then arch around the macula (direction -side);
    # nasal vessels spread the other way.
    toward = -side
    base = 0.0 if toward > 0 else np.pi
    for vertical in (-1.0, 1.0):  # -1: superior (up in the image), +1: inferior
        grow(disc[0], disc[1], base + vertical * toward * 1.0, 0.026, 14, -vertical * toward * 0.09)
        grow(disc[0], disc[1], np.pi - base + vertical * -toward * 0.7, 0.016, 8, vertical * toward * 0.04)
    return np.array(segments, dtype=np.float32)


def _draw_vessels(segments: np.ndarray, resolution: int) -> np.ndarray:
    """(R, R) vessel opacity: centrelines splatted per width class, then blurred to the class's width."""
    ax, ay, bx, by, width = segments.T
    n = np.maximum(np.ceil(np.hypot(bx - ax, by - ay) * resolution), 1).astype(int)  # ~2 points per pixel
    seg = np.repeat(np.arange(len(segments)), n)
    t = (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)) / np.repeat(n, n)
    px = ((ax[seg] + t * (bx[seg] - ax[seg])) + 1) / 2 * resolution
    py = ((ay[seg] + t * (by[seg] - ay[seg])) + 1) / 2 * resolution
    inside = (px >= 0) & (px < resolution) & (py >= 0) & (py < resolution)
    opacity = np.zeros((resolution, resolution), dtype=np.float32)
    for low, high in ((0.0, 0.011), (0.011, 0.019), (0.019, 1.0)):
        pick = inside & (width[seg] >= low) & (width[seg] < high)
        if not pick.any():
            continue
        line = np.zeros((resolution, resolution), dtype=np.float32)
        line[py[pick].astype(int), px[pick].astype(int)] = 1.0
        sigma = max(float(np.median(width[seg][pick])) * resolution / 2 / 1.2, 0.5)
        profile = ndimage.gaussian_filter(line, sigma) * np.sqrt(2 * np.pi) * sigma
        opacity = np.maximum(opacity, np.clip(profile, 0, 1))
    return opacity


def retina_patient(rng: np.random.Generator, n_slices: int, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """One patient's fundus photos (S, 3, R, R) in [0, 1] and optic-disc masks (S, R, R)."""
    s = min(n_slices, SLICES_PER_PATIENT)
    x, y = grid(resolution)
    x, y = x[0], y[0]
    pigment = rng.uniform(0.8, 1.15)  # patient fundus pigmentation
    images, masks = [], []
    for eye in range(s):
        side = 1.0 if eye == 0 else -1.0  # disc on the image right for one eye, left for the other
        disc = (side * rng.uniform(0.38, 0.5), rng.uniform(-0.08, 0.08))
        disc_r = rng.uniform(0.1, 0.13)
        r = np.hypot(x, y)
        aperture = r < 0.93
        # Background: orange-red, vignetted, with choroidal texture.
        texture = smooth_noise(rng, 1, resolution, 0.05)[0]
        vignette = np.clip(1.0 - 0.55 * r**2, 0.0, 1.0)
        base = np.array([0.78, 0.36, 0.14]) * pigment * rng.uniform(0.9, 1.1, 3)
        rgb = base[:, None, None] * vignette * (1 + 0.05 * texture)
        # Macula: a darker, slightly browner spot 2.5 disc diameters temporal to the disc.
        mac = (disc[0] - side * rng.uniform(0.48, 0.55), disc[1] + rng.uniform(0.0, 0.06))
        macula = np.exp(-((x - mac[0]) ** 2 + (y - mac[1]) ** 2) / (2 * 0.09**2))
        rgb *= 1 - 0.35 * macula * np.array([0.8, 1.0, 1.0])[:, None, None]
        # Vessels: darker red tubes, drawn from all segments at once.
        vessel = _draw_vessels(_vessel_segments(rng, disc, side), resolution)
        rgb = rgb * (1 - vessel * 0.55 * np.array([0.7, 1.0, 1.0])[:, None, None])
        # Lesions: hard exudates (yellow) and haemorrhages (dark red) away from the disc.
        for _ in range(int(rng.integers(0, 8))):
            lx, ly = rng.uniform(-0.6, 0.6, 2)
            lr = rng.uniform(0.015, 0.045)
            spot = np.exp(-((x - lx) ** 2 + (y - ly) ** 2) / (2 * lr**2))
            colour = np.array([0.95, 0.85, 0.3]) if rng.random() < 0.5 else np.array([0.35, 0.05, 0.03])
            rgb = rgb * (1 - spot) + colour[:, None, None] * spot
        # Optic disc: bright yellow-white with a paler central cup and a soft rim.
        dr = np.hypot((x - disc[0]) / disc_r, (y - disc[1]) / (disc_r * rng.uniform(1.0, 1.15)))
        disc_mask = dr < 1.0
        glow = np.clip(1.25 - dr, 0, 1) ** 0.7
        cup = np.exp(-dr**2 / (2 * 0.35**2))
        rgb = rgb * (1 - glow) + np.array([1.0, 0.82, 0.5])[:, None, None] * glow
        rgb = rgb + 0.15 * cup
        rgb = rgb * aperture
        images.append(rgb)
        masks.append(disc_mask & aperture)
    images = blur(np.stack(images).astype(np.float32), 0.5 * resolution / 64)
    images = images + 0.015 * rng.standard_normal(images.shape, dtype=np.float32)
    return np.clip(images, 0, None), np.stack(masks).astype(np.uint8)
