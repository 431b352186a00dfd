"""One trial of a study: train a GAN interval by interval (an ordinary, resumable ``train_gan`` run
directory), score it after every interval, and report each score to the Ray Tune scheduler.

Scores are kept per trial in ``<study>/tune/trials/<trial_id>.json``, so a resumed trial skips the
intervals it has already trained and scored, and continues its run where it stopped.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any, Callable, Protocol

from medgan_lib.atomic import write_json
from medgan_lib.tune.search_space import TrialSpec

# score given to the scheduler for a diverged trial (Ray needs a finite metric; the table records None)
DIVERGED_SCORE = 1e6


class Diverged(Exception):
    """Training produced a non-finite loss; the message says where."""


class Engine(Protocol):
    """What a trial needs: build its TrainConfig, train to a step, score a run, its D-loss statistics."""

    metric: str

    def config(self, spec: TrialSpec) -> Any: ...
    def train(self, config: Any, iterations: int, study_dir: Path) -> Path: ...  # raises Diverged
    def score(self, run_dir: Path, step: int) -> float: ...
    def dloss_stats(self, run_dir: Path) -> dict[str, Any]: ...


def run_trial(spec: TrialSpec, study_dir: str | Path, engine: Engine, report: Callable[[dict], None]
              ) -> dict[str, Any]:
    """Train ``spec`` interval by interval, calling ``report`` with the metrics after each interval.

    Returns the last report: ``status`` is "completed", or "diverged" with the error message."""
    start = time.perf_counter()
    study_dir = Path(study_dir)
    config = engine.config(spec)
    record_path = study_dir / "tune" / "trials" / f"{spec.trial_id}.json"
    record = json.loads(record_path.read_text()) if record_path.exists() else {"run_dir": None, "scores": {}}
    curve: list[list[float]] = []
    result: dict[str, Any] = {}
    for step in spec.intervals:
        key = f"{engine.metric}-n{getattr(engine, 'fid_n', '')}@{step}"
        if key not in record["scores"]:
            try:
                run_dir = engine.train(config, step, study_dir)
            except Diverged as err:
                result = {**result, "status": "diverged", "error": str(err), "score": DIVERGED_SCORE,
                          "fid": None, "seconds": time.perf_counter() - start}
                report(result)
                return result
            record["run_dir"] = str(run_dir)
            record["scores"][key] = float(engine.score(run_dir, step))
            write_json(record_path, record)
        run_dir = Path(record["run_dir"])
        value = record["scores"][key]
        curve.append([step, value])
        finite = math.isfinite(value)
        result = {"status": "completed" if step == spec.iterations else "running", "step": step,
                  "fid": value if finite else None, "score": value if finite else DIVERGED_SCORE,
                  "fid_curve": list(curve), "run": run_dir.name, "run_dir": str(run_dir),
                  **engine.dloss_stats(run_dir), "seconds": time.perf_counter() - start}
        report(result)
    return result
