"""FID, KID and precision/recall between two feature sets, computed by torch-fidelity, plus FID's bootstrap CI.

The formulas are torch-fidelity's (``fid_statistics_to_metric``, ``kid_features_to_metric``,
``prc_features_to_metric``). One exception, for speed only: when a set has fewer samples than feature
dimensions (the norm with small medical sample sets: n = 100-500 vs 2048 dims), both covariances are
rank-deficient and torch-fidelity's general d x d eigen-decomposition (about a minute for d = 2048 on
this CPU) is replaced by the exact identity tr sqrt(S1 S2) = nuclear norm of R F^T / sqrt((n1-1)(n2-1))
(R, F the centred features), evaluated on an n x n matrix in milliseconds. A test checks both give the
same number. The bootstrap CI resamples the cached features (both sets, with replacement), re-centred on the estimate.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch_fidelity.metric_fid import KEY_METRIC_FID, fid_features_to_statistics, fid_statistics_to_metric
from torch_fidelity.metric_kid import KEY_METRIC_KID_MEAN, KEY_METRIC_KID_STD, kid_features_to_metric
from torch_fidelity.metric_prc import KEY_METRIC_PRECISION, KEY_METRIC_RECALL, prc_features_to_metric

KID_MAX_SUBSET = 1000  # torch-fidelity's default subset size
KID_RELIABLE_SUBSET = 50  # below this KID's estimate is noisy: warn


def _check(real: np.ndarray, fake: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    real, fake = np.asarray(real), np.asarray(fake)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"feature sets must be (N, D) with the same D, got {real.shape} and {fake.shape}")
    if len(real) < 2 or len(fake) < 2:
        raise ValueError(f"FID needs at least 2 samples per set, got {len(real)} real and {len(fake)} fake")
    return real, fake


def _fid_low_rank(real: np.ndarray, fake: np.ndarray) -> float:
    """Exact FID when min(n1, n2) <= D, via the n x n Gram matrix of the centred features."""
    r, f = real.astype(np.float64), fake.astype(np.float64)
    rc, fc = r - r.mean(0), f - f.mean(0)
    m = rc @ fc.T
    gram = m @ m.T if len(r) <= len(f) else m.T @ m
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh(gram), 0.0, None)).sum() / np.sqrt((len(r) - 1) * (len(f) - 1))
    diff = r.mean(0) - f.mean(0)
    return float(diff @ diff + (rc**2).sum() / (len(r) - 1) + (fc**2).sum() / (len(f) - 1) - 2.0 * tr_sqrt)


def _fid_symmetric(real: np.ndarray, fake: np.ndarray) -> float:
    """FID via symmetric eigen-decompositions (tr sqrt(S1 S2) = tr sqrt(S1^1/2 S2 S1^1/2)); the bootstrap's
    route when both sets have more samples than dimensions (faster and more stable than a general eig)."""
    s1, s2 = np.cov(real, rowvar=False), np.cov(fake, rowvar=False)
    w, v = np.linalg.eigh(s1)
    root = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh(root @ s2 @ root), 0.0, None)).sum()
    diff = real.mean(0) - fake.mean(0)
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_sqrt)


def resample_fid(real: np.ndarray, fake: np.ndarray) -> float:
    """FID of two (already resampled) float64 feature sets by the fast exact route for their sizes (the
    bootstrap's workhorse: milliseconds instead of torch-fidelity's d x d decomposition)."""
    return (_fid_low_rank if min(len(real), len(fake)) <= real.shape[1] else _fid_symmetric)(real, fake)


def frechet_distance(real: np.ndarray, fake: np.ndarray) -> float:
    """FID between two (N, D) feature sets (torch-fidelity's formula; see the module note on small n)."""
    real, fake = _check(real, fake)
    if min(len(real), len(fake)) <= real.shape[1]:
        return _fid_low_rank(real, fake)
    stats = [fid_features_to_statistics(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))) for x in (real, fake)]
    return float(fid_statistics_to_metric(stats[0], stats[1], verbose=False)[KEY_METRIC_FID])


def bootstrap_fid(real: np.ndarray, fake: np.ndarray, reps: int = 100, level: float = 0.95,
                  seed: int = 0) -> tuple[float, float]:
    """Bootstrap interval of FID: both feature sets resampled with replacement ``reps`` times; the percentile
    interval is re-centred on the estimate, because resampling duplicates samples and so inflates FID
    (the shift is an artefact, the spread is the sampling uncertainty)."""
    real, fake = _check(real, fake)
    if reps < 2:
        raise ValueError(f"bootstrap reps must be >= 2, got {reps}")
    rng = np.random.default_rng(seed)
    values = np.array([resample_fid(real[rng.integers(0, len(real), len(real))].astype(np.float64),
                                    fake[rng.integers(0, len(fake), len(fake))].astype(np.float64))
                       for _ in range(reps)])
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(values - values.mean(), [tail, 1.0 - tail]) + frechet_distance(real, fake)
    return float(low), float(high)


def kid_subset_size(n_real: int, n_fake: int) -> int:
    """KID subset size adapted to the sample counts: torch-fidelity's 1000 when both sets have at least 2000
    samples, else half the smaller set (so the subsets differ and KID's std measures something)."""
    size = min(KID_MAX_SUBSET, max(2, min(n_real, n_fake) // 2))
    if size < KID_RELIABLE_SUBSET:
        warnings.warn(f"KID subset size is {size} (n_real={n_real}, n_fake={n_fake}); below {KID_RELIABLE_SUBSET} "
                      "samples KID is a noisy estimate: read its std and compare runs with care", stacklevel=3)
    return size


def kernel_inception_distance(real: np.ndarray, fake: np.ndarray, subsets: int = 100,
                              seed: int = 0) -> tuple[float, float, int]:
    """(KID mean, KID std, subset size) by torch-fidelity's polynomial-kernel MMD over random subsets."""
    real, fake = _check(real, fake)
    size = kid_subset_size(len(real), len(fake))
    out = kid_features_to_metric(torch.from_numpy(real), torch.from_numpy(fake), kid_subsets=subsets,
                                 kid_subset_size=size, verbose=False, rng_seed=seed)
    return float(out[KEY_METRIC_KID_MEAN]), float(out[KEY_METRIC_KID_STD]), size


def precision_recall(real: np.ndarray, fake: np.ndarray, neighborhood: int = 3) -> tuple[float, float]:
    """(precision, recall) of the fake set w.r.t. the real one (torch-fidelity's k-NN manifold estimate)."""
    real, fake = _check(real, fake)
    if min(len(real), len(fake)) <= neighborhood:
        raise ValueError(f"precision/recall with k={neighborhood} needs more than {neighborhood} samples per set")
    out = prc_features_to_metric(torch.from_numpy(fake), torch.from_numpy(real), prc_neighborhood=neighborhood,
                                 prc_batch_size=10000, save_cpu_ram=False, verbose=False)
    return float(out[KEY_METRIC_PRECISION]), float(out[KEY_METRIC_RECALL])


def compare_features(real: np.ndarray, fake: np.ndarray, seed: int = 0, bootstrap_reps: int = 100,
                     kid_subsets: int = 100) -> dict[str, float | int | list[float]]:
    """All standard metrics for one (real, fake) pair of feature sets, with n and the FID's 95 % CI."""
    fid = frechet_distance(real, fake)
    kid, kid_std, size = kernel_inception_distance(real, fake, kid_subsets, seed)
    precision, recall = precision_recall(real, fake)
    low, high = bootstrap_fid(real, fake, bootstrap_reps, seed=seed)
    return {"fid": fid, "fid_ci": [low, high], "fid_ci_low": low, "fid_ci_high": high, "kid": kid,
            "kid_std": kid_std, "kid_subset_size": size, "precision": precision, "recall": recall,
            "n": int(len(fake)), "n_real": int(len(real))}
