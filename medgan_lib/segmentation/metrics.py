"""Dice per structure with smp's metric functions, pooled per patient (3-D Dice per volume, as the ACDC
challenge scores), with empty structures handled explicitly.

Empty masks: for one patient and one structure, if neither the ground truth nor the prediction contains
the structure, Dice is 0/0 and is recorded as NaN and left out of the means (nothing to find, nothing
found: neither a success nor a failure). If the ground truth is empty but the prediction is not, Dice is 0.
"""

from __future__ import annotations

import warnings

import numpy as np
import segmentation_models_pytorch as smp
import torch


def dice_per_patient(pred: np.ndarray | torch.Tensor, target: np.ndarray | torch.Tensor, num_classes: int,
                     patient_ids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(patients, dice (P, num_classes-1)): Dice of each foreground structure, TP/FP/FN summed over each
    patient's slices (each image is its own patient when ``patient_ids`` is None)."""
    pred, target = torch.as_tensor(np.asarray(pred)).long(), torch.as_tensor(np.asarray(target)).long()
    if pred.shape != target.shape or pred.ndim != 3:
        raise ValueError(f"Dice: prediction {tuple(pred.shape)} and target {tuple(target.shape)} must both be (N, H, W)")
    tp, fp, fn, tn = smp.metrics.get_stats(pred, target, mode="multiclass", num_classes=num_classes)
    ids = np.arange(len(pred)).astype(str) if patient_ids is None else np.asarray(patient_ids).astype(str)
    patients = np.array(list(dict.fromkeys(ids.tolist())))
    sums = [torch.stack([s[torch.from_numpy(ids == p)].sum(0) for p in patients]) for s in (tp, fp, fn, tn)]
    dice = smp.metrics.f1_score(*sums, reduction="none", zero_division=float("nan"))
    return patients, dice[:, 1:].double().numpy()


def summarize(dice: np.ndarray, structures: tuple[str, ...]) -> dict[str, float]:
    """Mean over patients of each structure (NaNs, i.e. empty-empty cases, left out) and their mean."""
    with warnings.catch_warnings():  # an all-NaN column (structure never present) is NaN on purpose
        warnings.simplefilter("ignore", RuntimeWarning)
        per = np.nanmean(dice, axis=0) if len(dice) else np.full(len(structures), np.nan)
    out = {f"dice_{name}": float(v) for name, v in zip(structures, per)}
    out["dice"] = float(np.nanmean(per)) if np.isfinite(per).any() else float("nan")
    return out
