"""belmekki §III.F: shallower ("compressed") DCGANs. Fewer layers of larger stride and kernel (kernel 2s, padding
s/2: the output size of belmekki's equation 5 grows by s per layer) reach the same resolution, with less memory;
belmekki found they draw "blurry squares with homogeneous colors". Each is trained briefly beside Table II's depth
(stride 2) so the images can be compared, and its memory counted as in Figures 7-8."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import pandas as pd

from medgan_lib.data.spec import DataSpec
from medgan_lib.memory.gan_memory import analyse_gan
from medgan_lib.results import study_path

FOLDER = "compression"  # inside the study folder: its runs stay apart from the study's GANs (03, 04, 07 read runs/)
CONFIG = "belmekki_table2"  # the DCGAN compressed: Table II's (its depth is stride 2)


def compression_runs(strides: Iterable[int], scale: str, data: DataSpec, iterations: int,
                     study_dir: str | None = None, seed: int = 0, device: str = "auto",
                     filters: int | None = None) -> dict[str, Path]:
    """Train Table II's DCGAN at each resampling ``stride`` (2 = its own depth) for ``iterations`` on ``data``
    under ``<study>/compression/``, with ``filters`` feature maps (None: Table II's 64); label -> run folder (an
    identical earlier run is reused)."""
    from medgan_lib.training import preset, train_gan

    folder = study_path(study_dir) / FOLDER
    runs = {}
    for stride in strides:
        width = {} if filters is None else {"filters_g": filters, "filters_d": filters}
        config = preset(f"{scale}+{CONFIG}", data=data, seed=seed, device=device, iterations=iterations,
                        gan_options={"stride": int(stride)}, **width)
        runs[f"stride {stride}"] = Path(train_gan(config, folder))
    return runs


def compression_table(runs: dict[str, Path], device: str = "auto") -> pd.DataFrame:
    """Per run: resampling layers of G, parameters, torchsummary MB per image and the final sample diversity
    relative to the real images (under ``diversity.COLLAPSE_RATIO`` it is flagged collapsed: belmekki's
    homogeneous squares)."""
    from medgan_lib.gans.networks import strides
    from medgan_lib.training.run import Run

    rows = []
    for label, path in runs.items():
        run = Run(path)
        config, summary = run.config, run.summary
        memory = analyse_gan(config, run.shape, device, measure=False)
        rows.append({"network": label, "layers": 1 + len(strides(config.resolution, config.gan_options.get("stride", 2))),
                     "params_g": memory["params_g"], "params_d": memory["params_d"],
                     "summary_mb_per_image": memory["summary_mb_per_image"],
                     "diversity_ratio": summary.get("diversity_ratio"), "mode_collapse": summary.get("mode_collapse"),
                     "iterations": summary.get("iterations"), "run": run.name})
    return pd.DataFrame(rows)
