"""What produced a result: code version, library versions, device. Recorded beside every result."""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
from pathlib import Path
from typing import Any

import torch

LIBRARIES = (
    "torch", "torchvision", "numpy", "scipy", "pandas", "torch-fidelity",
    "segmentation-models-pytorch", "nibabel", "SimpleITK", "pydicom", "Pillow", "papermill", "ray",
)
_REPO = Path(__file__).resolve().parent.parent


def code_version() -> str:
    """Git commit of the checkout (``+dirty`` if it has uncommitted changes), else the package version."""
    try:
        commit = subprocess.run(["git", "-C", str(_REPO), "rev-parse", "HEAD"], capture_output=True,
                                text=True, check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(_REPO), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True, timeout=10).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        from medgan_lib import __version__

        return f"medgan_lib {__version__} (no git checkout)"


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def device_info() -> dict[str, Any]:
    info: dict[str, Any] = {"platform": platform.platform(), "cpu_threads": torch.get_num_threads(),
                            "cuda": torch.cuda.is_available()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def provenance(**extra: Any) -> dict[str, Any]:
    """Everything a result file should carry about how it was made; ``extra`` adds config, seed, hashes."""
    return {"code_version": code_version(), "libraries": library_versions(), "device": device_info(), **extra}


def print_config() -> None:
    """First cell of every notebook: versions and device, so a rendered report says what ran it."""
    print(f"code version : {code_version()}")
    for name, version in library_versions().items():
        print(f"{name:<28}: {version}")
    for key, value in device_info().items():
        print(f"{key:<28}: {value}")
