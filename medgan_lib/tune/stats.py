"""Statistics of a study: mean ± std over seeds, chetty's pairwise t-tests (Table 3), belmekki's
D-loss/FID Pearson correlations (Figure 5), ASHA's saving and the best configuration per GAN."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy import stats

from medgan_lib.rows import CONFIG_ID, DLOSS_COLUMNS, FID, GAN, ITERATIONS, LABEL, SCHEDULER, STATUS, STEPS

# columns of belmekki's Table I / Figure 5, in their order
BELMEKKI_COLUMNS = (FID, *DLOSS_COLUMNS)


def seed_summary(rows: pd.DataFrame, value: str = FID, by: tuple[str, ...] = (GAN, LABEL)) -> pd.DataFrame:
    """Mean, sample std (ddof=1) and count of ``value`` over the seeds of each configuration."""
    grouped = rows.groupby(list(by), sort=False)[value]
    return grouped.agg(mean="mean", std="std", n="count").reset_index()


def pairwise_ttests(rows: pd.DataFrame, value: str = FID, group: str = LABEL, alpha: float = 0.05,
                    equal_var: bool = True) -> pd.DataFrame:
    """Two-sample t-test of ``value`` for every pair of groups (scipy ``ttest_ind``), H0: equal means.

    One row per pair (a before b in order of appearance) with t, p and ``different`` (p < alpha)."""
    groups = {name: part[value].dropna().to_numpy(float) for name, part in rows.groupby(group, sort=False)}
    out = []
    for a, b in itertools.combinations(groups, 2):
        x, y = groups[a], groups[b]
        if len(x) < 2 or len(y) < 2:
            t, p = np.nan, np.nan
        else:
            t, p = stats.ttest_ind(x, y, equal_var=equal_var)
        out.append({"a": a, "b": b, "t": float(t), "p": float(p), "different": bool(p < alpha) if p == p else None})
    return pd.DataFrame(out, columns=["a", "b", "t", "p", "different"])


def significance_grid(tests: pd.DataFrame) -> pd.DataFrame:
    """chetty Table 3 layout: rows are all but the last group, columns all but the first; "✓" where the
    means differ at the chosen level, "✗" where not, "." below the diagonal, "?" with too few seeds."""
    names = list(dict.fromkeys([*tests["a"], *tests["b"]]))
    grid = pd.DataFrame(".", index=names[:-1], columns=names[1:])
    for row in tests.itertuples():
        grid.loc[row.a, row.b] = "?" if row.different is None else ("✓" if row.different else "✗")
    return grid


def dloss_correlation(rows: pd.DataFrame, columns: tuple[str, ...] = BELMEKKI_COLUMNS
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """belmekki Figure 5: Pearson r and its p-value for every pair of ``columns`` (scipy ``pearsonr``)."""
    data = rows[list(columns)].astype(float).dropna()
    r = pd.DataFrame(np.eye(len(columns)), index=columns, columns=columns)
    p = pd.DataFrame(np.zeros((len(columns), len(columns))), index=columns, columns=columns)
    for a, b in itertools.combinations(columns, 2):
        if len(data) < 3 or data[a].nunique() < 2 or data[b].nunique() < 2:
            r.loc[a, b] = r.loc[b, a] = p.loc[a, b] = p.loc[b, a] = np.nan
            continue
        result = stats.pearsonr(data[a], data[b])
        r.loc[a, b] = r.loc[b, a] = result.statistic
        p.loc[a, b] = p.loc[b, a] = result.pvalue
    return r, p


def best_per_gan(rows: pd.DataFrame, value: str = FID) -> pd.DataFrame:
    """The configuration with the lowest mean ``value`` over its seeds, per GAN (finished trials only)."""
    done = rows[rows[STATUS] == "completed"].dropna(subset=[value])
    if done.empty:
        return pd.DataFrame(columns=[GAN, LABEL, CONFIG_ID, "mean", "std", "n"])
    summary = seed_summary(done, value, by=(GAN, LABEL, CONFIG_ID))
    best = summary.loc[summary.groupby(GAN)["mean"].idxmin()]
    return best.sort_values("mean").reset_index(drop=True)


def asha_saving(rows: pd.DataFrame, value: str = FID) -> dict[str, object]:
    """Compute saved by ASHA and whether it picked the full run's best configuration.

    ``rows`` holds one study's trials run under both schedulers ("asha" and "fifo", the full budget)."""
    asha = rows[rows[SCHEDULER] == "asha"]
    full = rows[rows[SCHEDULER] == "fifo"]
    budget = float((asha[ITERATIONS]).sum())
    trained = float(asha[STEPS].sum())
    out: dict[str, object] = {"trials": int(len(asha)), "iterations_full": budget, "iterations_asha": trained,
                              "saving": 1.0 - trained / budget if budget else np.nan,
                              "stopped_early": int((asha[STATUS] == "stopped_early").sum())}
    best_asha = best_per_gan(asha, value)
    best_full = best_per_gan(full, value)
    if not best_full.empty and not best_asha.empty:
        merged = best_asha.merge(best_full, on=GAN, suffixes=("_asha", "_full"))
        out["same_best"] = bool((merged[f"{CONFIG_ID}_asha"] == merged[f"{CONFIG_ID}_full"]).all())
        out["per_gan"] = merged[[GAN, f"{LABEL}_asha", "mean_asha", f"{LABEL}_full", "mean_full"]]
    return out


# chetty Table 3 also compares across GANs: StyleGAN2 against each WGAN-GP experiment
CROSS_GAN_PAIRS = (("stylegan2", "wgan_gp"),)


def significance_grids(rows: pd.DataFrame, value: str = FID, alpha: float = 0.05,
                       across: tuple[tuple[str, str], ...] = CROSS_GAN_PAIRS) -> dict[str, pd.DataFrame]:
    """chetty Table 3 for a study: per GAN, pairwise t-tests between its configurations over seeds; and for each
    ``across`` pair of GANs present, every configuration of the first against every one of the second."""
    done = rows[rows[STATUS] == "completed"]
    grids = {gan: significance_grid(pairwise_ttests(part, value, LABEL, alpha))
             for gan, part in done.groupby(GAN, sort=False) if part[LABEL].nunique() > 1}
    for first, second in across:
        a, b = done[done[GAN] == first], done[done[GAN] == second]
        if len(a) and len(b):
            tests = pairwise_ttests(pd.concat([a, b]), value, LABEL, alpha)
            cross = tests[tests["a"].isin(set(a[LABEL])) & tests["b"].isin(set(b[LABEL]))]
            grid = pd.DataFrame(".", index=list(dict.fromkeys(a[LABEL])), columns=list(dict.fromkeys(b[LABEL])))
            for row in cross.itertuples():
                grid.loc[row.a, row.b] = "?" if row.different is None else ("✓" if row.different else "✗")
            grids[f"{first} vs {second}"] = grid
    return grids


def belmekki_table(rows: pd.DataFrame) -> pd.DataFrame:
    """belmekki Table I from a study: D-loss mean/variance/std and FID per configuration (mean over seeds);
    for belmekki's configurations, the published values beside them (their 64x64 chest X-rays, not this data)."""
    from medgan_lib.reference import load_belmekki_table1

    done = rows[rows[STATUS] == "completed"]
    ours = done.groupby(LABEL, sort=False)[[*DLOSS_COLUMNS, FID]].mean()
    paper = pd.DataFrame(load_belmekki_table1())
    paper.index = [f"{r.optimizer}-{r.activation}" + ("-TTUR" if r.ttur == "yes" else "") for r in paper.itertuples()]
    paper = paper[[*DLOSS_COLUMNS, FID]].add_prefix("paper_")
    return ours.join(paper, how="left") if ours.index.isin(paper.index).any() else ours


def spread_notes(rows: pd.DataFrame, value: str = FID) -> list[str]:
    """"What to notice" lines for Figure 5, written from the trials: each GAN's FID range over its settings (the
    trials with a finite FID, and how many others stopped early or diverged) and which GAN varied least."""
    notes, spreads = [], {}
    for gan, group in rows.groupby(GAN, sort=False):
        finite = group[np.isfinite(group[value].astype(float))]
        other = len(group) - len(finite)
        stopped = int((group[STATUS] == "stopped_early").sum()) if STATUS in group else 0
        extra = (f"; {other} trial(s) without a finite FID" if other else "") + \
            (f"; {stopped} stopped early by ASHA (their last FID counts)" if stopped else "")
        if len(finite) >= 2:
            spreads[gan] = float(finite[value].max() - finite[value].min())
            notes.append(f"{gan}: FID {finite[value].min():.3g}-{finite[value].max():.3g} over {len(finite)} trials "
                         f"(range {spreads[gan]:.3g}){extra}.")
        else:
            notes.append(f"{gan}: {len(finite)} trial(s) with a finite FID, too few for a spread{extra}.")
    if len(spreads) >= 2:
        least, most = min(spreads, key=spreads.get), max(spreads, key=spreads.get)
        notes.append(f"smallest range: {least}; largest: {most} (skandarani: HingeGAN least, DCGAN and LSGAN most; "
                     f"the findings table tests it).")
    return notes
