"""Key figures of a study: PNG files in ``<study>/figures/`` that the study's index shows.

Convention: a notebook saves the figure a reader should see first with
``save_figure(fig, study_dir, "03_fid_per_gan")``; the name starts with the notebook's number, so the
index groups figures by section. Sections that save none get the last figure of their executed notebook.
"""

from __future__ import annotations

import os
from pathlib import Path

from medgan_lib.atomic import atomic_open
from medgan_lib.results import study_path


def figures_dir(study_dir: str | os.PathLike | None) -> Path:
    return study_path(study_dir) / "figures"


def save_figure(fig, study_dir: str | os.PathLike | None, name: str, dpi: int = 100) -> Path:
    """Write matplotlib figure ``fig`` to ``<study>/figures/<name>.png`` atomically; returns the path."""
    if not name or "/" in name or name.endswith(".png"):
        raise ValueError(f"figure name {name!r}: expected a plain name like '03_fid_per_gan' (no folder, no .png)")
    path = figures_dir(study_dir) / f"{name}.png"
    with atomic_open(path, "wb") as handle:
        fig.savefig(handle, format="png", dpi=dpi, bbox_inches="tight")
    return path
