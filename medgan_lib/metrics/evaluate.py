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

from medgan_lib.data.dataset import PreparedDataset
from medgan_lib.metrics.extractors import Extractor, get_extractor
from medgan_lib.metrics.features import extract_features, images_hash, to_uint8_rgb
from medgan_lib.metrics.fidelity import compare_features
from medgan_lib.metrics.memorization import MemorizationReport, memorization_audit
from medgan_lib.results import append_result
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
                     "real_hash": images_hash(to_uint8_rgb(reference))[:16],
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


def evaluate_run(run: "Run | str | os.PathLike", real: PreparedDataset, n: int = 100,
                 extractors: Iterable[str | Extractor] = ("inception",), study_dir: str | os.PathLike = "",
                 seed: int = 0, n_real: int | None = 200, heldout: PreparedDataset | None = None,
                 n_heldout: int | None = 64, extractor_options: dict[str, dict[str, Any]] | None = None,
                 bootstrap_reps: int = 100, device: str = "auto", progress: bool = False) -> dict[str, Any]:
    """Sample ``n`` images from a trained GAN run (cached), compute every metric, append ``fid`` rows (one per
    extractor) and, given ``heldout`` real images, one ``memorization`` row; returns {"fid": rows,
    "memorization": row or None, "report": MemorizationReport or None}."""
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
    memo_row, report = None, None
    if heldout is not None:
        report = audit_memorization(real, heldout, samples, extractors[0], n=n, n_real=n_real,
                                    n_heldout=n_heldout, seed=seed, device=device)
        memo_row = append_result(study_dir, "memorization", {
            **common, "n": n, "heldout_split": heldout.split, "feature_extractor": extractors[0].name,
            "weights_sha256": extractors[0].weights_sha256, **report.row()})
    return {"fid": fid_rows, "memorization": memo_row, "report": report}


def fid_table(study_dir: str | os.PathLike = "", dataset: str | None = None,
              extractors: Iterable[str] = ("inception", "unet", "medfid")) -> "pd.DataFrame":
    """Table 2's FID column from the ``fid`` results (latest row per GAN run and extractor): FID [95 % CI]
    and n per extractor, plus skandarani2023's published FID for the matching dataset, labelled as the
    paper's (on its real data, not on ours)."""
    import pandas as pd

    from medgan_lib.results import read_results
    from medgan_lib.reference import PAPER_DATASETS, PAPER_GANS, reference_table2

    fid = read_results(study_dir, "fid")
    if fid.empty:
        raise ValueError(f"no fid results in study {study_dir or '(default)'}: run evaluate_run first")
    if dataset is not None:
        fid = fid[fid["dataset"] == dataset]
    fid = fid.drop_duplicates(["run", "extractor"], keep="last")
    paper, paper_name = reference_table2(), PAPER_DATASETS.get(dataset or str(fid["dataset"].iloc[0]))
    rows = []
    for (gan, run), group in fid.groupby(["gan", "run"], sort=False):
        row: dict[str, Any] = {"GAN": gan, "run": run}
        for name in extractors:
            hit = group[group["extractor"] == name]
            if not hit.empty:
                r = hit.iloc[-1]
                label = {"inception": "FID", "unet": "U-Net FID", "medfid": "MedFID"}.get(name, f"FID ({name})")
                row[label] = f"{r['fid']:.1f} [{r['fid_ci'][0]:.1f}, {r['fid_ci'][1]:.1f}]"
                row[f"n ({name})"] = int(r["n"])
        ref = paper[(paper["dataset"] == paper_name) & (paper["training_data"] == PAPER_GANS.get(gan))] \
            if not paper.empty else paper
        row[f"paper's FID on {paper_name or 'n/a'} (real data)"] = (float(ref["fid"].iloc[0]) if len(ref) else None)
        rows.append(row)
    return pd.DataFrame(rows)
