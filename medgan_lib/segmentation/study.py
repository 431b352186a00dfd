"""skandarani2023 Table 2 conditions: which training sets, one U-Net per (condition, seed), results as
``dice`` rows; a condition whose config hash already has a row is skipped on rerun. Beside the paper's rows,
SPADE sampled on masks of a masks-only GAN (issue #4): the variant conditioned on no training patient's mask."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from tqdm.auto import tqdm

from medgan_lib.data.dataset import PreparedDataset
from medgan_lib.hashing import hash_inputs
from medgan_lib.results import append_result, read_results, study_path
from medgan_lib.samples import SampleSet
from medgan_lib.segmentation.data import check_disjoint, synthetic_arrays
from medgan_lib.segmentation.train import SegConfig, evaluate, train_unet
from medgan_lib.segmentation.unet import save_unet

# "synthetic_gan_masks": SPADE's images generated for the masks of the study's masks-only GAN run (the sample
# set's meta names it), instead of the training masks of skandarani's "synthetic" SPADE row.
KINDS = ("real", "augmented", "synthetic", "synthetic_gan_masks", "real+synthetic")
SYNTHETIC_ONLY = ("synthetic", "synthetic_gan_masks")
GAN_NAMES = {"vanilla": "Vanilla GAN", "dcgan": "DCGAN", "lsgan": "LSGAN", "wgan": "WGAN", "wgan_gp": "WGAN-GP",
             "hinge": "HingeGAN", "spade": "SPADE GAN", "stylegan2": "StyleGAN"}


@dataclasses.dataclass(frozen=True)
class Condition:
    """One row of Table 2: ``kind`` in KINDS; ``gan``/``run``/``samples`` for the synthetic kinds."""

    kind: str
    gan: str | None = None
    run: str | None = None
    samples: str | None = None  # path of the SampleSet

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"condition kind {self.kind!r} is unknown; valid: {list(KINDS)}")
        if ("synthetic" in self.kind) != (self.samples is not None):
            raise ValueError(f"condition {self.kind!r}: a sample set is needed exactly for the synthetic kinds")

    @property
    def label(self) -> str:
        """The paper's row name."""
        gan = GAN_NAMES.get(self.gan or "", self.gan)
        return {"real": "Original Data", "augmented": "Augmented Original Data", "synthetic": gan,
                "synthetic_gan_masks": f"{gan} on GAN-generated masks", "real+synthetic": f"Orig. Data + {gan}"}[self.kind]


def run_condition(condition: Condition, train: PreparedDataset, val: PreparedDataset, test: PreparedDataset,
                  config: SegConfig, seed: int, study_dir: str | Path | None = None, progress: bool = False) -> dict:
    """Train and evaluate one U-Net (or return the stored row of the same config hash)."""
    check_disjoint(train, val, test)
    samples = SampleSet(condition.samples) if condition.samples else None
    key = hash_inputs(dataclasses.asdict(condition), samples.meta if samples else None, train.meta.get("hash"),
                      val.meta.get("hash"), test.meta.get("hash"), len(train), {**dataclasses.asdict(config), "device": None,
                                                       "n_synthetic": config.n_synthetic if samples else None},
                      seed)
    done = read_results(study_dir, "dice")
    if not done.empty and "config_hash" in done and (done["config_hash"] == key).any():
        return done[done["config_hash"] == key].iloc[-1].to_dict()
    images, masks = train.images, train.masks
    if samples is not None:
        syn_images, syn_masks = synthetic_arrays(samples, train, config.n_synthetic)
        if condition.kind in SYNTHETIC_ONLY:
            images, masks = syn_images, syn_masks
        else:
            images, masks = np.concatenate([images, syn_images]), np.concatenate([masks, syn_masks])
    model, history = train_unet(images, masks, val, config, seed, augmented=condition.kind == "augmented",
                                progress=progress)
    scores = evaluate(model, test)
    name = f"{train.name}-{condition.kind.replace('+', '_')}{'-' + condition.gan if condition.gan else ''}-s{seed}-{key}"
    checkpoint = save_unet(study_path(study_dir) / "unet" / name / "model.pt", model, label_names=train.label_names,
                           condition=dataclasses.asdict(condition), config=dataclasses.asdict(config), seed=seed,
                           dataset=train.name, config_hash=key)
    row = {"dataset": train.name, "condition": condition.kind, "label": condition.label, "gan": condition.gan,
           "run": condition.run, "mask_run": samples.meta.get("mask_run") if samples else None,
           "mask_gan": samples.meta.get("mask_gan") if samples else None, "seed": seed, "iterations": config.iterations, "batch_size": config.batch_size,
           "n_train": len(images), "n_test": len(test), **{k: v for k, v in scores.items()},
           "best_iteration": history["best_iteration"], "val_dice": history["best_val_dice"],
           "train_seconds": round(history["train_seconds"], 2), "checkpoint": str(checkpoint),
           "config": dataclasses.asdict(config), "config_hash": key}
    return append_result(study_dir, "dice", row)


def table2_conditions(study_dir: str | Path | None, dataset: str, gans: list[str], mix_gans: list[str],
                      runs: list[str], n_synthetic: int, sample_seed: int = 0) -> list[Condition]:
    """Real, augmented, each GAN's synthetic set (latest finished run per GAN, or the named ``runs``), for a
    mask-conditioned GAN (SPADE) also its set drawn on the masks of the latest masks-only GAN run of the same
    data (if the study has one; ``runs`` may name it), and real + each of ``mix_gans``; sets are drawn with
    ``training.sample`` (cached in the run)."""
    from medgan_lib.gans import GANS
    from medgan_lib.training import find_runs, sample

    conditions = [Condition("real"), Condition("augmented")]
    found = {}
    for run_dir in find_runs(study_dir, dataset=dataset):
        config = json.loads((run_dir / "config.json").read_text())
        if (not runs or run_dir.name in runs) and (not gans or config["gan"] in gans):
            found[config["gan"]] = run_dir  # oldest first, so the latest run of a GAN wins
    mask_runs = [r for r in find_runs(study_dir, dataset=dataset, channels="masks") if not runs or r.name in runs]
    missing = sorted(set(runs) - {p.name for p in [*found.values(), *mask_runs]})
    if missing:
        raise FileNotFoundError(f"GAN run(s) {missing} not found (finished) in study {study_path(study_dir)}")
    for gan, run_dir in found.items():
        path = str(sample(run_dir, n_synthetic, seed=sample_seed).path)
        conditions.append(Condition("synthetic", gan, run_dir.name, path))
        mask_run = _latest_mask_run(mask_runs, run_dir) if GANS[gan].conditional else None
        if mask_run is not None:
            path = str(sample(run_dir, n_synthetic, seed=sample_seed, mask_source="gan", mask_run=mask_run).path)
            conditions.append(Condition("synthetic_gan_masks", gan, run_dir.name, path))
    for gan in mix_gans:
        if gan in found:
            conditions.append(Condition("real+synthetic", gan, found[gan].name,
                                        str(sample(found[gan], n_synthetic, seed=sample_seed).path)))
    return conditions


def _latest_mask_run(mask_runs: list[Path], run_dir: Path) -> Path | None:
    """The latest masks-only run trained at the resolution of ``run_dir`` (None if there is none)."""
    resolution = json.loads((run_dir / "config.json").read_text())["resolution"]
    same = [r for r in mask_runs if json.loads((r / "config.json").read_text())["resolution"] == resolution]
    return same[-1] if same else None


def run_dice_study(study_dir: str | Path | None = None, dataset: str = "cardiac_phantom", resolution: int = 64,
                   gans: list[str] | None = None, mix_gans: list[str] | None = None, runs: list[str] | None = None,
                   seeds: list[int] | None = None, config: SegConfig | None = None, count: int | None = None,
                   root: str | None = None) -> pd.DataFrame:
    """Every Table 2 condition x seed on ``dataset``; returns this study's dice rows of these configs."""
    from medgan_lib.data import prepare

    config = config or SegConfig()
    seeds = [0] if seeds is None else seeds
    train, val, test = (prepare(dataset, s, resolution, root=root, count=count) for s in ("train", "val", "test"))
    conditions = table2_conditions(study_dir, dataset, gans or [], ["spade", "stylegan2"] if mix_gans is None else mix_gans,
                                   runs or [], config.n_synthetic)
    rows = []
    for condition in tqdm(conditions, desc="conditions"):
        for seed in seeds:
            start = time.perf_counter()
            row = run_condition(condition, train, val, test, config, seed, study_dir)
            rows.append({**row, "seconds": round(time.perf_counter() - start, 1)})
    return pd.DataFrame(rows)


def real_unet(study_dir: str | Path | None = None, dataset: str = "cardiac_phantom", resolution: int = 64,
              seed: int = 0, config: SegConfig | None = None, count: int | None = None, root: str | None = None) -> Path:
    """Checkpoint of the U-Net trained on real data (trained now unless the same config exists): the
    network whose bottleneck features the U-Net FID uses. Load it with ``load_unet``."""
    from medgan_lib.data import prepare

    train, val, test = (prepare(dataset, s, resolution, root=root, count=count) for s in ("train", "val", "test"))
    return Path(run_condition(Condition("real"), train, val, test, config or SegConfig(), seed, study_dir)["checkpoint"])


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean ± std over seeds per condition, with two tests against the real-data baseline: Wilcoxon
    signed-rank over test patients (seed-averaged mean Dice, paired) and Welch's t over seeds."""
    structures = [c for c in rows.columns if c.startswith("dice_")]
    base = rows[rows["condition"] == "real"]
    base_patients = _patient_means(base)
    out = []
    for label, group in rows.groupby("label", sort=False):
        entry = {"condition": label, "kind": group["condition"].iloc[0], "gan": group["gan"].iloc[0],
                 "seeds": len(group)}
        for col in ["dice", *structures]:
            entry[f"{col}_mean"], entry[f"{col}_std"] = group[col].mean(), group[col].std(ddof=1)
        entry["p_wilcoxon"], entry["p_welch"] = np.nan, np.nan
        if not base.empty and group["condition"].iloc[0] != "real":
            diff = (_patient_means(group) - base_patients).dropna()
            if len(diff) and (diff != 0).any():
                entry["p_wilcoxon"] = float(stats.wilcoxon(diff).pvalue)
            if len(group) > 1 and len(base) > 1:
                entry["p_welch"] = float(stats.ttest_ind(group["dice"], base["dice"], equal_var=False).pvalue)
        out.append(entry)
    return pd.DataFrame(out)


def _patient_means(rows: pd.DataFrame) -> pd.Series:
    """Per test patient: mean Dice over structures, averaged over seeds."""
    per = [pd.Series(np.nanmean(np.asarray(r["per_patient"], dtype=float), axis=1), index=r["patients"])
           for _, r in rows.iterrows()]
    return pd.concat(per, axis=1).mean(axis=1) if per else pd.Series(dtype=float)


def find_unet(study_dir: str | Path | None = None, dataset: str = "cardiac_phantom", condition: str = "real") -> Path:
    """Checkpoint of the latest U-Net of ``condition`` on ``dataset`` in the study's ``dice`` results."""
    rows = read_results(study_dir, "dice")
    if not rows.empty:
        rows = rows[(rows["dataset"] == dataset) & (rows["condition"] == condition)]
    if rows.empty:
        raise FileNotFoundError(f"no '{condition}' U-Net for dataset '{dataset}' in study {study_path(study_dir)}; "
                                f"train one with real_unet() or notebook 04")
    return Path(rows.iloc[-1]["checkpoint"])
