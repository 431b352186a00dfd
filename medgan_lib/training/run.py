"""``Run``: a GAN run directory, and the only code that knows its layout; ``find_runs`` lists a study's runs.

``<study>/runs/NNNNN-<gan>-<dataset>[-masks]-s<seed>/`` holds ``config.json`` (the TrainConfig, with its
DataSpec), ``run.json`` (data shape, the training data's hash and patients, provenance), ``stats.jsonl``,
``checkpoints/last.pt`` (+ ``last.json``: its step, size and SHA-256), ``grids/``, ``samples/`` and, once
finished, ``summary.json``. Everything else asks a ``Run`` instead of opening these files.

``last.pt`` holds tensors and plain values only and is read with ``torch.load(weights_only=True)`` after its
size and SHA-256 are checked against ``last.json``, so no checkpoint can run code. ``last.json`` is written
before ``last.pt`` is replaced and keeps the entry of the checkpoint being replaced ("previous"), so a kill
between the two writes leaves a checkpoint that still verifies.
"""

from __future__ import annotations

import functools
import json
import os
import re
from pathlib import Path
from typing import Any

import torch

from medgan_lib.atomic import ArtefactError, HashingWriter, atomic_open, torch_load, write_json
from medgan_lib.data.spec import DataSpec, common_spec
from medgan_lib.gans import GANS, GAN, DataShape
from medgan_lib.hashing import sha256_file
from medgan_lib.results import study_path
from medgan_lib.runtime import plain_rng_state, select_device
from medgan_lib.samples import SampleSet
from medgan_lib.training.config import TrainConfig

RUN_NAME = re.compile(r"^(\d{5})-(.+)-s(\d+)$")
RUN_NUMBER = re.compile(r"^(\d{5})-")  # any numbered folder takes its number, finished or not
CHANNELS = ("joint", "masks", None)
CHECKPOINT_KEYS = ("step", "wall", "gan", "opt_g", "opt_d", "scaler_g", "scaler_d", "rng", "data", "config")


def run_suffix(config: TrainConfig) -> str:
    """The part of a run's name after its number: ``-<gan>-<dataset>[-masks]-s<seed>``."""
    return f"-{config.gan}-{config.dataset}{'-masks' if config.channels == 'masks' else ''}-s{config.seed}"


def build_gan(config: TrainConfig, shape: DataShape) -> GAN:
    """The registered GAN for ``config`` (weights drawn from the current torch RNG)."""
    return GANS[config.gan](config, shape)


class Run:
    """One GAN run directory. Reading is lazy and cached; ``Run(path)`` refuses a folder without ``config.json``."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if not self.config_file.is_file():
            raise FileNotFoundError(f"{self.path} is not a GAN run directory: {self.config_file.name} is missing")

    @classmethod
    def create(cls, runs: str | os.PathLike, config: TrainConfig) -> "Run":
        """A new run folder ``runs/NNNNN<suffix>`` (the next free number) holding ``config.json``."""
        runs = Path(runs)
        runs.mkdir(parents=True, exist_ok=True)
        taken = [int(m.group(1)) for p in runs.iterdir() if (m := RUN_NUMBER.match(p.name))]
        path = runs / f"{max(taken, default=-1) + 1:05d}{run_suffix(config)}"
        path.mkdir()  # FileExistsError if a concurrent writer took the number: the caller retries
        write_json(path / "config.json", config.to_dict())
        return cls(path)

    def write_config(self, config: TrainConfig) -> None:
        """Record ``config`` (a resume may change its schedule fields) and forget the cached copy."""
        write_json(self.config_file, config.to_dict())
        for cached in ("config_dict", "config"):
            self.__dict__.pop(cached, None)

    # --- layout ---
    @property
    def name(self) -> str:
        return self.path.name

    @property
    def config_file(self) -> Path:
        return self.path / "config.json"

    @property
    def info_file(self) -> Path:
        return self.path / "run.json"

    @property
    def summary_file(self) -> Path:
        return self.path / "summary.json"

    @property
    def stats_file(self) -> Path:
        return self.path / "stats.jsonl"

    @property
    def checkpoint_file(self) -> Path:
        return self.path / "checkpoints" / "last.pt"

    @property
    def checkpoint_info_file(self) -> Path:
        return self.checkpoint_file.with_suffix(".json")

    @property
    def grids_dir(self) -> Path:
        return self.path / "grids"

    def samples_dir(self, n: int, seed: int, source: str = "train") -> Path:
        return self.path / "samples" / (f"n{n}-s{seed}" + ("" if source == "train" else f"-{source}"))

    # --- contents ---
    @functools.cached_property
    def config_dict(self) -> dict[str, Any]:
        """``config.json`` as written (hyperparameter comparison works on this, not on the typed config)."""
        return json.loads(self.config_file.read_text())

    @functools.cached_property
    def config(self) -> TrainConfig:
        return TrainConfig.from_dict(self.config_dict, where=str(self.config_file))

    @property
    def data_spec(self) -> DataSpec:
        return self.config.data

    @property
    def gan_name(self) -> str:
        return self.config.gan

    @property
    def gan_class(self) -> type:
        """The registered GAN class of this run (its flags: ``conditional``, ``class_conditional``)."""
        return GANS[self.gan_name]

    @property
    def conditional(self) -> bool:
        return bool(self.gan_class.conditional)

    @property
    def is_mask_generator(self) -> bool:
        """A masks-only run (``TrainConfig.channels="masks"``): it draws masks for SPADE, never images."""
        return self.config.channels == "masks"

    @property
    def finished(self) -> bool:
        return self.summary_file.is_file()

    @functools.cached_property
    def info(self) -> dict[str, Any]:
        if not self.info_file.is_file():
            raise FileNotFoundError(f"{self.path} has not started training: {self.info_file.name} is missing")
        return json.loads(self.info_file.read_text())

    @property
    def shape(self) -> DataShape:
        return DataShape(**self.info["shape"])

    @property
    def label_names(self) -> list[str]:
        return list(self.info["data"]["label_names"])

    @property
    def training_patients(self) -> set[str] | None:
        """Patient ids of the images the GAN trained on (None for runs written before they were recorded)."""
        patients = self.info["data"].get("patients")
        return None if patients is None else set(patients)

    @property
    def summary(self) -> dict[str, Any]:
        if not self.finished:
            raise FileNotFoundError(f"run {self.name} has not finished: {self.summary_file.name} is missing")
        return json.loads(self.summary_file.read_text())

    def stats(self) -> list[dict[str, Any]]:
        """The rows of ``stats.jsonl`` (losses, D outputs, gradient norms per logged step)."""
        if not self.stats_file.is_file():
            return []
        return [json.loads(line) for line in self.stats_file.read_text().splitlines() if line.strip()]

    def checkpoint_step(self) -> int:
        """Step of the last checkpoint (from its small JSON companion, not the checkpoint itself); 0 if none."""
        return int(self._checkpoint_info().get("step", 0))

    def _checkpoint_info(self) -> dict[str, Any]:
        """``last.json`` as written ({} if there is none)."""
        path = self.checkpoint_info_file
        if not path.is_file():
            return {}
        try:
            return json.loads(path.read_text())
        except ValueError as err:
            raise ArtefactError(f"checkpoint record {path} is damaged ({err}); delete the run {self.path} to train "
                                "it again") from None

    def _checkpoint_entry(self) -> dict[str, Any] | None:
        """The entry of ``last.json`` (latest or previous) whose size and SHA-256 match ``last.pt``; None if none."""
        info, path = self._checkpoint_info(), self.checkpoint_file
        entries = [e for e in (info, info.get("previous")) if e and "sha256" in e]
        size = path.stat().st_size if path.is_file() else None
        if not any(e["size"] == size for e in entries):
            return None
        digest = sha256_file(path)
        match = next((e for e in entries if e["size"] == size and e["sha256"] == digest), None)
        return None if match is None else {k: v for k, v in match.items() if k != "previous"}

    def write_checkpoint(self, state: dict[str, Any]) -> None:
        """Write ``state`` (see ``CHECKPOINT_KEYS``) to ``last.pt`` atomically, recording its size and SHA-256 in
        ``last.json`` just before the file is replaced (with the replaced checkpoint's entry as "previous")."""
        previous = self._checkpoint_entry()
        with atomic_open(self.checkpoint_file, "wb") as handle:
            writer = HashingWriter(handle)
            torch.save(state, writer)
            write_json(self.checkpoint_info_file, {"step": int(state["step"]), "wall": float(state["wall"]),
                                                   "size": writer.size, "sha256": writer.hexdigest(),
                                                   "previous": previous})

    def damaged(self) -> list[str]:
        """What of the run's artefacts fails its recorded size or SHA-256 (the checkpoint, every sample set), one
        message naming the file each; [] when all are intact. The study runner asks before reusing a step."""
        problems = []
        if self.checkpoint_file.is_file() or self.finished:
            try:
                if self._checkpoint_entry() is None:
                    problems.append(f"checkpoint {self.checkpoint_file} does not match the size and SHA-256 "
                                    f"{self.checkpoint_info_file.name} records")
            except ArtefactError as err:
                problems.append(str(err))
        for meta in sorted(self.path.glob("samples/*/meta.json")):
            try:
                SampleSet(meta.parent).verify()
            except (ArtefactError, OSError) as err:
                problems.append(str(err))
        return problems

    def read_checkpoint(self) -> dict[str, Any]:
        """``last.pt`` once its size and SHA-256 match ``last.json``, read as tensors and plain values only."""
        path, info = self.checkpoint_file, self._checkpoint_info()
        if not path.is_file():
            raise FileNotFoundError(f"{self.path} is not a trained GAN run: {path} is missing")
        if "sha256" not in info:
            raise ArtefactError(
                f"checkpoint {path} is refused: {self.checkpoint_info_file.name} records no SHA-256, so it was written "
                "by an older medgan_lib (whose checkpoints hold pickled NumPy objects, which could run code when "
                f"loaded) or its record is lost. Retrain the run (delete {self.path}); or, only if you trust where "
                f"the file came from, convert it once with Run({str(self.path)!r}).upgrade_checkpoint(trusted=True)")
        if self._checkpoint_entry() is None:
            size = path.stat().st_size
            raise ArtefactError(
                f"checkpoint {path} is damaged: {self.checkpoint_info_file.name} expects {info['size']} bytes with "
                f"SHA-256 {info['sha256']} (step {info['step']}), the file has {size} bytes"
                f"{' and another SHA-256' if size == info['size'] else ''}. Delete the run {self.path} to train it "
                "again")
        return torch_load(path, "GAN checkpoint", CHECKPOINT_KEYS)

    def upgrade_checkpoint(self, trusted: bool = False) -> None:
        """Rewrite an older medgan_lib's checkpoint (NumPy RNG state, no SHA-256) in the current format. This
        unpickles the file, which runs any code in it: ``trusted=True`` says you trust where it came from."""
        if not trusted:
            raise ValueError(f"upgrade_checkpoint unpickles {self.checkpoint_file}, which runs any code it holds; "
                             "call it with trusted=True only for a file you trust")
        state = torch.load(self.checkpoint_file, map_location="cpu", weights_only=False)
        self.write_checkpoint({**state, "rng": plain_rng_state(state["rng"])})

    def remove_partial_writes(self) -> list[Path]:
        """Delete the temporary ``.*.tmp`` files a killed checkpoint write left in ``checkpoints/``."""
        stray = sorted(self.checkpoint_file.parent.glob(".*.tmp"))
        for path in stray:
            path.unlink(missing_ok=True)
        return stray

    # --- the model and its samples ---
    def load(self, device: str = "auto") -> GAN:
        """The trained GAN in eval mode from the last checkpoint (GANs with EMA weights generate with them)."""
        state = self.read_checkpoint()
        gan = build_gan(self.config, self.shape)
        gan.load_state_dict(state["gan"])
        return gan.to(select_device(device)).eval()

    def samples(self, n: int, seed: int = 0, mask_source: str = "train", mask_run: "Run | str | None" = None,
                batch_size: int = 256, device: str = "auto"):
        """The run's ``n`` samples drawn with ``seed`` (written once, then reused by every section); see
        ``medgan_lib.training.sampling.sample``."""
        from medgan_lib.training.sampling import sample

        return sample(self, n, seed, batch_size, mask_source, mask_run, device)

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Run) and self.path.resolve() == other.path.resolve()

    def __hash__(self) -> int:
        return hash(self.path.resolve())

    def __fspath__(self) -> str:
        return str(self.path)


def as_run(run: Run | str | os.PathLike) -> Run:
    return run if isinstance(run, Run) else Run(run)


def runs_like(runs: str | os.PathLike, config: TrainConfig) -> list[Run]:
    """The runs in folder ``runs`` named like ``config``'s (same GAN, dataset, channels and seed), oldest first."""
    pattern = f"[0-9][0-9][0-9][0-9][0-9]{run_suffix(config)}"
    return [Run(p) for p in sorted(Path(runs).glob(pattern)) if (p / "config.json").is_file()]


def find_runs(study_dir: str | os.PathLike | None = None, gan: str | None = None, dataset: str | None = None,
              finished: bool = True, channels: str | None = "joint", data: DataSpec | None = None) -> list[Run]:
    """A study's GAN runs, oldest first, optionally filtered by GAN, dataset name or whole ``data`` spec;
    ``finished`` keeps runs with a summary; ``channels`` keeps image generators ("joint", the default),
    mask generators for SPADE ("masks"), or both (None)."""
    if channels not in CHANNELS:
        raise ValueError(f"find_runs: channels must be 'joint', 'masks' or None, got {channels!r}")
    folder = study_path(study_dir) / "runs"
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.iterdir()):
        if not RUN_NAME.match(path.name) or not (path / "config.json").is_file():
            continue
        run = Run(path)
        if (gan is None or run.gan_name == gan) and (dataset is None or run.data_spec.dataset == dataset) \
                and (data is None or run.data_spec == data) \
                and (channels is None or run.config.channels == channels) and (not finished or run.finished):
            found.append(run)
    return found


def latest_per_gan(runs: list[Run]) -> list[Run]:
    """The latest of each GAN's runs (``runs`` oldest first, as ``find_runs`` gives them), in the order the GANs
    first appear: the one run per GAN that Table 2 trains its U-Net on and the side-by-side figures show."""
    latest: dict[str, Run] = {}
    for run in runs:
        latest[run.gan_name] = run  # a dict keeps the first position of a key, with its latest value
    return list(latest.values())


def latest_per_seed(runs: list[Run]) -> list[Run]:
    """The latest run of each (GAN, seed) in ``runs`` (oldest first), by GAN in the order the GANs first appear,
    then by seed: every GAN seed once, as Table 2's replicates use them."""
    latest: dict[tuple[str, int], Run] = {}
    for run in runs:
        latest[(run.gan_name, run.config.seed)] = run
    order = list(dict.fromkeys(run.gan_name for run in runs))
    return [latest[key] for key in sorted(latest, key=lambda key: (order.index(key[0]), key[1]))]


def latest_mask_run(like: Run, study_dir: str | os.PathLike | None = None, among: list[Run] | None = None
                    ) -> Run | None:
    """The latest finished masks-only run trained on the same data as ``like`` (from ``among``, else the
    study's); None if there is none."""
    candidates = among if among is not None else find_runs(study_dir, channels="masks")
    same = [r for r in candidates if r.is_mask_generator and r.data_spec == like.data_spec]
    return same[-1] if same else None


def runs_spec(runs: list[Run]) -> DataSpec:
    """The DataSpec all ``runs`` were trained on; refuses, naming the runs, when they disagree."""
    return common_spec({run.name: run.data_spec for run in runs})
