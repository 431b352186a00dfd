"""The papers' published numbers as package data (copied from the study's shared reference folder).

Everything read from here is *theirs*, on their data; reports label it so.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def reference_file(name: str) -> Path:
    """Path of one reference file; a missing name lists the files there are."""
    folder = resources.files(__name__)
    path = Path(str(folder.joinpath(name)))
    if not path.is_file():
        names = sorted(p.name for p in Path(str(folder)).iterdir() if p.suffix in (".csv", ".yaml"))
        raise FileNotFoundError(f"no reference file '{name}'; there are: {', '.join(names)}")
    return path


# Our dataset and GAN names -> the names skandarani2023 Table 2 uses.
PAPER_DATASETS = {"cardiac_phantom": "ACDC", "acdc": "ACDC", "liver_phantom": "SLiver07", "sliver07": "SLiver07",
                  "retina_phantom": "IDRiD", "idrid": "IDRiD"}
PAPER_GANS = {"dcgan": "DCGAN", "lsgan": "LSGAN", "wgan": "WGAN", "hinge": "HingeGAN", "spade": "SPADE GAN",
              "stylegan2": "StyleGAN"}
TABLE2 = "skandarani2023_table2_fid_dice.csv"


def reference_table2():
    """skandarani2023 Table 2 as published: dataset, training_data, fid, unet_dice (their data)."""
    import pandas as pd

    return pd.read_csv(reference_file(TABLE2))
