"""Figures of the memory analysis (belmekki Figures 7-8 and their companions); each returns the figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from medgan_lib.names import gan_name
from medgan_lib.plotting import fit

LABELS = {
    "summary_mb_per_image": "torchsummary fwd/bwd MB per image",
    "summary_total_mb_per_image": "torchsummary total MB per image",
    "summary_g_total_mb_per_image": "generator: torchsummary total MB per image",
    "saved_mb_per_image": "saved-tensor MB per image",
    "measured_mb": "measured peak MB of one training step",
    "estimate_mb": "estimated peak MB of one training step",
    "seconds_per_iteration": "seconds per iteration",
}


def _check(sweep: pd.DataFrame, column: str) -> None:
    if column not in sweep.columns:
        raise KeyError(f"sweep has no column {column!r}; columns: {sorted(sweep.columns)}")


def plot_vs_feature_maps(sweep: pd.DataFrame, column: str = "summary_mb_per_image", batchnorm: bool = True,
                         title: str = "") -> plt.Figure:
    """``column`` against feature-map size, one line per configuration and resolution (Figure 7)."""
    _check(sweep, column)
    rows = sweep[sweep.batchnorm == batchnorm]
    if rows.filters_g.nunique() < 2:  # one feature-map size: a line would be a column of dots
        return _bars(rows, ["config", "resolution"], column, title)
    fig, ax = plt.subplots(figsize=fit(6, 4))
    for (config, res), group in rows.groupby(["config", "resolution"]):
        group = group.sort_values("filters_g")
        ax.plot(group.filters_g, group[column], marker="o", label=f"{config} {res}x{res}")
    ax.set_xlabel("feature maps (filters of G and D)")
    ax.set_ylabel(LABELS.get(column, column))
    ax.set_title(title or LABELS.get(column, column))
    ax.legend(fontsize=9)
    ax.grid(alpha=0.3)
    return fig


def plot_batchnorm(sweep: pd.DataFrame, column: str = "summary_total_mb_per_image", title: str = "") -> plt.Figure:
    """``column`` with and without BatchNorm against feature-map size (Figure 8)."""
    _check(sweep, column)
    if sweep.filters_g.nunique() < 2:
        return _bars(sweep, ["config", "resolution", "batchnorm"], column, title or "With and without BatchNorm")
    fig, ax = plt.subplots(figsize=fit(6, 4))
    for (config, res, bn), group in sweep.groupby(["config", "resolution", "batchnorm"]):
        group = group.sort_values("filters_g")
        ax.plot(group.filters_g, group[column], marker="o" if bn else "x", linestyle="-" if bn else "--",
                label=f"{config} {res}x{res} {'with' if bn else 'without'} BN")
    ax.set_xlabel("feature maps (filters of G and D)")
    ax.set_ylabel(LABELS.get(column, column))
    ax.set_title(title or "With and without BatchNorm")
    ax.legend(fontsize=9)
    ax.grid(alpha=0.3)
    return fig


def _bars(rows: pd.DataFrame, keys: list[str], column: str, title: str) -> plt.Figure:
    """``column`` as one bar per configuration (the sweep had a single feature-map size)."""
    labels = [" ".join(("BN" if v else "no BN") if k == "batchnorm" else f"{v}x{v}" if k == "resolution"
                       else gan_name(str(v)) if k == "config" else str(v) for k, v in zip(keys, key))
              for key, _ in rows.groupby(keys)]
    values = [group[column].mean() for _, group in rows.groupby(keys)]
    fig, ax = plt.subplots(figsize=fit(max(4.0, 1.1 * len(values) + 2), 3.6))
    ax.bar(range(len(values)), values, color="tab:blue", alpha=0.8)
    ax.set_xticks(range(len(values)), labels, rotation=30 if len(values) > 4 else 0, ha="right" if len(values) > 4 else "center")
    ax.set_ylabel(LABELS.get(column, column))
    ax.set_title(title or LABELS.get(column, column))
    if len(rows):
        ax.text(0.99, 0.97, f"{int(rows.filters_g.iloc[0])} feature maps", transform=ax.transAxes, ha="right",
                va="top", fontsize=9)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig


def plot_estimate_vs_measured(sweep: pd.DataFrame) -> plt.Figure:
    """Measured peak against both estimates (ours and torchsummary's), with the identity line."""
    _check(sweep, "measured_mb")
    fig, ax = plt.subplots(figsize=fit(5, 5))
    ax.scatter(sweep.estimate_mb, sweep.measured_mb, label="saved-tensor estimate")
    ax.scatter(sweep.summary_estimate_mb, sweep.measured_mb, marker="x", label="torchsummary estimate")
    top = max(sweep.measured_mb.max(), sweep.estimate_mb.max(), sweep.summary_estimate_mb.max())
    ax.plot([0, top], [0, top], color="grey", linewidth=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):  # plain numbers at 1-2-5 steps, no crowded minor labels like 3x10^2
        axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        axis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("estimated peak MB of one training step")
    ax.set_ylabel("measured peak MB of one training step")
    ax.legend(fontsize=9)
    ax.grid(alpha=0.3)
    return fig
