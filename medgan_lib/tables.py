"""The one table formatter of notebooks and the study index: numbers to 3 significant digits, p-values as
``<0.001``, readable headers instead of snake_case, one symbol for a missing value, no pandas index column,
and wide tables wrapped by the page instead of running off it."""

from __future__ import annotations

import hashlib
import math
import numbers
import re
from typing import Any, Iterable

import numpy as np
import pandas as pd

MISSING = "–"  # every table's missing value
CSS_CLASS = "medgan-table"  # the rendered pages' stylesheet wraps and scrolls tables of this class
# Carried by each table (any page shows it so): a table wider than the page scrolls, long cells wrap.
WRAP = [{"selector": "", "props": "display: block; max-width: 100%; overflow-x: auto;"},
        {"selector": "td, th", "props": "max-width: 28em; overflow-wrap: anywhere;"}]
# Words of column names written the way the papers write them (the rest: spaces for underscores).
WORDS = {"gan": "GAN", "gans": "GANs", "fid": "FID", "kid": "KID", "ci": "CI", "std": "SD", "sd": "SD", "unet": "U-Net",
         "medfid": "MedFID", "dloss": "D loss", "mb": "MB", "gb": "GB", "pct": "%", "umap": "UMAP", "lr": "lr",
         "nn": "NN", "id": "ID", "bn": "BN", "ssim": "SSIM", "psnr": "PSNR", "mse": "MSE", "g": "G", "d": "D",
         "asha": "ASHA", "iid": "IID", "kl": "KL", "r1": "R1", "ema": "EMA", "mi": "MI", "cas": "CAS"}


def header(name: Any) -> str:
    """``fid_ci_low`` -> ``FID CI low``; a name that already has spaces or capitals is kept as written."""
    text = str(name)
    if " " in text or text != text.lower():
        return text
    words = [WORDS.get(word, word) for word in re.split(r"_+", text) if word]
    return " ".join(words) if words else text


def number(value: Any, digits: int = 3) -> str:
    """A cell as text: floats to ``digits`` significant digits (no exponent below a million), integers whole,
    booleans yes/no, NaN/None as ``MISSING``; anything else as str."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT:
        return MISSING
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}" if abs(int(value)) >= 10_000 else str(int(value))
    if isinstance(value, numbers.Real):
        value = float(value)
        if math.isinf(value):
            return "∞" if value > 0 else "-∞"
        if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-4):
            return f"{value:.{digits - 1}e}"
        if abs(value) >= 10 ** digits:
            return f"{value:,.0f}"
        return f"{value:.{digits}g}" if abs(value) >= 1 else _significant(value, digits)
    return str(value)


def _significant(value: float, digits: int) -> str:
    """A value below 1 with ``digits`` significant digits as a plain decimal (0.00297, never 2.97e-03)."""
    decimals = digits - 1 - math.floor(math.log10(abs(value))) if value else digits - 1
    return f"{value:.{decimals}f}".rstrip("0").rstrip(".")


def p_text(p: Any) -> str:
    """A p-value: ``<0.001`` below a thousandth, else three decimals; missing as ``MISSING``."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return MISSING
    return "<0.001" if float(p) < 0.001 else f"{float(p):.3f}"


def mean_sd(mean: float, sd: float) -> str:
    """``mean ± sd`` both rounded to the decimal of the SD's first significant digit: 0.00297 ± 0.0042 is
    ``0.003 ± 0.004``; without a spread (NaN or 0), the mean alone to 3 significant digits."""
    if sd is None or not math.isfinite(sd) or sd == 0:
        return number(mean)
    decimals = max(0, -math.floor(math.log10(abs(sd))))
    return f"{mean:.{decimals}f} ± {sd:.{decimals}f}"


def is_p_column(name: Any) -> bool:
    text = str(name).lower()
    return text in ("p", "p_value", "pvalue", "p value") or text.startswith(("p_", "p ")) or text.endswith("_p")


def formatted(frame: pd.DataFrame, p_columns: Iterable[str] | None = None, digits: int = 3) -> pd.DataFrame:
    """``frame`` as text cells with readable headers (p-value columns: named p, p_*, *_p, or ``p_columns``)."""
    if not isinstance(frame.index, pd.RangeIndex):  # a meaningful index (a label per row) becomes a first column
        frame = frame.reset_index(names=[n if n is not None else "" for n in frame.index.names])
    p_set = set(p_columns) if p_columns is not None else {c for c in frame.columns if is_p_column(c)}
    out = pd.DataFrame({header(c): [p_text(v) if c in p_set else number(v, digits) for v in frame[c]]
                        for c in frame.columns})
    return out


def settings(values: dict[str, Any]):
    """A mapping (a configuration, a summary's scalars) as a two-column table of setting and value."""
    return show(pd.DataFrame({"setting": [header(k) for k in values], "value": list(values.values())}))


def show(frame: pd.DataFrame, p_columns: Iterable[str] | None = None, digits: int = 3, caption: str = ""):
    """The table as a notebook shows it (a pandas Styler of ``formatted`` cells, no index column)."""
    cells = formatted(frame, p_columns, digits)
    styler = (cells.style.hide(axis="index").format(escape="html").format_index(escape="html", axis=1)
              .set_table_attributes(f'class="{CSS_CLASS}"').set_table_styles(WRAP)
              .set_uuid(hashlib.sha256(cells.to_csv().encode()).hexdigest()[:8]))  # the same table, the same page
    return styler.set_caption(caption) if caption else styler


def to_html(frame: pd.DataFrame, p_columns: Iterable[str] | None = None, digits: int = 3) -> str:
    """``show`` as an HTML string, for pages built outside a notebook (the study index)."""
    return show(frame, p_columns, digits).to_html()
