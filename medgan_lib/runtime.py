"""Seeds, RNG state capture/restore (for exact resume) and device choice."""

from __future__ import annotations

import random
import re
from typing import Any

import numpy as np
import torch

from medgan_lib.config import ConfigError


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) with one explicit seed."""
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def get_rng_state() -> dict[str, Any]:
    """Every global RNG state, so a resumed run draws exactly what an uninterrupted one would; plain values and
    tensors only, so checkpoints holding it load with ``torch.load(weights_only=True)``."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return plain_rng_state(state)


def plain_rng_state(state: dict[str, Any]) -> dict[str, Any]:
    """``state`` with NumPy's state tuple made of plain values (its 624 MT19937 keys as a list of ints)."""
    name, keys, pos, has_gauss, gauss = state["numpy"]
    return {**state, "numpy": (str(name), np.asarray(keys).tolist(), int(pos), int(has_gauss), float(gauss))}


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    name, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def select_device(preference: str = "auto") -> torch.device:
    """``auto`` picks CUDA when present, else CPU; ``cpu``/``cuda``/``cuda:N`` are taken as asked; anything else
    raises ``ConfigError`` listing the valid values."""
    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not (isinstance(preference, str) and re.fullmatch(r"cpu|cuda(:\d+)?", preference)):
        raise ConfigError(f"device: {preference!r} is not a device this study runs on; valid: 'auto', 'cpu', "
                          "'cuda', 'cuda:N' (N = GPU index)")
    if preference.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device: {preference!r} was asked for, but CUDA is not available on this machine; "
                          "use 'cpu' or 'auto'")
    return torch.device(preference)


def precision(amp: bool, device: torch.device) -> str:
    """The arithmetic training runs in: with ``amp`` on CUDA, "bf16" autocast where the GPU supports it, else "fp16"
    (with a gradient scaler); otherwise "fp32" (always on CPU)."""
    if not (amp and device.type == "cuda"):
        return "fp32"
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


def autocast(precision: str) -> Any:
    """The autocast context of ``precision`` ("fp32": none)."""
    import contextlib

    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast("cuda", dtype=torch.bfloat16 if precision == "bf16" else torch.float16)
