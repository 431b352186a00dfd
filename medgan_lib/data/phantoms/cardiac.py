"""Cardiac short-axis cine-MRI phantom with ACDC labels (1 RV cavity, 2 LV myocardium, 3 LV cavity).

Each patient is a stack of short-axis levels from base to apex at end-diastole (ED) and end-systole
(ES), like one ACDC exam: the LV cavity shrinks toward the apex and at ES, the myocardium thickens at
ES, the RV crescent wraps the septum and vanishes near the apex. Around the heart: pericardial fat,
lungs, liver, descending aorta, spine, chest-wall muscle and subcutaneous fat. The MR signal gets a
smooth coil bias field, partial-volume blur and Rician noise. Intensities are raw magnitudes; the MRI
preprocessing (per-volume percentile normalisation) turns them into [-1, 1] like real ACDC volumes.
"""

from __future__ import annotations

import numpy as np

from medgan_lib.data.phantoms.common import bias_field, blur, col, ellipse_radius, grid, rician, smooth_noise

LABEL_NAMES = ("background", "rv_cavity", "myocardium", "lv_cavity")
LEVELS = 6  # short-axis levels per phase, base (0) to apex (LEVELS - 1)
SLICES_PER_PATIENT = 2 * LEVELS  # ED and ES

# Tissue indices of the painted label-free anatomy map.
AIR, LUNG, MUSCLE, FAT, LIVER, MYO, LV_BLOOD, RV_BLOOD, AORTA, BONE, MARROW = range(11)


# ACDC's five diagnostic groups (Bernard et al. 2018) and, per group, the anatomy the grouped phantom draws:
# (ED cavity radius, ED wall thickness, ejection fraction of the cavity area, RV size, infarct depth) from ``u``.
GROUP_NAMES = ("NOR", "MINF", "DCM", "HCM", "RV")
GROUP_ANATOMY = {
    "NOR": lambda u: (u(0.19, 0.23), u(0.07, 0.085), u(0.55, 0.65), u(0.95, 1.15), 0.0),
    "MINF": lambda u: (u(0.22, 0.26), u(0.07, 0.085), u(0.25, 0.35), u(0.95, 1.15), u(0.55, 0.7)),  # thin segment
    "DCM": lambda u: (u(0.27, 0.31), u(0.045, 0.055), u(0.12, 0.22), u(0.95, 1.15), 0.0),  # dilated, thin, weak
    "HCM": lambda u: (u(0.14, 0.17), u(0.12, 0.145), u(0.6, 0.72), u(0.9, 1.05), 0.0),  # small cavity, thick wall
    "RV": lambda u: (u(0.19, 0.23), u(0.07, 0.085), u(0.5, 0.62), u(1.6, 1.9), 0.0),  # enlarged right ventricle
}


def cardiac_patient(rng: np.random.Generator, n_slices: int, resolution: int, group: int | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """One patient's slices: raw magnitudes (S, 1, R, R) float32 >= 0 and ACDC masks (S, R, R) uint8. ``group``
    (an index into GROUP_NAMES) draws that diagnostic group's anatomy; None, the default phantom's group-like mix
    (its draws are unchanged by the grouped variant)."""
    tissue, masks = cardiac_anatomy(rng, n_slices, resolution, group)
    return render_mr(rng, tissue), masks


def cardiac_mr_ct_patient(rng: np.random.Generator, n_slices: int, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """One patient's anatomy seen twice: channel 0 the MR magnitudes of ``cardiac_patient`` (the same draws: equal
    to the cardiac phantom's images of that patient), channel 1 a contrast-enhanced cardiac CT in HU; ACDC masks."""
    tissue, masks = cardiac_anatomy(rng, n_slices, resolution, None)
    mr = render_mr(rng, tissue)
    return np.concatenate([mr, render_ct(rng, tissue)], axis=1), masks


CT_WINDOW = (150.0, 1100.0)  # (centre, width) HU: a cardiac CT angiography window, lung to bone (ours)
# Contrast-enhanced cardiac CT (arterial phase), HU per tissue: typical values, each drawn per patient in +-10 %.
CT_HU = {AIR: -1000.0, LUNG: -850.0, MUSCLE: 45.0, FAT: -100.0, LIVER: 60.0, MYO: 110.0, LV_BLOOD: 380.0,
         RV_BLOOD: 300.0, AORTA: 400.0, BONE: 800.0, MARROW: 250.0}


def render_ct(rng: np.random.Generator, tissue: np.ndarray) -> np.ndarray:
    """(S, 1, R, R) HU of the painted ``tissue`` map: per-patient HU, partial-volume blur, Gaussian quantum noise."""
    resolution = tissue.shape[-1]
    values = np.array([CT_HU[t] for t in range(len(CT_HU))], dtype=np.float32)
    values = values + np.abs(values) * rng.uniform(-0.1, 0.1, len(values)).astype(np.float32)
    hu = blur(values[tissue], 0.55 * resolution / 64)
    hu = hu + float(rng.uniform(10, 25)) * rng.standard_normal(hu.shape, dtype=np.float32)
    return hu[:, None].astype(np.float32)


def cardiac_anatomy(rng: np.random.Generator, n_slices: int, resolution: int, group: int | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """One patient's painted tissue map (S, R, R) int64 (tissue indices above) and ACDC masks (S, R, R) uint8."""
    s = min(n_slices, SLICES_PER_PATIENT)
    level = (np.arange(SLICES_PER_PATIENT) % LEVELS / (LEVELS - 1))[:s].astype(np.float32)
    systole = (np.arange(SLICES_PER_PATIENT) >= LEVELS)[:s]
    u = lambda lo, hi: float(rng.uniform(lo, hi))  # noqa: E731 - one patient-level draw
    x, y = grid(resolution)
    # A smooth random warp makes every organ outline a little irregular (no perfect ellipses).
    warp = smooth_noise(rng, 2, resolution, 0.25)
    x, y = x + 0.035 * warp[:1], y + 0.035 * warp[1:]

    # Patient-level anatomy: a group-like mix of cavity size and wall thickness (normal, dilated, hypertrophic).
    cavity_ed = u(0.17, 0.27)
    wall_ed = u(0.06, 0.1) * (0.22 / cavity_ed) ** 0.5
    ejection = u(0.3, 0.65) * (0.22 / cavity_ed)  # dilated hearts pump less
    cx, cy = u(-0.1, 0.12), u(-0.12, 0.08)
    drift = rng.uniform(-0.02, 0.02, (2, s)).astype(np.float32)  # breath-hold mismatch between slices
    cxs, cys = cx + drift[0] + 0.04 * level, cy + drift[1] - 0.03 * level
    ecc, lv_angle = u(0.85, 1.15), u(0, np.pi)
    wall_var, wall_phase = u(0.0, 0.35), u(0, 2 * np.pi)
    rv_dir = u(2.2, 3.2)  # RV sits anterior-left in the image (patient's right)
    rv_size = u(0.9, 1.35)
    infarct = 0.0  # depth of a thinned (infarcted) wall segment, opposite wall_phase
    if group is not None:
        cavity_ed, wall_ed, ejection, rv_size, infarct = GROUP_ANATOMY[GROUP_NAMES[group]](u)
        wall_var = min(wall_var, 0.15)  # the group's wall, not the mix's irregularity, sets its thickness

    cavity = cavity_ed * (1 - 0.5 * level) * np.where(systole, np.sqrt(1 - ejection), 1.0)
    wall = wall_ed * (1 + 0.1 * level) * np.where(systole, 1.35, 1.0)
    rv_scale = np.clip(1.0 - 0.95 * level, 0.0, 1.0) * np.where(systole, 0.75, 1.0) * rv_size

    # LV in polar coordinates of its (slightly elliptic, rotated) frame.
    dx, dy = x - col(cxs), y - col(cys)
    c, sn = np.cos(lv_angle), np.sin(lv_angle)
    pu, pv = dx * c + dy * sn, -dx * sn + dy * c
    rho = np.sqrt((pu / ecc) ** 2 + (pv * ecc) ** 2)
    phi = np.arctan2(dy, dx)
    endo = rho < col(cavity)
    thickness = 1 + wall_var * np.cos(phi - wall_phase)
    if infarct:
        opposite = np.arctan2(np.sin(phi - wall_phase - np.pi), np.cos(phi - wall_phase - np.pi))
        thickness = thickness * (1 - infarct * np.exp(-opposite ** 2 / 0.3))
    epi_radius = col(cavity) + col(wall) * thickness
    epi = rho < epi_radius

    # RV: an ellipse beside the LV along rv_dir, long axis across it, minus the LV and a septal margin.
    r_epi = cavity + wall
    rv_cx = cxs + np.cos(rv_dir) * r_epi * 0.75
    rv_cy = cys + np.sin(rv_dir) * r_epi * 0.75
    rv_r = ellipse_radius(x, y, rv_cx, rv_cy, np.maximum(r_epi * 0.95 * rv_scale, 1e-3),
                          np.maximum(r_epi * 1.55 * rv_scale, 1e-3), rv_dir)
    rv_wall = 0.025
    rv_outer = (rv_r < 1.0) & (rv_scale[:, None, None] > 0.3)
    rv_cavity = (rv_r < 1.0 - rv_wall / np.maximum(col(r_epi * 0.95 * rv_scale), 1e-3)) & ~(rho < epi_radius + 0.025)
    rv_cavity &= rv_outer

    # Papillary muscles: two small dark dots inside the cavity near the wall (labelled LV cavity, as in ACDC).
    pap = np.zeros_like(endo)
    for angle in (wall_phase + 2.0, wall_phase + 3.4):
        px = col(cxs) + np.cos(angle) * col(cavity) * 0.78
        py = col(cys) + np.sin(angle) * col(cavity) * 0.78
        pap |= ((x - px) ** 2 + (y - py) ** 2 < (col(cavity) * 0.16) ** 2) & (level < 0.7)[:, None, None]

    # Surroundings (shared by all slices of the patient, shifted a little with the level).
    body = ellipse_radius(x, y, u(-0.05, 0.05), u(-0.02, 0.08), u(0.85, 1.05), u(0.68, 0.85), u(-0.1, 0.1))
    sub_fat = u(0.05, 0.12)
    lung_l = ellipse_radius(x, y, cx + u(0.55, 0.7), cy + u(-0.15, 0.0), u(0.22, 0.32), u(0.35, 0.5), u(-0.3, 0.3))
    lung_r = ellipse_radius(x, y, cx - u(0.6, 0.75), cy + u(-0.05, 0.1), u(0.22, 0.32), u(0.35, 0.5), u(-0.3, 0.3))
    liver = ellipse_radius(x, y, cx - u(0.2, 0.4), cy + 0.55 + u(0, 0.1) - 0.25 * col(level), 0.55, u(0.25, 0.35),
                           u(-0.2, 0.2))
    peri = rho < epi_radius + u(0.02, 0.05)
    peri |= rv_r < 1.15
    spine_x, spine_y = cx * 0.3 + u(-0.05, 0.05), u(0.55, 0.62)
    spine = ellipse_radius(x, y, spine_x, spine_y, 0.12, 0.1)
    aorta = ellipse_radius(x, y, spine_x + u(0.12, 0.2), spine_y - u(0.15, 0.22), u(0.06, 0.08), u(0.06, 0.08))

    tissue = np.full((s, resolution, resolution), AIR, dtype=np.int64)
    tissue[np.broadcast_to(body < 1.0, tissue.shape)] = FAT
    tissue[np.broadcast_to(body < 1.0 - sub_fat, tissue.shape)] = MUSCLE
    tissue[np.broadcast_to(((lung_l < 1.0) | (lung_r < 1.0)) & (body < 0.9), tissue.shape) & ~peri] = LUNG
    tissue[(liver < 1.0) & (body < 0.92) & ~peri] = LIVER
    tissue[peri] = FAT
    tissue[np.broadcast_to(spine < 1.0, tissue.shape)] = BONE
    tissue[np.broadcast_to(spine < 0.75, tissue.shape)] = MARROW
    tissue[np.broadcast_to(aorta < 1.0, tissue.shape)] = AORTA
    tissue[rv_outer] = MYO
    tissue[epi] = MYO
    tissue[rv_cavity] = RV_BLOOD
    tissue[endo & ~pap] = LV_BLOOD

    masks = np.zeros((s, resolution, resolution), dtype=np.uint8)
    masks[rv_cavity] = 1
    masks[epi & ~endo] = 2
    masks[endo] = 3
    return tissue, masks


def render_mr(rng: np.random.Generator, tissue: np.ndarray) -> np.ndarray:
    """(S, 1, R, R) cine-MR magnitudes of the painted ``tissue`` map: per-patient contrast with per-slice jitter,
    texture, partial-volume blur, coil bias field and Rician noise."""
    s, resolution = tissue.shape[0], tissue.shape[-1]
    u = lambda lo, hi: float(rng.uniform(lo, hi))  # noqa: E731 - one patient-level draw
    # Patient-level contrast (scanner, sequence) with a little per-slice jitter.
    blood = u(0.8, 1.0)
    values = np.array([0.02, 0.07, u(0.3, 0.42), u(0.7, 0.9), u(0.38, 0.5), u(0.18, 0.3), blood,
                       blood * u(0.85, 1.0), blood * u(0.75, 0.95), 0.1, u(0.5, 0.7)], dtype=np.float32)
    values = values[None] * rng.uniform(0.95, 1.05, (s, 1)).astype(np.float32)
    image = values[np.arange(s)[:, None, None], tissue]
    image *= 1.0 + 0.06 * smooth_noise(rng, s, resolution, 0.04) * (tissue != AIR)
    image = blur(image, 0.55 * resolution / 64)
    image *= bias_field(rng, 1, resolution, u(0.2, 0.6))
    image = rician(rng, np.clip(image, 0, None), u(0.015, 0.045))
    return image[:, None].astype(np.float32)
