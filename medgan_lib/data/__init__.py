"""Data layer: phantoms, real-format readers, manifests and ``prepare`` (the study's one data entry point)."""

from medgan_lib.data.dataset import DatasetError, PreparedDataset
from medgan_lib.data.prepare import SPLITS, prepare, prepare_splits
from medgan_lib.data.sources import DATASETS, describe

__all__ = ["DATASETS", "DatasetError", "PreparedDataset", "SPLITS", "describe", "prepare", "prepare_splits"]
