"""Scoring the visual Turing test: each reader against the key (exact binomial test against the 50 % of guessing),
and the class as a whole (pooled accuracy bootstrapped over readers, Fleiss' kappa between readers, which images
fooled most, accuracy against stated confidence). Without readers, a machine observer (a cross-validated
logistic regression on pixels: a classifier two-sample test) shows how separable the sets are for an algorithm.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import warnings
from pathlib import Path

import numpy as np
from scipy import stats

from medgan_lib.stats import Estimate, bootstrap_ratio, fleiss_kappa

# what a reader may write (any case): every page calls the synthetic images "synthetic", sheets say "fake"
ANSWER_WORDS = {"real": True, "r": True, "fake": False, "f": False, "synthetic": False, "s": False}

# skandarani2023 §4.3: four cardiologists, 100 ACDC/StyleGAN images each, accuracy 60 % (+/- 10 %: their spread
# across the four experts, not a confidence interval).
PAPER_EXPERTS = {"reader": "paper: 4 cardiologists, ACDC vs StyleGAN (their data)", "n": 100, "accuracy": 0.60,
                 "spread": 0.10}


@dataclasses.dataclass
class Sheet:
    """One reader's answers in quiz order: 1.0 real, 0.0 synthetic, NaN skipped; confidence 1-5 and seconds per
    image where the sheet has them (NaN otherwise)."""

    reader: str
    said: np.ndarray
    confidence: np.ndarray
    seconds: np.ndarray


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
    mean_confidence: float = float("nan")  # over the answers that gave one (1 guessing .. 5 certain)
    median_seconds: float = float("nan")  # time per image, from quiz.html


@dataclasses.dataclass
class ClassResult:
    """The whole class: readers, pooled accuracy, agreement, per-image and per-confidence tables."""

    readers: list[TuringScore]
    pooled: Estimate  # correct / answered over all readers, interval from resampling readers
    spread: float  # standard deviation of the readers' accuracies (what the paper's ± reports)
    kappa: Estimate | None  # Fleiss' kappa between readers (None with fewer than 2 readers)
    per_image: "object"  # DataFrame: image, truth, answers, wrong share (fooled rate for synthetic images)
    by_confidence: "object"  # DataFrame: confidence, answers, accuracy and its exact interval


def read_answers(path: str | Path, n: int) -> Sheet:
    """Read a filled answer sheet (a CSV with columns ``image`` 1..n and ``answer``; ``confidence``, ``seconds``
    and ``reader`` optional, as quiz.html writes them). Answers real/synthetic/fake/r/s/f in any case; a blank
    answer or a missing row is skipped, not wrong. The reader is the ``reader`` column, else the file's stem."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"answer sheet {path} does not exist")
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return parse_answers(handle.read(), n, str(path), default_reader=path.stem)


def parse_answers(text: str, n: int, source: str, default_reader: str = "reader") -> Sheet:
    """``read_answers`` on the text of a sheet; ``source`` names it in errors (a file, or a browser submission)."""
    said, confidence, seconds = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    readers = set()
    for line, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        try:
            image, answer = int(row["image"]), (row["answer"] or "").strip().lower()
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{source}:{line}: expected columns 'image' (1..{n}) and 'answer'") from None
        if not 1 <= image <= n:
            raise ValueError(f"{source}:{line}: image {image} is not in the quiz (1..{n})")
        if answer and answer not in ANSWER_WORDS:
            raise ValueError(f"{source}:{line}: answer {row['answer']!r} for image {image}; expected real or "
                             f"synthetic ({', '.join(ANSWER_WORDS)}) or blank")
        if answer:
            said[image - 1] = float(ANSWER_WORDS[answer])
        level = (row.get("confidence") or "").strip()
        if level:
            if level not in {"1", "2", "3", "4", "5"}:
                raise ValueError(f"{source}:{line}: confidence {level!r} for image {image}; expected 1-5 or blank")
            confidence[image - 1] = float(level)
        with_time = (row.get("seconds") or "").strip()
        if with_time:
            try:
                seconds[image - 1] = float(with_time)
            except ValueError:
                raise ValueError(f"{source}:{line}: seconds {with_time!r} for image {image} is not a number") from None
        if (row.get("reader") or "").strip():
            readers.add(row["reader"].strip())
    if len(readers) > 1:
        raise ValueError(f"{source}: one sheet holds several readers ({', '.join(sorted(readers))})")
    return Sheet(readers.pop() if readers else default_reader, said, confidence, seconds)


def score(is_real: np.ndarray, said_real: np.ndarray, reader: str = "reader") -> TuringScore:
    """Accuracy over the answered images with its exact binomial interval and test against chance (50 %);
    ``said_real`` is boolean, or 1/0 with NaN for skipped images (``Sheet.said``)."""
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


def score_sheet(is_real: np.ndarray, sheet: Sheet) -> TuringScore:
    """``score`` of one sheet, with the reader's mean confidence and median time per image."""
    result = score(is_real, sheet.said, sheet.reader)
    answered = ~np.isnan(sheet.said)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # no confidence or no times given: NaN, as documented
        result.mean_confidence = float(np.nanmean(sheet.confidence[answered]))
        result.median_seconds = float(np.nanmedian(sheet.seconds))
    return result


def read_sheets(answers_dir: str | Path, n: int) -> list[Sheet]:
    """Every answer sheet ``*.csv`` in ``answers_dir`` (none for ""); a sheet that cannot be read or holds no
    answer is left out with a warning naming the file and line, so one bad sheet does not stop the class."""
    if not answers_dir:
        return []
    folder = Path(answers_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"answers_dir {folder} is not a folder of answer sheets")
    sheets, names = [], {}
    for path in sorted(folder.glob("*.csv")):
        try:
            sheet = read_answers(path, n)
        except ValueError as err:
            warnings.warn(f"answer sheet not scored: {err}", stacklevel=2)
            continue
        if np.isnan(sheet.said).all():
            warnings.warn(f"answer sheet not scored: {path}: every image was left blank", stacklevel=2)
            continue
        names[sheet.reader] = names.get(sheet.reader, 0) + 1
        if names[sheet.reader] > 1:  # two readers gave the same name: keep both, tell them apart
            sheet.reader = f"{sheet.reader} ({path.stem})"
        sheets.append(sheet)
    return sheets


def score_readers(is_real: np.ndarray, answers_dir: str | Path = "") -> list[TuringScore]:
    """``score_sheet`` of every readable sheet in ``answers_dir`` (``read_sheets``)."""
    is_real = getattr(is_real, "is_real", is_real)  # a TuringTest or its key
    return [score_sheet(is_real, sheet) for sheet in read_sheets(answers_dir, len(is_real))]


def score_class(is_real: np.ndarray, answers_dir: str | Path, seed: int = 0) -> ClassResult | None:
    """``class_result`` of the readable sheets in ``answers_dir``; None while it holds none."""
    is_real = getattr(is_real, "is_real", is_real)
    sheets = read_sheets(answers_dir, len(is_real))
    return class_result(is_real, sheets, seed) if sheets else None


def class_result(is_real: np.ndarray, sheets: list[Sheet], seed: int = 0) -> ClassResult:
    """The class's result from its readers' sheets (at least one)."""
    import pandas as pd

    is_real = getattr(is_real, "is_real", is_real)
    if not sheets:
        raise ValueError("no answer sheets to score")
    readers = [score_sheet(is_real, sheet) for sheet in sheets]
    said = np.stack([sheet.said for sheet in sheets])  # readers x images
    answered = ~np.isnan(said)
    correct = answered & ((said == 1.0) == is_real[None, :])
    pooled = bootstrap_ratio(correct.sum(1), answered.sum(1), seed=seed)
    spread = float(np.std([r.accuracy for r in readers], ddof=1)) if len(readers) > 1 else float("nan")
    kappa = None
    if len(sheets) > 1 and (answered.sum(0) >= 2).sum() >= 2:
        counts = np.stack([(said == 1.0).sum(0), (said == 0.0).sum(0)], axis=1)  # images x (real, synthetic)
        kappa = fleiss_kappa(counts, seed=seed)
    per_image = pd.DataFrame({
        "image": np.arange(1, len(is_real) + 1), "truth": np.where(is_real, "real", "synthetic"),
        "answers": answered.sum(0),
        "wrong share": np.where(answered.sum(0) > 0, (answered & ~correct).sum(0) / np.maximum(answered.sum(0), 1),
                                np.nan)})
    levels = np.stack([sheet.confidence for sheet in sheets])
    rows = []
    for level in (1, 2, 3, 4, 5, None):
        chosen = answered & (np.isnan(levels) if level is None else levels == level)
        k, total = int(correct[chosen].sum()), int(chosen.sum())
        if total:
            ci = stats.binomtest(k, total, 0.5).proportion_ci(0.95, method="exact")
            rows.append({"confidence": "not given" if level is None else str(level), "answers": total,
                         "accuracy": k / total, "ci low": ci.low, "ci high": ci.high})
    return ClassResult(readers, pooled, spread, kappa, per_image, pd.DataFrame(rows))


def reader_table(result: ClassResult):
    """One row per reader: answered, skipped, accuracy with its exact interval, the binomial p, sensitivity and
    specificity (the CLI and the live results page show it through ``medgan_lib.tables``)."""
    import pandas as pd

    return pd.DataFrame([{"reader": r.reader, "answered": r.n, "skipped": r.skipped, "accuracy": r.accuracy,
                          "95 % interval": f"{r.ci_low:.0%} – {r.ci_high:.0%}", "p (vs 50 %)": r.p_value,
                          "sensitivity": r.real_called_real, "specificity": r.fake_called_fake}
                         for r in result.readers])


def summary_lines(result: ClassResult) -> list[str]:
    """The class result in a few lines of plain text (the CLI's output, the live results page's heading)."""
    pooled = result.pooled
    interval = f" [{pooled.low:.0%}, {pooled.high:.0%}] over readers" if np.isfinite(pooled.low) else ""
    lines = [f"{len(result.readers)} readers; class accuracy {pooled.value:.0%}{interval} (chance 50%; the "
             f"paper's experts {PAPER_EXPERTS['accuracy']:.0%} ± {PAPER_EXPERTS['spread']:.0%} spread)"]
    if np.isfinite(result.spread):
        lines.append(f"spread of the readers' accuracies (SD): {result.spread:.0%}")
    if result.kappa is not None:
        lines.append(f"agreement between readers (Fleiss' kappa): {result.kappa.text(2)} over {result.kappa.n} images"
                     " (0 = chance, 1 = all agree)")
    skipped = sum(r.skipped for r in result.readers)
    if skipped:
        lines.append(f"{skipped} answers skipped (left blank), not counted as wrong")
    fooled = result.per_image[(result.per_image["truth"] == "synthetic") & (result.per_image["answers"] > 0)]
    if len(fooled):
        worst = fooled.sort_values(["wrong share", "image"], ascending=[False, True]).iloc[0]
        lines.append(f"synthetic image that fooled most: #{worst['image']} ({worst['wrong share']:.0%} of "
                     f"{worst['answers']} readers called it real)")
    return lines


def turing_notes(machine: TuringScore, result: ClassResult | None = None) -> list[str]:
    """"What to notice" lines written from the scores: whether an algorithm separates the sets by their pixels,
    whether the class could, and whether confident readers were wrong."""
    chance = machine.ci_low <= 0.5 <= machine.ci_high
    lines = [f"A pixel-statistics observer (logistic regression, cross-validated) is right {machine.accuracy:.0%} of "
             f"the time [{machine.ci_low:.0%}, {machine.ci_high:.0%}] on {machine.n} images: "
             + ("it cannot tell the sets apart either, so at this n the samples match the real images' pixel "
                "statistics." if chance else
                "the sets differ in their pixels, so a class that cannot tell them apart is fooled by eye, not by "
                "indistinguishable images.")]
    if result is None:
        lines.append("No answer sheets yet: the class's result appears here once the sheets are in answers/ "
                     "(rerun this notebook, or `medgan turing score KIT`).")
        return lines
    pooled = result.pooled
    if np.isfinite(pooled.low):
        told = pooled.low > 0.5
        lines.append(f"The class is right {pooled.value:.0%} [{pooled.low:.0%}, {pooled.high:.0%}] of the time: "
                     + ("above chance, the readers can tell real from synthetic." if told else
                        "the interval holds 50 %, so the class cannot tell the sets apart on these images."))
    import pandas as pd

    table = result.by_confidence
    if len(table):
        level = pd.to_numeric(table["confidence"], errors="coerce")  # "not given" is no level
        wrong = table[(level >= 4) & (table["accuracy"] < 0.5)]
        if len(wrong):
            lines.append(f"Answers given with confidence {', '.join(wrong['confidence'])} of 5 were mostly wrong: "
                         "confident and fooled, the strongest sign of convincing synthetic images.")
    return lines


def score_table(scores: list[TuringScore], spread: float = float("nan")):
    """Scores as a DataFrame, with the paper's experts as a last, labelled row: their ± is the spread across the
    four experts, so it goes in the spread column (beside ours, ``spread``), never in the interval columns."""
    import pandas as pd

    table = pd.DataFrame([dataclasses.asdict(s) for s in scores])
    table["source"] = "this study"
    table["spread across readers"] = spread
    paper = {"reader": PAPER_EXPERTS["reader"], "n": PAPER_EXPERTS["n"], "accuracy": PAPER_EXPERTS["accuracy"],
             "spread across readers": PAPER_EXPERTS["spread"], "source": "paper (± is the spread across experts)"}
    return pd.concat([table, pd.DataFrame([paper])], ignore_index=True)


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
