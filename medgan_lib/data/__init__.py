"""Data layer: phantoms, real-format readers, manifests, ``prepare`` and ``DataSpec`` (the one owner of "which data")."""

from medgan_lib.data.dataset import DatasetError, PreparedDataset
from medgan_lib.data.prepare import SPLITS, prepare
from medgan_lib.data.sources import DATASETS, describe
from medgan_lib.data.spec import DataSpec, common_spec, prepare_splits

__all__ = ["DATASETS", "DataSpec", "DatasetError", "PreparedDataset", "SPLITS", "common_spec", "describe", "prepare",
           "prepare_splits"]
