"""Study-level evaluation steps of notebook 03: domain extractors, every GAN run, metric validation, Figure 7.

Each function is one notebook step; all heavy work is cached (features by content hash, the reference
U-Net and MedFID by their inputs' hash, samples in the run folders), so re-running costs seconds.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from medgan_lib.data.dataset import PreparedDataset
from medgan_lib.data.spec import DataSpec
from medgan_lib.metrics.compare import Comparison, paired_fid_bootstrap, paired_kid_bootstrap
from medgan_lib.metrics.evaluate import (calibrate_audit, evaluate_run, fake_images, real_subset,
                                         resolve_extractors)
from medgan_lib.metrics.embedding import umap_projection
from medgan_lib.metrics.features import extract_features
from medgan_lib.metrics.medfid import MedFIDConfig, load_medfid, train_medfid
from medgan_lib.metrics.validation import correlation_table, distortion_sweep
from medgan_lib.progress import tqdm
from medgan_lib.runtime import precision, select_device
from medgan_lib.results import append_result, read_results
from medgan_lib.rows import (BLACK_BOX_AUC, BLACK_BOX_HIGH, BLACK_BOX_LOW, COMPARED, DATASET, DETECTED, DETECTED_KIND,
                             EXTRACTOR, FEATURE_MODE_COLLAPSE, FEATURE_NEAR_COPY_SHARE, FEATURE_NN_RATIO, FLAGGED_OWN,
                             GAN, MASK_COPY_SHARE, MASK_NN_DICE, MEMBERS, METRIC, N, PIXEL_DIVERSITY_RATIO,
                             PIXEL_MODE_COLLAPSE, PIXEL_NEAR_COPY_SHARE, PIXEL_NN_RATIO, PLANTED, QUANTILE, RANK,
                             RANKING_STABILITY, RANK_RESOLVED, REPLICATES, REPS, RUN, SEED, SHARE, SPACE,
                             WHITE_BOX_AUC, WHITE_BOX_HIGH, WHITE_BOX_LOW)


def domain_extractors(data: DataSpec, extractors: Iterable[str], unet: str = "", study_dir: str = "",
                      unet_config: "SegConfig | None" = None, medfid_config: MedFIDConfig | None = None,
                      device: str = "auto", feature_amp: bool = False) -> dict[str, dict[str, Any]]:
    """Options for the extractors named in ``extractors``: ``unet`` uses the given U-Net checkpoint,
    else the study's U-Net trained on the real data (``segmentation.real_unet``: trained now, or the one
    notebook 04 reuses as its "Original Data" row); ``medfid`` trains (or reuses) the MedFID extractor of
    ``medfid_config`` (see ``medfid_config``). ``feature_amp`` on CUDA makes every extractor compute in bf16/fp16
    (``runtime.precision``): faster, but those FIDs are not the standard ones and their rows say so."""
    from medgan_lib.segmentation import real_unet

    chosen = precision(feature_amp, select_device(device))
    options: dict[str, dict[str, Any]] = {name: {"precision": chosen} for name in extractors if chosen != "fp32"}
    if "unet" in extractors:
        options.setdefault("unet", {})["unet"] = Path(unet) if unet else real_unet(study_dir, data, config=unet_config)
    if "medfid" in extractors:
        path = train_medfid(medfid_config, device=device)
        print(medfid_accuracy_text(path))
        options.setdefault("medfid", {})["checkpoint"] = path
    return options


def medfid_accuracy_text(checkpoint: str | os.PathLike) -> str:
    """A trained MedFID's classification accuracy beside chetty's (Appendix A: on their 7 MURA + LERA classes)."""
    from medgan_lib.reference import published
    from medgan_lib.tables import number

    _, record = load_medfid(Path(checkpoint))
    finetune = record.get("finetune")
    stage = (f"head and fine-tuned {finetune['blocks']} ({finetune['epochs']} epochs, lr {finetune['lr']}; "
             f"head-only accuracy {finetune['accuracy_head_only']})" if finetune else "head on frozen Inception")
    acc = record["accuracy"]
    held_out = f" on {record['n_test']} held-out images" if "n_test" in record else ""
    return (f"MedFID {stage}: {len(record['classes'])} classes ({', '.join(record['classes'])}); accuracy "
            f"{number(acc.get('test'))}{held_out} (training images {number(acc.get('train'))}). chetty2023, on "
            f"their data: {published('chetty2023', 'medfid_accuracy_head')} head only, "
            f"{published('chetty2023', 'medfid_accuracy_finetuned')} fine-tuned.")


def usable_extractors(extractors: Iterable[str], real: PreparedDataset) -> list[str]:
    """``extractors`` less those the data cannot support, each with a printed reason: the U-Net FID needs a
    U-Net trained to segment the real data, so image-only datasets (chest X-ray, MURA) have none."""
    kept = list(extractors)
    if "unet" in kept and real.num_classes < 2:
        kept.remove("unet")
        print(f"U-Net FID left out: dataset '{real.name}' has no segmentation masks to train its U-Net on")
    if not kept:
        raise ValueError(f"no feature extractor left for dataset '{real.name}' (asked for {list(extractors)})")
    return kept


def medfid_config(mura_root: str = "", **values: Any) -> MedFIDConfig:
    """MedFID training settings from notebook parameters: trained on the MURA-v1.1 body parts under
    ``mura_root``, or ("") on the phantom kinds; other fields as in ``config_from``."""
    return config_from(MedFIDConfig, **values, data="mura" if mura_root else "phantoms", mura_root=mura_root)


def evaluate_runs(runs: Iterable[str | os.PathLike], real: PreparedDataset, heldout: PreparedDataset, n: int,
                  extractors: Iterable[str], extractor_options: dict[str, dict[str, Any]], study_dir: str = "",
                  n_real: int | None = 200, n_heldout: int | None = 64, seed: int = 0, bootstrap_reps: int = 100,
                  device: str = "auto") -> dict[str, dict[str, Any]]:
    """``evaluate_run`` for every run (real features computed once, then cached); run name -> its output."""
    extractors = resolve_extractors(extractors, extractor_options)
    out = {}
    for run_dir in tqdm(list(runs), desc="GAN runs"):
        out[Path(run_dir).name] = evaluate_run(run_dir, real, n, extractors, study_dir, seed, n_real, heldout,
                                               n_heldout, bootstrap_reps=bootstrap_reps, device=device)
    return out


def validate_metrics(real: PreparedDataset, heldout: PreparedDataset, extractors: Iterable[str],
                     extractor_options: dict[str, dict[str, Any]], n_real: int | None = 200,
                     n_heldout: int | None = 64, strengths: Iterable[float] = (0.0, 0.5, 1.0), seed: int = 0,
                     device: str = "auto", data: DataSpec | None = None, study_dir: str | None = None,
                     protocol: str = "ours") -> tuple[pd.DataFrame, pd.DataFrame]:
    """chetty Tables 5-6 on our data: (sweep rows, Pearson r/p of FID with distortion strength per extractor), the
    levels on ``protocol``'s scale ("ours" or "chetty"'s). With ``data`` and ``study_dir`` the sweep is recorded as
    ``distortion`` result rows (the findings read them)."""
    sweep = distortion_sweep(real_subset(real, n_real, seed), real_subset(heldout, n_heldout, seed),
                             resolve_extractors(extractors, extractor_options), tuple(strengths), seed=seed,
                             device=device, protocol=protocol)
    if data is not None and study_dir is not None:
        for row in sweep.to_dict("records"):
            append_result(study_dir, "distortion", {**row, "dataset": data.dataset, "data_spec_hash": data.hash,
                                                    "seed": seed})
    return sweep, correlation_table(sweep)


def beside_chetty(correlations: pd.DataFrame) -> pd.DataFrame:
    """``validate_metrics``'s correlation table with chetty's Table 6 (MedFID on their elbow X-rays, theirs) as one
    more extractor column."""
    from medgan_lib.reference import reference_file

    theirs = pd.read_csv(reference_file("chetty2023_table6_medfid_distortions.csv"), comment="#").set_index("distortion")
    out = correlations.copy()
    label = "chetty2023 MedFID (theirs)"
    for value in ("pearson_r", "p_value"):
        out[(value, label)] = theirs[value].reindex(out.index)
    return out.sort_index(axis=1, level=0, sort_remaining=False)


def compare_runs(runs: dict[str, dict[str, Any]], real: PreparedDataset, extractor_options: dict[str, dict[str, Any]],
                 spaces: Iterable[str], n_real: int | None = 200, seed: int = 0, reps: int = 200,
                 device: str = "auto", study_dir: str | None = None) -> dict[str, Comparison]:
    """The evaluated runs (``evaluate_runs``' output) compared in each feature space by a paired FID bootstrap,
    and in Inception space also by KID ("inception KID", the same resamples), on the features 03 already
    extracted (read from the cache). A GAN with several runs is named with its seed. With ``study_dir`` each
    run's rank by each metric is recorded as a ``fid_rank`` row with its replicates (Table 2 marks unresolved
    FID ranks; ``study.agreement`` pairs the replicates across metrics)."""
    from medgan_lib.names import gan_name

    spaces = list(spaces)
    reference = real_subset(real, n_real, seed)
    out = {}
    for space, extractor in zip(spaces, resolve_extractors(spaces, extractor_options)):
        rows = [row for result in runs.values() for row in result["fid"] if row["extractor"] == space]
        if len(rows) < 2:
            continue
        seeds_per_gan = pd.Series([row["gan"] for row in rows]).value_counts()
        named = {gan_name(row["gan"]) + (f" s{row['train_seed']}" if seeds_per_gan[row["gan"]] > 1 else ""): row
                 for row in rows}
        fakes = {name: extract_features(fake_images(row["samples"], int(row["n"])), extractor, device=device)
                 for name, row in named.items()}
        real_features = extract_features(reference, extractor, device=device)
        comparisons = {space: paired_fid_bootstrap(real_features, fakes, reps, seed, infinity=True)}
        if space == "inception":
            comparisons[f"{space} KID"] = paired_kid_bootstrap(real_features, fakes, reps, seed)
        out.update(comparisons)
        for comparison in comparisons.values() if study_dir is not None else ():
            stability = comparison.ranking_stability()
            for rank in comparison.ranks().to_dict("records"):
                row, column = named[rank["GAN"]], comparison.names.index(rank["GAN"])
                append_result(study_dir, "fid_rank", {
                    DATASET: row["dataset"], GAN: row["gan"], RUN: row["run"], SEED: seed, EXTRACTOR: space,
                    METRIC: comparison.metric, N: int(row["n"]), RANK: int(rank["rank"]),
                    RANK_RESOLVED: bool(rank["rank resolved"]), COMPARED: len(named), RANKING_STABILITY: stability,
                    REPS: reps, REPLICATES: [float(v) for v in comparison.reps[:, column]]})
    return out


def comparison_table(comparisons: dict[str, Comparison]) -> pd.DataFrame:
    """Per feature space and metric the GANs best first: the value [interval], whether each rank is resolved at
    this n, and for FID its value extrapolated to n -> infinity (FD∞, comparable across studies of different n)."""
    rows = [{"space": space, "metric": c.metric, "rank": r["rank"], "GAN": r["GAN"],
             "value [95 % interval]": f"{r[c.metric]:.3g} [{r['low']:.3g}, {r['high']:.3g}]",
             "rank resolved": "yes" if r["rank resolved"] else "no",
             "FD∞ (n → ∞)": None if r["FD∞"] is None else f"{r['FD∞'].value:.3g} [{r['FD∞'].low:.3g}, {r['FD∞'].high:.3g}]"}
            for space, c in comparisons.items() for r in c.ranks().to_dict("records")]
    return pd.DataFrame(rows, columns=["space", "metric", "rank", "GAN", "value [95 % interval]", "rank resolved",
                                       "FD∞ (n → ∞)"])


def comparison_notes(comparisons: dict[str, Comparison]) -> list[str]:
    """"What to notice" per feature space: how many pairwise differences the paired bootstrap resolves at this n,
    which neighbouring ranks it cannot tell apart, and how often the whole ranking survives a resample."""
    notes = []
    for space, comparison in comparisons.items():
        pairs = comparison.pairs()
        ranks = comparison.ranks()
        order = list(ranks["GAN"])
        neighbours = [pairs[(pairs["better"] == a) & (pairs["worse"] == b)].iloc[0] for a, b in zip(order, order[1:])]
        unresolved = [f"{pair['better']} / {pair['worse']} (about {pair['n to resolve']:.0f} images each would)"
                      if np.isfinite(pair["n to resolve"]) else f"{pair['better']} / {pair['worse']}"
                      for pair in neighbours if not pair["resolved"]]
        notes.append(f"{space}: {int(pairs['resolved'].sum())} of {len(pairs)} pairwise differences resolved at "
                     f"n = {comparison.n_fake} generated / {comparison.n_real} real ({comparison.level:.0%} paired "
                     f"bootstrap, {len(comparison.reps)} resamples); the whole ranking is the same in "
                     f"{comparison.ranking_stability():.0%} of resamples"
                     + (f"; neighbours it cannot order: {', '.join(unresolved)}" if unresolved else "") + ".")
    return notes


def figure7_panels(study_dir: str, real: PreparedDataset, runs: dict[str, dict[str, Any]],
                   extractor_options: dict[str, dict[str, Any]], spaces: Iterable[str] = ("inception", "unet"),
                   n_real: int | None = 200, seed: int = 0, device: str = "auto") -> dict[str, pd.DataFrame]:
    """UMAP of real vs generated features for the best and worst GAN by FID (first space ranks them),
    in each feature space (skandarani Figure 7: Inception top row, U-Net bottom row)."""
    spaces = list(spaces)
    fid = pd.DataFrame([row for out in runs.values() for row in out["fid"] if row["extractor"] == spaces[0]])
    if fid.empty:
        raise ValueError(f"no FID rows for extractor '{spaces[0]}' among the evaluated runs")
    ranked = fid.sort_values("fid")
    picks = {"best": ranked.iloc[0], "worst": ranked.iloc[-1]} if len(ranked) > 1 else {"only": ranked.iloc[0]}
    reference = real_subset(real, n_real, seed)
    panels = {}
    for space, extractor in zip(spaces, resolve_extractors(spaces, extractor_options)):
        real_f = extract_features(reference, extractor, device=device)
        for label, row in picks.items():
            fake_f = extract_features(fake_images(row["samples"], int(row["n"])), extractor, device=device)
            panels[f"{space} space: {row['gan']} ({label}, FID {row['fid']:.1f})"] = umap_projection(real_f, fake_f, seed)
    return panels


def memorization_summary(study_dir: str = "", dataset: str | None = None) -> pd.DataFrame:
    """The latest memorisation row per run and feature space, with the columns that answer "does it copy /
    collapse?" (pixel columns are the same in every space's row)."""
    memo = read_results(study_dir, "memorization")
    if dataset is not None:
        memo = memo[memo[DATASET] == dataset]
    columns = [GAN, RUN, N, EXTRACTOR, PIXEL_NEAR_COPY_SHARE, PIXEL_NN_RATIO, FEATURE_NEAR_COPY_SHARE, FEATURE_NN_RATIO,
               PIXEL_DIVERSITY_RATIO, PIXEL_MODE_COLLAPSE, FEATURE_MODE_COLLAPSE, QUANTILE]
    return memo.drop_duplicates([RUN, EXTRACTOR], keep="last")[columns].reset_index(drop=True)


def memorization_notes(summary: pd.DataFrame) -> list[str]:
    """One "what to notice" line per run of ``memorization_summary``, written from its numbers: many pixel
    near-copies with a collapsed diversity is a GAN drawing a few mean-like images, not one reproducing training
    images; near-copies with a real-like diversity is memorisation."""
    from medgan_lib.diversity import COLLAPSE_RATIO

    notes = []
    for _, row in summary.drop_duplicates(RUN).iterrows():
        share, expected, ratio = row[PIXEL_NEAR_COPY_SHARE], row[QUANTILE], row[PIXEL_DIVERSITY_RATIO]
        many = share > 3 * expected
        if many and ratio < COLLAPSE_RATIO:
            text = (f"{share:.0%} of its images are pixel near-copies (about {expected:.0%} expected), but their "
                    f"diversity is {ratio:.2f} x the real set's: it collapsed to a few mean-like images, which sit "
                    f"near many training images; that is mode collapse, not memorisation")
        elif many:
            text = (f"{share:.0%} pixel near-copies (about {expected:.0%} expected) with a real-like diversity "
                    f"({ratio:.2f} x): it reproduces training images; the nearest-neighbour panel below shows which")
        elif ratio < COLLAPSE_RATIO:
            text = f"diversity {ratio:.2f} x the real set's: mode collapse, without copying ({share:.0%} near-copies)"
        else:
            text = (f"no sign of copying ({share:.0%} near-copies, about {expected:.0%} expected) or of collapse "
                    f"(diversity {ratio:.2f} x)")
        notes.append(f"{row[GAN]} ({row[RUN]}): {text}.")
    return notes


def privacy_summary(rows: pd.DataFrame, dataset: str | None = None) -> pd.DataFrame:
    """From ``privacy`` result rows, the latest per run: the membership-inference AUCs with their intervals and
    verdicts, and the masks' reuse of training anatomy (03 and the index show it)."""
    from medgan_lib.metrics.privacy import membership_verdict
    from medgan_lib.stats import Estimate

    if rows.empty:
        return pd.DataFrame()
    if dataset is not None:
        rows = rows[rows[DATASET] == dataset]
    rows = rows.drop_duplicates(RUN, keep="last")
    out = []
    for row in rows.to_dict("records"):
        entry = {GAN: row[GAN], RUN: row[RUN], "members": row[MEMBERS]}
        for name, (auc, low, high) in {"white-box": (WHITE_BOX_AUC, WHITE_BOX_LOW, WHITE_BOX_HIGH),
                                       "black-box": (BLACK_BOX_AUC, BLACK_BOX_LOW, BLACK_BOX_HIGH)}.items():
            estimate = Estimate(row[auc], row[low], row[high], 2 * int(row[MEMBERS]))
            entry[f"{name} AUC"] = f"{estimate.value:.2f} [{estimate.low:.2f}, {estimate.high:.2f}]"
            entry[f"{name}"] = membership_verdict(estimate)
        entry["mask NN Dice (median)"], entry["mask copies"] = row.get(MASK_NN_DICE), row.get(MASK_COPY_SHARE)
        out.append(entry)
    return pd.DataFrame(out)


def privacy_notes(summary: pd.DataFrame) -> list[str]:
    """"What to notice" from ``privacy_summary``: which runs leak membership to which attack, and which reuse
    training anatomy (SPADE on training masks does, by construction)."""
    from medgan_lib.metrics.privacy import MASK_COPY_DICE
    from medgan_lib.names import gan_name

    if summary.empty:
        return []
    notes = []
    for attack in ("white-box", "black-box"):
        leaking = ", ".join(gan_name(g) for g in summary[summary[attack] == "leaks"][GAN])
        notes.append(f"{attack}: " + (f"the attack tells training images from held-out ones for {leaking} (AUC "
                                      f"interval above 0.5)" if leaking else
                                      "no run's training images can be told from held-out ones at this n"))
    copies = ", ".join(gan_name(g) for g in summary[pd.to_numeric(summary["mask copies"], errors="coerce") > 0.5][GAN])
    if copies:
        notes.append(f"anatomy reuse: most masks of {copies} are within Dice {MASK_COPY_DICE} of a training mask; "
                     f"their images carry training patients' anatomy, whatever the image audit says")
    return [note + "." for note in notes]


def audit_calibration(runs: dict[str, dict[str, Any]], real: PreparedDataset, heldout: PreparedDataset,
                      extractor_options: dict[str, dict[str, Any]], spaces: Iterable[str], n: int,
                      n_real: int | None = 200, n_heldout: int | None = 64, seed: int = 0, device: str = "auto",
                      study_dir: str | None = None, quantile: float = 0.05) -> tuple[str, pd.DataFrame]:
    """(run, ``calibrate_audit`` table) for the evaluated run with the lowest FID in the first space: the most
    realistic synthetic set, among whose images planted copies are hardest to tell apart. With ``study_dir`` each
    row of the table is a ``calibration`` result (the index shows the curve)."""
    spaces = list(spaces)
    rows = [row for result in runs.values() for row in result["fid"] if row["extractor"] == spaces[0]]
    best = min(rows, key=lambda row: row["fid"])
    table = calibrate_audit(real, heldout, best["samples"], resolve_extractors(spaces, extractor_options),
                            n=int(best["n"]), n_real=n_real, n_heldout=n_heldout, seed=seed, quantile=quantile,
                            device=device)
    for row in table.to_dict("records") if study_dir is not None else ():
        append_result(study_dir, "calibration", {DATASET: best["dataset"], GAN: best["gan"], RUN: best["run"],
                                                 SEED: seed, N: int(best["n"]), QUANTILE: quantile, **row})
    return best["run"], table


def calibration_summary(rows: pd.DataFrame, dataset: str | None = None) -> tuple[str, pd.DataFrame]:
    """(run, table) of the run calibrated last among ``calibration`` result rows, the table as
    ``audit_calibration`` returned it: what the index shows."""
    if rows.empty:
        return "", pd.DataFrame()
    if dataset is not None:
        rows = rows[rows[DATASET] == dataset]
    if rows.empty:
        return "", pd.DataFrame()
    run = str(rows[RUN].iloc[-1])
    table = rows[rows[RUN] == run].drop_duplicates([SPACE, SHARE], keep="last").sort_values(SHARE, kind="stable")
    return run, table.drop(columns=[DATASET, GAN, RUN, SEED, N]).reset_index(drop=True)


def calibration_notes(table: pd.DataFrame, quantile: float = 0.05) -> list[str]:
    """"What to notice" per feature space of ``audit_calibration``'s table: how many planted near-copies the
    audit catches at each planted share, which kinds it misses, and how often it flags the GAN's own images."""
    from medgan_lib.metrics.memorization import NEAR_COPY_KINDS

    notes = []
    for space, rows in table.groupby(SPACE, sort=False):
        planted = rows[rows[PLANTED] > 0]
        caught = ", ".join(f"{row[DETECTED]:.0%} of {int(row[PLANTED])} at {row[SHARE]:.0%}"
                           for row in planted.to_dict("records"))
        most = planted.iloc[-1] if len(planted) else None
        missed = [kind for kind in NEAR_COPY_KINDS if most is not None and most[DETECTED_KIND.format(kind)] < 0.5]
        own = rows[rows[PLANTED] == 0][FLAGGED_OWN]
        notes.append(f"{space}: catches {caught or 'nothing planted'}"
                     + (f"; misses most {', '.join(missed)} copies" if missed else "")
                     + (f"; with nothing planted it flags {own.iloc[0]:.0%} of the GAN's images (about {quantile:.0%} "
                        f"is expected of images it did not copy)" if len(own) else "") + ".")
    return notes


def config_from(cls: type, **values: Any) -> Any:
    """A config dataclass from notebook parameters (only the given, non-None fields)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in values.items() if k in names and v is not None})


def sample_images(runs: dict[str, dict[str, Any]], run: str, n: int | None = None) -> np.ndarray:
    """The synthetic images a run was evaluated on (for the memorisation panel): the first ``n`` of its sample set
    (by default the row's n; the set itself may be larger, shared with other sections)."""
    row = runs[run]["fid"][0]
    return fake_images(row["samples"], int(row["n"]) if n is None else n)


def select_runs(study_dir: str, dataset: str, gans: Iterable[str] = ()) -> list["Run"]:
    """Finished GAN runs of ``dataset`` in the study (all GANs, or those named in ``gans``)."""
    from medgan_lib.config import name_list
    from medgan_lib.training import find_runs

    gans = name_list(gans, "gans")
    runs = [r for gan in (gans or [None]) for r in find_runs(study_dir, gan=gan, dataset=dataset)]
    if not runs:
        raise FileNotFoundError(f"no finished GAN runs of dataset '{dataset}'{' for ' + str(gans) if gans else ''} in "
                                f"study '{study_dir or '(default)'}': run notebooks/02_gan_training.ipynb first")
    return runs


def run_data(runs: list["Run"]) -> tuple[DataSpec, PreparedDataset, PreparedDataset]:
    """(the runs' DataSpec, the GANs' training images, the test split): the data every metric of 03 compares
    with, taken from the runs (``runs_spec`` refuses runs trained on different data, naming them)."""
    from medgan_lib.training import runs_spec

    data = runs_spec(runs)
    return data, data.gan_train(), data.prepare("test")
