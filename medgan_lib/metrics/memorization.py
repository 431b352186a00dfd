"""Memorisation and diversity audit of a synthetic set (the check a near-zero FID, like SPADE's 1.09 on IDRiD, needs).

For every synthetic image: the distance to its nearest training image, in pixels (RMS over pixels of
[-1, 1] images) and in feature space; the same for held-out real images, which gives the distance a
genuinely new image has. A synthetic image closer to the training set than the ``quantile`` of the
held-out distances counts as a near-copy; without memorisation about ``quantile`` of the synthetic
set falls below it. Intra-set diversity (mean pairwise distance) relative to the real set flags mode collapse.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from medgan_lib.diversity import collapsed, diversity
from medgan_lib.rows import DETECTED, DETECTED_KIND, FLAGGED_OWN, PLANTED, SPACE


def _flat(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(np.asarray(x, dtype=np.float32).reshape(len(x), -1)))


def nearest(queries: np.ndarray, references: np.ndarray, chunk: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """(distance, index) of each query's nearest reference; distances are RMS per element (pixels or features)."""
    q, r = _flat(queries), _flat(references)
    if q.shape[1] != r.shape[1]:
        raise ValueError(f"queries {tuple(queries.shape)} and references {tuple(references.shape)} differ in size")
    dist, idx = [], []
    for part in q.split(chunk):
        d = torch.cdist(part, r)
        best = d.min(dim=1)
        dist.append(best.values)
        idx.append(best.indices)
    return (torch.cat(dist) / np.sqrt(q.shape[1])).numpy(), torch.cat(idx).numpy()


@dataclasses.dataclass
class SpaceAudit:
    """Nearest-training distances of synthetic and held-out images in one space (pixels or features)."""

    space: str
    fake_nn: np.ndarray  # (n_fake,) distance of each synthetic image to its nearest training image
    fake_nn_index: np.ndarray  # (n_fake,) index of that training image
    heldout_nn: np.ndarray  # (n_heldout,) the same for held-out real images
    threshold: float  # near-copy threshold: a quantile of heldout_nn
    diversity_fake: float
    diversity_real: float

    @property
    def near_copy_share(self) -> float:
        return float((self.fake_nn < self.threshold).mean())

    @property
    def nn_ratio(self) -> float:
        """Median synthetic-to-train over median held-out-to-train distance (<< 1 means copying)."""
        return float(np.median(self.fake_nn) / max(np.median(self.heldout_nn), 1e-12))

    @property
    def diversity_ratio(self) -> float:
        return self.diversity_fake / max(self.diversity_real, 1e-12)

    def closest(self, k: int = 8) -> list[tuple[int, int, float]]:
        """The ``k`` (synthetic index, training index, distance) pairs closest to a copy."""
        order = np.argsort(self.fake_nn)[:k]
        return [(int(i), int(self.fake_nn_index[i]), float(self.fake_nn[i])) for i in order]

    def row(self) -> dict[str, float | bool]:
        s = self.space
        return {f"{s}_near_copy_share": self.near_copy_share, f"{s}_nn_ratio": self.nn_ratio,
                f"{s}_fake_nn_median": float(np.median(self.fake_nn)),
                f"{s}_heldout_nn_median": float(np.median(self.heldout_nn)), f"{s}_threshold": self.threshold,
                f"{s}_diversity_fake": self.diversity_fake, f"{s}_diversity_real": self.diversity_real,
                f"{s}_diversity_ratio": self.diversity_ratio,
                f"{s}_mode_collapse": collapsed(self.diversity_ratio)}


def audit_space(space: str, fake: np.ndarray, train: np.ndarray, heldout: np.ndarray,
                quantile: float = 0.05) -> SpaceAudit:
    """Audit one space; ``train`` is what the GAN saw, ``heldout`` real images it never saw."""
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile must be in (0, 1), got {quantile}")
    fake_nn, fake_idx = nearest(fake, train)
    heldout_nn, _ = nearest(heldout, train)
    real_same_size = train[np.linspace(0, len(train) - 1, min(len(train), len(fake))).astype(int)]
    return SpaceAudit(space, fake_nn, fake_idx, heldout_nn, float(np.quantile(heldout_nn, quantile)),
                      diversity(fake), diversity(real_same_size))


@dataclasses.dataclass
class MemorizationReport:
    """Pixel and (optionally) feature-space audits of one synthetic set."""

    pixels: SpaceAudit
    features: SpaceAudit | None
    quantile: float

    def row(self) -> dict[str, float | bool]:
        row: dict[str, float | bool] = {"quantile": self.quantile, **self.pixels.row()}
        if self.features is not None:
            row.update(self.features.row())
        return row


def memorization_audit(fake: np.ndarray, train: np.ndarray, heldout: np.ndarray,
                       fake_features: np.ndarray | None = None, train_features: np.ndarray | None = None,
                       heldout_features: np.ndarray | None = None, quantile: float = 0.05) -> MemorizationReport:
    """Audit a synthetic image set against the training and held-out images (features optional)."""
    if fake.shape[1:] != train.shape[1:] or heldout.shape[1:] != train.shape[1:]:
        raise ValueError(f"image shapes differ: fake {fake.shape}, train {train.shape}, held-out {heldout.shape}")
    pixels = audit_space("pixel", fake, train, heldout, quantile)
    features = None
    if fake_features is not None and train_features is not None and heldout_features is not None:
        features = audit_space("feature", fake_features, train_features, heldout_features, quantile)
    return MemorizationReport(pixels, features, quantile)


# ---- calibration: how much would the audit catch? -----------------------------------------------------------
# Near-copies planted into a synthetic set (ours): mirrored left-right, shifted by 2 pixels, with Gaussian noise
# of standard deviation 0.05 (images in [-1, 1]), or with the intensity scaled by 0.9 and raised by 0.05.
NEAR_COPY_KINDS = ("flip", "shift", "noise", "intensity")


def near_copy(image: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """A near-copy of one (C, H, W) image in [-1, 1] of ``kind`` (``NEAR_COPY_KINDS``), clipped to [-1, 1]."""
    if kind == "flip":
        out = image[..., ::-1]
    elif kind == "shift":
        out = np.roll(image, (2, 2), axis=(-2, -1))
    elif kind == "noise":
        out = image + rng.normal(0.0, 0.05, image.shape)
    elif kind == "intensity":
        out = image * 0.9 + 0.05
    else:
        raise ValueError(f"unknown near-copy kind {kind!r}; valid: {list(NEAR_COPY_KINDS)}")
    return np.clip(out, -1.0, 1.0).astype(image.dtype)


@dataclasses.dataclass(frozen=True)
class Planted:
    """A synthetic set with near-copies of training images at ``positions`` (their kinds and source indices)."""

    images: np.ndarray
    positions: np.ndarray
    kinds: tuple[str, ...]
    sources: np.ndarray


def plant_near_copies(fake: np.ndarray, train: np.ndarray, share: float, seed: int = 0) -> Planted:
    """Replace round(share x n) random synthetic images by near-copies of random training images, the kinds taken
    in turn from ``NEAR_COPY_KINDS``."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"planted share must be in [0, 1], got {share}")
    rng = np.random.default_rng(seed)
    count = int(round(share * len(fake)))
    positions = np.sort(rng.choice(len(fake), count, replace=False))
    sources = rng.choice(len(train), count, replace=count > len(train))
    kinds = tuple(NEAR_COPY_KINDS[i % len(NEAR_COPY_KINDS)] for i in range(count))
    images = np.array(fake, copy=True)
    for position, source, kind in zip(positions, sources, kinds):
        images[position] = near_copy(np.asarray(train[source]), kind, rng)
    return Planted(images, positions, kinds, sources)


def calibration_row(audit: SpaceAudit, planted: Planted) -> dict[str, float | int | str]:
    """How the audit of a planted set did: the share of planted near-copies it flags (detection, also per kind)
    and the share of the GAN's own images it flags (false alarms if the GAN does not copy; about the audit's
    quantile by construction)."""
    flagged = audit.fake_nn < audit.threshold
    own = np.ones(len(flagged), bool)
    own[planted.positions] = False
    kinds = np.array(planted.kinds)
    row: dict[str, float | int | str] = {
        SPACE: audit.space, PLANTED: len(planted.positions),
        DETECTED: float(flagged[planted.positions].mean()) if len(planted.positions) else float("nan"),
        FLAGGED_OWN: float(flagged[own].mean()) if own.any() else float("nan")}
    for kind in NEAR_COPY_KINDS:
        at = planted.positions[kinds == kind]
        row[DETECTED_KIND.format(kind)] = float(flagged[at].mean()) if len(at) else float("nan")
    return row
