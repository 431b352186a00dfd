"""How a translation GAN is evaluated (issue 21), as translation papers do it, on paired test data:

- per test patient, MAE, PSNR and SSIM of the translated images against the real target images (torchmetrics, on
  [-1, 1] images: data range 2; MAE also in the target's own units when its rule is a CT window: HU);
- the FID of translated against real target images;
- the check that matters clinically: a U-Net trained on real target-modality images segments the translated ones,
  Dice against the source images' masks (does the anatomy survive translation?).

Each translation method (pix2pix, CycleGAN, and the identity baseline: the source image itself) gets one row per
metric, with a 95 % interval over test patients.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import pandas as pd
import torch
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

from medgan_lib.data.dataset import PreparedDataset
from medgan_lib.data.preprocessing import Preprocessing

DATA_RANGE = 2.0  # images in [-1, 1]
BOOTSTRAP_REPS = 1000


def image_scores(pred: np.ndarray, target: np.ndarray) -> dict[str, np.ndarray]:
    """(N,) MAE, PSNR (dB) and SSIM of each predicted image against its target, both (N, 1, H, W) in [-1, 1]."""
    pred_t, target_t = torch.from_numpy(np.asarray(pred, np.float32)), torch.from_numpy(np.asarray(target, np.float32))
    if pred_t.shape != target_t.shape or pred_t.ndim != 4:
        raise ValueError(f"translation scores: prediction {tuple(pred_t.shape)} and target {tuple(target_t.shape)} "
                         "must both be (N, C, H, W)")
    mae = (pred_t - target_t).abs().flatten(1).mean(1)
    psnr = peak_signal_noise_ratio(pred_t, target_t, data_range=DATA_RANGE, reduction="none", dim=(1, 2, 3))
    ssim = structural_similarity_index_measure(pred_t, target_t, data_range=DATA_RANGE, reduction="none")
    return {"mae": mae.numpy(), "psnr": psnr.numpy(), "ssim": ssim.numpy()}


def per_patient(values: np.ndarray, patients: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(patients, mean of ``values`` over each patient's slices), patients in order of appearance."""
    ids = list(dict.fromkeys(np.asarray(patients).tolist()))
    patients = np.asarray(patients)
    return np.array(ids), np.array([float(np.mean(values[patients == p])) for p in ids])


def interval(values: np.ndarray, reps: int = BOOTSTRAP_REPS, seed: int = 0) -> tuple[float, float]:
    """95 % percentile bootstrap interval of the mean of per-patient ``values`` (finite ones)."""
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return float("nan"), float("nan")
    means = values[np.random.default_rng(seed).integers(0, len(values), (reps, len(values)))].mean(1)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def hu_per_unit(prep: Preprocessing, channel: int) -> float | None:
    """HU per unit of [-1, 1] of ``channel`` when its rule is a CT window (width / 2), else None."""
    rule = prep.channels[channel] if prep.channels else prep.intensity
    return prep.window[1] / 2 if rule == "ct_window" else None


def translation_rows(method: str, pred: np.ndarray, target: np.ndarray, patients: np.ndarray,
                     hu_scale: float | None = None, seed: int = 0) -> list[dict[str, Any]]:
    """One row per metric: its mean over test patients, the 95 % interval, n patients and the per-patient values."""
    scores = image_scores(pred, target)
    if hu_scale is not None:
        scores["mae_hu"] = scores["mae"] * hu_scale
    rows = []
    for metric, values in scores.items():
        ids, means = per_patient(values, patients)
        low, high = interval(means, seed=seed)
        rows.append({"method": method, "metric": metric, "value": float(np.nanmean(means)), "low": low, "high": high,
                     "n_patients": int(len(ids)), "patients": ids.tolist(), "per_patient": means.tolist()})
    return rows


def downstream_dice(unet: torch.nn.Module, method: str, images: np.ndarray, test: PreparedDataset,
                    seed: int = 0) -> dict[str, Any]:
    """A row: mean Dice per test patient of the U-Net's segmentation of ``images`` against ``test``'s masks."""
    from medgan_lib.segmentation.metrics import dice_per_patient
    from medgan_lib.segmentation.unet import predict

    patients, dice = dice_per_patient(predict(unet, images), test.masks, test.num_classes, test.patient_ids)
    means = np.nanmean(dice, axis=1)
    low, high = interval(means, seed=seed)
    return {"method": method, "metric": "dice", "value": float(np.nanmean(means)), "low": low, "high": high,
            "n_patients": int(len(patients)), "patients": patients.tolist(), "per_patient": means.tolist()}


def evaluate_translations(runs: dict[str, Any], data: Any, study_dir: str = "", unet_config: Any = None,
                          extractors: Iterable[Any] = ("inception",),
                          extractor_options: dict[str, dict[str, Any]] | None = None, bootstrap_reps: int = 50,
                          seed: int = 0, device: str = "auto", n_real: int | None = None) -> dict[str, Any]:
    """Every translation run of ``runs`` (name -> Run) and the identity baseline on ``data``'s (a two-modality
    DataSpec) test patients: ``translation`` rows (MAE, PSNR, SSIM, MAE in HU, FID of translated vs real target
    training images (a seeded choice of ``n_real``; None: all), downstream Dice of a U-Net trained on the real target
    images of the training patients).
    On unpaired data (``chaos``) the source and target test slices are of different patients: no MAE/PSNR/SSIM,
    the FID and the downstream Dice (against the source slices' own masks) only.
    Returns {"rows": DataFrame, "examples": {method: translated test images}, "source", "target", "test" (the
    source slices, whose masks the Dice uses), "paired"}."""
    from medgan_lib.metrics.evaluate import evaluate_images
    from medgan_lib.results import append_result
    from medgan_lib.segmentation.train import SegConfig, train_unet

    gans = {name: run.load(device) for name, run in runs.items()}
    first = next(iter(gans.values()))
    s, t = first.options.source_channel, first.options.target_channel
    train, val, test = data.gan_train(), data.prepare("val"), data.prepare("test")
    paired = test.classes is None  # unpaired data (chaos): each slice holds one modality, its class says which
    test_source, test_target = (test, test) if paired else (_holding(test, s), _holding(test, t))
    train, val = (train, val) if paired else (_holding(train, t), _holding(val, t))
    source, target = first.domains(test_source.images)[0], first.domains(test_target.images)[1]
    train_target = first.domains(train.images)[1]
    hu_scale = hu_per_unit(_preprocessing(data.dataset), t)
    translated = {"identity": source, **{name: gan.translate(source) for name, gan in gans.items()}}
    config = unet_config or SegConfig(device=device)
    val_target = PreparedDataset(val.name, val.split, first.domains(val.images)[1], val.masks, val.patient_ids,
                                 val.label_names, val.meta)
    unet, _ = train_unet(train_target, train.masks, val_target, config, seed)
    common = {"dataset": data.dataset, "data_spec_hash": data.hash, "seed": seed, "direction": f"{s}->{t}",
              "paired": paired}
    rows = []
    for method, images in translated.items():
        run = runs.get(method)
        extra = {"gan": run.gan_name, "run": run.name} if run is not None else {"gan": None, "run": None}
        # pixel scores need the same slice in the target modality: only paired data have it
        found = translation_rows(method, images, target, test.patient_ids, hu_scale, seed) if paired else []
        found.append(downstream_dice(unet, method, images, test_source, seed))
        for fid in evaluate_images(train_target, images, extractors, extractor_options, n_real=n_real, seed=seed,
                                   bootstrap_reps=bootstrap_reps, device=device):
            found.append({"method": method, "metric": f"fid_{fid['extractor']}", "value": fid["fid"],
                          "low": fid["fid_ci_low"], "high": fid["fid_ci_high"], "n_patients": None,
                          "n": fid["n"], "extractor": fid["extractor"], "weights_sha256": fid["weights_sha256"]})
        rows += [append_result(study_dir, "translation", {**common, **extra, "unet": config.key(), **row})
                 for row in found]
    real_dice = downstream_dice(unet, "real target", target, test_target, seed)  # the U-Net's ceiling
    rows.append(append_result(study_dir, "translation", {**common, "gan": None, "run": None, "unet": config.key(),
                                                         **real_dice}))
    return {"rows": pd.DataFrame(rows), "examples": translated, "source": source, "target": target,
            "test": test_source, "paired": paired}


def _holding(data: PreparedDataset, channel: int) -> PreparedDataset:
    """The slices of an unpaired dataset that hold ``channel`` (their image-level class)."""
    return data.subset(np.flatnonzero(data.classes == channel))


def _preprocessing(dataset: str) -> Preprocessing:
    from medgan_lib.data.sources import DATASETS

    return DATASETS[dataset].preprocessing


LOWER_IS_BETTER = {"mae", "mae_hu"}


def translation_table(rows: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Methods x metrics, each ``mean [low, high]`` (latest rows of ``dataset``)."""
    from medgan_lib.results import latest, of_dataset

    rows = latest(of_dataset(rows, dataset), "translation")
    text = [f"{r.value:.3g} [{r.low:.3g}, {r.high:.3g}]" if pd.notna(r.low) else f"{r.value:.3g}"
            for r in rows.itertuples()]
    return rows.assign(text=text).pivot_table(index="method", columns="metric", values="text", aggfunc="last",
                                              sort=False)


def translation_notes(rows: pd.DataFrame, dataset: str) -> list[str]:
    """What to notice: per metric, which method is best and whether its interval separates it from the identity
    baseline; and how much of the real target images' Dice the translations keep."""
    from medgan_lib.results import latest, of_dataset

    rows = latest(of_dataset(rows, dataset), "translation")
    notes = []
    for metric, group in rows[rows["method"] != "real target"].groupby("metric", sort=False):
        best = group.loc[group["value"].idxmin() if metric in LOWER_IS_BETTER or metric.startswith("fid")
                         else group["value"].idxmax()]
        identity = group[group["method"] == "identity"]
        separated = ""
        if len(identity) and best["method"] != "identity" and pd.notna(best["low"]):
            base = identity.iloc[0]
            apart = best["high"] < base["low"] or best["low"] > base["high"]
            separated = (" (its interval is clear of the identity baseline's)" if apart
                         else " (its interval overlaps the identity baseline's: not separated at this n)")
        notes.append(f"{metric}: best {best['method']} {best['value']:.3g}{separated}")
    real = rows[(rows["method"] == "real target") & (rows["metric"] == "dice")]
    if len(real):
        ceiling = float(real.iloc[-1]["value"])
        for r in rows[(rows["metric"] == "dice") & (rows["method"] != "real target")].itertuples():
            notes.append(f"{r.method}: the target-modality U-Net segments its images with Dice {r.value:.2f}, "
                         f"{r.value / ceiling:.0%} of its Dice on the real target images ({ceiling:.2f})"
                         if ceiling > 0 else f"{r.method}: Dice {r.value:.2f}")
    return notes


def example_rows(evaluated: dict[str, Any], n: int = 6) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """Rows for ``plots.plot_image_rows``: ``n`` test slices' masks, their source and real target images, and each
    method's translation (``evaluate_translations``' output)."""
    test, source = evaluated["test"], evaluated["source"][:n]
    rows = {"masks": (source[:, :0], test.masks[:n]), "source (MR)": (source, None),
            ("real target (CT)" if evaluated.get("paired", True) else "real CT (other patients)"):
                (evaluated["target"][:n], None)}
    rows.update({method: (images[:n], None) for method, images in evaluated["examples"].items()})
    return rows
