"""Projection X-ray phantoms: a PA chest film with lung masks, and an elbow film (no mask, as MURA).

Both are rendered as line integrals of attenuation (rods, ellipsoids and bands projected to 2-D),
shown the radiographic way (more attenuation = brighter), with a heel-effect gradient, detector blur
and quantum noise. The X-ray preprocessing (per-image percentile window) maps them to [-1, 1].
"""

from __future__ import annotations

import numpy as np

from medgan_lib.data.phantoms.common import (bias_field, blur, col, ellipse_radius, grid, rod, segment_distance,
                                             smooth_noise)

CHEST_LABEL_NAMES = ("background", "lung")
ELBOW_LABEL_NAMES = ("background",)
CHEST_SLICES_PER_PATIENT = 1  # one PA film per patient, as in VinBigData
ELBOW_SLICES_PER_PATIENT = 3  # a MURA study holds a few views of the same elbow


def elbow_views(n: int) -> np.ndarray:
    """The view of each of a study's ``n`` films: frontal and lateral in turn (frontal, lateral, frontal)."""
    return np.array(["frontal", "lateral"] * (n // 2 + 1))[:n]


def _film(rng: np.random.Generator, attenuation: np.ndarray, resolution: int, noise: float) -> np.ndarray:
    """Attenuation line integrals -> displayed film intensity with heel effect, blur and quantum noise."""
    s = len(attenuation)
    film = 1.0 - np.exp(-attenuation)
    film *= bias_field(rng, s, resolution, 0.25)
    film = blur(film, 0.5 * resolution / 64)
    return (film + noise * rng.standard_normal(film.shape, dtype=np.float32)).astype(np.float32)


def chest_patient(rng: np.random.Generator, n_slices: int, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """PA chest films (S, 1, R, R) and lung masks (S, R, R); the mask excludes the heart shadow."""
    s = min(n_slices, CHEST_SLICES_PER_PATIENT)
    u = lambda lo, hi: rng.uniform(lo, hi, s).astype(np.float32)  # noqa: E731 - one draw per film
    x, y = grid(resolution)
    warp = smooth_noise(rng, 2 * s, resolution, 0.25)
    x, y = x + 0.03 * warp[:s], y + 0.03 * warp[s:]
    tilt = u(-0.06, 0.06)
    x, y = x * np.cos(col(tilt)) - y * np.sin(col(tilt)), x * np.sin(col(tilt)) + y * np.cos(col(tilt))
    x = x - col(u(-0.06, 0.06))
    y = y - col(u(-0.06, 0.06))
    scale = col(u(0.9, 1.08))
    x, y = x / scale, y / scale

    # Torso (thick soft tissue), neck and shoulders, abdomen below the diaphragm.
    torso = rod(ellipse_radius(x, y, 0.0, 0.15, u(0.78, 0.9), 1.05), 1.0)
    neck = rod(np.abs(x), 0.2) * (y < -0.7)
    shoulders = rod(ellipse_radius(x, y, -0.55, -0.72, 0.45, 0.2, 0.25), 1.0) + rod(
        ellipse_radius(x, y, 0.55, -0.72, 0.45, 0.2, -0.25), 1.0)
    soft = 1.1 * torso + 0.6 * neck + 0.7 * shoulders

    # Lungs: rounded fields above domed hemidiaphragms, medially bounded by the mediastinum.
    dome = col(u(0.38, 0.5))
    lungs = np.zeros_like(soft, dtype=bool)
    lung_thickness = np.zeros_like(soft)
    for side in (-1.0, 1.0):
        cx = side * col(u(0.33, 0.4))
        field = ellipse_radius(x, y, cx, -0.05 + 0.0 * cx, u(0.24, 0.3), u(0.55, 0.65))
        below_dome = y > dome - (0.08 if side > 0 else 0.0) + 0.25 * ((x - cx) / 0.3) ** 2 * 0.6
        medial = side * x < 0.07
        one = (field < 1) & ~below_dome & ~medial
        lungs |= one
        lung_thickness += rod(field, 1.0) * one
    heart = ellipse_radius(x, y, col(u(0.06, 0.12)), dome - col(u(0.12, 0.2)), u(0.24, 0.32), u(0.18, 0.24),
                           u(-0.5, -0.2))
    heart_shadow = rod(heart, 1.0)
    mask = lungs & (heart > 1.0)

    # Bones: spine column, posterior ribs (arched bands), clavicles.
    bones = 0.9 * rod(np.abs(x), 0.07) * (y < 0.9)
    for i in range(10):
        y0 = -0.62 + 0.13 * i
        for side in (-1.0, 1.0):
            lateral = side * x
            arc = y0 - 0.12 * np.sin(np.pi * np.clip(lateral - 0.05, 0, 0.85) / 0.85) + 0.18 * lateral
            band = np.abs(y - arc) < 0.022
            bones = bones + 0.25 * (band & (lateral > 0.05) & (lateral < 0.78 - 0.015 * i))
    for side in (-1.0, 1.0):
        clav = segment_distance(x, y, side * 0.08, -0.6, side * 0.62, -0.72)
        bones = bones + 0.6 * rod(clav, 0.035)

    attenuation = 1.6 * soft + 0.8 * heart_shadow + bones - 1.5 * lung_thickness
    attenuation *= 1.0 + 0.05 * smooth_noise(rng, s, resolution, 0.03)
    image = _film(rng, np.clip(attenuation, 0, None) * 0.9, resolution, 0.02)
    return image[:, None], mask.astype(np.uint8)


def elbow_patient(rng: np.random.Generator, n_slices: int, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """Elbow films (S, 1, R, R) of one study (several views) and empty masks (MURA has no segmentation)."""
    s = min(n_slices, ELBOW_SLICES_PER_PATIENT)
    size = float(rng.uniform(1.7, 2.2))  # patient build (and film magnification)
    u = lambda lo, hi: rng.uniform(lo, hi, s).astype(np.float32)  # noqa: E731 - one draw per view
    x, y = grid(resolution)
    warp = smooth_noise(rng, 2, resolution, 0.3)
    x, y = x + 0.02 * warp[:1], y + 0.02 * warp[1:]

    # The joint sits near the centre; the humerus comes from one side, the forearm leaves at the flexion angle.
    jx, jy = u(-0.2, 0.2), u(-0.2, 0.2)
    arm = u(0, 2 * np.pi)
    lateral = elbow_views(s) == "lateral"
    flexion = np.where(lateral, u(0.9, 1.6), u(0.0, 0.3))  # lateral films bent, frontal (AP) films straight
    fore = arm + np.pi - flexion
    far = 2.5
    hx, hy = jx + far * np.cos(arm), jy + far * np.sin(arm)
    fx, fy = jx + far * np.cos(fore), jy + far * np.sin(fore)
    perp_x, perp_y = -np.sin(fore), np.cos(fore)

    humerus = segment_distance(x, y, jx + 0.2 * np.cos(arm), jy + 0.2 * np.sin(arm), hx, hy)
    condyles = ellipse_radius(x, y, jx + 0.08 * np.cos(arm), jy + 0.08 * np.sin(arm), 0.17 * size, 0.1 * size,
                              arm + np.pi / 2)
    olecranon = ellipse_radius(x, y, jx + 0.1 * size * np.cos(arm + 0.5), jy + 0.1 * size * np.sin(arm + 0.5),
                               0.06 * size, 0.045 * size, arm)
    offset = 0.06 * size  # radius and ulna run side by side, one on each side of the forearm axis
    ox, oy = offset * perp_x, offset * perp_y
    radius_b = segment_distance(x, y, jx - 0.12 * np.cos(fore) + ox, jy - 0.12 * np.sin(fore) + oy, fx + ox, fy + oy)
    ulna = segment_distance(x, y, jx - 0.02 * np.cos(fore) - ox, jy - 0.02 * np.sin(fore) - oy, fx - ox, fy - oy)
    soft_arm = segment_distance(x, y, jx, jy, hx, hy)
    soft_fore = segment_distance(x, y, jx, jy, fx, fy)

    def bone(distance, outer):
        """Cortical shell brighter than the marrow canal."""
        return rod(distance, outer) - 0.55 * rod(distance, outer * 0.6)

    attenuation = (0.9 * np.maximum(rod(soft_arm, 0.36 * size), rod(soft_fore, 0.3 * size))
                   + 1.6 * bone(humerus, 0.085 * size) + 1.4 * rod(condyles, 1.0) + 0.8 * rod(olecranon, 1.0)
                   + 1.3 * bone(radius_b, 0.045 * size) + 1.3 * bone(ulna, 0.05 * size))
    # Side marker (a bright square letter plate) in a corner, as on real films.
    mx, my = np.where(rng.random(s) < 0.5, -0.8, 0.8), u(-0.85, -0.7)
    attenuation = attenuation + 2.5 * ((np.abs(x - col(mx)) < 0.05) & (np.abs(y - col(my)) < 0.06))
    attenuation *= 1.0 + 0.06 * smooth_noise(rng, s, resolution, 0.03)
    image = _film(rng, attenuation, resolution, 0.02)
    return image[:, None], np.zeros((s, resolution, resolution), dtype=np.uint8)
