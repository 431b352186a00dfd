"""Figure 7 of skandarani2023: UMAP projections of real and generated images in a feature space."""

from __future__ import annotations

import numpy as np
import pandas as pd


def umap_projection(real: np.ndarray, fake: np.ndarray, seed: int = 0, neighbors: int = 15) -> pd.DataFrame:
    """2-D UMAP of the union of two feature sets; columns x, y, source ("real"/"generated")."""
    import umap  # imported here: numba compiles it on first use, which only this figure pays for

    both = np.concatenate([real, fake]).astype(np.float32)
    reducer = umap.UMAP(n_neighbors=min(neighbors, len(both) - 1), random_state=seed, n_jobs=1)
    xy = reducer.fit_transform(both)
    return pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "source": ["real"] * len(real) + ["generated"] * len(fake)})
