"""Figures of a hyperparameter study: skandarani Figure 5 (FID per GAN across settings) and Figure 6
(FID against one knob, for every knob), FID curves per interval (what ASHA sees), chetty's Table 3 grid,
belmekki's correlation matrix."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from medgan_lib.names import gan_name
from medgan_lib.plotting import fit
from medgan_lib.tune.search_space import BETA_KEYS, DESCRIPTIVE_KEYS, KEY_TO_FIELDS


def fid_distribution(rows: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Figure 5: the final FID of every setting, per GAN (and dataset); diverged trials counted in the labels."""
    ax = ax or plt.subplots(figsize=fit(6, 4))[1]
    done = rows[rows["status"] == "completed"].dropna(subset=["fid"])
    counts = rows.groupby("gan")["status"].apply(lambda s: int((s == "diverged").sum()))
    order = sorted(rows["gan"].unique())
    hue = "dataset" if rows["dataset"].nunique() > 1 else None
    sns.boxplot(data=done, x="gan", y="fid", hue=hue, order=order, ax=ax, color="lightgray", showfliers=False)
    sns.stripplot(data=done, x="gan", y="fid", hue=hue, order=order, ax=ax, dodge=hue is not None, color="black",
                  size=4, legend=False)
    ax.set_xticks(range(len(order)), [gan_name(g) + (f"\n({counts.get(g, 0)} diverged)" if counts.get(g, 0) else "")
                                      for g in order])
    ax.set(xlabel="", ylabel=f"FID (n={int(rows['n'].iloc[0])})" if len(rows) else "FID",
           title="FID across hyperparameter settings (skandarani Fig. 5)")
    return ax


def fid_vs_knob(rows: pd.DataFrame, knob: str, ax: plt.Axes | None = None) -> plt.Axes:
    """Figure 6 for any knob: FID of every finished trial against the knob's value, one colour per GAN."""
    ax = ax or plt.subplots(figsize=fit(5, 3.5))[1]
    done = rows[rows["status"] == "completed"].dropna(subset=["fid", knob])
    values = sorted(done[knob].unique(), key=lambda v: (isinstance(v, str), v))
    several = done["gan"].nunique() > 1
    sns.stripplot(data=done, x=knob, y="fid", hue="gan", order=values, ax=ax, dodge=several, size=4)
    sns.pointplot(data=done, x=knob, y="fid", hue="gan", order=values, ax=ax, dodge=0.4 if several else False,
                  errorbar=None, markers="_", linestyles=":", legend=False)
    ax.set(xlabel=knob.replace("_", " "), ylabel="FID")
    return ax


def knob_panels(rows: pd.DataFrame, knobs: list[str] | None = None, columns: int = 3) -> plt.Figure:
    """Figure 6 (FID against discriminator filters) and the same plot for every other knob that varied."""
    known = [k for k in [*KEY_TO_FIELDS, *BETA_KEYS, *DESCRIPTIVE_KEYS] if k in rows.columns]
    knobs = knobs or [k for k in known if rows[k].nunique(dropna=True) > 1]
    if "filters_discriminator" in knobs:  # the paper's Figure 6 first
        knobs = ["filters_discriminator"] + [k for k in knobs if k != "filters_discriminator"]
    if not knobs:
        fig, ax = plt.subplots(figsize=fit(4, 1))
        ax.axis("off")
        ax.text(0.5, 0.5, "no knob took more than one value", ha="center", va="center")
        return fig
    nrows = math.ceil(len(knobs) / columns)
    fig, axes = plt.subplots(nrows, min(columns, len(knobs)), figsize=fit(5 * min(columns, len(knobs)), 3.5 * nrows),
                             squeeze=False)
    for ax, knob in zip(axes.flat, knobs):
        fid_vs_knob(rows, knob, ax)
    for ax in list(axes.flat)[len(knobs):]:
        ax.axis("off")
    fig.suptitle("FID against each hyperparameter (skandarani Fig. 6 and supplementary)")
    fig.tight_layout()
    return fig


def fid_curves(rows: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """FID after every interval for every trial; trials stopped early by ASHA end before the budget."""
    ax = ax or plt.subplots(figsize=fit(6, 4))[1]
    few = len(rows) <= 12  # a legend entry per trial; beyond that one colour and one entry per GAN
    colours = {gan: f"C{i % 10}" for i, gan in enumerate(dict.fromkeys(rows["gan"]))}
    named: set[str] = set()
    for row in rows.itertuples():
        curve = np.array(row.fid_curve, dtype=float).reshape(-1, 2)
        if len(curve):
            style = "--" if row.status == "stopped_early" else "-"
            label = f"{gan_name(row.gan)} {row.label} s{row.seed}" if few else (
                None if row.gan in named else gan_name(row.gan))
            named.add(row.gan)
            ax.plot(curve[:, 0], curve[:, 1], style, marker="o", ms=3, label=label,
                    **({} if few else {"color": colours[row.gan], "alpha": 0.6, "lw": 1}))
    ax.set(xlabel="iteration", ylabel="FID", title="FID per training interval (dashed: stopped by ASHA)")
    if len(rows):
        ax.legend(fontsize=9, ncol=1 if few else 2)
    return ax


def significance_table(grid: pd.DataFrame, title: str = "", ax: plt.Axes | None = None) -> plt.Axes | None:
    """chetty Table 3: ✓ where two configurations' FIDs differ at the 5% level, ✗ where not. A grid with one pair is
    printed as a line instead (no 1 x 1 heatmap); with none (one configuration) a note says so; both return None."""
    tested = grid.to_numpy() != "."
    if not tested.any():
        print(f"{title or 'pairwise t-tests'}: one configuration, nothing to compare")
        return None
    if tested.sum() == 1:
        (i,), (j,) = np.nonzero(tested)
        mark = grid.iat[i, j]
        verdict = {"✓": "differ", "✗": "do not differ", "?": "too few seeds to test"}[mark]
        print(f"{title or 'pairwise t-tests'}: {grid.index[i]} and {grid.columns[j]} {verdict} ({mark})")
        return None
    ax = ax or plt.subplots(figsize=fit(1.2 * len(grid.columns) + 1.5, 0.5 * len(grid) + 1))[1]
    colour = grid.replace({"✓": 1.0, "✗": 0.0, ".": np.nan, "?": 0.5}).astype(float)
    sns.heatmap(colour, annot=grid.to_numpy(), fmt="", cmap="RdYlGn", vmin=0, vmax=1, cbar=False, ax=ax,
                linewidths=0.5, linecolor="white")
    ax.set(title=title or "pairwise t-tests at 5% (chetty Table 3)", xlabel="", ylabel="")
    return ax


def correlation_heatmap(r: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """belmekki Figure 5: Pearson correlation between FID and the D-loss statistics."""
    ax = ax or plt.subplots(figsize=fit(4.5, 3.8))[1]
    sns.heatmap(r.astype(float), annot=True, fmt=".2f", cmap="coolwarm", vmin=-1, vmax=1, square=True, ax=ax)
    ax.set(title="Pearson correlation (belmekki Fig. 5)")
    return ax
