"""Do the metrics rank the GANs alike? Kendall's τ between the GAN rankings by every metric the study computed
(Inception FID and KID, U-Net FID, MedFID, precision, recall, synthetic-only Dice), each with a bootstrap
interval: skandarani's question (§4.2, §5) and Woodland et al.'s (2024), asked of every pair of metrics."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from medgan_lib import stats
from medgan_lib.study.readouts import Scores

TAU = "Kendall's τ"


def tau(a: Scores, b: Scores, level: float = 0.95) -> stats.Estimate | None:
    """Kendall's τ between two metrics' GAN rankings over the GANs both scored (None below 3), with an interval
    from their replicates paired row by row (resamples of images and of test patients are independent, so
    pairing row r of each is a joint resample); a metric without replicates enters at its point values."""
    shared = [g for g in a.point.index if g in b.point.index]
    if len(shared) < 3:
        return None

    def columns(scores: Scores, rows: int) -> np.ndarray:
        at = [list(scores.point.index).index(g) for g in shared]
        return scores.reps[:rows, at] if scores.reps is not None else np.tile(scores.point[shared].to_numpy(), (rows, 1))

    rows = min([len(s.reps) for s in (a, b) if s.reps is not None], default=0)
    if rows < 2:
        estimate = stats.tau_bootstrap(columns(a, 2), columns(b, 2), a.point[shared], b.point[shared], level)
        return dataclasses.replace(estimate, low=np.nan, high=np.nan)
    return stats.tau_bootstrap(columns(a, rows), columns(b, rows), a.point[shared], b.point[shared], level)


def agreement_table(scores: dict[str, Scores]) -> pd.DataFrame:
    """One row per pair of metrics (``readouts.metric_scores``) with >= 3 GANs in common: τ, its interval (NaN
    when neither metric has replicates), the p-value of Kendall's test and the number of GANs; metrics that rank
    nothing are left out."""
    names = [name for name in scores if name not in unranked(scores)]
    rows = []
    for x, a in enumerate(names):
        for b in names[x + 1:]:
            estimate = tau(scores[a], scores[b])
            if estimate is not None:
                rows.append({"metric A": a, "metric B": b, "GANs": estimate.n, TAU: estimate.value,
                             "low": estimate.low, "high": estimate.high, "p": estimate.p})
    return pd.DataFrame(rows, columns=["metric A", "metric B", "GANs", TAU, "low", "high", "p"])


def unranked(scores: dict[str, Scores]) -> list[str]:
    """Metrics that score every GAN alike (e.g. a precision of 0 for all of them), so they rank nothing."""
    return [name for name, score in scores.items() if score.point.nunique() < 2]


def agreement_matrix(table: pd.DataFrame) -> pd.DataFrame:
    """``agreement_table`` as a square of "τ [low, high]" texts (metrics in the table's order; 1 on the diagonal)."""
    names = list(dict.fromkeys([*table["metric A"], *table["metric B"]]))
    square = pd.DataFrame("", index=names, columns=names)
    for name in names:
        square.loc[name, name] = "1"
    for row in table.to_dict("records"):
        interval = f" [{row['low']:.2f}, {row['high']:.2f}]" if np.isfinite(row["low"]) else ""
        text = f"{row[TAU]:.2f}{interval}"
        square.loc[row["metric A"], row["metric B"]] = square.loc[row["metric B"], row["metric A"]] = text
    return square
