"""Vectorised building blocks shared by the phantoms: grids, shapes, smooth fields, blur and MR/CT/X-ray noise."""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def grid(resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates in [-1, 1], shaped (1, R, R) so they broadcast over a batch of slices."""
    axis = (np.arange(resolution, dtype=np.float32) + 0.5) / resolution * 2.0 - 1.0
    y, x = np.meshgrid(axis, axis, indexing="ij")
    return x[None], y[None]


def col(values: np.ndarray | float) -> np.ndarray:
    """Per-slice parameters (float32, or bool flags) as (S, 1, 1) so they broadcast against (1, R, R) grids."""
    values = np.asarray(values)
    return (values if values.dtype == bool else values.astype(np.float32)).reshape(-1, 1, 1)


def ellipse_radius(x: np.ndarray, y: np.ndarray, cx, cy, rx, ry, angle=0.0) -> np.ndarray:
    """Normalised elliptic radius: < 1 inside the ellipse (centre, radii, rotation in radians)."""
    dx, dy = x - col(cx), y - col(cy)
    c, s = np.cos(col(angle)), np.sin(col(angle))
    u, v = dx * c + dy * s, -dx * s + dy * c
    return np.sqrt((u / col(rx)) ** 2 + (v / col(ry)) ** 2)


def smooth_noise(rng: np.random.Generator, n: int, resolution: int, scale: float) -> np.ndarray:
    """(n, R, R) Gaussian random fields with correlation length ``scale`` (fraction of the field), unit std."""
    white = rng.standard_normal((n, resolution, resolution)).astype(np.float32)
    fy = np.fft.fftfreq(resolution)[:, None]
    fx = np.fft.rfftfreq(resolution)[None, :]
    lowpass = np.exp(-0.5 * (fx**2 + fy**2) * (2 * np.pi * scale * resolution / 2.0) ** 2)
    field = np.fft.irfft2(np.fft.rfft2(white) * lowpass, s=(resolution, resolution)).astype(np.float32)
    field -= field.mean(axis=(1, 2), keepdims=True)
    return field / (field.std(axis=(1, 2), keepdims=True) + 1e-8)


def bias_field(rng: np.random.Generator, n: int, resolution: int, strength: float) -> np.ndarray:
    """(n, R, R) smooth multiplicative field 1 + linear + quadratic terms (coil sensitivity / heel effect)."""
    x, y = grid(resolution)
    a = rng.uniform(-1, 1, (5, n, 1, 1)).astype(np.float32)
    field = a[0] * x + a[1] * y + 0.5 * (a[2] * x * x + a[3] * y * y + a[4] * x * y)
    return 1.0 + strength * field / 2.0


def blur(images: np.ndarray, sigma_pixels: float) -> np.ndarray:
    """Gaussian blur over the last two axes (partial-volume / point-spread softening)."""
    sigma = (0,) * (images.ndim - 2) + (sigma_pixels, sigma_pixels)
    return ndimage.gaussian_filter(images, sigma=sigma, mode="nearest")


def rician(rng: np.random.Generator, magnitude: np.ndarray, sigma: float | np.ndarray) -> np.ndarray:
    """Magnitude MR noise: |signal + complex Gaussian noise|."""
    sigma = np.asarray(sigma, dtype=np.float32)
    real = magnitude + sigma * rng.standard_normal(magnitude.shape, dtype=np.float32)
    imag = sigma * rng.standard_normal(magnitude.shape, dtype=np.float32)
    return np.sqrt(real * real + imag * imag)


def soft(inside_distance: np.ndarray, width: float) -> np.ndarray:
    """Smooth 0..1 edge from a signed quantity that is positive inside (e.g. 1 - elliptic radius)."""
    return np.clip(0.5 + inside_distance / (2.0 * width), 0.0, 1.0)


def segment_distance(x: np.ndarray, y: np.ndarray, ax, ay, bx, by) -> np.ndarray:
    """Distance from every pixel to the segment A-B (endpoints per slice or scalars)."""
    ax, ay, bx, by = col(ax), col(ay), col(bx), col(by)
    dx, dy = bx - ax, by - ay
    t = np.clip(((x - ax) * dx + (y - ay) * dy) / np.maximum(dx * dx + dy * dy, 1e-12), 0.0, 1.0)
    return np.hypot(x - ax - t * dx, y - ay - t * dy)


def rod(distance: np.ndarray, radius) -> np.ndarray:
    """Projected thickness of a cylinder (or a sphere's slab) of ``radius`` at ``distance`` from its axis."""
    radius = col(radius)
    return np.sqrt(np.clip(radius * radius - distance * distance, 0.0, None)) / radius
