"""How a class-conditional GAN is evaluated (issue 21): does it draw each class, and does what it draws teach?

- ``classification_accuracy_score``: the CAS of Ravuri & Vinyals 2019 (as StudioGAN reports it): a classifier
  trained on synthetic slices of each class only, tested on the real test slices, beside the same classifier
  trained on the real training slices. Accuracy with a 95 % interval from a bootstrap over test patients (slices
  of one patient are not independent).
- ``per_class_fid``: the FID of each class's synthetic slices against the real slices of that class.
- ``code_effects``: what each InfoGAN code controls, measured on traversals: the rank correlation of a continuous
  code with each structure's area, and for the categorical code the share of area variance between its values.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from scipy import stats
from torch import nn

from medgan_lib.data.dataset import PreparedDataset
from medgan_lib.progress import tqdm
from medgan_lib.runtime import select_device

BOOTSTRAP_REPS = 1000


@dataclasses.dataclass(frozen=True)
class ClassifierConfig:
    """The CAS classifier (ours: the papers give none for medical slices): a small CNN, Adam, fixed steps."""

    steps: int = 300
    batch_size: int = 32
    lr: float = 1e-3
    width: int = 32
    seed: int = 0
    device: str = "auto"


class SliceClassifier(nn.Module):
    """Four conv blocks (conv 3x3, batch norm, ReLU, 2x2 max pool), global average pool, linear: class logits."""

    def __init__(self, channels: int, classes: int, width: int = 32) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c = channels
        for i in range(4):
            out = width * min(2 ** i, 4)
            layers += [nn.Conv2d(c, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU(), nn.MaxPool2d(2)]
            c = out
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(c, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean(dim=(2, 3)))


def train_classifier(images: np.ndarray, classes: np.ndarray, n_classes: int, config: ClassifierConfig,
                     desc: str = "classifier") -> SliceClassifier:
    """A ``SliceClassifier`` trained on (images in [-1, 1], integer classes) with random flips; seeded."""
    if len(images) != len(classes) or not len(images):
        raise ValueError(f"train_classifier: {len(images)} images for {len(classes)} classes")
    device = select_device(config.device)
    torch.manual_seed(config.seed)
    model = SliceClassifier(images.shape[1], n_classes, config.width).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    x, y = torch.from_numpy(np.asarray(images, np.float32)), torch.from_numpy(np.asarray(classes, np.int64))
    rng = np.random.default_rng(config.seed)
    model.train()
    for _ in tqdm(range(config.steps), desc=desc, leave=False):
        pick = torch.from_numpy(rng.integers(0, len(x), min(config.batch_size, len(x))))
        batch = x[pick]
        flip = torch.from_numpy(rng.random(len(batch)) < 0.5)
        batch = torch.where(flip[:, None, None, None], batch.flip(-1), batch).to(device)
        loss = F.cross_entropy(model(batch), y[pick].to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return model.eval()


@torch.no_grad()
def predict(model: nn.Module, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    device = next(model.parameters()).device
    out = [model(torch.from_numpy(np.asarray(images[i:i + batch_size], np.float32)).to(device)).argmax(1).cpu()
           for i in range(0, len(images), batch_size)]
    return torch.cat(out).numpy()


def patient_bootstrap(correct: np.ndarray, patients: np.ndarray, reps: int = BOOTSTRAP_REPS, seed: int = 0
                      ) -> tuple[float, float]:
    """95 % percentile interval of the accuracy, resampling whole patients with replacement."""
    ids, index = np.unique(patients, return_inverse=True)
    hits = np.bincount(index, weights=correct.astype(float), minlength=len(ids))
    counts = np.bincount(index, minlength=len(ids)).astype(float)
    draws = np.random.default_rng(seed).integers(0, len(ids), (reps, len(ids)))
    values = hits[draws].sum(1) / counts[draws].sum(1)
    return float(np.quantile(values, 0.025)), float(np.quantile(values, 0.975))


def accuracy_row(model: nn.Module, test: PreparedDataset, seed: int = 0) -> dict[str, Any]:
    """Accuracy on ``test`` with its patient-bootstrap interval, per-class recall and the confusion matrix."""
    predicted = predict(model, test.images)
    correct = predicted == test.classes
    low, high = patient_bootstrap(correct, test.patient_ids, seed=seed)
    k = test.num_image_classes
    confusion = np.zeros((k, k), dtype=int)
    np.add.at(confusion, (test.classes, predicted), 1)
    recall = {name: float(correct[test.classes == i].mean()) if (test.classes == i).any() else None
              for i, name in enumerate(test.class_names)}
    return {"accuracy": float(correct.mean()), "accuracy_low": low, "accuracy_high": high, "n_test": int(len(test)),
            "test_patients": int(len(np.unique(test.patient_ids))), "recall": recall,
            "confusion": confusion.tolist()}


def balanced_classes(n_per_class: int, n_classes: int) -> np.ndarray:
    """``n_per_class`` of each class, in class order."""
    return np.repeat(np.arange(n_classes), n_per_class)


def synthetic_by_class(gan: Any, n_per_class: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(images, masks, classes): ``n_per_class`` samples of every class from a class-conditional GAN."""
    classes = balanced_classes(n_per_class, gan.shape.image_classes)
    images, masks = gan.sample(len(classes), classes=classes, generator=torch.Generator().manual_seed(seed))
    return images, masks, classes


def classification_accuracy_score(synthetic: tuple[np.ndarray, np.ndarray], real_train: PreparedDataset,
                                  test: PreparedDataset, config: ClassifierConfig = ClassifierConfig()
                                  ) -> dict[str, dict[str, Any]]:
    """{"synthetic": CAS (trained on synthetic, tested on real), "real": the same classifier trained on real}."""
    for data in (real_train, test):
        if data.classes is None:
            raise ValueError(f"dataset '{data.name}' split '{data.split}' has no image-level classes")
    k = test.num_image_classes
    images, classes = synthetic
    return {"synthetic": accuracy_row(train_classifier(images, classes, k, config, "classifier on synthetic"), test,
                                      config.seed),
            "real": accuracy_row(train_classifier(real_train.images, real_train.classes, k, config,
                                                  "classifier on real"), test, config.seed)}


def per_class_fid(real: PreparedDataset, images: np.ndarray, classes: np.ndarray, extractors: Iterable[Any],
                  extractor_options: dict[str, dict[str, Any]] | None = None, bootstrap_reps: int = 50,
                  seed: int = 0, device: str = "auto", n_real: int | None = None) -> list[dict[str, Any]]:
    """One row per (class, extractor): FID of that class's synthetic images against the real images of the class
    (a seeded choice of ``n_real`` of them; None: all)."""
    from medgan_lib.metrics.evaluate import evaluate_images

    rows = []
    for i, name in enumerate(real.class_names):
        mine, theirs = images[classes == i], real.images[real.classes == i]
        if len(mine) < 2 or len(theirs) < 2:
            raise ValueError(f"class {name}: {len(mine)} synthetic and {len(theirs)} real images; need >= 2 of each")
        for row in evaluate_images(theirs, mine, extractors, extractor_options, n_real=n_real, seed=seed,
                                   bootstrap_reps=bootstrap_reps, device=device):
            rows.append({"class": name, "n_real": int(min(len(theirs), n_real or len(theirs))), **row})
    return rows


STRUCTURES = {1: "rv_cavity", 2: "myocardium", 3: "lv_cavity"}  # ACDC mask values whose area the codes may move


def code_effects(masks: np.ndarray, values: np.ndarray, code: str, label_names: tuple[str, ...]
                 ) -> list[dict[str, Any]]:
    """For a traversal's masks (V values, n latents, H, W): one row per structure with the code's effect on its
    area (fraction of the image). Continuous code: Spearman's rho of value vs area over all V x n samples.
    Categorical: eta squared (share of the area variance between the values), with a Kruskal-Wallis p."""
    rows = []
    for value, name in enumerate(label_names):
        if value == 0:
            continue
        area = (masks == value).mean(axis=(2, 3))  # (V, n)
        if code == "categorical":
            groups = [a for a in area]
            total = area.var() * area.size
            between = sum(len(a) * (a.mean() - area.mean()) ** 2 for a in groups)
            effect = float(between / total) if total > 0 else 0.0
            p = float(stats.kruskal(*groups).pvalue) if total > 0 else 1.0
            statistic = "eta_squared"
        else:
            x = np.repeat(np.asarray(values, float), area.shape[1])
            if area.std() == 0:
                effect, p = 0.0, 1.0
            else:
                result = stats.spearmanr(x, area.ravel())
                effect, p = float(result.statistic), float(result.pvalue)
            statistic = "spearman_rho"
        rows.append({"code": code, "structure": name, "statistic": statistic, "value": effect, "p": p,
                     "n": int(area.size), "mean_area": float(area.mean())})
    return rows


def code_summary(effects: pd.DataFrame) -> list[str]:
    """One sentence per code: the structure it moves most (by |statistic|), or that it moves none at p < 0.05."""
    lines = []
    for code, rows in effects.groupby("code", sort=False):
        top = rows.loc[rows["value"].abs().idxmax()]
        what = "rank correlation" if top["statistic"] == "spearman_rho" else "share of area variance"
        if top["p"] < 0.05 and abs(top["value"]) >= 0.1:
            lines.append(f"{code} controls the {top['structure']} area most ({what} {top['value']:.2f}, "
                         f"p = {top['p']:.2g}, n = {int(top['n'])})")
        else:
            lines.append(f"{code} moves no structure's area measurably (largest: {top['structure']}, {what} "
                         f"{top['value']:.2f}, p = {top['p']:.2g}, n = {int(top['n'])})")
    return lines


def evaluate_class_gan(run: Any, data: Any, study_dir: str = "", n_per_class: int = 100,
                       classifier: ClassifierConfig = ClassifierConfig(), extractors: Iterable[Any] = ("inception",),
                       extractor_options: dict[str, dict[str, Any]] | None = None, bootstrap_reps: int = 50,
                       seed: int = 0, device: str = "auto", n_real_per_class: int | None = None) -> dict[str, Any]:
    """A class-conditional GAN run on ``data``'s (a DataSpec) splits: its per-class samples, the CAS beside the
    real-data classifier (``cas`` rows, condition "synthetic"/"real") and the per-class FIDs (``class_fid`` rows);
    returns {"samples": (images, masks, classes), "cas": DataFrame, "class_fid": DataFrame}. The per-class FIDs
    compare with ``n_real_per_class`` real slices of each class (None: all)."""
    from medgan_lib.results import append_result

    gan = run.load(device)
    train, test = data.gan_train(), data.prepare("test")
    images, masks, classes = synthetic_by_class(gan, n_per_class, seed)
    common = {"dataset": data.dataset, "data_spec_hash": data.hash, "gan": run.gan_name, "run": run.name,
              "train_seed": run.config.seed, "seed": seed}
    cas = classification_accuracy_score((images, classes), train, test, classifier)
    cas_rows = [append_result(study_dir, "cas", {**common, "condition": condition, "n_per_class": n_per_class,
                                                 "classifier": dataclasses.asdict(classifier), **row})
                for condition, row in cas.items()]
    fid_rows = [append_result(study_dir, "class_fid", {**common, **row})
                for row in per_class_fid(train, images, classes, extractors, extractor_options, bootstrap_reps,
                                         seed, device, n_real_per_class)]
    return {"samples": (images, masks, classes), "cas": pd.DataFrame(cas_rows), "class_fid": pd.DataFrame(fid_rows)}


def evaluate_infogan(run: Any, n: int = 32, steps: int = 5, seed: int = 0, study_dir: str = "",
                     device: str = "auto") -> dict[str, Any]:
    """Traversals of every code of an InfoGAN run (``steps`` values, ``n`` latents) and what each code controls
    (``infogan_codes`` rows); returns {"traversals": {code: (values, images, masks)}, "effects": DataFrame,
    "summary": sentences}."""
    from medgan_lib.results import append_result

    gan = run.load(device)
    codes = (["categorical"] if gan.categories else []) + [f"continuous_{i}" for i in range(gan.options.continuous)]
    traversals, rows = {}, []
    for code in codes:
        values = np.arange(gan.categories) if code == "categorical" else np.linspace(-1.0, 1.0, steps)
        images, masks = gan.traverse(n, code, values, seed)
        traversals[code] = (values, images, masks)
        rows += code_effects(masks, values, code, tuple(run.label_names))
    common = {"dataset": run.data_spec.dataset, "gan": run.gan_name, "run": run.name, "seed": seed}
    effects = pd.DataFrame([append_result(study_dir, "infogan_codes", {**common, **row}) for row in rows])
    return {"traversals": traversals, "effects": effects, "summary": code_summary(effects)}


def class_table(splits: dict[str, PreparedDataset]) -> pd.DataFrame:
    """Slices and patients of each class in each split: what the GANs learn from and the CAS is tested on."""
    rows = []
    for split, data in splits.items():
        if data.classes is None:
            raise ValueError(f"dataset '{data.name}' has no image-level classes (class-conditional GANs need them; "
                             "use cardiac_groups_phantom or acdc)")
        for i, name in enumerate(data.class_names):
            mine = data.classes == i
            rows.append({"split": split, "class": name, "slices": int(mine.sum()),
                         "patients": int(len(np.unique(data.patient_ids[mine])))})
    return pd.DataFrame(rows).pivot(index="class", columns="split", values=["slices", "patients"])


def sample_rows(samples: tuple[np.ndarray, np.ndarray, np.ndarray], real: PreparedDataset, n: int = 6,
                gan: str = "GAN") -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Rows for ``plots.plot_image_rows``: per class, ``n`` real training slices, then ``n`` of the GAN's."""
    images, masks, classes = samples
    rows = {}
    for i, name in enumerate(real.class_names):
        rows[f"real {name}"] = (real.images[real.classes == i][:n], real.masks[real.classes == i][:n])
        rows[f"{gan} {name}"] = (images[classes == i][:n], masks[classes == i][:n])
    return rows


def cas_table(rows: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """The CAS of each class-conditional GAN run beside the real-trained classifier (latest rows of ``dataset``)."""
    from medgan_lib.results import latest, of_dataset

    rows = latest(of_dataset(rows, dataset), "cas")
    table = []
    for run, group in rows.groupby("run", sort=False):
        by = {r["condition"]: r for r in group.to_dict("records")}
        text = {c: f"{by[c]['accuracy']:.2f} [{by[c]['accuracy_low']:.2f}, {by[c]['accuracy_high']:.2f}]"
                for c in by}
        table.append({"GAN": group["gan"].iloc[0], "run": run, "CAS (trained on synthetic)": text.get("synthetic"),
                      "trained on real": text.get("real"), "test slices": by.get("synthetic", by.get("real"))["n_test"],
                      "chance": f"{1 / len(next(iter(by.values()))['recall']):.2f}"})
    return pd.DataFrame(table)


def cas_notes(rows: pd.DataFrame, dataset: str) -> list[str]:
    """What to notice in the CAS table: per run, whether the synthetic-trained classifier's interval lies above
    chance, and how far it falls short of the real-trained one."""
    from medgan_lib.results import latest, of_dataset

    rows = latest(of_dataset(rows, dataset), "cas")
    notes = []
    for run, group in rows.groupby("run", sort=False):
        by = {r["condition"]: r for r in group.to_dict("records")}
        if "synthetic" not in by or "real" not in by:
            continue
        syn, real = by["synthetic"], by["real"]
        chance = 1 / len(syn["recall"])
        above = "above chance" if syn["accuracy_low"] > chance else "not distinguishable from chance at this n"
        notes.append(f"{run}: a classifier trained only on its samples scores {syn['accuracy']:.2f} on real test "
                     f"slices ({above}, chance {chance:.2f}); trained on real slices, {real['accuracy']:.2f}: its "
                     f"classes carry {syn['accuracy'] / real['accuracy']:.0%} of the real data's class information"
                     if real["accuracy"] > 0 else f"{run}: the real-trained classifier scores 0")
    return notes


def class_fid_table(rows: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Per-class FID [95 % CI] of each run (latest rows of ``dataset``): one row per (run, extractor), a column
    per class."""
    from medgan_lib.results import latest, of_dataset

    rows = latest(of_dataset(rows, dataset), "class_fid")
    rows = rows.assign(text=[f"{r.fid:.3g} [{r.fid_ci_low:.3g}, {r.fid_ci_high:.3g}]" for r in rows.itertuples()])
    return rows.pivot_table(index=["gan", "run", "extractor", "n"], columns="class", values="text",
                            aggfunc="last", sort=False)
