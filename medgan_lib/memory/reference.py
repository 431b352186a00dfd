"""belmekki's published memory numbers (§III.E), read from the notes of the study's reference table."""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

import pandas as pd

REFERENCE_FILE = "belmekki_table1_configs.csv"


def belmekki_reference() -> dict[str, Any]:
    """Their per-image memory terms (MB, from torchsummary, 64x64, 64 feature maps), batch, batch memory
    and the BatchNorm saving range, parsed from the '#' notes of ``medgan_lib/reference/`` data."""
    path = resources.files("medgan_lib") / "reference" / REFERENCE_FILE
    if not path.is_file():
        raise FileNotFoundError(f"reference table {path} is missing from the medgan_lib package data")
    notes = " ".join(line.lstrip("# ") for line in path.read_text().splitlines() if line.startswith("#"))
    memory = re.search(r"\(([\d.]+) \+ ([\d.]+)\) MB x (\d+) = ([\d.]+) MB", notes)
    saving = re.search(r"reduced memory by ([\d.]+)-([\d.]+)%", notes)
    if memory is None or saving is None:
        raise ValueError(f"{path}: notes no longer state belmekki's memory numbers in the expected form")
    return {
        "per_image_terms_mb": (float(memory.group(1)), float(memory.group(2))),
        "per_image_mb": float(memory.group(1)) + float(memory.group(2)),
        "batch_size": int(memory.group(3)),
        "batch_mb": float(memory.group(4)),
        "bn_saving_pct": (float(saving.group(1)), float(saving.group(2))),
        "notes": notes,
    }


# belmekki Figure 8's configuration (training.config): Table II with BatchNorm in G instead of D
FIG8_GENERATOR = "belmekki_fig8_generator"


def compare_with_belmekki(savings: pd.DataFrame | None = None, device: str = "auto",
                          config: str = "belmekki_table2") -> pd.DataFrame:
    """Their numbers beside ours, one row per quantity ('theirs' as published): the Table II architecture
    at their setting (64x64 single-channel chest X-rays without masks, 64 feature maps), analysed here,
    and the BatchNorm saving range of ``savings`` (``bn_savings`` rows of ``config``). The paper does not
    say which torchsummary line its per-image figure is, so both are set beside it."""
    from medgan_lib.gans.base import DataShape
    from medgan_lib.memory.gan_memory import analyse_gan, memory_config

    ref = belmekki_reference()
    batch = ref["batch_size"]
    r = analyse_gan(memory_config(config, 64, 64, batchnorm=True, batch_size=2), DataShape(1, 1, 64), device,
                    measure=False)
    out = [
        {"quantity": "per-image MB from torchsummary, G + D: forward/backward pass size",
         "theirs": ref["per_image_mb"], "ours": r["summary_mb_per_image"]},
        {"quantity": "per-image MB from torchsummary, G + D: estimated total (with parameters)",
         "theirs": ref["per_image_mb"], "ours": r["summary_total_mb_per_image"]},
        {"quantity": f"batch {batch} MB = per-image forward/backward x {batch}", "theirs": ref["batch_mb"],
         "ours": r["summary_mb_per_image"] * batch},
        {"quantity": "per-image MB autograd really saves (larger of the D and G steps)", "theirs": float("nan"),
         "ours": r["saved_mb_per_image"]},
    ]
    low, high = ref["bn_saving_pct"]
    series = [(FIG8_GENERATOR, "summary_g_total_mb_per_image", "the generator's BN (as Figure 8), G's estimated total"),
              (config, "summary_total_mb_per_image", "Table II's BN (D only; ours), G + D estimated total")]
    for name, column, label in series:
        rows = savings[savings.config == name] if savings is not None and "config" in savings else []
        if len(rows) and f"{column}_saving_pct" in rows:
            pct = rows[f"{column}_saving_pct"]
            out += [{"quantity": f"BN removal saving %, {label}: lowest", "theirs": low, "ours": pct.min()},
                    {"quantity": f"BN removal saving %, {label}: highest", "theirs": high, "ours": pct.max()}]
    return pd.DataFrame(out, columns=["quantity", "theirs", "ours"])
