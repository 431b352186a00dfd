"""Abdominal CT phantom in Hounsfield units with a liver mask (SLiver07-like, about 5 % liver pixels).

Each patient is an axial stack from the pelvis brim to the lung bases. The liver (right lobe on the
image left, left lobe crossing the midline in upper slices) appears over the middle of the stack, with
hypodense lesions (3-D spheres, labelled liver as in SLiver07) and bright portal vessels. Around it:
body outline, subcutaneous fat, muscle wall, spine, ribs, aorta, spleen, kidneys, stomach gas and bowel.
Quantum noise is Gaussian in HU; SLiver07's preprocessing (a fixed HU window) maps it to [-1, 1].
The same painted anatomy can also be rendered as T2-weighted fat-suppressed MR (CHAOS's T2-SPIR), alone or
beside the CT (two modalities of one patient, for image-to-image translation).
"""

from __future__ import annotations

import numpy as np

from medgan_lib.data.phantoms.common import bias_field, blur, col, ellipse_radius, grid, rician, smooth_noise

LABEL_NAMES = ("background", "liver")
SLICES_PER_PATIENT = 24
CT_WINDOW = (60.0, 400.0)  # (centre, width) HU: the abdominal soft-tissue window of SLiver07's and CHAOS's manifests


def liver_patient(rng: np.random.Generator, n_slices: int, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """One patient's slices: HU images (S, 1, R, R) float32 and liver masks (S, R, R) uint8."""
    parts = liver_anatomy(rng, n_slices, resolution)
    return render_ct(rng, parts), parts["liver"].astype(np.uint8)


def liver_mr_patient(rng: np.random.Generator, n_slices: int, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """One patient's slices as T2-weighted fat-suppressed MR (CHAOS's T2-SPIR-like), liver masks; the anatomy (and
    the CT that ``liver_patient`` renders from it, drawn first) is that of the same patient of the liver phantom."""
    parts = liver_anatomy(rng, n_slices, resolution)
    render_ct(rng, parts)
    return render_mr(rng, parts), parts["liver"].astype(np.uint8)


def liver_mr_ct_patient(rng: np.random.Generator, n_slices: int, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """One patient's abdomen seen twice: channel 0 the MR of ``liver_mr_patient``, channel 1 the CT in HU of
    ``liver_patient`` (both equal to those phantoms' images of that patient); liver masks."""
    parts = liver_anatomy(rng, n_slices, resolution)
    ct = render_ct(rng, parts)
    return np.concatenate([render_mr(rng, parts), ct], axis=1), parts["liver"].astype(np.uint8)


def liver_anatomy(rng: np.random.Generator, n_slices: int, resolution: int) -> dict[str, np.ndarray]:
    """One patient's structures as boolean maps (S, R, R) or (1, R, R) for those the same on every slice, by name."""
    s = min(n_slices, SLICES_PER_PATIENT)
    z = (np.arange(SLICES_PER_PATIENT, dtype=np.float32) / (SLICES_PER_PATIENT - 1))[:s]  # 0 pelvis .. 1 lung base
    u = lambda lo, hi: float(rng.uniform(lo, hi))  # noqa: E731 - one patient-level draw
    x, y = grid(resolution)
    warp = smooth_noise(rng, 2, resolution, 0.2)
    x, y = x + 0.04 * warp[:1], y + 0.04 * warp[1:]

    # Body and its layers.
    bx, by, brx, bry = u(-0.04, 0.04), u(-0.02, 0.04), u(0.86, 0.97), u(0.64, 0.76)
    body = ellipse_radius(x, y, bx, by, brx, bry)
    fat_depth = u(0.06, 0.16)
    spine = ellipse_radius(x, y, bx, by + bry - 0.28, 0.11, 0.1)
    canal = ellipse_radius(x, y, bx, by + bry - 0.15, 0.04, 0.035)
    aorta = ellipse_radius(x, y, bx + 0.06, by + bry - 0.43, 0.055, 0.055)

    # Liver: extent along z, lobes shrinking toward its tip and dome.
    z0, z1 = u(0.15, 0.3), u(0.85, 1.05)
    t = np.clip((z - z0) / (z1 - z0), 0, 1)
    present = (z > z0) & (z < z1)
    size = np.where(present, np.clip(np.sin(np.pi * t), 0, 1) ** 0.5, 0.0) * u(0.85, 1.15)
    lx, ly = bx - u(0.38, 0.46), by + u(-0.1, 0.02)
    right_lobe = ellipse_radius(x, y, lx, ly, np.maximum(0.36 * size, 1e-3), np.maximum(0.44 * size, 1e-3),
                                u(-0.4, 0.1))
    left_size = np.clip((t - 0.35) / 0.4, 0, 1) * size * u(0.6, 1.2)
    left_lobe = ellipse_radius(x, y, lx + 0.4, ly - 0.25, np.maximum(0.38 * left_size, 1e-3),
                               np.maximum(0.17 * left_size, 1e-3), u(-0.3, 0.2))
    liver = (right_lobe < 1) | ((left_lobe < 1) & col(left_size > 0.1))
    liver &= (body < 1 - fat_depth / brx - 0.05) & (spine > 1.3) & (aorta > 1.4)

    # Lesions: spheres in (x, y, z) that cut the slices they cross; vessels: thin bright tubes.
    lesions = np.zeros_like(liver)
    for _ in range(int(rng.integers(0, 4))):
        r3, zc = u(0.04, 0.12), u(z0 + 0.1, z1 - 0.1)
        rr = np.sqrt(np.clip(r3**2 - ((z - zc) * 1.2) ** 2, 0, None))
        lesions |= ((x - (lx + u(-0.15, 0.15))) ** 2 + (y - (ly + u(-0.15, 0.15))) ** 2 < col(rr) ** 2)
    vessels = np.abs(smooth_noise(rng, 1, resolution, 0.06)) < 0.12

    # Other organs (their z ranges follow the anatomy roughly).
    spleen = ellipse_radius(x, y, bx + u(0.45, 0.55), by + u(0.05, 0.2), 0.14, 0.2, u(-0.6, -0.2)) < 1
    spleen = spleen & col((z > 0.5) & (z < 0.9))
    kidneys = (ellipse_radius(x, y, bx - 0.3, by + bry - 0.35, 0.1, 0.14, 0.4) < 1) | (
        ellipse_radius(x, y, bx + 0.3, by + bry - 0.33, 0.1, 0.14, -0.4) < 1)
    kidneys = kidneys & col((z > 0.2) & (z < 0.55))
    stomach = ellipse_radius(x, y, bx + u(0.2, 0.3), by - u(0.2, 0.3), 0.18, 0.13) < 1
    stomach = stomach & col(z > 0.6)
    gas = stomach & (y < by - 0.3)
    bowel_field = smooth_noise(rng, s, resolution, 0.05)
    bowel_gas = (bowel_field > 1.6) & (body < 0.75) & col(z < 0.55)
    ribs = np.zeros_like(liver)
    for angle in np.linspace(-3.0, 0.6, 7) + u(-0.1, 0.1):
        for side in (1, -1):
            rx_, ry_ = bx + side * np.cos(angle) * brx * 0.82, by - np.sin(angle) * bry * 0.85
            ribs |= ((x - rx_) ** 2 + (y - ry_) ** 2 < 0.035**2) & col(z > 0.55)

    inner = body < 1 - fat_depth / brx
    return {"body": body < 1, "inner": inner, "wall": inner & (body > 1 - fat_depth / brx - 0.06),
            "bowel": (np.abs(bowel_field) < 0.7) & (body < 0.8), "bowel_gas": bowel_gas, "kidneys": kidneys,
            "spleen": spleen, "stomach": stomach, "gas": gas, "liver": liver, "vessels": liver & vessels,
            "lesions": liver & lesions, "aorta": aorta < 1, "spine": spine < 1, "marrow": spine < 0.75,
            "canal": canal < 1, "ribs": ribs}


def render_ct(rng: np.random.Generator, parts: dict[str, np.ndarray]) -> np.ndarray:
    """(S, 1, R, R) portal-venous CT in HU: per-patient values painted in order, partial-volume blur, quantum noise."""
    u = lambda lo, hi: float(rng.uniform(lo, hi))  # noqa: E731 - one patient-level draw
    s, resolution = parts["liver"].shape[0], parts["liver"].shape[-1]
    hu = np.full((s, resolution, resolution), -1000.0, dtype=np.float32)
    full = lambda name: np.broadcast_to(parts[name], hu.shape)  # noqa: E731
    hu[full("body")] = u(-120, -80)  # subcutaneous and visceral fat
    hu[full("inner")] = u(-90, -50)  # fatty abdominal contents
    hu[full("wall")] = 50  # muscle wall
    hu[full("bowel")] = u(20, 45)
    hu[parts["bowel_gas"]] = -900
    hu[parts["kidneys"]] = u(150, 200)
    hu[parts["spleen"]] = u(100, 130)
    hu[parts["stomach"]] = 20
    hu[parts["gas"]] = -950
    liver_hu = u(90, 140)
    hu[parts["liver"]] = liver_hu
    hu[parts["vessels"]] = liver_hu + u(30, 60)
    hu[parts["lesions"]] = liver_hu - u(40, 80)
    hu[full("aorta")] = u(160, 250)
    hu[full("spine")] = 700
    hu[full("marrow")] = 220
    hu[full("canal")] = 20
    hu[parts["ribs"]] = 600
    hu = blur(hu, 0.6 * resolution / 64)
    hu += u(8, 20) * rng.standard_normal(hu.shape, dtype=np.float32)
    return hu[:, None].astype(np.float32)


def render_mr(rng: np.random.Generator, parts: dict[str, np.ndarray]) -> np.ndarray:
    """(S, 1, R, R) T2-weighted fat-suppressed MR magnitudes (arbitrary units, as CHAOS's T2-SPIR): fat and bone
    dark, liver darker than spleen and kidneys, fluid and canal bright, flowing blood and gas black; per-patient
    contrast, partial-volume blur, coil bias field and Rician noise. Typical relative values, ours."""
    u = lambda lo, hi: float(rng.uniform(lo, hi))  # noqa: E731 - one patient-level draw
    s, resolution = parts["liver"].shape[0], parts["liver"].shape[-1]
    image = np.zeros((s, resolution, resolution), dtype=np.float32)
    full = lambda name: np.broadcast_to(parts[name], image.shape)  # noqa: E731
    image[full("body")] = u(0.06, 0.12)  # suppressed fat
    image[full("inner")] = u(0.08, 0.15)
    image[full("wall")] = u(0.15, 0.22)  # muscle: short T2
    image[full("bowel")] = u(0.35, 0.55)  # fluid-filled bowel
    image[parts["bowel_gas"]] = 0.01
    image[parts["kidneys"]] = u(0.55, 0.7)
    image[parts["spleen"]] = u(0.5, 0.65)
    image[parts["stomach"]] = u(0.6, 0.8)  # fluid
    image[parts["gas"]] = 0.01
    liver = u(0.25, 0.35)
    image[parts["liver"]] = liver
    image[parts["vessels"]] = liver * u(0.2, 0.4)  # flow voids
    image[parts["lesions"]] = liver + u(0.25, 0.45)  # T2-bright (cyst-like) lesions
    image[full("aorta")] = u(0.02, 0.06)  # flow void
    image[full("spine")] = 0.05  # cortical bone
    image[full("marrow")] = u(0.12, 0.2)  # fat-suppressed marrow
    image[full("canal")] = u(0.85, 1.0)  # CSF
    image[parts["ribs"]] = 0.05
    image = blur(image, 0.6 * resolution / 64)
    image *= bias_field(rng, 1, resolution, u(0.2, 0.5))
    image = rician(rng, image, u(0.01, 0.03))
    return image[:, None].astype(np.float32)
