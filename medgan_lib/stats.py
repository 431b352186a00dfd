"""The statistics behind the findings' verdicts: thin wrappers over scipy.stats that return what a verdict needs
(an estimate, its interval or p-value, and n), so every verdict is computed the same way and tested once."""

from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence

import numpy as np
from scipy import stats


@dataclasses.dataclass(frozen=True)
class Estimate:
    """A statistic with a two-sided interval at ``level`` and, for a test, its p-value."""

    value: float
    low: float
    high: float
    n: int
    p: float = float("nan")
    level: float = 0.95

    def text(self, digits: int = 3) -> str:
        interval = f" [{self.low:.{digits}f}, {self.high:.{digits}f}]" if np.isfinite(self.low) else ""
        p = f", p = {self.p:.2g}" if np.isfinite(self.p) else ""
        return f"{self.value:.{digits}f}{interval}{p}"


def kendall_tau(a: Sequence[float], b: Sequence[float]) -> float:
    """Kendall's tau-b between two scorings of the same items (1: identical rankings, -1: reversed)."""
    return float(stats.kendalltau(a, b).statistic)


def tau_bootstrap(a_reps: np.ndarray, b_reps: np.ndarray, a: Sequence[float], b: Sequence[float],
                  level: float = 0.95) -> Estimate:
    """Kendall's tau between scorings ``a`` and ``b`` of k items, with a percentile interval from paired bootstrap
    replicates (``a_reps``, ``b_reps``: reps x k, row r of both from the same resample)."""
    i, j = np.triu_indices(np.shape(a_reps)[1], k=1)  # tau-b of every replicate at once, over the item pairs
    sa, sb = np.sign(a_reps[:, i] - a_reps[:, j]), np.sign(b_reps[:, i] - b_reps[:, j])
    with np.errstate(invalid="ignore", divide="ignore"):
        taus = (sa * sb).sum(1) / np.sqrt(np.abs(sa).sum(1) * np.abs(sb).sum(1))
    taus = taus[np.isfinite(taus)]
    low, high = np.quantile(taus, [(1 - level) / 2, (1 + level) / 2]) if len(taus) else (np.nan, np.nan)
    test = stats.kendalltau(a, b)
    return Estimate(float(test.statistic), float(low), float(high), len(a), float(test.pvalue), level)


def bootstrap_means(table: np.ndarray, reps: int = 2000, seed: int = 0) -> np.ndarray:
    """Column means of ``table`` (units x conditions, e.g. test patients x GANs) over ``reps`` resamples of its
    rows, the same resample for every column (a paired bootstrap): reps x conditions."""
    table = np.asarray(table, dtype=float)
    rng = np.random.default_rng(seed)
    index = rng.integers(0, len(table), size=(reps, len(table)))
    return np.nanmean(table[index], axis=1)


def tost_paired(x: Sequence[float], y: Sequence[float], margin: float, alpha: float = 0.05) -> Estimate:
    """Two one-sided paired t-tests (TOST) of equivalence of x and y within ``±margin``: the mean difference
    x - y with its (1 - 2 alpha) interval; p < alpha means equivalent (the interval lies inside the margins)."""
    d = np.asarray(x, dtype=float) - np.asarray(y, dtype=float)
    if len(d) < 2:
        raise ValueError(f"tost_paired needs at least 2 pairs, got {len(d)}")
    if margin <= 0:
        raise ValueError(f"tost_paired: margin must be > 0, got {margin}")
    p_low = stats.ttest_1samp(d, -margin, alternative="greater").pvalue
    p_high = stats.ttest_1samp(d, margin, alternative="less").pvalue
    level = 1 - 2 * alpha
    if np.ptp(d) == 0:  # no spread: the difference is known exactly
        low = high = float(d.mean())
        p = 0.0 if abs(low) < margin else 1.0
    else:
        low, high = stats.ttest_1samp(d, 0.0).confidence_interval(level)
        p = float(max(p_low, p_high))
    return Estimate(float(d.mean()), float(low), float(high), len(d), p, level)


def paired_greater(x: Sequence[float], y: Sequence[float], shift: float = 0.0) -> Estimate:
    """Wilcoxon signed-rank test that x exceeds y by more than ``shift`` (paired, one-sided): the median of
    x - y with a 95 % bootstrap interval, and the p-value of H1: x - y - shift > 0."""
    d = np.asarray(x, dtype=float) - np.asarray(y, dtype=float)
    if len(d) < 2:
        raise ValueError(f"paired_greater needs at least 2 pairs, got {len(d)}")
    shifted = d - shift
    p = 1.0 if not (shifted != 0).any() else float(stats.wilcoxon(shifted, alternative="greater").pvalue)
    medians = np.median(d[np.random.default_rng(0).integers(0, len(d), (2000, len(d)))], axis=1)
    low, high = np.quantile(medians, [0.025, 0.975])
    return Estimate(float(np.median(d)), float(low), float(high), len(d), p)


def spread_test(groups: Mapping[str, Sequence[float]]) -> tuple[Estimate, dict[str, float]]:
    """Brown-Forsythe test of equal spread (Levene's test about the median) over the groups, and each group's
    spread (median absolute deviation from its median). Needs at least 2 groups of at least 2 values."""
    values = {name: np.asarray(v, dtype=float) for name, v in groups.items()}
    if len(values) < 2 or min(len(v) for v in values.values()) < 2:
        raise ValueError(f"spread_test needs >= 2 groups of >= 2 values, got sizes "
                         f"{ {k: len(v) for k, v in values.items()} }")
    test = stats.levene(*values.values(), center="median")
    spreads = {name: float(np.median(np.abs(v - np.median(v)))) for name, v in values.items()}
    n = sum(len(v) for v in values.values())
    return Estimate(float(test.statistic), np.nan, np.nan, n, float(test.pvalue)), spreads


def excess_share(k: int, n: int, expected: float) -> Estimate:
    """A share k / n against the share ``expected`` without the effect: its Clopper-Pearson 95 % interval and the
    exact binomial p-value of H1: share > expected."""
    if not 0 <= k <= n or n < 1:
        raise ValueError(f"excess_share needs 0 <= k <= n and n >= 1, got k={k}, n={n}")
    test = stats.binomtest(k, n, expected, alternative="greater")
    ci = stats.binomtest(k, n, expected).proportion_ci(0.95, method="exact")
    return Estimate(k / n, float(ci.low), float(ci.high), n, float(test.pvalue))


def correlation(x: Sequence[float], y: Sequence[float]) -> Estimate:
    """Pearson's r with its 95 % interval (Fisher z) and the p-value of r != 0; needs at least 3 pairs."""
    if len(x) < 3:
        raise ValueError(f"correlation needs at least 3 pairs, got {len(x)}")
    result = stats.pearsonr(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    if len(x) > 3:
        ci = result.confidence_interval(0.95)
        low, high = float(ci.low), float(ci.high)
    else:  # Fisher's interval needs n > 3
        low = high = np.nan
    return Estimate(float(result.statistic), low, high, len(x), float(result.pvalue))


def linear_fit(x: Sequence[float], y: Sequence[float]) -> tuple[Estimate, float]:
    """Least-squares slope of y on x with its 95 % interval and the p-value of slope != 0, and the fit's R²."""
    if len(x) < 3:
        raise ValueError(f"linear_fit needs at least 3 points, got {len(x)}")
    fit = stats.linregress(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    half = stats.t.ppf(0.975, len(x) - 2) * fit.stderr
    return Estimate(float(fit.slope), float(fit.slope - half), float(fit.slope + half), len(x),
                    float(fit.pvalue)), float(fit.rvalue ** 2)


def intercept_fit(x: Sequence[float], y: Sequence[float]) -> Estimate:
    """Least-squares intercept of y on x (the value at x = 0) with its 95 % interval: an extrapolation, e.g. FID
    against 1/n to n -> infinity."""
    if len(x) < 3:
        raise ValueError(f"intercept_fit needs at least 3 points, got {len(x)}")
    fit = stats.linregress(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    half = stats.t.ppf(0.975, len(x) - 2) * fit.intercept_stderr
    return Estimate(float(fit.intercept), float(fit.intercept - half), float(fit.intercept + half), len(x))


def fleiss_kappa(counts: np.ndarray, reps: int = 2000, seed: int = 0) -> Estimate:
    """Fleiss' kappa of agreement between raters (0: chance agreement, 1: all agree) from ``counts`` (items x
    categories: how many raters put each item in each category), with a percentile interval from resampling the
    items. Items may have different numbers of raters (a skipped answer); items with fewer than two are left out.
    statsmodels' ``fleiss_kappa`` needs the same number of raters for every item, which blanks break."""
    counts = np.asarray(counts, dtype=float)
    counts = counts[counts.sum(1) >= 2]
    if len(counts) < 2:
        raise ValueError(f"fleiss_kappa needs at least 2 items with 2 or more ratings, got {len(counts)}")

    def kappa(table: np.ndarray) -> np.ndarray:  # table: (..., items, categories)
        raters = table.sum(-1)
        agreement = ((table ** 2).sum(-1) - raters) / (raters * (raters - 1))
        shares = table.sum(-2) / raters.sum(-1, keepdims=True)
        expected = (shares ** 2).sum(-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (agreement.mean(-1) - expected) / (1 - expected)

    index = np.random.default_rng(seed).integers(0, len(counts), (reps, len(counts)))
    replicates = kappa(counts[index])
    replicates = replicates[np.isfinite(replicates)]
    low, high = np.quantile(replicates, [0.025, 0.975]) if len(replicates) else (np.nan, np.nan)
    return Estimate(float(kappa(counts)), float(low), float(high), len(counts))


def bootstrap_ratio(numerator: Sequence[float], denominator: Sequence[float], reps: int = 2000,
                    seed: int = 0) -> Estimate:
    """sum(numerator) / sum(denominator) over units (e.g. correct / answered over readers), with a percentile
    interval from resampling the units: the unit, not the single answer, is what varies between classes."""
    num, den = np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)
    if len(num) != len(den) or len(num) < 1 or den.sum() <= 0:
        raise ValueError(f"bootstrap_ratio needs matching units with a positive denominator, got {len(num)} and "
                         f"{len(den)} units summing to {den.sum()}")
    value = float(num.sum() / den.sum())
    if len(num) < 2:
        return Estimate(value, np.nan, np.nan, 1)
    index = np.random.default_rng(seed).integers(0, len(num), (reps, len(num)))
    replicates = num[index].sum(1) / den[index].sum(1)
    low, high = np.quantile(replicates, [0.025, 0.975])
    return Estimate(value, float(low), float(high), len(num))
