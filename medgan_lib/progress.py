"""Progress bars: tqdm's (a widget in Jupyter, text in a terminal), except in a study run's papermill kernels.
There a widget bar is saved into the executed notebook without its state, so the report would show a frozen
"0%|          | 0/120" line; the study runner sets ``MEDGAN_NO_PROGRESS=1`` and its own heartbeat reports progress."""

from __future__ import annotations

import os
from typing import Any

from tqdm.auto import tqdm as _tqdm


def tqdm(*args: Any, **kwargs: Any) -> _tqdm:
    """``tqdm.auto.tqdm``, disabled whatever ``disable`` says when ``MEDGAN_NO_PROGRESS`` is set."""
    if os.environ.get("MEDGAN_NO_PROGRESS"):
        kwargs["disable"] = True
    return _tqdm(*args, **kwargs)
