"""Is GAN A better than GAN B at this n? A paired bootstrap of FID (or KID) over every GAN at once, and the
agreement between the rankings different feature spaces and metrics give.

Each replicate resamples the real features once and every GAN's generated features at the same positions (the
same resample for every GAN), so the FIDs of one replicate share their real-set noise and the difference of two
GANs' FIDs is estimated with that noise cancelled. Replicates are re-centred on the full-sample FID, as
``bootstrap_fid``'s interval is (resampling duplicates images, which inflates every FID by about the same amount).
"""

from __future__ import annotations

import dataclasses
from statistics import NormalDist
from typing import Mapping

import numpy as np
import pandas as pd

from medgan_lib import stats
from medgan_lib.metrics.fidelity import frechet_distance, resample_fid


@dataclasses.dataclass(frozen=True)
class Comparison:
    """The FID (or ``metric``) of each GAN (``point``) and ``reps`` x GANs bootstrap replicates from shared
    resamples; lower is better."""

    names: tuple[str, ...]
    point: np.ndarray  # (G,) the metric on all features
    reps: np.ndarray  # (R, G) re-centred replicates, row r from one resample for every GAN
    n_real: int
    n_fake: int
    seed: int
    level: float = 0.95
    infinity: dict[str, stats.Estimate] = dataclasses.field(default_factory=dict)  # FD∞ per GAN, when computed
    metric: str = "FID"

    def pairs(self) -> pd.DataFrame:
        """One row per pair (A, B) with A the better by point value: the difference metric(B) − metric(A) with its
        interval, P(A better) over the replicates, and whether the interval excludes 0 (``resolved``)."""
        tail = (1 - self.level) / 2
        rows = []
        order = np.argsort(self.point, kind="stable")
        for x, i in enumerate(order):
            for j in order[x + 1:]:
                gap = self.reps[:, j] - self.reps[:, i]
                low, high = np.quantile(gap, [tail, 1 - tail])
                difference, spread = float(self.point[j] - self.point[i]), float(gap.std())
                rows.append({"better": self.names[i], "worse": self.names[j], f"{self.metric} difference": difference,
                             "low": float(low), "high": float(high), "P(better)": float((gap > 0).mean()),
                             "resolved": bool(low > 0), "n to resolve": self._n_to_resolve(difference, spread)})
        return pd.DataFrame(rows, columns=["better", "worse", f"{self.metric} difference", "low", "high",
                                           "P(better)", "resolved", "n to resolve"])

    def _n_to_resolve(self, difference: float, spread: float) -> float:
        """Generated images per GAN at which the interval of ``difference`` would just exclude 0, if its spread
        shrinks as 1/sqrt(n) and the difference stays (an estimate, ours; inf for a zero difference)."""
        if difference <= 0:
            return float("inf")
        z = NormalDist().inv_cdf(0.5 + self.level / 2)
        return float(np.ceil(self.n_fake * (z * spread / difference) ** 2))

    def ranking_stability(self) -> float:
        """Share of replicates whose whole ranking of the GANs equals the full-sample ranking."""
        point = np.argsort(self.point, kind="stable")
        return float((np.argsort(self.reps, axis=1, kind="stable") == point).all(axis=1).mean())

    def ranks(self) -> pd.DataFrame:
        """The GANs best first: the metric (column ``metric``), its interval, rank, and whether the rank is
        resolved (its gaps to the GANs ranked just above and below both exclude 0)."""
        tail = (1 - self.level) / 2
        order = list(np.argsort(self.point, kind="stable"))
        pairs = self.pairs().set_index(["better", "worse"])["resolved"]
        rows = []
        for rank, i in enumerate(order):
            neighbours = [(self.names[order[rank - 1]], self.names[i])] if rank else []
            neighbours += [(self.names[i], self.names[order[rank + 1]])] if rank + 1 < len(order) else []
            low, high = np.quantile(self.reps[:, i], [tail, 1 - tail])
            rows.append({"GAN": self.names[i], "rank": rank + 1, self.metric: float(self.point[i]), "low": float(low),
                         "high": float(high), "rank resolved": all(pairs[pair] for pair in neighbours),
                         "FD∞": self.infinity.get(self.names[i])})
        return pd.DataFrame(rows)


def gram_fid(k_rr: np.ndarray, k_ff: np.ndarray, k_rf: np.ndarray) -> float:
    """FID from the Gram matrices of two feature sets (real·real, fake·fake, real·fake, uncentred): the exact
    formula of ``_fid_low_rank`` written in inner products only, so a resample costs an index into precomputed
    Grams instead of an n x D product (the identity tr sqrt(S1 S2) = nuclear norm of Rc Fcᵀ / sqrt((n1-1)(n2-1))
    holds for any n; it pays when n < D)."""
    n1, n2 = len(k_rr), len(k_ff)
    cross = k_rf - k_rf.mean(0, keepdims=True) - k_rf.mean(1, keepdims=True) + k_rf.mean()  # Rc Fcᵀ
    small = cross.T @ cross if n2 <= n1 else cross @ cross.T
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh(small), 0.0, None)).sum() / np.sqrt((n1 - 1) * (n2 - 1))
    mean_gap = k_rr.mean() + k_ff.mean() - 2.0 * k_rf.mean()  # |mean(R) - mean(F)|²
    trace_r = (np.trace(k_rr) - k_rr.sum() / n1) / (n1 - 1)
    trace_f = (np.trace(k_ff) - k_ff.sum() / n2) / (n2 - 1)
    return float(mean_gap + trace_r + trace_f - 2.0 * tr_sqrt)


def polynomial_kid(k_rr: np.ndarray, k_ff: np.ndarray, k_rf: np.ndarray) -> float:
    """KID as the unbiased MMD² over all images, from the kernel matrices of torch-fidelity's kernel
    (x·y / d + 1)³ (real·real, fake·fake, real·fake); torch-fidelity averages the same estimate over subsets."""
    m, n = len(k_rr), len(k_ff)
    within_r = (k_rr.sum() - np.trace(k_rr)) / (m * (m - 1))
    within_f = (k_ff.sum() - np.trace(k_ff)) / (n * (n - 1))
    return float(within_r + within_f - 2.0 * k_rf.mean())


def paired_fid_bootstrap(real: np.ndarray, fakes: Mapping[str, np.ndarray], reps: int = 200, seed: int = 0,
                         level: float = 0.95, infinity: bool = False) -> Comparison:
    """FID of every generated set in ``fakes`` against ``real`` with paired bootstrap replicates (and with
    ``infinity`` each set's FD∞). The sets must have the same size (a paired resample draws the same positions
    from each); at unequal n, FIDs are not comparable anyway (FID is biased by n)."""
    names, real, sets = _check_sets(real, fakes, reps)
    n_fake = len(sets[0])
    point = np.array([frechet_distance(real, f) for f in sets])
    by_gram = min(len(real), n_fake) <= real.shape[1]
    if by_gram:  # every resample's FID from these Grams (n x n), not from the n x D features
        k_rr = real @ real.T
        grams = [(f @ f.T, real @ f.T) for f in sets]
    raw = np.empty((reps, len(names)))
    for r, (ri, fi) in enumerate(_resamples(len(real), n_fake, reps, seed)):
        if by_gram:
            sub_rr = k_rr[np.ix_(ri, ri)]
            raw[r] = [gram_fid(sub_rr, k_ff[np.ix_(fi, fi)], k_rf[np.ix_(ri, fi)]) for k_ff, k_rf in grams]
        else:
            resampled = real[ri]
            raw[r] = [resample_fid(resampled, f[fi]) for f in sets]
    extrapolated = {name: fd_infinity(real, f, seed=seed) for name, f in zip(names, sets)} if infinity else {}
    return Comparison(names, point, raw - raw.mean(0) + point, len(real), n_fake, seed, level, extrapolated)


def paired_kid_bootstrap(real: np.ndarray, fakes: Mapping[str, np.ndarray], reps: int = 200, seed: int = 0,
                         level: float = 0.95) -> Comparison:
    """KID (``polynomial_kid``) of every generated set against ``real`` with paired bootstrap replicates drawn
    exactly as ``paired_fid_bootstrap``'s for the same seed and sizes, so ``ranking_agreement`` pairs the two."""
    names, real, sets = _check_sets(real, fakes, reps)
    n_fake, dim = len(sets[0]), real.shape[1]
    k_rr = (real @ real.T / dim + 1.0) ** 3
    kernels = [((f @ f.T / dim + 1.0) ** 3, (real @ f.T / dim + 1.0) ** 3) for f in sets]
    point = np.array([polynomial_kid(k_rr, k_ff, k_rf) for k_ff, k_rf in kernels])
    raw = np.empty((reps, len(names)))
    for r, (ri, fi) in enumerate(_resamples(len(real), n_fake, reps, seed)):
        sub_rr = k_rr[np.ix_(ri, ri)]
        raw[r] = [polynomial_kid(sub_rr, k_ff[np.ix_(fi, fi)], k_rf[np.ix_(ri, fi)]) for k_ff, k_rf in kernels]
    return Comparison(names, point, raw - raw.mean(0) + point, len(real), n_fake, seed, level, metric="KID")


def _check_sets(real: np.ndarray, fakes: Mapping[str, np.ndarray], reps: int
                ) -> tuple[tuple[str, ...], np.ndarray, list[np.ndarray]]:
    """(names, real, generated sets) as float64, refusing fewer than 2 sets, sets of unequal size or reps < 2."""
    if len(fakes) < 2:
        raise ValueError(f"a comparison needs at least 2 generated sets, got {len(fakes)}")
    if reps < 2:
        raise ValueError(f"bootstrap reps must be >= 2, got {reps}")
    sizes = {name: len(f) for name, f in fakes.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"generated sets of different sizes cannot be compared at one n: {sizes}")
    names = tuple(fakes)
    return names, np.asarray(real, dtype=np.float64), [np.asarray(fakes[name], dtype=np.float64) for name in names]


def _resamples(n_real: int, n_fake: int, reps: int, seed: int):
    """The paired resamples: per replicate, positions into the real set and (the same for every GAN) into the
    generated sets; the same seed and sizes give the same resamples to every metric."""
    rng = np.random.default_rng(seed)
    for _ in range(reps):
        yield rng.integers(0, n_real, n_real), rng.integers(0, n_fake, n_fake)


def fd_infinity(real: np.ndarray, fake: np.ndarray, sizes: int = 6, draws: int = 4, seed: int = 0) -> stats.Estimate:
    """FD∞ (Chong & Forsyth 2020): FID of random generated subsets of ``sizes`` sizes from n/4 to n (``draws`` each)
    against all of ``real``, fitted linearly against 1/size and read at 1/size = 0, with the fit's 95 % interval.
    FIDs of sets of different n become comparable; the real set's own finite-n bias stays in."""
    real, fake = np.asarray(real, dtype=np.float64), np.asarray(fake, dtype=np.float64)
    if len(fake) < 8:
        raise ValueError(f"FD∞ needs at least 8 generated images, got {len(fake)}")
    rng = np.random.default_rng(seed)
    counts = np.unique(np.linspace(len(fake) // 4, len(fake), sizes).astype(int))
    x, y = [], []
    for count in counts:
        for _ in range(draws if count < len(fake) else 1):
            x.append(1.0 / count)
            y.append(resample_fid(real, fake[rng.choice(len(fake), count, replace=False)]))
    return stats.intercept_fit(x, y)


def ranking_agreement(comparisons: Mapping[str, Comparison]) -> pd.DataFrame:
    """Kendall's τ between the GAN rankings of every two feature spaces, with a bootstrap interval, over the GANs
    they share. Replicate r of two spaces is the same resample of the same images when both comparisons used one
    seed and the same set sizes (checked), so the pairs of replicates are paired."""
    rows = []
    spaces = list(comparisons)
    for x, a in enumerate(spaces):
        for b in spaces[x + 1:]:
            ca, cb = comparisons[a], comparisons[b]
            if (ca.seed, ca.n_real, ca.n_fake) != (cb.seed, cb.n_real, cb.n_fake):
                raise ValueError(f"spaces {a!r} and {b!r} were not resampled alike (seed, n real, n generated "
                                 f"{(ca.seed, ca.n_real, ca.n_fake)} vs {(cb.seed, cb.n_real, cb.n_fake)}): their "
                                 f"replicates cannot be paired")
            shared = [name for name in ca.names if name in cb.names]
            if len(shared) < 3:
                continue
            ia, ib = [ca.names.index(n) for n in shared], [cb.names.index(n) for n in shared]
            reps = min(len(ca.reps), len(cb.reps))
            tau = stats.tau_bootstrap(-ca.reps[:reps, ia], -cb.reps[:reps, ib], -ca.point[ia], -cb.point[ib])
            rows.append({"space A": a, "space B": b, "GANs": len(shared), "Kendall's τ": tau.value, "low": tau.low,
                         "high": tau.high, "p": tau.p})
    return pd.DataFrame(rows, columns=["space A", "space B", "GANs", "Kendall's τ", "low", "high", "p"])
