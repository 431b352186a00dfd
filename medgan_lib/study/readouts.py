"""What the findings and the metric agreement read from a study's result rows (``report.study_results``):
latest rows of a kind, Dice per test patient, Inception FIDs, and each metric's per-GAN scores with their
bootstrap replicates."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from medgan_lib import stats
from medgan_lib.results import latest, of_dataset
from medgan_lib.rows import (CONDITION, EXTRACTOR, FID, FID_CI_HIGH, FID_CI_LOW, GAN, METRIC, N, PER_PATIENT,
                             PRECISION, RECALL, REPLICATES, result_kind)

# The metrics whose GAN rankings are compared, in display order: (label, extractor, metric) of 03's paired
# bootstrap rows ("fid_rank"), lower is better.
BOOTSTRAPPED = (("Inception FID", "inception", "FID"), ("KID", "inception", "KID"),
                ("EfficientNet-Lite0 FID", "efficientnet_lite0", "FID"), ("U-Net FID", "unet", "FID"),
                ("MedFID", "medfid", "FID"))


def rows_of(results: dict[str, pd.DataFrame], kind: str, dataset: str | None) -> pd.DataFrame:
    """The latest rows of ``kind`` (of ``dataset`` unless None), with every key of the kind's row type as a column."""
    frame = results.get(kind)
    if frame is None or frame.empty:
        return pd.DataFrame(columns=list(result_kind(kind).keys))
    frame = latest(frame.reindex(columns=[*frame.columns, *(k for k in result_kind(kind).keys if k not in frame)]),
                   kind)
    return of_dataset(frame, dataset) if dataset is not None and "dataset" in frame else frame


def dice_by_patient(results: dict[str, pd.DataFrame], dataset: str) -> pd.DataFrame:
    """Test patients x conditions: each patient's mean Dice over structures, averaged over U-Net seeds. Columns:
    "real", "augmented", a GAN name (its synthetic set) and "real+<gan>"; patients that every column has."""
    from medgan_lib.segmentation.study import patient_means

    dice = rows_of(results, "dice", dataset)
    dice = dice[dice[PER_PATIENT].map(lambda v: isinstance(v, list) and len(v) > 0)]  # older rows have none
    if dice.empty:
        return pd.DataFrame()
    columns = {}
    for (condition, gan), group in dice.groupby([CONDITION, dice[GAN].fillna("")], sort=False):
        name = {"real": "real", "augmented": "augmented", "synthetic": gan,
                "real+synthetic": f"real+{gan}"}.get(condition)
        if name:
            columns[name] = patient_means(group)
    return pd.DataFrame(columns).dropna()


def inception_fids(results: dict[str, pd.DataFrame], dataset: str) -> pd.DataFrame:
    """Per GAN (index) its latest Inception FID row: fid, fid_ci_low, fid_ci_high, n."""
    fid = rows_of(results, "fid", dataset)
    if fid.empty:
        return pd.DataFrame(columns=[FID, FID_CI_LOW, FID_CI_HIGH, N])
    fid = fid[(fid[EXTRACTOR] == "inception") & fid[FID].notna()]
    return fid.groupby(GAN, sort=False).last()[[FID, FID_CI_LOW, FID_CI_HIGH, N]]


@dataclasses.dataclass(frozen=True)
class Scores:
    """One metric's score per GAN, oriented so that higher is better (FIDs and KID negated), and its bootstrap
    replicates (reps x GANs, columns in ``point``'s order; None: the metric has only point values)."""

    point: pd.Series
    reps: np.ndarray | None


def metric_scores(results: dict[str, pd.DataFrame], dataset: str, seed: int = 0) -> dict[str, Scores]:
    """Every metric the study computed, per GAN (a GAN's runs averaged, replicate by replicate): the FIDs and KID
    of 03's paired bootstrap (their ``fid_rank`` rows' replicates), Inception precision and recall (point values:
    03 does not resample them), and synthetic-only Dice (replicates: test patients resampled, the same patients
    for every GAN, as many as the image replicates)."""
    out: dict[str, Scores] = {}
    ranks = rows_of(results, "fid_rank", dataset)
    if not ranks.empty:
        ranks = ranks[ranks[REPLICATES].map(lambda v: isinstance(v, list) and len(v) > 1)]
    for label, extractor, metric in BOOTSTRAPPED:
        rows = ranks[(ranks[EXTRACTOR] == extractor) & (ranks[METRIC] == metric)] if not ranks.empty else ranks
        rows = rows[rows[N] == rows[N].max()] if len(rows) else rows  # one comparison: its largest n
        if rows[GAN].nunique() < 2 or rows[REPLICATES].map(len).nunique() != 1:
            continue
        per_gan = {gan: -np.mean(np.array(list(group[REPLICATES]), dtype=float), axis=0)
                   for gan, group in rows.groupby(GAN, sort=False)}
        reps = np.column_stack(list(per_gan.values()))
        out[label] = Scores(pd.Series(reps.mean(axis=0), index=list(per_gan)), reps)
    fid = rows_of(results, "fid", dataset)
    inception = fid[(fid[EXTRACTOR] == "inception") & fid[PRECISION].notna()] if PRECISION in fid else fid.iloc[:0]
    for label, column in (("precision", PRECISION), ("recall", RECALL)):
        if inception[GAN].nunique() >= 2:
            out[label] = Scores(inception.groupby(GAN, sort=False)[column].mean().astype(float), None)
    dice = dice_by_patient(results, dataset)
    gans = [c for c in dice.columns if c not in ("real", "augmented") and not c.startswith("real+")]
    if len(gans) >= 2:
        count = max((len(s.reps) for s in out.values() if s.reps is not None), default=2000)
        out["synthetic-only Dice"] = Scores(dice[gans].mean(), stats.bootstrap_means(dice[gans].to_numpy(), count, seed))
    return out
