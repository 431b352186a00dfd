"""belmekki §III.D (Figure 5): is the discriminator loss a usable GAN metric? Its statistics against FID.

Joins each run's D-loss statistics (mean, variance, std over training, written by ``train_gan`` to the
``gan_runs`` results) with its FID (``fid`` results, one extractor) and returns the table and the
Pearson correlation matrix across runs.
"""

from __future__ import annotations

import os

import pandas as pd

from medgan_lib.results import read_results
from medgan_lib.rows import DATASET, DLOSS_COLUMNS, EXTRACTOR, FID, GAN, RUN


def dloss_vs_fid(study_dir: str | os.PathLike = "", extractor: str = "inception",
                 dataset: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(one row per run: gan, run, fid + D-loss statistics; Pearson correlation matrix of those columns).

    The latest row per run is used from each result table; runs missing either side are left out."""
    runs, fid = read_results(study_dir, "gan_runs"), read_results(study_dir, "fid")
    if runs.empty or fid.empty:
        raise ValueError(f"study {study_dir or '(default)'} needs both gan_runs and fid results; "
                         f"found {len(runs)} gan_runs and {len(fid)} fid rows")
    fid = fid[fid[EXTRACTOR] == extractor]
    if dataset is not None:
        runs, fid = runs[runs[DATASET] == dataset], fid[fid[DATASET] == dataset]
    table = (runs.drop_duplicates(RUN, keep="last")[[RUN, GAN, *DLOSS_COLUMNS]]
             .merge(fid.drop_duplicates(RUN, keep="last")[[RUN, FID]], on=RUN))
    table = table.dropna(subset=[FID, *DLOSS_COLUMNS]).reset_index(drop=True)
    columns = [FID, *DLOSS_COLUMNS]
    return table, table[columns].astype(float).corr(method="pearson")
