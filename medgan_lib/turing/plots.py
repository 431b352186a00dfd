"""Figures of a class's Turing-test result: each reader's accuracy with its interval against chance and the
paper's experts, accuracy by stated confidence, and the synthetic images that fooled most readers."""

from __future__ import annotations

import numpy as np

from medgan_lib.plotting import fit
from medgan_lib.turing.kit import Kit
from medgan_lib.turing.scoring import PAPER_EXPERTS, ClassResult


def class_figure(result: ClassResult):
    """Left: readers' accuracies (exact 95 % intervals), the pooled class accuracy (interval over readers), chance,
    and the paper's 60 % ± 10 % as a band (their spread across experts). Right: accuracy by stated confidence."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    fig, (left, right) = plt.subplots(1, 2, figsize=fit(9.5, max(3.0, 0.32 * len(result.readers) + 2.0)),
                                      gridspec_kw={"width_ratios": [3, 2]})
    names = [r.reader for r in result.readers] + ["class (pooled)"]
    values = [r.accuracy for r in result.readers] + [result.pooled.value]
    lows = [r.ci_low for r in result.readers] + [result.pooled.low]
    highs = [r.ci_high for r in result.readers] + [result.pooled.high]
    y = np.arange(len(names))[::-1]
    paper = PAPER_EXPERTS
    left.axvspan(paper["accuracy"] - paper["spread"], paper["accuracy"] + paper["spread"], color="tab:orange",
                 alpha=0.15, label="paper's experts: 60 % ± 10 % (spread)")
    left.axvline(0.5, color="0.4", ls="--", lw=1, label="chance (50 %)")
    colours = ["tab:blue"] * len(result.readers) + ["black"]
    left.hlines(y, lows, highs, colors=colours, lw=2)  # a NaN interval (one reader's pooled) draws nothing
    left.scatter(values, y, c=colours, zorder=3)
    left.set_yticks(y, names, fontsize=9)
    left.set_xlim(0, 1)
    left.set_xlabel("accuracy (95 % interval)")
    left.xaxis.set_major_formatter(PercentFormatter(1.0))
    left.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)
    left.set_title("Readers' accuracy")
    table = result.by_confidence
    if len(table):
        x = np.arange(len(table))
        right.bar(x, table["accuracy"], color="tab:blue", alpha=0.7)
        right.errorbar(x, table["accuracy"], yerr=[table["accuracy"] - table["ci low"],
                                                   table["ci high"] - table["accuracy"]],
                       fmt="none", ecolor="black", capsize=3)
        right.set_xticks(x, [f"{c}\n(n={n})" for c, n in zip(table["confidence"], table["answers"])], fontsize=9)
        right.axhline(0.5, color="0.4", ls="--", lw=1)
    right.set_ylim(0, 1)
    right.yaxis.set_major_formatter(PercentFormatter(1.0))
    right.set_xlabel("stated confidence (1 guessing .. 5 certain)")
    right.set_ylabel("accuracy")
    right.set_title("Accuracy by confidence")
    fig.tight_layout()
    return fig


def fooled_figure(kit: Kit, result: ClassResult, top: int = 8):
    """The synthetic images most readers called real, with the share they fooled (None if no synthetic image was
    answered)."""
    import matplotlib.pyplot as plt
    from PIL import Image

    fake = result.per_image[(result.per_image["truth"] == "synthetic") & (result.per_image["answers"] > 0)]
    fake = fake.sort_values(["wrong share", "image"], ascending=[False, True]).head(top)
    if fake.empty:
        return None
    files = kit.image_files()
    fig, axes = plt.subplots(1, len(fake), figsize=fit(min(9.5, 1.4 * len(fake)), 1.9), squeeze=False)
    for ax, (_, row) in zip(axes.flat, fake.iterrows()):
        with Image.open(files[row["image"] - 1]) as image:
            ax.imshow(np.asarray(image), cmap="gray", vmin=0, vmax=255)
        ax.set_title(f"#{row['image']}: {row['wrong share']:.0%} fooled", fontsize=9)
        ax.axis("off")
    fig.suptitle("Synthetic images that fooled most readers", fontsize=10)
    fig.tight_layout()
    return fig
