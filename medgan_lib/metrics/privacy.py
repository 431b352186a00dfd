"""Does a GAN leak which images it was trained on? A membership-inference probe in the LOGAN style (Hayes et al.
2019), and how much training anatomy a synthetic set reuses.

White-box: the discriminator's score (``GAN.realness``) of training images against held-out real images of the
same data; a discriminator that remembers its training set scores them higher. Black-box: each real image's
distance to its nearest synthetic image; a generator that reproduces training images sits closer to them. Each
attack's AUC (training images as positives) comes with a bootstrap interval: 0.5 inside the interval means no
membership signal at this n. Anatomy reuse: each synthetic mask's best Dice against any training mask (1.0 when
the masks are training masks, as SPADE's are by construction).
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

from medgan_lib import stats
from medgan_lib.metrics.memorization import nearest

MASK_COPY_DICE = 0.95  # ours: a synthetic mask this close to a training mask reuses its anatomy


def auc(members: np.ndarray, others: np.ndarray, reps: int = 500, seed: int = 0, level: float = 0.95
        ) -> stats.Estimate:
    """AUC of telling ``members`` (scores of training images) from ``others`` (held-out), higher scores meaning
    "member", with a percentile interval from resampling each group; p: the share of resamples at or below 0.5."""
    members, others = np.asarray(members, dtype=float), np.asarray(others, dtype=float)
    if len(members) < 2 or len(others) < 2:
        raise ValueError(f"an AUC needs at least 2 scores per group, got {len(members)} and {len(others)}")
    labels = np.r_[np.ones(len(members)), np.zeros(len(others))]
    point = float(roc_auc_score(labels, np.r_[members, others]))
    rng = np.random.default_rng(seed)
    resampled = np.array([roc_auc_score(labels, np.r_[rng.choice(members, len(members)),
                                                      rng.choice(others, len(others))]) for _ in range(reps)])
    low, high = np.quantile(resampled, [(1 - level) / 2, (1 + level) / 2])
    return stats.Estimate(point, float(low), float(high), len(members) + len(others),
                          float((resampled <= 0.5).mean()), level)


def membership_verdict(estimate: stats.Estimate) -> str:
    """"leaks" when the AUC's interval lies above 0.5, "no signal" when it contains 0.5, else "below chance"."""
    return "leaks" if estimate.low > 0.5 else "no signal" if estimate.high >= 0.5 else "below chance"


def white_box(gan, train_images: np.ndarray, train_masks: np.ndarray, held_images: np.ndarray,
              held_masks: np.ndarray, seed: int = 0) -> stats.Estimate:
    """AUC of the discriminator's scores of training vs held-out images."""
    return auc(gan.realness(train_images, train_masks), gan.realness(held_images, held_masks), seed=seed)


def black_box(fake: np.ndarray, train_images: np.ndarray, held_images: np.ndarray, seed: int = 0) -> stats.Estimate:
    """AUC of minus each real image's RMS distance to its nearest synthetic image, training vs held-out."""
    return auc(-nearest(train_images, fake)[0], -nearest(held_images, fake)[0], seed=seed)


def mask_nn_dice(fake_masks: np.ndarray, train_masks: np.ndarray, num_classes: int) -> np.ndarray:
    """(n_fake,) each synthetic mask's highest Dice against any training mask: Dice averaged over the foreground
    classes present in either mask (two masks without foreground: 1)."""
    fake, train = np.asarray(fake_masks), np.asarray(train_masks)
    total = np.zeros((len(fake), len(train)))
    present = np.zeros((len(fake), len(train)))
    for label in range(1, num_classes):
        a = (fake == label).reshape(len(fake), -1).astype(np.float32)
        b = (train == label).reshape(len(train), -1).astype(np.float32)
        sizes = a.sum(1)[:, None] + b.sum(1)[None, :]
        has = sizes > 0
        total += np.where(has, 2.0 * (a @ b.T) / np.maximum(sizes, 1), 0.0)
        present += has
    dice = np.where(present > 0, total / np.maximum(present, 1), 1.0)
    return dice.max(axis=1) if len(train) else np.zeros(len(fake))
