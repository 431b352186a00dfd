"""A hyperparameter study on Ray Tune: expand the search into trials, run the unfinished ones (random,
grid, chetty or belmekki search; FIFO or ASHA early stopping) and append one row per trial to
``<study>/results/tune.jsonl`` as soon as the trial ends, so an interrupted study resumes where it stopped.

Local Ray by default (``ray.init(num_cpus=..., include_dashboard=False)``, shut down afterwards);
``address`` joins a cluster, whose workers must see ``study_dir`` (shared storage) and this package.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from pathlib import Path
from typing import Any, Iterator, Literal

import pandas as pd
from ray.tune import Callback

from medgan_lib.config import ConfigError, replace
from medgan_lib.data.spec import DataSpec
from medgan_lib.progress import tqdm
from medgan_lib.results import append_result, latest, read_results, study_path
from medgan_lib.rows import (CONFIG_ID, GAN, OVERRIDES, PARAMS, PRESET, PROVENANCE, SCHEDULER, STATUS, STUDY, TIME,
                             TRIAL_ID)
from medgan_lib.tune.search_space import (
    TrialSpec, belmekki_trials, chetty_trials, grid_trials, random_trials,
)
from medgan_lib.tune.trial import Engine, run_trial

KIND = "tune"  # result table: <study>/results/tune.jsonl
# statuses after which a trial is not run again under the same scheduler
FINISHED = {"fifo": ("completed", "diverged"), "asha": ("completed", "diverged", "stopped_early")}


class StudyFailed(RuntimeError):
    """Every trial a study ran ended in an error; the message names the study and the first trial's error."""


@dataclasses.dataclass
class StudyConfig:
    """One study: which search, over which GANs, with what budget, on which Ray."""

    name: str = "tune"  # study name; several studies can share one study folder
    search: Literal["random", "grid", "chetty", "belmekki"] = "grid"  # how configurations are chosen
    gans: list[str] = dataclasses.field(default_factory=lambda: ["dcgan"])  # GANs searched (belmekki: dcgan)
    num_trials: int = 4  # random search: configurations per GAN
    grid_keys: list[str] = dataclasses.field(default_factory=lambda: ["filters_discriminator"])  # grid axes
    restrict: dict[str, list[Any]] = dataclasses.field(default_factory=dict)  # narrow Table 1 values per key
    seeds: list[int] = dataclasses.field(default_factory=lambda: [0])  # every configuration runs once per seed
    search_seed: int = 0  # seeds the random search
    iterations: int = 40  # training budget per trial (generator steps)
    interval: int = 20  # score every `interval` iterations (ASHA's rungs)
    scale: str = "quick"  # TrainConfig scale preset trials start from (smoke, quick, paper)
    data: DataSpec = dataclasses.field(default_factory=DataSpec)  # which data every trial trains on
    device: str = "auto"
    base: dict[str, Any] = dataclasses.field(default_factory=dict)  # more TrainConfig fields for every trial
    asha: bool = False  # ASHA early stopping on the score (else every trial gets the full budget)
    reduction_factor: int = 2  # ASHA: keep the best 1/reduction_factor of trials at each rung
    fid_n: int = 32  # samples per score
    metric: str = "fid"  # score: "fid" (standard Inception-v3), "medfid" (chetty Table 3) or a registered extractor
    metric_checkpoint: str = ""  # the extractor's checkpoint (MedFID: a train_medfid file); "" for plain extractors
    workers: int = 2  # trials run at once
    cpus_per_trial: int = 1
    address: str | None = None  # Ray cluster address; None starts a local Ray

    def __post_init__(self) -> None:
        if self.iterations < 1 or self.interval < 1:
            raise ConfigError(f"StudyConfig: iterations and interval must be >= 1, got {self.iterations}, {self.interval}")
        if not self.seeds:
            raise ConfigError("StudyConfig.seeds: give at least one seed")
        if self.workers < 1 or self.cpus_per_trial < 1:
            raise ConfigError("StudyConfig.workers and cpus_per_trial must be >= 1")
        if self.metric == "medfid" and not Path(self.metric_checkpoint).is_file():
            raise ConfigError(f"StudyConfig.metric_checkpoint: metric 'medfid' needs a MedFID checkpoint file "
                              f"(medgan_lib.metrics.train_medfid), got {self.metric_checkpoint!r}")

    @property
    def scheduler(self) -> str:
        return "asha" if self.asha else "fifo"


def study_trials(config: StudyConfig) -> list[TrialSpec]:
    """Every trial of the study, in a fixed order (the same config always gives the same trials)."""
    base = {"data": config.data.to_dict(), "device": config.device,
            "progress": False, **config.base}
    common = dict(seeds=list(config.seeds), iterations=config.iterations, interval=config.interval, base=base,
                  scale=config.scale)
    if config.search == "random":
        return random_trials(config.name, list(config.gans), config.num_trials, search_seed=config.search_seed,
                             restrict=config.restrict, **common)
    if config.search == "grid":
        return grid_trials(config.name, list(config.gans), list(config.grid_keys), restrict=config.restrict, **common)
    if config.search == "chetty":
        return chetty_trials(config.name, list(config.gans), **common)
    return belmekki_trials(config.name, **common)


def run_study(config: StudyConfig, study_dir: str | os.PathLike | None = None, engine: Engine | None = None
              ) -> pd.DataFrame:
    """Run the study's unfinished trials on Ray Tune; return their rows for this scheduler, in trial order.

    Finished trials (by ``results/tune.jsonl``) are skipped; unfinished run directories are resumed. A
    full-budget (FIFO) study reuses trials that already reached the full budget under ASHA. If every trial
    run ends in an error (not a divergence or an early stop), ``StudyFailed`` is raised."""
    study = study_path(study_dir).resolve()
    trials = study_trials(config)
    _reuse_asha_rows(study, config, trials)
    done = _finished_ids(study, config)
    pending = [spec for spec in trials if spec.trial_id not in done]
    if pending:
        if engine is None:
            from medgan_lib.tune.engine import GanEngine

            engine = GanEngine(fid_n=config.fid_n, metric=config.metric, checkpoint=config.metric_checkpoint,
                               device=config.device)
        with ray_session(config.address, config.workers * config.cpus_per_trial):
            errors = _tune(config, study, pending, engine)
        _check_not_all_failed(config, study, pending, errors)
    rows = load_study(study, config.name, scheduler=config.scheduler)
    order = {spec.trial_id: index for index, spec in enumerate(trials)}
    if rows.empty:
        return rows
    rows = rows[rows[TRIAL_ID].isin(order)]  # the same study name may hold trials of an older config
    return rows.sort_values(TRIAL_ID, key=lambda ids: ids.map(order)).reset_index(drop=True)


def load_study(study_dir: str | os.PathLike | None, name: str | None = None, scheduler: str | None = None
               ) -> pd.DataFrame:
    """Rows of ``results/tune.jsonl`` (last row per trial and scheduler), with each knob as a column."""
    rows = read_results(study_dir, KIND)
    if rows.empty:
        return rows
    if name is not None:
        rows = rows[rows[STUDY] == name]
    if scheduler is not None:
        rows = rows[rows[SCHEDULER] == scheduler]
    rows = latest(rows, KIND)
    knobs = pd.DataFrame(list(rows[PARAMS]), index=rows.index)
    return pd.concat([rows, knobs[[c for c in knobs.columns if c not in rows.columns]]], axis=1).reset_index(drop=True)


@contextlib.contextmanager
def ray_session(address: str | None = None, num_cpus: int = 2) -> Iterator[None]:
    """Use the running Ray, or start one (local without dashboard, or joining ``address``) and always
    shut it down afterwards, so no Ray processes are left behind."""
    import ray

    if ray.is_initialized():
        yield
        return
    env = {key: os.environ[key] for key in ("MEDGAN_CACHE", "MEDGAN_RUNS", "PYTHONPATH") if key in os.environ}
    kwargs: dict[str, Any] = {"address": address} if address else {"num_cpus": num_cpus, "include_dashboard": False}
    ray.init(**kwargs, runtime_env={"env_vars": env} if env else None, log_to_driver=False,
             configure_logging=False)
    try:
        yield
    finally:
        ray.shutdown()


def _tune(config: StudyConfig, study: Path, pending: list[TrialSpec], engine: Engine) -> dict[str, str]:
    """Run ``pending`` on Ray Tune; return trial id -> the last line of its exception, for the trials that raised."""
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

    specs = {spec.trial_id: spec.to_dict() for spec in pending}
    trainable = tune.with_resources(
        tune.with_parameters(_trainable, specs=specs, study_dir=str(study), engine=engine,
                             threads=config.cpus_per_trial),
        {"cpu": config.cpus_per_trial})
    rungs = len(pending[0].intervals)
    scheduler = (ASHAScheduler(max_t=rungs, grace_period=1, reduction_factor=config.reduction_factor)
                 if config.asha else FIFOScheduler())
    recorder = _Recorder(study, config, specs)
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # with verbose=0: no Ray tables, only our progress bar
    tuner = tune.Tuner(
        trainable,
        param_space={"trial_id": tune.grid_search(list(specs))},
        tune_config=tune.TuneConfig(metric="score", mode="min", scheduler=scheduler,
                                    max_concurrent_trials=config.workers, reuse_actors=True,
                                    trial_dirname_creator=lambda trial: trial.config["trial_id"]),
        run_config=tune.RunConfig(name=f"{config.name}-{config.scheduler}-{time.strftime('%Y%m%d-%H%M%S')}",
                                  storage_path=str(study / "tune"), callbacks=[recorder], verbose=0),
    )
    try:
        results = tuner.fit()
    finally:
        recorder.close()
    return {result.config["trial_id"]: str(result.error).strip().splitlines()[-1] for result in results if result.error}


def _check_not_all_failed(config: StudyConfig, study: Path, pending: list[TrialSpec], errors: dict[str, str]) -> None:
    """Raise ``StudyFailed`` if every trial just run ended in "error" (``errors``: trial id -> its exception line)."""
    rows = load_study(study, config.name, config.scheduler)
    ended = {} if rows.empty else {row[TRIAL_ID]: row for row in rows.to_dict("records")}
    if any(ended.get(spec.trial_id, {}).get(STATUS, "error") != "error" for spec in pending):
        return
    first = pending[0]
    error = errors.get(first.trial_id) or ended.get(first.trial_id, {}).get("error") or "no result was recorded"
    raise StudyFailed(f"study {config.name!r} ({config.scheduler}): all {len(pending)} trial(s) failed; the first, "
                      f"{first.label} (trial {first.trial_id}), with: {error}")


def _trainable(params: dict[str, Any], specs: dict[str, dict], study_dir: str, engine: Engine, threads: int) -> None:
    """Ray Tune function trainable: one trial, reporting after each interval."""
    import torch
    from ray import tune

    torch.set_num_threads(threads)
    spec = TrialSpec.from_dict(specs[params["trial_id"]])
    run_trial(spec, study_dir, engine, report=tune.report)


class _Recorder(Callback):
    """Driver-side callback: appends a trial's row to the result table the moment the trial ends."""

    def __init__(self, study: Path, config: StudyConfig, specs: dict[str, dict]) -> None:
        self.study, self.config, self.specs = study, config, specs
        self.last: dict[str, dict] = {}
        self.bar = None  # created on first use: Ray pickles the callback before the study starts

    def setup(self, **info):
        self.bar = tqdm(total=len(self.specs), desc=f"study {self.config.name} ({self.config.scheduler})",
                        unit="trial")

    def __getstate__(self):
        return {**self.__dict__, "bar": None}

    def on_trial_result(self, iteration, trials, trial, result, **info):
        self.last[trial.trial_id] = result

    def on_trial_complete(self, iteration, trials, trial, **info):
        result = self.last.get(trial.trial_id, {})
        status = result.get("status", "error")
        if status == "running":  # ended before its budget: stopped by ASHA, else interrupted
            status = "stopped_early" if self.config.asha else "interrupted"
        self._record(trial, result, status)

    def on_trial_error(self, iteration, trials, trial, **info):
        result = dict(self.last.get(trial.trial_id, {}))
        result["error"] = f"trial raised an exception; see {getattr(trial, 'error_file', None) or trial.path}"
        self._record(trial, result, "error")

    def _record(self, trial, result: dict, status: str) -> None:
        spec = TrialSpec.from_dict(self.specs[trial.config["trial_id"]])
        append_result(self.study, KIND, trial_row(spec, result, status, self.config))
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def trial_row(spec: TrialSpec, result: dict[str, Any], status: str, config: StudyConfig) -> dict[str, Any]:
    """The result-table row of one trial: identity, configuration, seed, status, metrics and time."""
    return {
        "study": spec.study, "search": config.search, "scheduler": config.scheduler, "trial_id": spec.trial_id,
        "config_id": spec.config_id, "label": spec.label, "gan": spec.gan,
        "dataset": spec.base.get("data", {}).get("dataset"),
        "seed": spec.seed, "params": spec.params, "preset": spec.preset, "overrides": spec.overrides(),
        "iterations": spec.iterations, "interval": spec.interval, "steps": result.get("step", 0),
        "status": status, "metric": config.metric, "metric_checkpoint": Path(config.metric_checkpoint).name,
        "n": config.fid_n, "fid": result.get("fid"),
        "fid_curve": result.get("fid_curve", []), "run": result.get("run"),
        "dloss_mean": result.get("dloss_mean"), "dloss_variance": result.get("dloss_variance"),
        "dloss_std": result.get("dloss_std"), "seconds": result.get("seconds"), "error": result.get("error"),
    }


def _finished_ids(study: Path, config: StudyConfig) -> set[str]:
    rows = load_study(study, config.name, config.scheduler)
    if rows.empty:
        return set()
    same_score = _scored_as(rows, config)  # a trial scored with another metric is scored again
    return set(rows.loc[rows[STATUS].isin(FINISHED[config.scheduler]) & same_score, TRIAL_ID])


def _scored_as(rows: pd.DataFrame, config: StudyConfig) -> pd.Series:
    """Rows scored by ``config``'s metric (and checkpoint); rows written before the checkpoint was kept have none."""
    metric = rows["metric"] if "metric" in rows else pd.Series("fid", index=rows.index)
    kept = rows["metric_checkpoint"].fillna("") if "metric_checkpoint" in rows else pd.Series("", index=rows.index)
    return (metric.fillna("fid") == config.metric) & (kept == Path(config.metric_checkpoint).name)


def _reuse_asha_rows(study: Path, config: StudyConfig, trials: list[TrialSpec]) -> None:
    """A full-budget run copies the rows of trials that ASHA already ran to the end (or saw diverge):
    the runs are deterministic, so training them again would give the same numbers."""
    if config.asha:
        return
    asha = load_study(study, config.name, "asha")
    if asha.empty:
        return
    done = _finished_ids(study, config)
    wanted = {spec.trial_id for spec in trials} - done
    reusable = asha[STATUS].isin(("completed", "diverged")) & asha[TRIAL_ID].isin(wanted) & _scored_as(asha, config)
    for row in asha[reusable].to_dict("records"):
        record = {key: value for key, value in row.items()
                  if key not in (TIME, PROVENANCE) and key not in row[PARAMS]}
        record.update(scheduler="fifo", reused_from="asha")
        append_result(study, KIND, record)


def best_configs(study_dir: str | os.PathLike | None, name: str | None = None) -> pd.DataFrame:
    """The best configuration per GAN (lowest mean FID over seeds; full-budget rows preferred over ASHA's),
    with its knob values, preset and TrainConfig overrides."""
    from medgan_lib.tune.stats import best_per_gan

    rows = load_study(study_dir, name)
    if rows.empty:
        return pd.DataFrame()
    if (rows[SCHEDULER] == "fifo").any():
        rows = rows[rows[SCHEDULER] == "fifo"]
    best = best_per_gan(rows)
    first = rows.drop_duplicates(CONFIG_ID).set_index(CONFIG_ID)
    for column in (STUDY, PARAMS, PRESET, OVERRIDES):
        best[column] = [first.loc[c, column] for c in best[CONFIG_ID]]
    return best


def best_config(study_dir: str | os.PathLike | None, gan: str, name: str | None = None, **changes: Any):
    """The ``TrainConfig`` of the best configuration a study found for ``gan`` (``changes`` on top, e.g.
    ``iterations=2000``), for the training notebook to load by name."""
    from medgan_lib.training import preset

    best = best_configs(study_dir, name)
    if best.empty or gan not in set(best[GAN]):
        found = sorted(best[GAN]) if not best.empty else []
        raise LookupError(f"no finished trial of GAN '{gan}' in {study_path(study_dir) / 'results' / 'tune.jsonl'}"
                          f"{f' for study {name!r}' if name else ''}; GANs with results: {found}")
    row = best[best[GAN] == gan].iloc[0]
    return preset(row[PRESET], **{**row[OVERRIDES], **changes})


def compare_asha(config: StudyConfig, study_dir: str | os.PathLike | None = None,
                 engine: Engine | None = None) -> dict[str, Any]:
    """Run ``config`` with ASHA, then the same trials with the full budget (resuming the stopped runs),
    and return ASHA's compute saving and whether it found the full search's best configuration."""
    from medgan_lib.tune.stats import asha_saving

    run_study(replace(config, asha=True), study_dir, engine)
    run_study(replace(config, asha=False), study_dir, engine)
    return asha_saving(load_study(study_dir, config.name))
