"""The visual Turing test's kit (skandarani2023 §4.3): a shuffled 50/50 mix of real and synthetic images, written
as what readers get (``quiz/``: a self-contained ``quiz.html``, a printable ``quiz.png``, a blank answer sheet and
the numbered images) and, apart from it, what only the teacher keeps (``teacher/``: the answer key and the answers
grid). Filled sheets go to ``answers/``, where ``medgan turing serve`` also stores the browser submissions.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path

import numpy as np

from medgan_lib.atomic import atomic_open, write_json
from medgan_lib.plotting import fit

ANSWERS = ("real", "fake")  # what the answer key writes


@dataclasses.dataclass
class TuringTest:
    """The quiz: images in presentation order and the hidden key (True = real)."""

    images: np.ndarray  # float32 (n, C, H, W) in [-1, 1]
    is_real: np.ndarray  # bool (n,)
    seed: int


@dataclasses.dataclass(frozen=True)
class Kit:
    """Where a kit's parts are: ``quiz/`` is handed out, ``teacher/`` is not, ``answers/`` collects the sheets."""

    root: Path

    @property
    def quiz(self) -> Path:
        return self.root / "quiz"

    @property
    def teacher(self) -> Path:
        return self.root / "teacher"

    @property
    def answers(self) -> Path:
        return self.root / "answers"

    @property
    def key_file(self) -> Path:
        return self.teacher / "answer_key.json"

    def is_real(self) -> np.ndarray:
        """The answer key (True = real), in quiz order."""
        if not self.key_file.is_file():
            raise FileNotFoundError(f"{self.root} is not a Turing-test kit: {self.key_file} is missing (the kit is "
                                    f"written by notebooks/07_visual_turing_test.ipynb under <study>/turing/)")
        key = json.loads(self.key_file.read_text())["answers"]
        return np.array([a == ANSWERS[0] for a in key])

    def image_files(self) -> list[Path]:
        """The quiz images as PNG files, image 1 first."""
        files = sorted((self.quiz / "images").glob("*.png"))
        if not files:
            raise FileNotFoundError(f"{self.quiz / 'images'} holds no quiz images")
        return files


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


def save_kit(test: TuringTest, out_dir: str | Path, columns: int = 10, title: str = "") -> dict[str, Path]:
    """Write the kit under ``out_dir`` (see the module docstring); returns the paths a notebook shows."""
    import matplotlib.pyplot as plt

    from medgan_lib.turing.page import quiz_page

    kit = Kit(Path(out_dir))
    pngs = [image_png(image) for image in test.images]
    for stale in sorted((kit.quiz / "images").glob("*.png"))[len(pngs):]:  # a previous, larger kit's images
        stale.unlink()
    for i, png in enumerate(pngs, start=1):
        with atomic_open(kit.quiz / "images" / f"{i:03d}.png", "wb") as handle:
            handle.write(png)
    with atomic_open(kit.quiz / "quiz.html", "w") as handle:
        handle.write(quiz_page(pngs, title=title))
    for path, figure in ((kit.quiz / "quiz.png", quiz_figure), (kit.teacher / "answers.png", answer_figure)):
        fig = figure(test, columns)
        with atomic_open(path, "wb") as handle:
            fig.savefig(handle, format="png", dpi=100, bbox_inches="tight")
        plt.close(fig)
    with atomic_open(kit.quiz / "answer_sheet.csv", "w") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "answer", "confidence"])
        writer.writerows([i + 1, "", ""] for i in range(len(test.is_real)))
    write_json(kit.key_file, {"seed": test.seed, "answers": [ANSWERS[0] if r else ANSWERS[1] for r in test.is_real]})
    kit.answers.mkdir(exist_ok=True)
    return {"quiz_html": kit.quiz / "quiz.html", "quiz": kit.quiz / "quiz.png",
            "answer_sheet": kit.quiz / "answer_sheet.csv", "key": kit.key_file, "answers": kit.teacher / "answers.png",
            "answers_dir": kit.answers}


def image_png(image: np.ndarray) -> bytes:
    """One quiz image as 8-bit PNG bytes (grey, or RGB for three channels), as readers see it."""
    from PIL import Image

    pixels = np.round(_displayable(image) * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def quiz_figure(test: TuringTest, columns: int = 10):
    """The quiz as a numbered image grid (first image channel for multi-channel images but RGB)."""
    import matplotlib.pyplot as plt

    n = len(test.images)
    rows = -(-n // columns)
    fig, axes = plt.subplots(rows, columns, figsize=fit(1.6 * columns, 1.75 * rows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(_displayable(test.images[i]), cmap="gray", vmin=0, vmax=1)
            ax.set_title(str(i + 1), fontsize=9)
    fig.suptitle("Visual Turing test: real or synthetic?")
    return fig


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
        ax.set_title(f"{i + 1}: {'real' if test.is_real[i] else 'synthetic'}", fontsize=9, color=colour)
    fig.suptitle("Answers: green = real, red = synthetic")
    return fig


def _displayable(image: np.ndarray) -> np.ndarray:
    """(C, H, W) in [-1, 1] -> (H, W) or (H, W, 3) in [0, 1]."""
    shown = image.transpose(1, 2, 0) if image.shape[0] == 3 else image[0]
    return np.clip((shown + 1.0) / 2.0, 0.0, 1.0)
