"""What a result row holds: one row type per result kind, and one constant per column that readers use.

A row type names the keys every row of its kind carries; ``results.append_result`` refuses a row missing one
(naming the kind and the key), so readers index rows by these constants without guessing spellings. A row
may carry more keys (measurements shown as they are, e.g. Dice per structure ``dice_<label>``). One concept has
one name in every kind (``extractor`` in fid and memorization rows alike); what ``n`` counts is per kind.
"""

from __future__ import annotations

import dataclasses
from typing import TypedDict

from medgan_lib.registry import UnknownNameError

# ---- columns --------------------------------------------------------------------------------------------
# identity and provenance
DATASET = "dataset"  # registered dataset name
DATA_SPEC = "data_spec"  # the DataSpec as a dict
DATA_SPEC_HASH = "data_spec_hash"
GAN = "gan"  # registered GAN name (None for the real-data Dice conditions)
RUN = "run"  # GAN run folder name
SEED = "seed"
N = "n"  # fid, memorization: generated images; gan_runs: training images; memory: batch; tune: images per score
CONFIG_HASH = "config_hash"
LABEL = "label"  # dice: Table 2's row name (names.condition_label); tune: the configuration's name
TIME = "time"  # added by append_result
PROVENANCE = "provenance"  # added by append_result
# gan_runs: belmekki's discriminator-loss statistics over training
DLOSS_MEAN, DLOSS_VARIANCE, DLOSS_STD = "dloss_mean", "dloss_variance", "dloss_std"
DLOSS_COLUMNS = (DLOSS_MEAN, DLOSS_VARIANCE, DLOSS_STD)
# fid
EXTRACTOR = "extractor"  # feature extractor name ("inception", "unet", "medfid", "pixels")
FID = "fid"
FID_CI_LOW, FID_CI_HIGH = "fid_ci_low", "fid_ci_high"  # bootstrap 95 % interval
KID, KID_STD = "kid", "kid_std"
PRECISION, RECALL = "precision", "recall"  # torch-fidelity's k-NN manifold estimate (k = 3)
FEATURE_PRECISION = "feature_precision"  # "fp32" (standard FID) or the bf16/fp16 autocast of 03's feature_amp
# memorization (pixel space, and the features of the row's extractor)
QUANTILE = "quantile"
PIXEL_NEAR_COPY_SHARE, PIXEL_NN_RATIO = "pixel_near_copy_share", "pixel_nn_ratio"
PIXEL_DIVERSITY_RATIO, PIXEL_MODE_COLLAPSE = "pixel_diversity_ratio", "pixel_mode_collapse"
FEATURE_NEAR_COPY_SHARE, FEATURE_NN_RATIO = "feature_near_copy_share", "feature_nn_ratio"
FEATURE_MODE_COLLAPSE = "feature_mode_collapse"
MEMORIZATION_FLAGS = (PIXEL_NEAR_COPY_SHARE, PIXEL_NN_RATIO, PIXEL_MODE_COLLAPSE, FEATURE_NEAR_COPY_SHARE,
                      FEATURE_NN_RATIO, FEATURE_MODE_COLLAPSE)
# dice
CONDITION = "condition"  # training-condition kind: real, augmented, synthetic, synthetic_gan_masks, real+synthetic
DICE = "dice"  # mean Dice over structures and test patients
PATIENTS, PER_PATIENT = "patients", "per_patient"  # test patient ids; Dice per patient and structure
CHECKPOINT = "checkpoint"  # the U-Net's saved weights
CHECKPOINT_SHA256 = "checkpoint_sha256"  # its SHA-256, checked before the row (and the U-Net) is reused
# memory
CONFIG = "config"  # the GAN or preset name the sweep analysed
BATCHNORM = "batchnorm"
RESOLUTION = "resolution"
FILTERS_G = "filters_g"
# tune
STUDY = "study"  # name of the hyperparameter study
SCHEDULER = "scheduler"  # "fifo" (full budget) or "asha"
TRIAL_ID, CONFIG_ID = "trial_id", "config_id"  # config_id: the trial without its seed
PARAMS, PRESET, OVERRIDES = "params", "preset", "overrides"  # search-space values; TrainConfig preset and fields
ITERATIONS, STEPS = "iterations", "steps"  # budget; iterations trained
STATUS = "status"  # completed, diverged, stopped_early, interrupted, error
FID_CURVE = "fid_curve"  # [[step, score], ...]
# fid_rank: where a run's FID ranks among the runs 03 compared, and whether the paired bootstrap resolves that rank
RANK, RANK_RESOLVED = "rank", "rank_resolved"  # 1 = lowest FID; resolved: both neighbours' gaps exclude 0
COMPARED, RANKING_STABILITY, REPS = "compared", "ranking_stability", "reps"  # runs compared; share of resamples
METRIC, REPLICATES = "metric", "replicates"  # "FID" or "KID"; the run's bootstrap replicates (one per resample,
                                            # the same resamples for every run of the comparison: paired)
# privacy (membership inference, LOGAN style: AUC of training vs held-out images, 95 % bootstrap interval)
WHITE_BOX_AUC, WHITE_BOX_LOW, WHITE_BOX_HIGH = "white_box_auc", "white_box_low", "white_box_high"  # D's score
BLACK_BOX_AUC, BLACK_BOX_LOW, BLACK_BOX_HIGH = "black_box_auc", "black_box_low", "black_box_high"  # NN distance
MEMBERS = "members"  # training images (= held-out images) each attack scored
MASK_NN_DICE, MASK_COPY_SHARE = "mask_nn_dice_median", "mask_copy_share"  # anatomy reuse (None: no masks)
# calibration (03's memorisation audit with near-copies of training images planted at known shares)
SPACE, SHARE, PLANTED = "space", "share", "planted"  # "pixel" or an extractor; planted share; images planted
DETECTED, FLAGGED_OWN = "detected", "flagged_own"  # share of planted copies flagged; of the GAN's own images
DETECTED_KIND = "detected_{}"  # share of planted copies of one kind (memorization.NEAR_COPY_KINDS) flagged
# distortion (chetty Tables 5-6: FID of distorted held-out images against the real training images)
DISTORTION, STRENGTH, PROTOCOL = "distortion", "strength", "protocol"  # validation.PROTOCOLS: levels, image set

# ---- row types: the keys every row of a kind carries --------------------------------------------------------
DataRow = TypedDict("DataRow", {DATASET: str, DATA_SPEC: dict, DATA_SPEC_HASH: str})
GanRunRow = TypedDict("GanRunRow", {RUN: str, GAN: str, DATASET: str, CONFIG_HASH: str, DLOSS_MEAN: float | None,
                                    DLOSS_VARIANCE: float | None, DLOSS_STD: float | None})
FidRow = TypedDict("FidRow", {DATASET: str, DATA_SPEC_HASH: str, GAN: str, RUN: str, SEED: int, EXTRACTOR: str,
                              N: int, FID: float, FID_CI_LOW: float, FID_CI_HIGH: float, KID: float, KID_STD: float})
MemorizationRow = TypedDict("MemorizationRow", {
    DATASET: str, GAN: str, RUN: str, SEED: int, EXTRACTOR: str, N: int, QUANTILE: float,
    PIXEL_NEAR_COPY_SHARE: float, PIXEL_NN_RATIO: float, PIXEL_DIVERSITY_RATIO: float, PIXEL_MODE_COLLAPSE: bool,
    FEATURE_NEAR_COPY_SHARE: float, FEATURE_NN_RATIO: float, FEATURE_MODE_COLLAPSE: bool})
DiceRow = TypedDict("DiceRow", {DATASET: str, DATA_SPEC_HASH: str | None, CONDITION: str, LABEL: str,
                                GAN: str | None, SEED: int, DICE: float, PATIENTS: list, PER_PATIENT: list,
                                CHECKPOINT: str, CONFIG_HASH: str})
MemoryRow = TypedDict("MemoryRow", {CONFIG: str, BATCHNORM: bool, DATASET: str, N: int, GAN: str, RESOLUTION: int,
                                    FILTERS_G: int, SEED: int, CONFIG_HASH: str})
TuneRow = TypedDict("TuneRow", {
    STUDY: str, SCHEDULER: str, TRIAL_ID: str, CONFIG_ID: str, LABEL: str, GAN: str, DATASET: str | None,
    SEED: int, PARAMS: dict, PRESET: str, OVERRIDES: dict, ITERATIONS: int, STEPS: int, STATUS: str, N: int,
    FID: float | None, FID_CURVE: list, DLOSS_MEAN: float | None, DLOSS_VARIANCE: float | None,
    DLOSS_STD: float | None})
FidRankRow = TypedDict("FidRankRow", {DATASET: str, GAN: str, RUN: str, SEED: int, EXTRACTOR: str, METRIC: str,
                                      N: int, RANK: int, RANK_RESOLVED: bool, COMPARED: int, RANKING_STABILITY: float,
                                      REPS: int, REPLICATES: list})
PrivacyRow = TypedDict("PrivacyRow", {DATASET: str, GAN: str, RUN: str, SEED: int, N: int, MEMBERS: int,
                                      WHITE_BOX_AUC: float, WHITE_BOX_LOW: float, WHITE_BOX_HIGH: float,
                                      BLACK_BOX_AUC: float, BLACK_BOX_LOW: float, BLACK_BOX_HIGH: float,
                                      MASK_NN_DICE: float | None, MASK_COPY_SHARE: float | None})
CalibrationRow = TypedDict("CalibrationRow", {DATASET: str, GAN: str, RUN: str, SEED: int, N: int, QUANTILE: float,
                                              SPACE: str, SHARE: float, PLANTED: int, DETECTED: float,
                                              FLAGGED_OWN: float})
DistortionRow = TypedDict("DistortionRow", {DATASET: str, DATA_SPEC_HASH: str, EXTRACTOR: str, DISTORTION: str,
                                            STRENGTH: float, PROTOCOL: str, N: int, FID: float, SEED: int})
# cas, class_fid, infogan_codes (08: the review's class-conditional GANs)
ACCURACY, ACCURACY_LOW, ACCURACY_HIGH = "accuracy", "accuracy_low", "accuracy_high"  # patient-bootstrap 95 %
CLASS, CODE, STRUCTURE = "class", "code", "structure"
CasRow = TypedDict("CasRow", {DATASET: str, GAN: str, RUN: str, SEED: int, CONDITION: str, ACCURACY: float,
                              ACCURACY_LOW: float, ACCURACY_HIGH: float})
ClassFidRow = TypedDict("ClassFidRow", {DATASET: str, GAN: str, RUN: str, SEED: int, CLASS: str, EXTRACTOR: str,
                                        N: int, FID: float})
METHOD = "method"  # translation: pix2pix, cyclegan, identity (the source image itself), real target
TranslationRow = TypedDict("TranslationRow", {DATASET: str, METHOD: str, METRIC: str, "value": float, SEED: int,
                                              "direction": str})
InfoganCodeRow = TypedDict("InfoganCodeRow", {DATASET: str, GAN: str, RUN: str, SEED: int, CODE: str,
                                              STRUCTURE: str, "statistic": str, "value": float, "p": float})


@dataclasses.dataclass(frozen=True)
class Kind:
    """A result kind: rows in ``results/<name>.jsonl`` of type ``row``; rows with equal ``identity`` values are
    one result, the later replacing the earlier in tables; ``renamed``: old key -> key, for older studies."""

    name: str
    row: type  # a TypedDict
    identity: tuple[str, ...]
    renamed: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self.row.__annotations__)


KINDS = {kind.name: kind for kind in (
    Kind("data", DataRow, (DATASET, DATA_SPEC_HASH)),
    Kind("gan_runs", GanRunRow, (RUN, CONFIG_HASH)),
    Kind("fid", FidRow, (DATASET, GAN, RUN, SEED, EXTRACTOR, N)),
    Kind("memorization", MemorizationRow, (DATASET, GAN, RUN, SEED, EXTRACTOR, N),
         renamed={"feature_extractor": EXTRACTOR}),  # memorization rows' name for it before the row types
    Kind("dice", DiceRow, (DATASET, CONDITION, GAN, SEED)),  # one U-Net per condition and seed
    Kind("memory", MemoryRow, (CONFIG, CONFIG_HASH, SEED)),
    Kind("tune", TuneRow, (STUDY, TRIAL_ID, SCHEDULER)),
    Kind("fid_rank", FidRankRow, (DATASET, RUN, SEED, EXTRACTOR, METRIC, N)),
    Kind("privacy", PrivacyRow, (DATASET, RUN, SEED, N)),
    Kind("calibration", CalibrationRow, (DATASET, RUN, SEED, N, QUANTILE, SPACE, SHARE)),
    Kind("cas", CasRow, (DATASET, RUN, SEED, CONDITION)),
    Kind("class_fid", ClassFidRow, (DATASET, RUN, SEED, CLASS, EXTRACTOR, N)),
    Kind("translation", TranslationRow, (DATASET, "direction", METHOD, METRIC, SEED)),
    Kind("infogan_codes", InfoganCodeRow, (DATASET, RUN, SEED, CODE, STRUCTURE)),
    Kind("distortion", DistortionRow, (DATASET, DATA_SPEC_HASH, EXTRACTOR, DISTORTION, STRENGTH, PROTOCOL, N, SEED)),
)}


def result_kind(name: str) -> Kind:
    """The result kind ``name``; an unknown name raises an error listing the kinds there are."""
    if name not in KINDS:
        raise UnknownNameError(f"unknown result kind '{name}'; valid kinds: {', '.join(KINDS)}")
    return KINDS[name]
