"""Key figures of a study: PNG files in ``<study>/figures/`` that the study's index shows.

Convention: a notebook saves the figure a reader should see first with
``save_figure(fig, study_dir, "03_fid_per_gan")``; the name starts with the notebook's number, so the
index groups figures by section. Sections that save none get the last figure of their executed notebook.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from medgan_lib.atomic import atomic_open, write_json
from medgan_lib.results import study_path


def figures_dir(study_dir: str | os.PathLike | None) -> Path:
    return study_path(study_dir) / "figures"


def save_figure(fig, study_dir: str | os.PathLike | None, name: str, caption: str = "", dpi: int = 100) -> Path | None:
    """Write matplotlib figure ``fig`` to ``<study>/figures/<name>.png`` atomically, and ``caption`` (what the
    figure shows, the index's caption under its thumbnail) beside it as ``<name>.json``; returns the PNG's path.
    ``fig`` None (a plot with nothing to show, e.g. Dice bars on an image-only dataset) writes nothing."""
    if not name or "/" in name or name.endswith(".png"):
        raise ValueError(f"figure name {name!r}: expected a plain name like '03_fid_per_gan' (no folder, no .png)")
    if fig is None:
        return None
    path = figures_dir(study_dir) / f"{name}.png"
    with atomic_open(path, "wb") as handle:
        fig.savefig(handle, format="png", dpi=dpi, bbox_inches="tight")
    if caption:
        write_json(path.with_suffix(".json"), {"caption": caption})
    return path


def caption_of(png: Path) -> str:
    """The caption saved with a key figure ("" if none was given)."""
    side = png.with_suffix(".json")
    try:
        return str(json.loads(side.read_text()).get("caption", "")) if side.is_file() else ""
    except (OSError, ValueError):
        return ""
