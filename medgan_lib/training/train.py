"""``train_gan``: one function drives every registered GAN, config in, run directory out.

The run directory's layout belongs to ``medgan_lib.training.run.Run``: ``config.json`` (the TrainConfig with its
DataSpec), ``run.json`` (data shape, the training data's hash and patients, provenance), ``stats.jsonl`` (one row
per log interval: losses, D(x), D(G(z)), gradient norms, wall time), ``checkpoints/last.pt`` (models, optimisers,
step, every RNG, data order; written atomically, its SHA-256 in ``last.json``), ``grids/step_NNNNNN.png`` and, when
finished, ``summary.json`` (belmekki's D-loss statistics, mode-collapse flag, throughput), also appended to the
study's ``gan_runs`` results.

Resuming restores everything, so an interrupted run continues exactly as an uninterrupted one would.

Data-parallel training: ``train_gan(config, processes=N)`` starts N processes of this machine with torchrun (one per
GPU, or N CPU processes with gloo), and ``torchrun --nproc_per_node N -m medgan_lib.cli train ...`` does the same on
any number of nodes. The N processes compute what one process computes with the same global batch
(``medgan_lib.parallel``); rank 0 alone writes the run directory, and checkpoints hold every rank's RNG state.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import torch

from medgan_lib import parallel
from medgan_lib.atomic import write_json, write_text
from medgan_lib.config import ConfigError
from medgan_lib.data.dataset import PreparedDataset
from medgan_lib.diversity import COLLAPSE_RATIO, collapsed, diversity
from medgan_lib.gans import DataShape
from medgan_lib.gans.augment import classic_augment
from medgan_lib.hashing import hash_inputs
from medgan_lib.locks import exclusive
from medgan_lib.optim import Adas
from medgan_lib.progress import tqdm
from medgan_lib.provenance import provenance
from medgan_lib.results import append_result, read_results, study_path
from medgan_lib.runtime import autocast, get_rng_state, precision, seed_everything, select_device, set_rng_state
from medgan_lib.training.config import RESUMABLE_FIELDS, TrainConfig, config_differences
from medgan_lib.training.grids import save_grid
from medgan_lib.training.run import Run, build_gan, runs_like
from medgan_lib.training.stats import dloss_statistics

RUNS_LOCK, RUN_LOCK = ".runs.lock", ".run.lock"  # medgan_lib.locks files in runs/ and in each run folder
DIVERSITY_SAMPLES = 64  # samples compared with as many real images to flag mode collapse
GRID_SEED_OFFSET = 1_000_003  # the fixed grid latents use seed + this, never the training RNG
LOSS_NAMES = {"d_loss": "discriminator loss", "g_loss": "generator loss"}  # stats key -> name in messages


class TrainingDiverged(RuntimeError):
    """A loss or a network's weights became NaN/inf; the message says at which iteration, what, and which
    checkpoint (always one with finite weights) is kept, if any."""


def train_gan(config: TrainConfig, study_dir: str | Path | None = None, resume: str | Path | None = "auto",
              data: PreparedDataset | None = None, processes: int = 1) -> Path:
    """Train ``config.gan`` on ``config.data``'s GAN training images (``DataSpec.gan_train``) and return the run
    directory.

    ``resume="auto"`` continues (or just returns) a run of this study with the same hyperparameters
    (only iterations, intervals, device and progress may differ); a path resumes that run and refuses
    if its hyperparameters differ; ``None`` always starts a new run. ``data`` replaces the prepared
    images (tests, custom data). ``processes`` > 1 trains data-parallel on that many processes of this
    machine, started with torchrun (``config.batch_size`` is the global batch); a process torchrun started
    runs its share whatever ``processes`` says.
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"train_gan expects a TrainConfig, got {type(config).__name__}")
    if not isinstance(processes, int) or processes < 1:
        raise ConfigError(f"train_gan: processes must be an integer >= 1, got {processes!r}")
    if processes > 1 and not parallel.launched_by_torchrun():
        return _launch(config, study_dir, resume, data, processes)
    runs = study_path(study_dir) / "runs"
    if data is None:
        data = config.data.gan_train()
    if data.resolution != config.resolution:
        raise ConfigError(f"dataset '{data.name}' has resolution {data.resolution}, config asks {config.resolution}")
    if config.channels == "masks" and data.num_classes < 2:
        raise ConfigError(f"TrainConfig.channels: 'masks' needs segmentation masks, but dataset '{data.name}' has "
                          f"none (labels {list(data.label_names)})")
    with parallel.joined(select_device(config.device).type) as world:
        if world.main:
            with exclusive(runs / RUNS_LOCK):  # choosing or creating the run folder: one train_gan at a time
                run = _run_dir(config, runs, resume)
        run = Run(parallel.broadcast_object(str(run.path) if world.main else None))
        # a concurrent train_gan of the same run waits, then finds it finished (rank 0 holds the lock for all ranks)
        with exclusive(run.path / RUN_LOCK) if world.main else contextlib.nullcontext():
            return _Trainer(config, run, data, study_dir).run()


def _launch(config: TrainConfig, study_dir: str | Path | None, resume: str | Path | None,
            data: PreparedDataset | None, processes: int) -> Path:
    """Train the run on ``processes`` local processes started by torchrun (``medgan train`` in each); returns its
    directory once they all finished, or raises naming the run when one failed (their output is above)."""
    if data is not None:
        raise ConfigError("train_gan: data= cannot be passed to processes started by torchrun; with processes > 1 "
                          "each process reads config.data itself")
    study = study_path(study_dir).resolve()
    with exclusive(study / "runs" / RUNS_LOCK):
        run = _run_dir(config, study / "runs", resume)
    config_file = run.path / ".launch-config.json"
    write_json(config_file, config.to_dict())
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}",
               "-m", "medgan_lib.cli", "train", "--config", str(config_file), "--study", str(study),
               "--resume", str(run.path)]
    try:
        code = subprocess.run(command, env=os.environ.copy()).returncode
    finally:
        config_file.unlink(missing_ok=True)
    if code:
        raise RuntimeError(f"{config.gan} run {run.path}: data-parallel training on {processes} processes failed "
                           f"(torchrun exit status {code}); the processes' errors are printed above. Rerun to resume "
                           "from its last checkpoint")
    return run.path


def train_gans(gans: list[str], preset_name: str = "quick", study_dir: str | Path | None = None,
               processes: int = 1, **overrides: Any) -> dict[str, Path]:
    """Train each GAN of ``gans`` with ``preset(preset_name, gan=..., **overrides)`` on ``processes`` data-parallel
    processes; returns name -> run dir (finished runs with the same hyperparameters are reused). Overrides that are
    None are ignored."""
    from medgan_lib.config import name_list
    from medgan_lib.training.config import preset

    kept = {k: v for k, v in overrides.items() if v is not None}
    return {gan: train_gan(preset(preset_name, gan=gan, **kept), study_dir, processes=processes)
            for gan in name_list(gans, "gans")}


def _run_dir(config: TrainConfig, runs: Path, resume: str | Path | None) -> Run:
    new = config.to_dict()
    if resume is not None and resume != "auto":
        try:
            run = Run(resume)
        except FileNotFoundError as err:
            raise FileNotFoundError(f"cannot resume: {err}") from None
        diffs = config_differences(run.config_dict, new)
        if diffs:
            raise ConfigError(f"refusing to resume {run.path} with changed hyperparameters (only "
                              f"{', '.join(RESUMABLE_FIELDS)} may change):\n  " + "\n  ".join(diffs))
        return run
    if resume == "auto":
        for run in reversed(runs_like(runs, config)):
            if not config_differences(run.config_dict, new) and run.checkpoint_step() <= config.iterations:
                return run
    return Run.create(runs, config)


def make_optimizer(name: str, params, lr: float, betas: tuple[float, float]) -> torch.optim.Optimizer:
    """Adam (per-network lr and betas: TTUR when they differ) or AdaS (lr = initial step size)."""
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=betas)
    if name == "adas":
        return Adas(params, lr=lr, betas=betas)
    raise ConfigError(f"unknown optimizer '{name}'; valid: adam, adas")


def _non_finite(tensors: dict[str, torch.Tensor]) -> str | None:
    """Name of the first floating-point tensor holding a NaN/inf, else None (one sum per tensor is checked first;
    an exact check confirms a non-finite sum, which finite but huge values could also give)."""
    floats = {name: t.detach() for name, t in tensors.items() if t.is_floating_point()}
    if not floats or bool(torch.stack([t.sum().float() for t in floats.values()]).isfinite().all()):
        return None
    return next((name for name, t in floats.items() if not bool(t.isfinite().all())), None)


def _grad_norm(module: torch.nn.Module) -> float:
    norms = [p.grad.detach().float().norm() for p in module.parameters() if p.grad is not None]
    return float(torch.stack(norms).norm()) if norms else 0.0


class _Trainer:
    """State of one run; ``run()`` trains to ``config.iterations`` and finishes the run directory."""

    def __init__(self, config: TrainConfig, run: Run, data: PreparedDataset, study_dir) -> None:
        self.config, self.folder, self.study_dir = config, run, study_dir
        self.world = parallel.world()
        self.device = select_device(config.device)
        if self.device.type == "cuda" and self.world.size > 1:
            self.device = torch.device("cuda", self.world.local_rank)
        self.precision = precision(config.amp, self.device)
        self.channels_last = bool(config.channels_last and self.device.type == "cuda")
        # A masks-only run's GAN sees no image channels: it learns the one-hot mask channels alone.
        masks_only = config.channels == "masks"
        self.shape = DataShape(0 if masks_only else data.image_channels, data.num_classes, data.resolution,
                               data.num_image_classes)
        self.data_info = {"name": data.name, "split": data.split, "count": len(data), "hash": data.meta.get("hash"),
                          "label_names": list(data.label_names), "class_names": list(data.class_names), "spec": config.data.to_dict(),
                          "spec_hash": config.data.hash, "patients": sorted(set(data.patient_ids.tolist()))}
        seed_everything(config.seed)
        self.gan = build_gan(config, self.shape)
        if self.world.size > 1:
            parallel.sync_batchnorm(self.gan)
        self.gan = self.gan.to(self.device, memory_format=torch.channels_last if self.channels_last
                               else torch.preserve_format)
        real, cond = self.gan.training_pair(data.images, data.masks, data.classes, data.patient_ids)  # D sees, G gets
        self.real = torch.from_numpy(real).to(self.device)
        self.cond = None if cond is None else torch.from_numpy(cond).to(self.device)
        self.opt_g = make_optimizer(config.optimizer, self.gan.generator.parameters(),
                                    *self.gan.optimizer_settings("generator", config.lr_g, config.betas_g))
        self.opt_d = make_optimizer(config.optimizer, self.gan.discriminator.parameters(),
                                    *self.gan.optimizer_settings("discriminator", config.lr_d, config.betas_d))
        self.scaler_g = torch.amp.GradScaler("cuda", enabled=self.precision == "fp16")
        self.scaler_d = torch.amp.GradScaler("cuda", enabled=self.precision == "fp16")
        self.data_gen = torch.Generator().manual_seed(config.seed)
        self.order = torch.randperm(len(self.real), generator=self.data_gen)
        self.position = 0
        self.step = 0
        self.wall = 0.0  # training seconds over all sessions
        self.rows: list[dict[str, Any]] = []
        self.loss_peaks: dict[str, tuple[int, float]] = {}  # loss key -> (first iteration beyond the bound, max |loss|)
        grid_gen = torch.Generator().manual_seed(config.seed + GRID_SEED_OFFSET)
        self.grid_index = torch.randperm(len(self.real), generator=grid_gen)[:max(config.grid_size, DIVERSITY_SAMPLES)]
        self.grid_seed = config.seed + GRID_SEED_OFFSET

    # --- data ---
    def _batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        b = min(self.config.batch_size, len(self.real))
        if self.position + b > len(self.order):
            self.order = torch.randperm(len(self.real), generator=self.data_gen)
            self.position = 0
        idx = parallel.shard(self.order[self.position:self.position + b]).to(self.device)
        self.position += b
        real = self.real[idx]
        cond = self.cond[idx] if self.cond is not None else None
        if self.channels_last:
            real = real.contiguous(memory_format=torch.channels_last)
        if self.config.data_augmentation:
            if cond is None or cond.dim() != 4:  # a class label is not an image: only what D sees is augmented
                real = classic_augment(real)
            else:
                both = classic_augment(torch.cat([real, cond], dim=1))
                real, cond = both[:, :real.shape[1]], both[:, real.shape[1]:]
        return real, cond

    # --- persistence ---
    def _state(self) -> dict[str, Any]:
        return {"step": self.step, "wall": self.wall, "gan": self.gan.state_dict(),
                "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
                "scaler_g": self.scaler_g.state_dict(), "scaler_d": self.scaler_d.state_dict(),
                "rng": get_rng_state(), "data": {"generator": self.data_gen.get_state(), "order": self.order,
                                                 "position": self.position},
                "config": self.config.to_dict(),
                **({"rng_ranks": parallel.gather(get_rng_state())} if self.world.size > 1 else {})}

    def _save(self) -> None:
        """Write the stats and the checkpoint (rank 0); a state holding a NaN/inf tensor is never written (it
        diverged). Every rank takes part: the checkpoint gathers each rank's RNG state."""
        self._write_stats()
        state = self._state()
        bad = _non_finite(state["gan"])
        if bad is not None:
            self._diverged(f"the weights became non-finite ({bad})", self.step)
        if self.world.main:
            self.folder.write_checkpoint(state)

    def _write_stats(self) -> None:
        if self.world.main:
            write_text(self.folder.stats_file, "".join(json.dumps(r, sort_keys=True) + "\n" for r in self.rows))

    def _restore(self) -> None:
        """Continue from the run's verified checkpoint, if any, after removing what a killed write left; each rank
        takes back its own RNG state (rank 0's when the run had another number of processes: all ranks draw alike)."""
        if self.world.main:
            self.folder.remove_partial_writes()
        parallel.barrier()
        if not self.folder.checkpoint_file.is_file():
            return
        state = self.folder.read_checkpoint()
        self.gan.load_state_dict(state["gan"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.scaler_g.load_state_dict(state["scaler_g"])
        self.scaler_d.load_state_dict(state["scaler_d"])
        self.data_gen.set_state(state["data"]["generator"])
        self.order, self.position = state["data"]["order"], state["data"]["position"]
        self.step, self.wall = int(state["step"]), float(state["wall"])
        ranks = state.get("rng_ranks") or []
        set_rng_state(ranks[self.world.rank] if len(ranks) == self.world.size else state["rng"])
        self.rows = [r for r in self.folder.stats() if r["step"] <= self.step]

    # --- one iteration ---
    def _update(self, loss: torch.Tensor, optimizer, scaler, module) -> float:
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        parallel.average_gradients(module.parameters())
        scaler.unscale_(optimizer)
        norm = _grad_norm(module)
        scaler.step(optimizer)
        scaler.update()
        return norm

    def _check_finite(self, key: str, row: dict[str, Any]) -> None:
        """Stop on a NaN/inf loss ``row[key]``; note (and print, once) a finite one beyond ``loss_warn_bound``."""
        value, name = row[key], LOSS_NAMES[key]
        if not math.isfinite(value):
            self._diverged(f"the {name} became {value}", row["step"], row)
        if abs(value) > self.config.loss_warn_bound:
            first, peak = self.loss_peaks.get(key, (row["step"], 0.0))
            if key not in self.loss_peaks and self.world.main:
                print(f"warning: {self.folder.name}: the {name} reached {value:.3g} at iteration {row['step']} "
                      f"(|loss| > loss_warn_bound={self.config.loss_warn_bound:g}); training goes on, but it is "
                      f"unstable (lr_g={self.config.lr_g}, lr_d={self.config.lr_d})")
            self.loss_peaks[key] = (first, max(peak, abs(value)))

    def _check_weights(self, network: str, module: torch.nn.Module, row: dict[str, Any]) -> None:
        """Stop if an update left a NaN/inf in ``network``'s parameters."""
        bad = _non_finite(dict(module.named_parameters()))
        if bad is not None:
            self._diverged(f"the {network}'s weights became non-finite ({bad}) after its update", row["step"], row)

    def _diverged(self, what: str, iteration: int, row: dict[str, Any] | None = None) -> NoReturn:
        """Record ``row`` in the stats and raise ``TrainingDiverged`` naming the kept checkpoint, if there is one."""
        if row is not None:
            self.rows.append(row)
        self._write_stats()
        stats = f" (stats: {json.dumps({k: v for k, v in row.items() if k != 'step'})})" if row else ""
        if self.folder.checkpoint_file.is_file():  # never written with non-finite weights
            kept = (f"the last good checkpoint (step {self.folder.checkpoint_step()}) is kept in "
                    f"{self.folder.checkpoint_file}")
        else:
            kept = "no checkpoint had been written yet, so none is kept"
        raise TrainingDiverged(
            f"{self.config.gan} run {self.folder.name}: {what} at iteration {iteration}{stats}. Training stopped; "
            f"{kept}. Usual causes: a learning rate too high (lr_g={self.config.lr_g}, lr_d={self.config.lr_d}) or "
            "an unstable loss/normalisation choice.")

    def _iteration(self) -> dict[str, Any]:
        gan, step = self.gan, self.step
        row: dict[str, Any] = {"step": step + 1}
        for _ in range(self.config.n_critic):
            real, cond = self._batch()
            with autocast(self.precision):
                d_loss, d_stats = gan.discriminator_loss(real, cond, step)
            row.update(parallel.average({"d_loss": float(d_loss.detach()), **d_stats}, self.device))
            self._check_finite("d_loss", row)
            row["grad_norm_d"] = self._update(d_loss, self.opt_d, self.scaler_d, gan.discriminator)
            gan.after_discriminator_step(step)
            self._check_weights("discriminator", gan.discriminator, row)
        gan.discriminator.requires_grad_(False)  # G's step needs gradients through D, not of D's weights
        try:
            with autocast(self.precision):
                g_loss, g_stats = gan.generator_loss(real, cond, step)
            row.update(parallel.average({"g_loss": float(g_loss.detach()), **g_stats}, self.device))
            self._check_finite("g_loss", row)
            row["grad_norm_g"] = self._update(g_loss, self.opt_g, self.scaler_g, gan.generator)
        finally:
            gan.discriminator.requires_grad_(True)
        gan.after_generator_step(step)
        self._check_weights("generator", gan.generator, row)
        return row

    # --- grids and diversity ---
    def _generate(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        cond = self.cond[self.grid_index[:n].to(self.device)] if self.cond is not None else None
        gen = torch.Generator().manual_seed(self.grid_seed)
        return self.gan.generate(n, cond, generator=gen).float(), cond

    def _grid(self) -> float:
        """Save a grid of fixed-latent samples; return their diversity relative to real images. The global
        RNG is left untouched, so grid intervals never change what training draws."""
        with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
            fake, cond = self._generate(max(self.config.grid_size, DIVERSITY_SAMPLES))
        images, masks = self.gan.decode(fake, cond)
        n = self.config.grid_size
        save_grid(self.folder.grids_dir / f"step_{self.step:06d}.png", images[:n], masks[:n])
        reference = self.real[self.grid_index.to(self.device)][:, self._content]
        return diversity(fake[:, self._content]) / max(diversity(reference), 1e-12)

    @property
    def _content(self) -> slice:
        """Channels whose diversity flags mode collapse: the image channels, or a masks-only run's masks."""
        return slice(0, self.shape.image_channels) if self.shape.image_channels else slice(None)


    # --- the loop ---
    def run(self) -> Path:
        with parallel.batch_group(self.gan.batch_group):
            parallel.check_batch(min(self.config.batch_size, len(self.real)))
            return self._run()

    def _run(self) -> Path:
        config, main = self.config, self.world.main
        if main:
            self.folder.write_config(config)
        self._restore()
        if main and not self.folder.info_file.is_file():
            shape = {k: v for k, v in dataclasses.asdict(self.shape).items() if k != "image_classes" or v}
            write_json(self.folder.info_file, {"shape": shape, "channels": config.channels, "data": self.data_info,
                                               "gan_options": self.gan.options_dict(),
                                               "provenance": provenance(device=str(self.device), **self._execution())})
        start = self.step
        if start >= config.iterations and self.folder.finished:
            if main:
                self._record(self.folder.summary)  # a kill between summary.json and its row must not lose the row
            return self.folder.path
        self.gan.train()
        bar = tqdm(total=config.iterations, initial=start, disable=not (config.progress and main),
                   desc=f"{config.gan} {self.folder.name}", leave=False)
        session_start, wall_start = time.perf_counter(), self.wall
        try:
            while self.step < config.iterations:
                row = self._iteration()
                self.step += 1
                self.wall = wall_start + time.perf_counter() - session_start
                row["wall_time"] = round(self.wall, 4)
                if main and (self.step % config.grid_every == 0 or self.step == config.iterations):
                    row["diversity_ratio"] = self._grid()
                if self.step % config.log_every == 0 or "diversity_ratio" in row:
                    self.rows.append(row)
                if self.step % config.checkpoint_every == 0 or self.step == config.iterations:
                    self._save()
                bar.update(1)
                if self.step % 10 == 0 or self.step == config.iterations:
                    bar.set_postfix(d=f"{row['d_loss']:.3f}", g=f"{row['g_loss']:.3f}")
        finally:
            bar.close()
        if main:
            self._finish()
        parallel.barrier()  # every rank returns once the run directory is complete
        return self.folder.path

    def _execution(self) -> dict[str, Any]:
        """How this session computed (not what): processes, precision, memory format."""
        return {"processes": self.world.size, "backend": self.world.backend, "precision": self.precision,
                "channels_last": self.channels_last}

    def _finish(self) -> None:
        config = self.config
        ratio = next((r["diversity_ratio"] for r in reversed(self.rows) if "diversity_ratio" in r), None)
        if ratio is None:
            ratio = self._grid()
        d_losses = np.array([r["d_loss"] for r in self.rows], dtype=np.float64)
        collapse = collapsed(ratio)
        warnings = self._loss_warnings()
        if collapse:
            warnings.append(f"{self.folder.name} looks mode-collapsed: sample diversity is {ratio:.3f} x that of "
                            f"real images (threshold {COLLAPSE_RATIO})")
            print(f"warning: {warnings[-1]}")
        images_done = config.iterations * config.batch_size
        summary = {"run": self.folder.name, "gan": config.gan, "dataset": config.dataset, "seed": config.seed,
                   "channels": config.channels,
                   "iterations": self.step, "n": self.data_info["count"], "config_hash": hash_inputs(config.to_dict()),
                   **dloss_statistics(d_losses), "diversity_ratio": ratio, "mode_collapse": collapse,
                   "final_d_loss": self.rows[-1]["d_loss"] if self.rows else None,
                   "final_g_loss": self.rows[-1]["g_loss"] if self.rows else None,
                   "wall_time": self.wall, "images_per_s": images_done / self.wall if self.wall > 0 else None,
                   "data_hash": self.data_info["hash"], "device": str(self.device), **self._execution(),
                   "warnings": warnings}
        write_json(self.folder.summary_file, summary)
        self._record(summary)

    def _loss_warnings(self) -> list[str]:
        """One line per loss that went beyond ``loss_warn_bound``: in this session, or in an earlier one's rows."""
        bound, peaks = self.config.loss_warn_bound, dict(self.loss_peaks)
        for row in self.rows:
            for key in LOSS_NAMES:
                if abs(row.get(key, 0.0)) > bound:
                    first, peak = peaks.get(key, (row["step"], 0.0))
                    peaks[key] = (min(first, row["step"]), max(peak, abs(row[key])))
        return [f"the {LOSS_NAMES[key]} went beyond loss_warn_bound={bound:g} (first at iteration {first}, largest "
                f"|value| {peak:.3g}): training was unstable; try lower learning rates (lr_g={self.config.lr_g}, "
                f"lr_d={self.config.lr_d})" for key, (first, peak) in sorted(peaks.items())]

    def _record(self, summary: dict[str, Any]) -> None:
        """The run's ``gan_runs`` row, appended unless the study already holds it (idempotent on rerun)."""
        rows = read_results(self.study_dir, "gan_runs")
        done = (rows["run"] == summary["run"]) & (rows["config_hash"] == summary["config_hash"])
        if not done.any():
            append_result(self.study_dir, "gan_runs", summary)
