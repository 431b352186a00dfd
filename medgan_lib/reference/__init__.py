"""The papers' published numbers as package data (copied from the study's shared reference folder).

Everything read from here is *theirs*, on their data; reports label it so.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from medgan_lib.names import condition_label


def reference_file(name: str) -> Path:
    """Path of one reference file; a missing name lists the files there are."""
    folder = resources.files(__name__)
    path = Path(str(folder.joinpath(name)))
    if not path.is_file():
        names = sorted(p.name for p in Path(str(folder)).iterdir() if p.suffix in (".csv", ".yaml"))
        raise FileNotFoundError(f"no reference file '{name}'; there are: {', '.join(names)}")
    return path


# Our dataset names -> the names skandarani2023 Table 2 uses.
PAPER_DATASETS = {"cardiac_phantom": "ACDC", "acdc": "ACDC", "liver_phantom": "SLiver07", "sliver07": "SLiver07",
                  "retina_phantom": "IDRiD", "idrid": "IDRiD"}
TABLE2 = "skandarani2023_table2_fid_dice.csv"


def paper_table2(dataset: str, condition: str, gan: str | None = None) -> dict[str, float]:
    """skandarani2023 Table 2 as published (their data) for a training condition on the paper's counterpart of
    our ``dataset``: {"fid", "unet_dice"}, NaN where the paper has no value. Its rows are found by their names,
    ``names.condition_label(condition, gan)``."""
    table = _table2()
    rows = table[(table["dataset"] == PAPER_DATASETS.get(dataset))
                 & (table["training_data"] == condition_label(condition, gan))]
    return {column: float(rows[column].iloc[0]) if len(rows) else float("nan") for column in ("fid", "unet_dice")}


@functools.cache
def _table2():
    import pandas as pd

    return pd.read_csv(reference_file(TABLE2))
