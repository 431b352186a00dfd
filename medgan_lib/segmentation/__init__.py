"""U-Net segmentation as the downstream test of synthetic data (skandarani2023 §3.4, §4.2, Table 2)."""

from medgan_lib.segmentation.data import augment, check_disjoint, synthetic_arrays
from medgan_lib.segmentation.metrics import dice_per_patient, summarize
from medgan_lib.segmentation.study import (Condition, find_unet, real_unet, run_condition, run_dice_study, summary,
                                           table2_conditions)
from medgan_lib.segmentation.train import SegConfig, evaluate, train_unet
from medgan_lib.segmentation.unet import SIZES, build_unet, load_unet, predict, save_unet, unet_features

__all__ = ["Condition", "SIZES", "SegConfig", "augment", "build_unet", "check_disjoint", "dice_per_patient",
           "evaluate", "find_unet", "load_unet", "predict", "real_unet", "run_condition", "run_dice_study",
           "save_unet", "summarize", "summary", "synthetic_arrays", "table2_conditions", "train_unet",
           "unet_features"]
