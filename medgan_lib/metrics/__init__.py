"""Image-quality metrics: standard FID/KID/PR via torch-fidelity, domain FIDs, memorisation, D-loss, Figure 7.

Importing this package registers the feature extractors (``inception``, ``efficientnet_lite0``, ``pixels``,
``unet``, ``medfid``) both in ``FEATURE_EXTRACTORS`` and with torch-fidelity.
"""

from medgan_lib.metrics.extractors import FEATURE_EXTRACTORS, Extractor, get_extractor
from medgan_lib.metrics.inception import WeightsError, load_inception, standard_weights_path
from medgan_lib.metrics import efficientnet, pixels  # noqa: F401  (register "efficientnet_lite0" and "pixels")
from medgan_lib.metrics.features import extract_features, to_uint8_rgb
from medgan_lib.metrics.fidelity import (bootstrap_fid, compare_features, frechet_distance,
                                         kernel_inception_distance, precision_recall)
from medgan_lib.metrics.memorization import MemorizationReport, memorization_audit
from medgan_lib.metrics.validation import DISTORTIONS, correlation_table, distort, distortion_sweep
from medgan_lib.metrics.unet_features import load_unet
from medgan_lib.metrics.medfid import MedFIDConfig, fit_medfid, load_medfid, train_medfid
from medgan_lib.metrics.dloss import dloss_vs_fid
from medgan_lib.metrics.embedding import umap_projection
from medgan_lib.metrics.evaluate import audit_memorization, evaluate_images, evaluate_run, fid_table

__all__ = ["DISTORTIONS", "FEATURE_EXTRACTORS", "Extractor", "MedFIDConfig", "MemorizationReport",
           "WeightsError", "audit_memorization", "dloss_vs_fid", "fid_table", "fit_medfid",
           "load_medfid", "load_unet", "train_medfid", "umap_projection", "bootstrap_fid", "compare_features", "correlation_table", "distort",
           "distortion_sweep", "evaluate_images", "evaluate_run", "extract_features", "frechet_distance",
           "get_extractor", "kernel_inception_distance", "load_inception", "memorization_audit",
           "precision_recall", "standard_weights_path", "to_uint8_rgb"]
