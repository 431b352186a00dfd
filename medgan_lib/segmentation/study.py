"""skandarani2023 Table 2 conditions: which training sets, one U-Net per (condition, seed), results as
``dice`` rows; a condition whose config hash already has a row is skipped on rerun. Beside the paper's rows,
SPADE sampled on masks of a masks-only GAN (issue #4): the variant conditioned on no training patient's mask."""

from __future__ import annotations

import dataclasses
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from medgan_lib.config import name_list
from medgan_lib.data.dataset import PreparedDataset
from medgan_lib.data.spec import DataSpec
from medgan_lib.hashing import hash_inputs, sha256_file
from medgan_lib.names import condition_label
from medgan_lib.progress import tqdm
from medgan_lib.results import append_result, read_results, study_path
from medgan_lib.rows import CHECKPOINT_SHA256
from medgan_lib.samples import SampleSet
from medgan_lib.segmentation.data import check_disjoint, check_test_patients, synthetic_arrays
from medgan_lib.segmentation.train import SegConfig, evaluate, train_unet
from medgan_lib.segmentation.unet import save_unet
from medgan_lib.training.run import Run

# "synthetic_gan_masks": SPADE's images generated for the masks of the study's masks-only GAN run (the sample
# set's meta names it), instead of the training masks of skandarani's "synthetic" SPADE row.
KINDS = ("real", "augmented", "synthetic", "synthetic_gan_masks", "real+synthetic")
SYNTHETIC_ONLY = ("synthetic", "synthetic_gan_masks")


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
        return condition_label(self.kind, self.gan)


def run_condition(condition: Condition, train: PreparedDataset, val: PreparedDataset, test: PreparedDataset,
                  config: SegConfig, seed: int, study_dir: str | Path | None = None, progress: bool = False,
                  data_spec: DataSpec | None = None) -> dict:
    """Train and evaluate one U-Net (or return the stored row of the same config hash); ``data_spec`` (the
    splits' DataSpec) is recorded in the row."""
    check_disjoint(train, val, test)
    samples = SampleSet(condition.samples) if condition.samples else None
    key = hash_inputs(dataclasses.asdict(condition), samples.meta if samples else None, train.meta.get("hash"),
                      val.meta.get("hash"), test.meta.get("hash"), len(train), {**config.key(), "device": None,
                                                       "n_synthetic": config.n_synthetic if samples else None},
                      seed)
    done = read_results(study_dir, "dice")
    if not done.empty and "config_hash" in done and (done["config_hash"] == key).any():
        row = done[done["config_hash"] == key].iloc[-1].to_dict()
        problem = _checkpoint_problem(row)
        if problem is None:
            return row
        warnings.warn(f"U-Net checkpoint {row.get('checkpoint')} {problem}; training {condition.label} (seed {seed}) again")
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
                           dataset=train.name, config_hash=key,
                           history={k: history[k] for k in ("iteration", "loss", "val_dice")})
    row = {"dataset": train.name, "data_spec": data_spec.to_dict() if data_spec else None,
           "data_spec_hash": data_spec.hash if data_spec else None, "condition": condition.kind, "label": condition.label, "gan": condition.gan,
           "run": condition.run, "mask_run": samples.meta.get("mask_run") if samples else None,
           "mask_gan": samples.meta.get("mask_gan") if samples else None, "seed": seed, "iterations": config.iterations, "batch_size": config.batch_size,
           "n_train": len(images), "n_test": len(test), **{k: v for k, v in scores.items()},
           "best_iteration": history["best_iteration"], "val_dice": history["best_val_dice"],
           "train_seconds": round(history["train_seconds"], 2), "precision": history["precision"],
           "channels_last": history["channels_last"], "checkpoint": str(checkpoint),
           CHECKPOINT_SHA256: sha256_file(checkpoint),
           "config": dataclasses.asdict(config), "config_hash": key}
    return append_result(study_dir, "dice", row)


def _checkpoint_problem(row: dict) -> str | None:
    """Why a stored dice row's U-Net checkpoint cannot be reused (03's U-Net FID and 04's figures load it), or
    None: it must exist and, for rows that record it, match its SHA-256."""
    path = Path(str(row.get("checkpoint")))
    if not path.is_file():
        return "is missing"
    recorded = row.get(CHECKPOINT_SHA256)
    if isinstance(recorded, str) and sha256_file(path) != recorded:
        return "does not match the SHA-256 its dice row recorded (damaged or replaced)"
    return None


@dataclasses.dataclass
class DiceStudy:
    """What notebook 04 shows: the data the runs share, its test split, the leakage check (and any GAN runs left
    out) and the dice rows."""

    data: DataSpec
    test: PreparedDataset
    leakage: str
    rows: pd.DataFrame


def table2_conditions(study_dir: str | Path | None, dataset: str, gans: list[str], mix_gans: list[str],
                      runs: list[str], n_synthetic: int, sample_seed: int = 0) -> tuple[list[Condition], list[Run]]:
    """(conditions, the GAN runs they use): real, augmented, each GAN's synthetic set (one condition per GAN
    seed: the latest finished run of each, or the named ``runs``), for a mask-conditioned GAN (SPADE) also its set
    drawn on the masks of a masks-only GAN run of the same data (of the same seed when there is one; ``runs`` may
    name it), and real + each of ``mix_gans``. Sample sets come from ``Run.samples`` (written once per run and
    reused by every section)."""
    from medgan_lib.training import find_runs, latest_mask_run, latest_per_seed, runs_spec

    conditions = [Condition("real"), Condition("augmented")]
    found = latest_per_seed([r for r in find_runs(study_dir, dataset=dataset)
                             if (not runs or r.name in runs) and (not gans or r.gan_name in gans)])
    mask_runs = [r for r in find_runs(study_dir, dataset=dataset, channels="masks") if not runs or r.name in runs]
    missing = sorted(set(runs) - {r.name for r in [*found, *mask_runs]})
    if missing:
        raise FileNotFoundError(f"GAN run(s) {missing} not found (finished) in study {study_path(study_dir)}")
    if found:
        runs_spec(found)  # refuse runs of different data before drawing any samples
    used = list(found)
    for run in found:
        conditions.append(Condition("synthetic", run.gan_name, run.name, str(run.samples(n_synthetic, seed=sample_seed).path)))
        same_seed = [m for m in mask_runs if m.config.seed == run.config.seed]
        mask_run = latest_mask_run(run, among=same_seed or mask_runs) if run.conditional else None
        if mask_run is not None:
            path = str(run.samples(n_synthetic, seed=sample_seed, mask_source="gan", mask_run=mask_run).path)
            conditions.append(Condition("synthetic_gan_masks", run.gan_name, run.name, path))
            used.append(mask_run)
    for run in found:
        if run.gan_name in mix_gans:
            conditions.append(Condition("real+synthetic", run.gan_name, run.name,
                                        str(run.samples(n_synthetic, seed=sample_seed).path)))
    return conditions, used


def replicates(conditions: list[Condition], seeds: list[int]) -> list[tuple[Condition, int]]:
    """The (condition, U-Net seed) pairs to train: each seed once per Table 2 row. A GAN row with runs of k GAN
    seeds trains seed i on run i mod k, so with as many U-Net seeds as GAN seeds every GAN seed is one replicate
    and the row's spread holds both sources of variance at the cost of the U-Net seeds alone (ours)."""
    rows: dict[str, list[Condition]] = {}
    for condition in conditions:
        rows.setdefault(condition.label, []).append(condition)
    return [(group[i % len(group)], seed) for group in rows.values() for i, seed in enumerate(seeds)]


def unused_runs(conditions: list[Condition], seeds: list[int]) -> list[str]:
    """GAN runs of ``conditions`` that ``replicates`` leaves out (more GAN seeds than U-Net seeds)."""
    trained = {condition.run for condition, _ in replicates(conditions, seeds)}
    return sorted({c.run for c in conditions if c.run is not None} - trained)


def run_dice_study(study_dir: str | Path | None = None, dataset: str = "cardiac_phantom", gans: list[str] | None = None,
                   mix_gans: list[str] | None = None, runs: list[str] | None = None, seeds: list[int] | None = None,
                   config: SegConfig | None = None) -> DiceStudy:
    """Every Table 2 condition x seed. The data (train/val/test splits) are the ones the GAN runs were trained on
    (``runs_spec`` refuses runs of different data, naming them; a study without GAN runs uses notebook 01's);
    no test patient may be among any GAN's training patients."""
    from medgan_lib.training import runs_spec

    config = config or SegConfig()
    seeds = [0] if seeds is None else seeds
    mix_gans = ["spade", "stylegan2"] if mix_gans is None else mix_gans
    conditions, used = table2_conditions(study_dir, dataset, name_list(gans or [], "gans"),
                                         name_list(mix_gans, "mix_gans"), name_list(runs or [], "runs"),
                                         config.n_synthetic)
    data = runs_spec(used) if used else study_data(study_dir, dataset)
    train, val, test = (data.prepare(s) for s in ("train", "val", "test"))
    leakage = check_test_patients(test, used)
    if test.num_classes < 2:  # image-only data (chest X-ray, MURA): nothing to segment, no Table 2
        return DiceStudy(data, test, f"dataset '{data.dataset}' has no segmentation masks, so there is no U-Net "
                                     f"Dice to compute (Table 2 needs masks). {leakage}", pd.DataFrame())
    unused = unused_runs(conditions, seeds)
    if unused:
        leakage += (f"\nGAN runs not used (more GAN seeds than the {len(seeds)} U-Net seed(s); give n_seeds >= the "
                    f"number of GAN seeds): {', '.join(unused)}")
    rows = []
    for condition, seed in tqdm(replicates(conditions, seeds), desc="U-Nets"):
        start = time.perf_counter()
        row = run_condition(condition, train, val, test, config, seed, study_dir, data_spec=data)
        rows.append({**row, "seconds": round(time.perf_counter() - start, 1)})
    return DiceStudy(data, test, leakage, pd.DataFrame(rows))


def study_data(study_dir: str | Path | None, dataset: str) -> DataSpec:
    """The DataSpec notebook 01 prepared for ``dataset`` in this study (its latest ``data`` row)."""
    rows = read_results(study_dir, "data")
    rows = rows[(rows["dataset"] == dataset) & rows["data_spec"].notna()]  # rows from before DataSpec name none
    if rows.empty:
        raise FileNotFoundError(f"study {study_path(study_dir)} has no GAN runs and no data prepared for "
                                f"'{dataset}': run notebooks 01 and 02 first")
    return DataSpec.from_dict(rows.iloc[-1]["data_spec"])


def real_unet(study_dir: str | Path | None = None, data: DataSpec | None = None, seed: int = 0,
              config: SegConfig | None = None) -> Path:
    """Checkpoint of the U-Net trained on ``data``'s real training split (trained now unless the same config
    exists): the network whose bottleneck features the U-Net FID uses. Load it with ``load_unet``."""
    data = data or DataSpec()
    train, val, test = (data.prepare(s) for s in ("train", "val", "test"))
    row = run_condition(Condition("real"), train, val, test, config or SegConfig(), seed, study_dir, data_spec=data)
    return Path(row["checkpoint"])


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean ± std over seeds per condition, with two tests against the real-data baseline: Wilcoxon
    signed-rank over test patients (seed-averaged mean Dice, paired) and Welch's t over seeds (empty rows: empty)."""
    if rows.empty:
        return pd.DataFrame()
    structures = [c for c in rows.columns if c.startswith("dice_")]
    base = rows[rows["condition"] == "real"]
    base_patients = patient_means(base)
    out = []
    for label, group in rows.groupby("label", sort=False):
        entry = {"condition": label, "kind": group["condition"].iloc[0], "gan": group["gan"].iloc[0],
                 "seeds": len(group)}
        for col in ["dice", *structures]:
            entry[f"{col}_mean"], entry[f"{col}_std"] = group[col].mean(), group[col].std(ddof=1)
        entry["p_wilcoxon"], entry["p_welch"] = np.nan, np.nan
        if not base.empty and group["condition"].iloc[0] != "real":
            diff = (patient_means(group) - base_patients).dropna()
            if len(diff) and (diff != 0).any():
                entry["p_wilcoxon"] = float(stats.wilcoxon(diff).pvalue)
            if len(group) > 1 and len(base) > 1:
                entry["p_welch"] = float(stats.ttest_ind(group["dice"], base["dice"], equal_var=False).pvalue)
        out.append(entry)
    return pd.DataFrame(out)


def patient_means(rows: pd.DataFrame) -> pd.Series:
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


def dice_notes(table: pd.DataFrame) -> list[str]:
    """"What to notice" lines written from a ``summary`` table: the best synthetic-only GAN and its gap to real
    data, the GANs below half of it, and whether adding synthetic images beat the real data alone."""
    if table.empty or "real" not in set(table["kind"]):
        return []
    real = float(table.loc[table["kind"] == "real", "dice_mean"].iloc[0])
    notes = [f"real data alone: Dice {real:.2f}."]
    synthetic = table[table["kind"] == "synthetic"].sort_values("dice_mean", ascending=False)
    if len(synthetic):
        best = synthetic.iloc[0]
        notes.append(f"best synthetic-only training set: {best['condition']} at {best['dice_mean']:.2f}, "
                     f"{real - best['dice_mean']:.2f} below real data"
                     + (f" (Wilcoxon over test patients p = {best['p_wilcoxon']:.2g})" if np.isfinite(best["p_wilcoxon"])
                        else "") + ".")
        weak = synthetic[synthetic["dice_mean"] < real / 2]
        if len(weak):
            notes.append(f"below half of real data: {', '.join(weak['condition'])}: their images or masks do not "
                         f"teach a U-Net the anatomy (look at their samples in 02 and 03).")
        if (synthetic["seeds"] == 1).all():
            notes.append("each GAN row is one GAN run and one U-Net: the GAN seed alone can move a simple GAN's "
                         "Dice by more than the gaps between GANs, so this order is not a ranking (the course "
                         "profile trains every GAN over 3 seeds).")
    mixed = table[table["kind"] == "real+synthetic"]
    for _, row in mixed.iterrows():
        change = row["dice_mean"] - real
        verdict = "adds" if change > 0 else "costs"
        notes.append(f"{row['condition']}: {verdict} {abs(change):.3f} Dice over real data alone"
                     + (f" (p = {row['p_wilcoxon']:.2g}; one seed: read it as a trend)" if row["seeds"] == 1 and
                        np.isfinite(row["p_wilcoxon"]) else "") + ".")
    return notes
