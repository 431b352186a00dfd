"""High-level evaluation the notebook and the study runner call: one GAN run -> ``fid`` and ``memorization`` rows.

Real features are computed once per (images, extractor, weights) and read from the cache afterwards,
so evaluating eight GANs pays for the real set once. Each result row records n, the extractor and the
SHA-256 of its weights.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from medgan_lib.data.dataset import PreparedDataset
from medgan_lib.metrics.extractors import Extractor, get_extractor
from medgan_lib.metrics.features import extract_features, images_hash, to_uint8_rgb
from medgan_lib.metrics.fidelity import compare_features
from medgan_lib.metrics.memorization import (MemorizationReport, audit_space, calibration_row, memorization_audit,
                                             plant_near_copies)
from medgan_lib.metrics.privacy import MASK_COPY_DICE, black_box, mask_nn_dice, white_box
from medgan_lib.reference import PAPER_DATASETS, paper_table2
from medgan_lib.results import append_result, latest, of_dataset
from medgan_lib.rows import (BLACK_BOX_AUC, BLACK_BOX_HIGH, BLACK_BOX_LOW, COMPARED, EXTRACTOR, FEATURE_PRECISION, FID,
                             FID_CI_HIGH, FID_CI_LOW, GAN, KID, KID_STD, MASK_COPY_SHARE, MASK_NN_DICE, MEMBERS, METRIC, N, RANK,
                             RANK_RESOLVED, RUN, SHARE, WHITE_BOX_AUC, WHITE_BOX_HIGH, WHITE_BOX_LOW)
from medgan_lib.samples import SampleSet


def real_subset(real: PreparedDataset | np.ndarray, n: int | None, seed: int = 0) -> np.ndarray:
    """Images of ``real`` (all, or a seeded sorted choice of ``n``): the reference set of every FID."""
    images = real.images if isinstance(real, PreparedDataset) else np.asarray(real)
    if n is None or n >= len(images):
        return images
    if n < 2:
        raise ValueError(f"n_real must be >= 2, got {n}")
    return images[np.sort(np.random.default_rng(seed).choice(len(images), n, replace=False))]


def fake_images(fake: SampleSet | np.ndarray | str | os.PathLike, n: int | None = None) -> np.ndarray:
    """Synthetic images (float in [-1, 1]) from a ``SampleSet``, its folder, or an array; the first ``n``."""
    if isinstance(fake, (str, os.PathLike)):
        fake = SampleSet(fake)
    if isinstance(fake, SampleSet):
        return fake.load(n)[0]
    fake = np.asarray(fake)
    return fake if n is None else fake[:n]


def resolve_extractors(extractors: Iterable[str | Extractor], options: dict[str, dict[str, Any]] | None = None
                       ) -> list[Extractor]:
    """Names (with per-name options, e.g. ``{"unet": {"unet": path}}``) or ``Extractor``s -> ``Extractor``s."""
    options = options or {}
    return [get_extractor(e, **options.get(e, {})) if isinstance(e, str) else e for e in extractors]


def evaluate_images(real: PreparedDataset | np.ndarray, fake: SampleSet | np.ndarray, extractors=("inception",),
                    extractor_options: dict[str, dict[str, Any]] | None = None, n: int | None = None,
                    n_real: int | None = None, seed: int = 0, bootstrap_reps: int = 100, device: str = "auto",
                    progress: bool = False) -> list[dict[str, Any]]:
    """FID (+CI), KID, precision/recall of ``fake`` against ``real`` for each extractor (no results written)."""
    reference = real_subset(real, n_real, seed)
    generated = fake_images(fake, n)
    rows = []
    for extractor in resolve_extractors(extractors, extractor_options):
        real_f = extract_features(reference, extractor, device=device, progress=progress)
        fake_f = extract_features(generated, extractor, device=device, progress=progress)
        rows.append({**compare_features(real_f, fake_f, seed, bootstrap_reps), "extractor": extractor.name,
                     "feature_layer": extractor.layer, "weights_sha256": extractor.weights_sha256,
                     FEATURE_PRECISION: extractor.precision, "real_hash": images_hash(to_uint8_rgb(reference))[:16],
                     "fake_hash": images_hash(to_uint8_rgb(generated))[:16]})
    return rows


def audit_memorization(real: PreparedDataset | np.ndarray, heldout: PreparedDataset | np.ndarray,
                       fake: SampleSet | np.ndarray, extractor: str | Extractor | None = "inception",
                       n: int | None = None, n_real: int | None = None, n_heldout: int | None = None,
                       seed: int = 0, quantile: float = 0.05, device: str = "auto") -> MemorizationReport:
    """Nearest-training distances of ``fake`` vs ``heldout`` in pixels (all training images) and in the
    features of ``extractor`` (the ``n_real`` reference subset, whose features are cached anyway)."""
    train = real.images if isinstance(real, PreparedDataset) else np.asarray(real)
    held = real_subset(heldout, n_heldout, seed)
    generated = fake_images(fake, n)
    feats: dict[str, np.ndarray] = {}
    if extractor is not None:
        ext = get_extractor(extractor)
        reference = real_subset(real, n_real, seed)
        feats = {"fake_features": extract_features(generated, ext, device=device),
                 "train_features": extract_features(reference, ext, device=device),
                 "heldout_features": extract_features(held, ext, device=device)}
    return memorization_audit(generated, train, held, quantile=quantile, **feats)


AUDIT_SHARES = (0.0, 0.01, 0.05, 0.20)  # shares of planted near-copies the audit is calibrated on (issue 18)


def calibrate_audit(real: PreparedDataset | np.ndarray, heldout: PreparedDataset | np.ndarray,
                    fake: SampleSet | np.ndarray, extractors: Iterable[Extractor] = (),
                    shares: Iterable[float] = AUDIT_SHARES, n: int | None = None, n_real: int | None = None,
                    n_heldout: int | None = None, seed: int = 0, quantile: float = 0.05,
                    device: str = "auto") -> pd.DataFrame:
    """What the memorisation audit is worth: for each share of ``fake`` replaced by planted near-copies of
    training images (``memorization.plant_near_copies``), the share of them the audit flags and the share of the
    GAN's own images it flags, in pixels (against all training images) and in each extractor's features
    (against the ``n_real`` reference subset, from which the copies are drawn so that every space could find
    them). Only the planted images pass through the extractors again."""
    train = real.images if isinstance(real, PreparedDataset) else np.asarray(real)
    reference, held = real_subset(real, n_real, seed), real_subset(heldout, n_heldout, seed)
    generated = fake_images(fake, n)
    base = {ext.name: [extract_features(x, ext, device=device) for x in (generated, reference, held)]
            for ext in extractors}
    rows = []
    for share in shares:
        planted = plant_near_copies(generated, reference, share, seed)
        rows.append({SHARE: share, **calibration_row(audit_space("pixel", planted.images, train, held, quantile),
                                                       planted)})
        for ext in extractors:
            fake_features, train_features, held_features = base[ext.name]
            fake_features = fake_features.copy()
            if len(planted.positions):
                fake_features[planted.positions] = extract_features(planted.images[planted.positions], ext,
                                                                    cache=False, device=device)
            audit = audit_space(ext.name, fake_features, train_features, held_features, quantile)
            rows.append({SHARE: share, **calibration_row(audit, planted)})
    return pd.DataFrame(rows)


def probe_privacy(run: "Run", real: PreparedDataset, heldout: PreparedDataset, fake: SampleSet,
                  n: int | None = None, n_heldout: int | None = 64, seed: int = 0, device: str = "auto"
                  ) -> dict[str, Any]:
    """``run``'s membership-inference AUCs (``metrics.privacy``): white-box with its discriminator, black-box with
    its first ``n`` samples, each on as many random training images as held-out ones (a multiple of 8, for
    StyleGAN2's minibatch-std groups); and how much training anatomy its masks reuse (None without masks)."""
    count = min(n_heldout or len(heldout), len(heldout), len(real))
    count -= count % 8 if count >= 8 else 0
    rng = np.random.default_rng(seed)
    members, others = (np.sort(rng.choice(len(data), count, replace=False)) for data in (real, heldout))
    white = white_box(run.load(device), real.images[members], real.masks[members], heldout.images[others],
                      heldout.masks[others], seed)
    images, masks = fake.load(n)
    black = black_box(images, real.images[members], heldout.images[others], seed)
    reuse = mask_nn_dice(masks, real.masks, real.num_classes) if real.num_classes > 1 else None
    return {MEMBERS: int(count), WHITE_BOX_AUC: white.value, WHITE_BOX_LOW: white.low, WHITE_BOX_HIGH: white.high,
            BLACK_BOX_AUC: black.value, BLACK_BOX_LOW: black.low, BLACK_BOX_HIGH: black.high,
            MASK_NN_DICE: None if reuse is None else float(np.median(reuse)),
            MASK_COPY_SHARE: None if reuse is None else float((reuse >= MASK_COPY_DICE).mean())}


def evaluate_run(run: "Run | str | os.PathLike", real: PreparedDataset, n: int = 100,
                 extractors: Iterable[str | Extractor] = ("inception",), study_dir: str | os.PathLike = "",
                 seed: int = 0, n_real: int | None = 200, heldout: PreparedDataset | None = None,
                 n_heldout: int | None = 64, extractor_options: dict[str, dict[str, Any]] | None = None,
                 bootstrap_reps: int = 100, device: str = "auto", progress: bool = False) -> dict[str, Any]:
    """Sample ``n`` images from a trained GAN run (cached), compute every metric, append ``fid`` rows (one per
    extractor) and, given ``heldout`` real images, one ``memorization`` row per extractor and a ``privacy`` row;
    returns {"fid": rows, "memorization": the first extractor's row or None, "report": its MemorizationReport or
    None, "privacy": the privacy row or None}."""
    from medgan_lib.training.run import as_run

    run = as_run(run)
    samples = run.samples(n, seed=seed, device=device)
    extractors = resolve_extractors(extractors, extractor_options)
    common = {"dataset": run.data_spec.dataset, "gan": run.gan_name, "run": run.name, "train_seed": run.config.seed,
              "data_spec_hash": run.data_spec.hash, "seed": seed, "real_split": real.split,
              "real_dataset_hash": real.meta.get("hash"), "samples": str(samples.path)}
    fid_rows = [append_result(study_dir, "fid", {**common, **row})
                for row in evaluate_images(real, samples, extractors, n=n, n_real=n_real, seed=seed,
                                           bootstrap_reps=bootstrap_reps, device=device, progress=progress)]
    memo_rows, reports = [], []
    if heldout is not None:  # one audit per feature space (skandarani Figure 7 compares Inception with U-Net)
        for extractor in extractors:
            reports.append(audit_memorization(real, heldout, samples, extractor, n=n, n_real=n_real,
                                              n_heldout=n_heldout, seed=seed, device=device))
            memo_rows.append(append_result(study_dir, "memorization", {
                **common, "n": n, "heldout_split": heldout.split, "extractor": extractor.name,
                "weights_sha256": extractor.weights_sha256, FEATURE_PRECISION: extractor.precision,
                **reports[-1].row()}))
    privacy = None if heldout is None else append_result(study_dir, "privacy", {
        **common, "n": n, **probe_privacy(run, real, heldout, samples, n, n_heldout, seed, device)})
    return {"fid": fid_rows, "memorization": memo_rows[0] if memo_rows else None,
            "report": reports[0] if reports else None, "privacy": privacy}


# Table 2's column for the FID of each feature extractor (others: "FID (<name>)")
FID_COLUMNS = {"inception": "FID", "unet": "U-Net FID", "medfid": "MedFID",
               "efficientnet_lite0": "FID (EfficientNet-Lite0)"}


def fid_table(rows: pd.DataFrame, dataset: str, gans: Iterable[str] | None = None,
              ranks: pd.DataFrame | None = None) -> pd.DataFrame:
    """The FID part of Table 2 from ``fid`` result rows (``read_results(study, "fid")``): one row per GAN
    (``gans``, else every GAN in the rows), from its latest row per feature extractor: the Inception FID
    [95 % CI], its n and KID ± std, the U-Net FID, MedFID and any other extractor's FID, then skandarani2023's
    published FID on the matching dataset, labelled as the paper's (their real data, not ours). With ``ranks``
    (``fid_rank`` rows of 03's paired bootstrap) a column gives that run's Inception rank, marked where the bootstrap
    cannot order it against a neighbour at this n. Missing: NaN."""
    rows = latest(of_dataset(rows, dataset), "fid")
    rows = rows[rows[FID].notna()]
    gans = list(dict.fromkeys(gans or rows[GAN].dropna()))
    others = [name for name in rows[EXTRACTOR].dropna().unique() if name not in ("inception", "unet")]
    names = [FID_COLUMNS.get(name, f"FID ({name})") for name in others]
    paper = f"paper FID ({PAPER_DATASETS.get(dataset, 'n/a')})"
    table = []
    for gan in gans:
        of_gan = rows[rows[GAN] == gan]
        by_extractor = {name: group.iloc[-1] for name, group in of_gan.groupby(EXTRACTOR, sort=False)}
        inception = by_extractor.get("inception")
        n = str(int(inception[N])) if inception is not None and pd.notna(inception[N]) else None
        row: dict[str, Any] = {"GAN": gan, "FID": _fid_text(inception), "FID rank": _rank_text(ranks, inception), "n": n,
                               "KID": _with_std(inception, KID, KID_STD), "U-Net FID": _fid_text(by_extractor.get("unet"))}
        row.update({column: _fid_text(by_extractor.get(name)) for name, column in zip(others, names)})
        row[paper] = paper_table2(dataset, "synthetic", gan)["fid"]
        table.append(row)
    ranked = ranks is not None and (of_dataset(ranks, dataset)[EXTRACTOR] == "inception").any()  # Inception's ranks
    columns = ["GAN", "FID", *(["FID rank"] if ranked else []), "n", "KID", "U-Net FID", *names, paper]
    return pd.DataFrame(table, columns=columns).fillna(np.nan)  # None -> NaN, which every display shows as missing


def _rank_text(ranks: pd.DataFrame | None, row: pd.Series | None) -> str | None:
    """``3 of 8`` for the Inception FID ``row``'s run, with "(unresolved)" where the paired bootstrap cannot order
    it against a neighbour; None without a rank row for that run at that n."""
    if ranks is None or row is None or ranks.empty:
        return None
    fid = ranks[METRIC].fillna("FID") == "FID" if METRIC in ranks else True  # rows before KID ranks: FID
    mine = ranks[(ranks[RUN] == row[RUN]) & (ranks[EXTRACTOR] == "inception") & (ranks[N] == row[N]) & fid]
    if mine.empty:
        return None
    last = mine.iloc[-1]
    return f"{int(last[RANK])} of {int(last[COMPARED])}" + ("" if bool(last[RANK_RESOLVED]) else " (unresolved)")


def _fid_text(row: pd.Series | None) -> str | None:
    """``FID [low, high]`` of one fid row (without the interval if the row has none), marked when its features were
    not computed in fp32 (not comparable with standard FIDs)."""
    if row is None:
        return None
    low, high = row.get(FID_CI_LOW), row.get(FID_CI_HIGH)
    interval = f" [{_number(low)}, {_number(high)}]" if pd.notna(low) and pd.notna(high) else ""
    precision = row.get(FEATURE_PRECISION)
    marked = f" ({precision} features, not standard)" if isinstance(precision, str) and precision != "fp32" else ""
    return _number(row[FID]) + interval + marked


def _with_std(row: pd.Series | None, value: str, std: str) -> str | None:
    """``value ± std`` of one row (without the std if the row has none)."""
    if row is None or pd.isna(row.get(value)):
        return None
    return _number(row[value]) + (f" ± {float(row[std]):.2g}" if pd.notna(row.get(std)) else "")


def _number(value: Any) -> str:
    """Three significant digits, without an exponent for the FIDs in the thousands of small-sample runs."""
    value = float(value)
    return f"{value:.0f}" if 1e3 <= abs(value) < 1e6 else f"{value:.3g}"
