"""The study's steps as Ray tasks (a local Ray with 2 CPUs): the same results as local threads, a worker killed
once is retried, twice is a failed step with its log, a study folder the workers do not share is refused, and
the profile's Ray resources are checked."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
import yaml

from medgan_lib.study import SECTIONS, load_profile, run_study
from medgan_lib.study.executors import RayExecutor, SharedStorageError, check_resources
from medgan_lib.study.profiles import ProfileError, apply_overrides
from test_study import notebooks, write_notebook  # noqa: F401 - the tiny notebooks fixture

ray = pytest.importorskip("ray")


@pytest.fixture
def local_ray(tmp_path, monkeypatch):
    # Ray's workers take the environment of the moment ray.init starts them: the test's cache must be set first
    monkeypatch.setenv("MEDGAN_CACHE", str(tmp_path / "cache"))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def rows_of(out: Path) -> dict[str, list[dict]]:
    return {p.stem: [json.loads(line) for line in p.read_text().splitlines()] for p in sorted((out / "results").glob("*.jsonl"))}


def test_the_tiny_study_gives_the_same_results_on_ray_as_in_local_threads(notebooks: Path, local_ray):  # noqa: F811
    profile = load_profile("tiny", notebooks / "params")
    local = run_study(profile, notebooks.parent / "local", notebooks_dir=notebooks, echo=lambda _: None)
    on_ray = run_study(profile, notebooks.parent / "ray", notebooks_dir=notebooks, echo=lambda _: None,
                       ray_address="auto")
    assert local.ok and on_ray.ok and on_ray.plan == local.plan and sorted(on_ray.executed) == sorted(local.executed)
    assert rows_of(notebooks.parent / "ray") == rows_of(notebooks.parent / "local") != {}
    again = run_study(profile, notebooks.parent / "ray", notebooks_dir=notebooks, echo=lambda _: None,
                      ray_address="auto")
    assert again.ok and again.executed == []  # the skip rules are the runner's, wherever the steps ran


KILL = """
import os, psutil
attempts = os.path.join(study_dir, 'attempts-' + name)
with open(attempts, 'a') as f:
    f.write('x')
if len(open(attempts).read()) <= kills:
    psutil.Process(os.getppid()).parent().kill()  # kernel -> papermill -> the Ray worker running this step
"""


def test_a_killed_worker_is_retried_once_then_the_step_fails_with_its_log(tmp_path: Path, local_ray):
    folder = tmp_path / "notebooks"
    (folder / "params").mkdir(parents=True)
    for section in ("01_data_preparation", "02_gan_training"):
        path = write_notebook(folder, section, KILL, gans=section == "02_gan_training")
        nb = nbformat.read(path, as_version=4)
        nb.cells[1].source += 'name: str = ""\nkills: int = 0  # times this step kills its worker\n'
        nbformat.write(nb, path)
    profile = {"study": {"gans": ["dcgan"], "seeds": [0], "workers": 2},
               "common": {"dataset": "cardiac_phantom", "seed": 0, "device": "cpu"},
               "01_data_preparation": {"name": "data", "kills": 1}, "02_gan_training": {"name": "gan", "kills": 2}}
    (folder / "params" / "kills.yaml").write_text(yaml.safe_dump(profile))
    out = tmp_path / "study"
    result = run_study(load_profile("kills", folder / "params"), out, notebooks_dir=folder, echo=lambda _: None,
                       ray_address="auto")
    data, gan = result.records["01_data_preparation"], result.records["02_gan_training-dcgan-s0"]
    assert data.status == "ok" and (out / "attempts-data").read_text() == "xx"  # killed once, retried, done
    assert gan.status == "failed" and (out / "attempts-gan").read_text() == "xx"  # killed twice: not a third time
    assert "Worker" in gan.error and gan.log == f"logs/{gan.name}.log" and (out / gan.log).is_file()


def test_a_study_folder_the_workers_cannot_see_is_refused(tmp_path: Path, local_ray, monkeypatch):
    from medgan_lib.study import executors

    monkeypatch.setattr(executors, "_write_probe", lambda path, token: "another-host")  # writes nothing here
    with pytest.raises(SharedStorageError, match="is not shared with the Ray workers: a worker on another-host"):
        RayExecutor("auto", tmp_path)
    assert not list(tmp_path.iterdir())  # no probe left behind


def test_ray_resources_per_section_are_checked_and_applied(notebooks: Path):  # noqa: F811
    resources = check_resources({"02": {"num_cpus": 2, "num_gpus": 1}, "04_unet_dice": {"num_gpus": 0.5}})
    executor = RayExecutor.__new__(RayExecutor)
    executor.resources = resources
    assert executor.options("02_gan_training") == {"num_cpus": 2, "num_gpus": 1}
    assert executor.options("04_unet_dice") == {"num_cpus": 1, "num_gpus": 0.5}
    assert executor.options("03_fid_evaluation") == {"num_cpus": 1, "num_gpus": 0}
    profile = load_profile("tiny", notebooks / "params")
    with pytest.raises(ProfileError, match=r"study.ray_resources.02.num_cpus: expected a number > 0, got 0"):
        run_study(apply_overrides(profile, [("study.ray_resources", "{'02': {num_cpus: 0}}")]),
                  notebooks.parent / "out", notebooks_dir=notebooks)
    with pytest.raises(ProfileError, match="keys from"):
        check_resources({"02": {"gpus": 1}})


def test_a_step_asking_for_gpus_a_cpu_cluster_lacks_is_refused_before_any_step_runs(notebooks: Path, local_ray):  # noqa: F811
    profile = apply_overrides(load_profile("tiny", notebooks / "params"),
                              [("study.ray_resources", "{'02_gan_training': {num_gpus: 1}}")])
    with pytest.raises(ProfileError, match=r"a 02_gan_training step asks for num_gpus 1 \(the cluster has 0\)"):
        run_study(profile, notebooks.parent / "out", notebooks_dir=notebooks, ray_address="auto")
    assert not (notebooks.parent / "out" / "results").exists()


def _unnumbered(text: str) -> str:
    """Run folder names without their index: parallel steps number their runs in whichever order they start."""
    return re.sub(r"\b\d{5}-(?=[a-z])", "NNNNN-", text)


def _comparable(rows: dict[str, list[dict]], out: Path) -> dict[str, list[dict]]:
    """Result rows without what differs between two folders by construction: when, on which host, and where."""
    def kept(key: str) -> bool:
        timed = key.startswith("seconds") or key.endswith(("seconds", "_per_s", "per_second", "wall_time"))
        # a U-Net's config hash covers the path of the samples it read, and its checkpoint file records that hash
        return not (timed or key in ("time", "provenance", "config_hash", "checkpoint", "checkpoint_sha256"))

    def clean(value):
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if kept(k)}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return _unnumbered(value.replace(str(out), "<study>")) if isinstance(value, str) else value
    return {kind: sorted((clean(r) for r in kind_rows), key=json.dumps) for kind, kind_rows in rows.items()}


def _samples(out: Path) -> dict[str, dict[str, list]]:
    import numpy as np

    shards = {}
    for shard in sorted(out.glob("runs/*/samples/*/shard_*.npz")):
        with np.load(shard) as arrays:
            shards[_unnumbered(str(shard.relative_to(out)))] = {k: arrays[k].tobytes() for k in sorted(arrays.files)}
    return shards


def test_the_smoke_study_on_ray_equals_the_local_run(tmp_path: Path, local_ray):
    profile = load_profile("smoke")
    local, on_ray = tmp_path / "local", tmp_path / "ray"
    # the sections whose results the papers' tables are made of, trained and evaluated on Ray workers; 05-08 run
    # on Ray the same way (the tiny study above) and locally in tests/test_notebooks.py, so CI skips them here
    kept = ("01_data_preparation", "02_gan_training", "03_fid_evaluation", "04_unet_dice")
    sections = tuple(s for s in SECTIONS if s.notebook in kept)
    assert run_study(profile, local, echo=lambda _: None, sections=sections).ok
    assert run_study(profile, on_ray, echo=lambda _: None, ray_address="auto", sections=sections).ok
    assert _comparable(rows_of(on_ray), on_ray) == _comparable(rows_of(local), local)
    samples = _samples(local)
    assert samples and _samples(on_ray) == samples  # bit-identical samples on the CPU
