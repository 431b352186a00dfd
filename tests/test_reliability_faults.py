"""Faults named, not slipped through: diverging training (non-finite losses or weights, exploding losses), a device
the study cannot run on, a full disk (atomic writes, checkpoints, a tune study whose trials all fail, the index)."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import subprocess
from pathlib import Path

import pytest
import torch
import yaml

from medgan_lib.atomic import NoSpaceError, atomic_open, torch_save, write_text
from medgan_lib.config import ConfigError
from medgan_lib.gans.conv import DCGAN
from medgan_lib.runtime import select_device
from medgan_lib.training import Run, TrainingDiverged, train_gan
from medgan_lib.training.config import TrainConfig
from medgan_lib.tune.study import StudyConfig, StudyFailed, run_study as run_tune_study
from medgan_lib.tune.trial import Diverged

from test_study import write_notebook
from test_training import tiny_config, tiny_data

ENOSPC_TEXT = os.strerror(errno.ENOSPC)


def _finite(state: dict) -> bool:
    return all(bool(t.isfinite().all()) for t in state["gan"].values() if t.is_floating_point())


@pytest.fixture
def written(monkeypatch):
    """(step, all tensors finite) of every state ``Run.write_checkpoint`` is asked to write, taken as it is written
    (the state holds the live tensors)."""
    states, original = [], Run.write_checkpoint
    monkeypatch.setattr(Run, "write_checkpoint",
                        lambda self, state: states.append((state["step"], _finite(state))) or original(self, state))
    return states


# ---------------------------------------------------------------- divergence

def test_a_run_diverging_before_any_checkpoint_names_none(tmp_path, written):
    with pytest.raises(TrainingDiverged) as caught:
        train_gan(tiny_config(lr_g=1e30, lr_d=1e30), tmp_path, data=tiny_data())
    message = str(caught.value)
    assert "loss became nan at iteration 1" in message and "no checkpoint had been written yet" in message
    assert "last.pt" not in message and "good checkpoint" not in message
    run = tmp_path / "runs" / "00000-dcgan-toy-s0"
    assert written == [] and not (run / "checkpoints" / "last.pt").exists()
    assert [r["step"] for r in Run(run).stats()] == [1]  # the diverged iteration's row is recorded


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast")  # iteration 4's grid of a NaN buffer
@pytest.mark.parametrize("where", ["parameter", "buffer"])
def test_non_finite_weights_stop_the_run_and_the_kept_checkpoint_is_the_last_finite_one(tmp_path, monkeypatch, written,
                                                                                      where):
    # A NaN in G's first weight after iteration 3's update (caught after the update), or in a batch-norm running
    # variance at iteration 4 (a checkpoint step; the losses stay finite in training mode): never written.
    original = DCGAN.after_generator_step
    target, at = ("net.0.weight", 2) if where == "parameter" else ("net.1.running_var", 3)

    def corrupt(self, step):
        original(self, step)
        if step == at:
            with torch.no_grad():
                dict(self.generator.state_dict(keep_vars=True))[target].view(-1)[0] = float("nan")

    monkeypatch.setattr(DCGAN, "after_generator_step", corrupt)
    with pytest.raises(TrainingDiverged) as caught:
        train_gan(tiny_config(iterations=6), tmp_path, data=tiny_data())
    message = str(caught.value)
    run = Run(tmp_path / "runs" / "00000-dcgan-toy-s0")
    assert "weights became non-finite (" in message and target in message and f"at iteration {at + 1}" in message
    assert "generator" in message and f"the last good checkpoint (step 2) is kept in {run.checkpoint_file}" in message
    assert written == [(2, True)]
    kept = run.read_checkpoint()
    assert kept["step"] == 2 and _finite(kept) and not run.finished


def test_exploding_losses_finish_with_a_warning_in_the_summary(tmp_path, capsys):
    run = train_gan(tiny_config(iterations=2, lr_g=1e6, lr_d=1e6), tmp_path, data=tiny_data())
    printed = capsys.readouterr().out
    assert "warning: 00000-dcgan-toy-s0: the generator loss reached" in printed and "training goes on" in printed
    warnings = json.loads((run / "summary.json").read_text())["warnings"]
    loss_lines = [w for w in warnings if "loss_warn_bound=10000" in w]
    assert [w.split(" went")[0] for w in loss_lines] == ["the discriminator loss", "the generator loss"]
    # resumed to 4 iterations: the first exceedances, seen in the first session, are still reported
    resumed = train_gan(tiny_config(iterations=4, lr_g=1e6, lr_d=1e6), tmp_path, data=tiny_data())
    assert resumed == run
    again = json.loads((run / "summary.json").read_text())["warnings"]
    assert "(first at iteration 1," in next(w for w in again if w.startswith("the generator loss"))
    # ordinary training warns of nothing about losses; a bound of 0 or NaN is refused
    calm = train_gan(tiny_config(iterations=2), tmp_path / "calm", data=tiny_data())
    assert not [w for w in json.loads((calm / "summary.json").read_text())["warnings"] if "loss" in w]
    for bad in (0.0, float("nan")):
        with pytest.raises(ConfigError, match="TrainConfig.loss_warn_bound: must be a number > 0"):
            TrainConfig(loss_warn_bound=bad)


def test_a_device_the_study_cannot_use_is_refused_by_name(monkeypatch):
    for bad in ("tpu", "mps", "gpu"):
        with pytest.raises(ConfigError, match=rf"device: '{bad}' .*valid: 'auto', 'cpu', 'cuda', 'cuda:N'"):
            select_device(bad)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for asked in ("cuda", "cuda:1"):
        with pytest.raises(ConfigError, match="CUDA is not available on this machine"):
            select_device(asked)
    assert select_device("auto") == torch.device("cpu") == select_device("cpu")


# ---------------------------------------------------------------- a full disk

class _FullFile:
    """A file whose every write fails as on a full disk."""

    def __init__(self, handle) -> None:
        self.handle = handle

    def write(self, data) -> int:
        raise OSError(errno.ENOSPC, ENOSPC_TEXT)

    def __getattr__(self, name):
        return getattr(self.handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.handle.close()


@pytest.fixture
def full_dir(tmp_path, monkeypatch):
    """A folder on a 2 MB tmpfs (as root, where mounting works), else one whose atomic writes fail with ENOSPC."""
    folder = tmp_path / "small"
    folder.mkdir()
    mounted = os.geteuid() == 0 and subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)],
                                                   capture_output=True).returncode == 0
    if not mounted:
        real = os.fdopen
        monkeypatch.setattr("medgan_lib.atomic.os.fdopen", lambda fd, mode: _FullFile(real(fd, mode)))
    try:
        yield folder
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)], check=True)


def _assert_no_space(err: pytest.ExceptionInfo, folder: Path, file: Path) -> None:
    message = str(err.value)
    assert f"no space left on the device holding {folder} while writing {file}" in message, message
    assert err.value.errno == errno.ENOSPC and err.value.__cause__ is not None
    assert not list(folder.glob(".*.tmp")), "the temporary file is removed"


def test_a_full_disk_is_named_with_the_folder_and_file_and_keeps_the_old_file(full_dir):
    target = full_dir / "notes.txt"
    old = write_text(target, "old\n").read_text() if os.path.ismount(full_dir) else None  # else no write succeeds
    with pytest.raises(NoSpaceError) as err:
        write_text(target, "x" * 3_000_000)
    _assert_no_space(err, full_dir, target)
    assert (target.read_text() if target.exists() else None) == old
    with pytest.raises(NoSpaceError) as err:  # torch's own failure ("unexpected pos") is named the same way
        torch_save(full_dir / "big.pt", {"x": torch.zeros(1_000_000)})
    _assert_no_space(err, full_dir, full_dir / "big.pt")
    with pytest.raises(NoSpaceError) as err:
        with atomic_open(full_dir / "raw.bin") as handle:
            handle.write(b"\0" * 3_000_000)
    _assert_no_space(err, full_dir, full_dir / "raw.bin")


def test_training_on_a_full_disk_says_so(full_dir):
    if os.path.ismount(full_dir):  # leave ~150 KB: the run folder is created, its checkpoint does not fit
        (full_dir / "filler").write_bytes(b"\0" * 1_950_000)
    with pytest.raises(NoSpaceError, match=f"no space left on the device holding {full_dir}/"):
        train_gan(tiny_config(), full_dir, data=tiny_data())


@dataclasses.dataclass
class _FailingEngine:
    """Tune stand-in: every trial fails as on a full disk (``diverge``: every trial diverges instead)."""

    metric: str = "fid"
    diverge: bool = False

    def config(self, spec):
        return {"trial_id": spec.trial_id}

    def train(self, config, iterations, study_dir):
        if self.diverge:
            raise Diverged(f"non-finite loss in trial {config['trial_id']}")
        raise OSError(errno.ENOSPC, ENOSPC_TEXT, f"{study_dir}/runs/{config['trial_id']}/checkpoints/last.pt")

    def score(self, run_dir, step):
        return 1.0

    def dloss_stats(self, run_dir):
        return {}


def test_a_tune_study_whose_trials_all_fail_raises_but_diverged_trials_do_not(ray_local, tmp_path):
    config = StudyConfig(name="full", search="grid", gans=["dcgan"], grid_keys=["filters_discriminator"],
                         restrict={"filters_discriminator": [16, 32]}, iterations=10, interval=10, scale="smoke")
    with pytest.raises(StudyFailed, match=rf"study 'full' \(fifo\): all 2 trial\(s\) failed; the first, "
                                          rf"filters_discriminator=16 .*OSError: \[Errno 28\] {ENOSPC_TEXT}"):
        run_tune_study(config, tmp_path, engine=_FailingEngine())
    rows = run_tune_study(dataclasses.replace(config, name="unstable"), tmp_path, engine=_FailingEngine(diverge=True))
    assert list(rows["status"]) == ["diverged", "diverged"]


class _WorkingEngine(_FailingEngine):
    """Tune stand-in whose trials train (a folder per trial) and score 1."""

    def train(self, config, iterations, study_dir):
        run = Path(study_dir) / "runs" / config["trial_id"]
        run.mkdir(parents=True, exist_ok=True)
        return run


def test_a_search_after_a_full_disk_never_reads_the_ray_state_that_the_disk_left_damaged(ray_local, tmp_path):
    config = StudyConfig(name="again", search="grid", gans=["dcgan"], grid_keys=["filters_discriminator"],
                         restrict={"filters_discriminator": [16, 32]}, iterations=10, interval=10, scale="smoke")
    with pytest.raises(StudyFailed):
        run_tune_study(config, tmp_path, engine=_FailingEngine())
    states = [p for p in (tmp_path / "tune").rglob("*.json") if p.parent.name.startswith("again-")]
    assert states  # Ray's experiment state of the failed search
    for state in states:
        data = state.read_bytes()
        state.write_bytes(data[: len(data) // 2])  # cut, as a full disk leaves it
    rows = run_tune_study(config, tmp_path, engine=_WorkingEngine())  # a new experiment folder: nothing restored
    assert list(rows["status"]) == ["completed", "completed"]


def test_an_index_that_cannot_be_written_makes_the_study_not_ok_and_keeps_the_old_one(tmp_path, monkeypatch):
    from medgan_lib.study import load_profile, report
    from medgan_lib.study.plan import Section
    from medgan_lib.study.runner import run_study

    monkeypatch.setattr("medgan_lib.study.runner.code_hash", lambda: "pinned")  # others may edit the library
    notebooks = _one_notebook(tmp_path)
    profile, out = load_profile("tiny", notebooks / "params"), tmp_path / "study"
    sections = (Section("01_data_preparation"),)
    first = run_study(profile, out, notebooks_dir=notebooks, sections=sections, echo=lambda _: None)
    assert first.ok and first.index_error is None
    old = (out / "index.html").read_bytes()

    def full(path, text):
        with atomic_open(path, "w"):
            raise OSError(errno.ENOSPC, ENOSPC_TEXT)

    monkeypatch.setattr(report, "write_text", full)
    printed: list[str] = []
    again = run_study(profile, out, notebooks_dir=notebooks, sections=sections, echo=printed.append)
    assert not again.ok and again.failed == [] and "no space left on the device holding" in again.index_error
    assert any(f"could not write {out / 'index.html'}" in line and "previous index" in line for line in printed)
    assert "index not written: NoSpaceError" in printed[-1]
    assert (out / "index.html").read_bytes() == old and not list(out.glob(".*.tmp"))


def test_a_loopback_that_cannot_be_reached_stops_the_study_before_any_notebook(tmp_path, monkeypatch):
    import socket

    from medgan_lib.study import load_profile
    from medgan_lib.study.plan import Section
    from medgan_lib.study.runner import KernelUnreachable, run_study

    monkeypatch.setattr("medgan_lib.study.runner.code_hash", lambda: "pinned")
    notebooks = _one_notebook(tmp_path)
    profile, out, sections = load_profile("tiny", notebooks / "params"), tmp_path / "study", (Section("01_data_preparation"),)

    def refused(*args, **kwargs):
        raise ConnectionRefusedError(errno.ECONNREFUSED, os.strerror(errno.ECONNREFUSED))

    monkeypatch.setattr(socket, "create_connection", refused)
    with pytest.raises(KernelUnreachable, match=r"cannot be reached on 127\.0\.0\.1 .*ip link set lo up"):
        run_study(profile, out, notebooks_dir=notebooks, sections=sections, echo=lambda _: None)
    assert not (out / "notebooks").exists()  # no notebook started, so none failed after 60 s
    monkeypatch.undo()
    monkeypatch.setattr("medgan_lib.study.runner.code_hash", lambda: "pinned")
    assert run_study(profile, out, notebooks_dir=notebooks, sections=sections, echo=lambda _: None).ok
    # a study whose every step is reused needs no kernel: the check is not made
    monkeypatch.setattr(socket, "create_connection", refused)
    assert run_study(profile, out, notebooks_dir=notebooks, sections=sections, echo=lambda _: None).ok


def test_a_full_disk_under_the_runner_is_a_message_and_exit_1_not_a_traceback(tmp_path, monkeypatch, capsys):
    from medgan_lib.cli import main

    def full(*args, **kwargs):
        raise NoSpaceError(errno.ENOSPC, f"no space left on the device holding {tmp_path} while writing "
                                         f"{tmp_path / 'study.json'}")

    monkeypatch.setattr("medgan_lib.study.runner.run_study", full)
    assert main(["study", "run", "--profile", "smoke", "--out", str(tmp_path / "study")]) == 1
    err = capsys.readouterr().err
    assert "no space left on the device holding" in err and "study.json" in err and "run again" in err


def test_the_loss_warning_bound_may_change_on_resume(tmp_path):
    first = train_gan(tiny_config(iterations=2), tmp_path, data=tiny_data())
    again = train_gan(tiny_config(iterations=4, loss_warn_bound=1e-9), tmp_path, data=tiny_data())
    assert again == first and Run(first).checkpoint_step() == 4  # the same run, continued, not a new one
    warnings = json.loads(Run(first).summary_file.read_text())["warnings"]
    assert any("loss_warn_bound=1e-09" in w for w in warnings)  # the new bound is the one applied on resume


@pytest.mark.parametrize("clash", [True, False])
def test_a_kernel_that_could_not_bind_its_ports_starts_once_more_and_nothing_else_is_retried(tmp_path, monkeypatch,
                                                                                           clash):
    """Two kernels started at one moment can pick the same free port (papermill#511): the step's kernel never
    started, no cell ran, so the runner starts it again once; any other failure is the step's own."""
    from medgan_lib.study import load_profile
    from medgan_lib.study import runner
    from medgan_lib.study.plan import Section

    monkeypatch.setattr("medgan_lib.study.runner.code_hash", lambda: "pinned")
    notebooks = _one_notebook(tmp_path)
    real, calls = runner._papermill, []

    def first_attempt_clashes(command, log_path, mode, env, cwd):
        calls.append(mode)
        if len(calls) == 1:
            with open(log_path, mode) as log:
                log.write("$ papermill ...\nzmq.error.ZMQError: Address already in use (addr='tcp://127.0.0.1:35197')\n"
                          "RuntimeError: Kernel died before replying to kernel_info\n" if clash else
                          "$ papermill ...\nRuntimeError: Kernel died before replying to kernel_info\n")
            return 1
        return real(command, log_path, mode, env, cwd)

    monkeypatch.setattr(runner, "_papermill", first_attempt_clashes)
    result = runner.run_study(load_profile("tiny", notebooks / "params"), tmp_path / "study", notebooks_dir=notebooks,
                              sections=(Section("01_data_preparation"),), echo=lambda _: None)
    log = (tmp_path / "study" / "logs" / "01_data_preparation.log").read_text()
    if clash:
        assert result.ok and calls == ["w", "a"] and "starting it once more" in log
    else:  # a kernel that died for another reason (a crash, memory) is a failed step
        assert not result.ok and calls == ["w"] and "once more" not in log


def _one_notebook(tmp_path: Path) -> Path:
    """A notebooks folder with one tiny 01 and a one-worker profile ``tiny``."""
    notebooks = tmp_path / "notebooks"
    (notebooks / "params").mkdir(parents=True)
    write_notebook(notebooks, "01_data_preparation", "put('data', {'n': n})", gans=False)
    (notebooks / "params" / "tiny.yaml").write_text(yaml.safe_dump(
        {"study": {"gans": ["dcgan"], "seeds": [0], "workers": 1}, "common": {"dataset": "cardiac_phantom"}}))
    return notebooks
