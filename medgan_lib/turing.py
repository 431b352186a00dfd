"""A visual Turing test for teaching (skandarani2023 §4.3): readers label a shuffled 50/50 mix of real
and synthetic images; accuracy near 50 % means the synthetic images fool them.

The kit is a numbered quiz sheet (PNG), a blank answer sheet (CSV) and a separate answer key (JSON).
Readers' answers are scored with an exact binomial test against chance. Without human readers, a
machine observer (a cross-validated logistic-regression classifier on pixels, a classifier two-sample
test) shows how separable the two sets are for an algorithm.
"""

from __future__ import annotations

import csv
import dataclasses
import warnings
from pathlib import Path

import numpy as np
from scipy import stats

from medgan_lib.atomic import atomic_open, write_json

ANSWERS = ("real", "fake")  # what the answer key writes
# what a reader may write (any case): every page calls the synthetic images "synthetic", sheets say "fake"
ANSWER_WORDS = {"real": True, "r": True, "fake": False, "f": False, "synthetic": False, "s": False}


@dataclasses.dataclass
class TuringTest:
    """The quiz: images in presentation order and the hidden key (True = real)."""

    images: np.ndarray  # float32 (n, C, H, W) in [-1, 1]
    is_real: np.ndarray  # bool (n,)
    seed: int


@dataclasses.dataclass
class TuringScore:
    """One reader's (or the machine observer's) result against the key."""

    reader: str
    n: int
    accuracy: float
    ci_low: float  # exact (Clopper-Pearson) 95 % interval of the accuracy
    ci_high: float
    p_value: float  # two-sided exact binomial test of accuracy = 0.5
    real_called_real: float  # sensitivity: share of real images recognised as real
    fake_called_fake: float  # specificity: share of synthetic images recognised as synthetic
    skipped: int = 0  # images left blank (not in n)


def load_turing_sets(study_dir: str | Path | None, gan: str = "", dataset: str = "cardiac_phantom",
                     n: int = 100, seed: int = 0) -> tuple[np.ndarray, np.ndarray, str]:
    """Real test-split images of the data the GAN's latest finished run was trained on, and ``n`` of its samples
    (``gan=""``: the most recently finished run). Returns (real, synthetic, run name)."""
    from medgan_lib.training import find_runs

    runs = find_runs(study_dir, gan=gan or None, dataset=dataset)
    if not runs:
        what = f"GAN '{gan}'" if gan else "any GAN"
        raise FileNotFoundError(f"no finished run of {what} on '{dataset}' in the study; train one first "
                                f"(notebooks/02_gan_training.ipynb with the same study_dir)")
    run = max(runs, key=lambda r: r.summary_file.stat().st_mtime)
    fake, _ = run.samples(n, seed=seed).load()
    return run.data_spec.prepare("test").images, fake, run.name


def quiz_size(n: int, real: np.ndarray, fake: np.ndarray) -> int:
    """``n`` lowered (with a printed note) to the largest even size both sets can fill half of: a real dataset's
    test split can be small (IDRiD has 27 test images, fewer than the paper's 50 real images per reader)."""
    most = 2 * min(len(real), len(fake), n // 2)
    if most < 2:
        raise ValueError(f"a quiz needs at least one real and one synthetic image; got {len(real)} real and "
                         f"{len(fake)} synthetic")
    if most < n:
        print(f"quiz of {most} images instead of {n}: the test split holds {len(real)} real images")
    return most


def build_turing_test(real: np.ndarray, fake: np.ndarray, n: int = 100, seed: int = 0) -> TuringTest:
    """Draw n/2 real and n/2 synthetic images (without replacement) and shuffle them together."""
    if n < 2 or n % 2:
        raise ValueError(f"n must be an even number >= 2 (half real, half synthetic), got {n}")
    for name, arr in (("real", real), ("fake", fake)):
        if arr.ndim != 4:
            raise ValueError(f"{name} images must be (N, C, H, W), got shape {arr.shape}")
        if len(arr) < n // 2:
            raise ValueError(f"{name} images: {len(arr)} available, {n // 2} needed for n={n}")
    if real.shape[1:] != fake.shape[1:]:
        raise ValueError(f"real images {real.shape[1:]} and synthetic images {fake.shape[1:]} differ in shape")
    rng = np.random.default_rng(seed)
    half = n // 2
    images = np.concatenate([real[rng.choice(len(real), half, replace=False)],
                             fake[rng.choice(len(fake), half, replace=False)]]).astype(np.float32)
    is_real = np.repeat([True, False], half)
    order = rng.permutation(n)
    return TuringTest(images[order], is_real[order], seed)


def save_kit(test: TuringTest, out_dir: str | Path, columns: int = 10) -> dict[str, Path]:
    """Write ``quiz.png`` (numbered grid), ``answer_sheet.csv`` (blank), and apart from them the answers:
    ``answer_key.json`` and ``answers.png`` (the grid with real/synthetic frames), for the teacher only."""
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, figure in (("quiz.png", quiz_figure), ("answers.png", answer_figure)):
        fig = figure(test, columns)
        with atomic_open(out / name, "wb") as handle:
            fig.savefig(handle, format="png", dpi=100, bbox_inches="tight")
        plt.close(fig)
    with atomic_open(out / "answer_sheet.csv", "w") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "answer"])
        writer.writerows([i + 1, ""] for i in range(len(test.is_real)))
    write_json(out / "answer_key.json", {"seed": test.seed,
                                         "answers": [ANSWERS[0] if r else ANSWERS[1] for r in test.is_real]})
    return {"quiz": out / "quiz.png", "answer_sheet": out / "answer_sheet.csv", "key": out / "answer_key.json",
            "answers": out / "answers.png"}


def quiz_figure(test: TuringTest, columns: int = 10):
    """The quiz as a numbered image grid (first image channel for multi-channel images but RGB)."""
    import matplotlib.pyplot as plt

    n = len(test.images)
    rows = -(-n // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.6 * columns, 1.75 * rows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(_displayable(test.images[i]), cmap="gray", vmin=0, vmax=1)
            ax.set_title(str(i + 1), fontsize=9)
    fig.suptitle("Visual Turing test: real or synthetic?")
    return fig


def read_answers(path: str | Path, n: int) -> np.ndarray:
    """Read a filled answer sheet: per image 1..n, 1.0 for "real", 0.0 for "fake"/"synthetic" (also r/f/s, any
    case) and NaN where the reader left it blank (or left its row out): skipped, not wrong."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"answer sheet {path} does not exist")
    said = np.full(n, np.nan)
    with open(path, newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            try:
                image, answer = int(row["image"]), (row["answer"] or "").strip().lower()
            except (KeyError, TypeError, ValueError):
                raise ValueError(f"{path}:{line}: expected columns 'image' (1..{n}) and 'answer'") from None
            if not 1 <= image <= n:
                raise ValueError(f"{path}:{line}: image {image} is not in the quiz (1..{n})")
            if answer and answer not in ANSWER_WORDS:
                raise ValueError(f"{path}:{line}: answer {row['answer']!r} for image {image}; expected real or "
                                 f"synthetic ({', '.join(ANSWER_WORDS)}) or blank")
            if answer:
                said[image - 1] = float(ANSWER_WORDS[answer])
    return said


def score(is_real: np.ndarray, said_real: np.ndarray, reader: str = "reader") -> TuringScore:
    """Accuracy over the answered images with its exact binomial interval and test against chance (50 %);
    ``said_real`` is boolean, or 1/0 with NaN for skipped images (``read_answers``)."""
    said_real = np.asarray(said_real, dtype=float)
    if is_real.shape != said_real.shape:
        raise ValueError(f"{reader}: {said_real.shape[0]} answers for {is_real.shape[0]} images")
    answered = ~np.isnan(said_real)
    if not answered.any():
        raise ValueError(f"{reader}: every image was left blank")
    truth, said = is_real[answered], said_real[answered] == 1.0
    correct = int((truth == said).sum())
    test = stats.binomtest(correct, len(truth), 0.5)
    ci = test.proportion_ci(0.95, method="exact")
    sensitivity = float(said[truth].mean()) if truth.any() else float("nan")
    specificity = float((~said[~truth]).mean()) if (~truth).any() else float("nan")
    return TuringScore(reader, len(truth), correct / len(truth), ci.low, ci.high, test.pvalue, sensitivity,
                       specificity, int((~answered).sum()))


def score_readers(test: TuringTest, answers_dir: str | Path = "") -> list[TuringScore]:
    """Score every filled answer sheet ``<reader>.csv`` in ``answers_dir`` (none when it is empty); a sheet that
    cannot be read is left out with a warning naming the file and line."""
    if not answers_dir:
        return []
    folder = Path(answers_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"answers_dir {folder} is not a folder of answer sheets")
    scores = []
    for sheet in sorted(folder.glob("*.csv")):
        try:
            scores.append(score(test.is_real, read_answers(sheet, len(test.is_real)), reader=sheet.stem))
        except ValueError as err:  # one unreadable sheet must not stop the class being scored
            warnings.warn(f"answer sheet not scored: {err}", stacklevel=2)
    return scores


# skandarani2023 §4.3: four cardiologists, 100 ACDC/StyleGAN images each, accuracy 60 % (+/- 10 %).
PAPER_EXPERTS = {"reader": "paper: 4 cardiologists, ACDC vs StyleGAN (their data)", "n": 100, "accuracy": 0.60,
                 "spread": 0.10}


def score_table(scores: list[TuringScore]):
    """Scores as a DataFrame, with the paper's expert result as a last, labelled row."""
    import pandas as pd

    table = pd.DataFrame([dataclasses.asdict(s) for s in scores])
    table["source"] = "this study"
    paper = {"reader": PAPER_EXPERTS["reader"], "n": PAPER_EXPERTS["n"], "accuracy": PAPER_EXPERTS["accuracy"],
             "ci_low": PAPER_EXPERTS["accuracy"] - PAPER_EXPERTS["spread"],
             "ci_high": PAPER_EXPERTS["accuracy"] + PAPER_EXPERTS["spread"], "source": "paper (±: spread across experts)"}
    return pd.concat([table, pd.DataFrame([paper])], ignore_index=True)


def answer_figure(test: TuringTest, columns: int = 10):
    """The quiz grid again with the answers: green frame = real, red frame = synthetic."""
    fig = quiz_figure(test, columns)
    for i, ax in enumerate(fig.axes[: len(test.is_real)]):
        colour = "tab:green" if test.is_real[i] else "tab:red"
        ax.axis("on")
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_edgecolor(colour)
            spine.set_linewidth(3)
        ax.set_title(f"{i + 1}: {'real' if test.is_real[i] else 'synthetic'}", fontsize=8, color=colour)
    fig.suptitle("Answers: green = real, red = synthetic")
    return fig


def machine_observer(real: np.ndarray, fake: np.ndarray, seed: int = 0, folds: int = 5,
                     size: int = 32) -> TuringScore:
    """Cross-validated logistic regression on downsampled pixels telling real from synthetic.

    Each image is predicted by a model that never saw it, so the score is an honest two-sample test.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    n = min(len(real), len(fake))
    if n < folds:
        raise ValueError(f"machine observer needs at least {folds} real and {folds} synthetic images, got {n}")
    x = np.concatenate([_downsample(real[:n], size), _downsample(fake[:n], size)])
    y = np.repeat([True, False], n)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    predicted = cross_val_predict(model, x, y, cv=cv)
    return score(y, predicted.astype(bool), reader="machine observer (logistic regression)")


def _downsample(images: np.ndarray, size: int) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    tensor = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    if tensor.shape[-1] > size:
        tensor = F.adaptive_avg_pool2d(tensor, size)
    return tensor.flatten(1).numpy()


def _displayable(image: np.ndarray) -> np.ndarray:
    """(C, H, W) in [-1, 1] -> (H, W) or (H, W, 3) in [0, 1]."""
    shown = image.transpose(1, 2, 0) if image.shape[0] == 3 else image[0]
    return np.clip((shown + 1.0) / 2.0, 0.0, 1.0)
