"""Data-parallel training (medgan_lib.parallel): the batch split, and 2-process gloo runs on CPU that must equal one
process with the same global batch, and a killed-and-resumed 2-process run that must equal an uninterrupted one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from medgan_lib import parallel
from medgan_lib.gans.stylegan2 import minibatch_stddev
from medgan_lib.training.config import preset
from medgan_lib.training.run import Run
from medgan_lib.training.train import train_gan

SMALL = dict(iterations=6, batch_size=8, device="cpu", resolution=32, count=64, diff_augment=True,
             data_augmentation=True, progress=False)
STYLEGAN2_SMOKE = {"channel_base": 256, "channel_max": 32, "mapping_layers": 2, "mbstd_group": 4,
                   "pl_weight": 2.0, "pl_interval": 2, "ema_kimg": 10.0, "ema_rampup": 0.05}


@pytest.fixture
def as_rank(monkeypatch):
    """Pretend to be process ``rank`` of ``size`` (for the pure batch-split functions; no process group)."""
    def set_world(rank: int, size: int, group: int = 1) -> None:
        monkeypatch.setattr(parallel, "_WORLD", parallel.World(rank, size, rank, "gloo", group))
    return set_world


def test_shard_keeps_minibatch_stddev_groups_whole(as_rank):
    x = torch.randn(16, 3, 4, 4)
    whole = minibatch_stddev(x, 4)  # one process, global batch 16, groups of 4
    for rank in range(2):
        as_rank(rank, 2, group=4)
        assert torch.allclose(minibatch_stddev(parallel.shard(x), 4), parallel.shard(whole), atol=1e-6)
    as_rank(0, 2, group=1)  # a contiguous split would mix the groups differently
    assert not torch.allclose(minibatch_stddev(parallel.shard(x), 4), parallel.shard(whole), atol=1e-3)


def test_random_draws_are_the_ranks_share_of_one_global_draw(as_rank):
    torch.manual_seed(3)
    whole = torch.randn(8, 5)
    parts = []
    for rank in range(2):
        as_rank(rank, 2)
        torch.manual_seed(3)
        parts.append(parallel.randn(4, 5))
    assert torch.equal(torch.cat(parts), whole)


def test_a_batch_the_processes_cannot_share_is_refused(as_rank):
    as_rank(0, 2, group=4)
    with pytest.raises(ValueError, match="batch_size.*multiple of 8"):
        parallel.check_batch(12)
    parallel.check_batch(16)


def _weights(run: Run) -> dict[str, torch.Tensor]:
    return run.read_checkpoint()["gan"]


def _assert_same_run(one: Run, two: Run, atol: float) -> None:
    rows_one, rows_two = one.stats(), two.stats()
    assert len(rows_one) == len(rows_two) == SMALL["iterations"]
    for a, b in zip(rows_one, rows_two):
        for key in ("d_loss", "g_loss", "d_real", "d_fake", "grad_norm_d", "grad_norm_g"):
            assert a[key] == pytest.approx(b[key], rel=1e-4, abs=1e-5), (a["step"], key)
    wa, wb = _weights(one), _weights(two)
    assert wa.keys() == wb.keys()
    for key in wa:
        assert torch.allclose(wa[key].float(), wb[key].float(), atol=atol), key


@pytest.mark.parametrize("gan, options", [("dcgan", {}), ("stylegan2", STYLEGAN2_SMOKE)])
def test_two_gloo_processes_train_what_one_process_trains(tmp_path, gan, options):
    """Same global batch and seed: the losses, gradient norms and weights of a 2-process run equal one process's
    (DCGAN: batch norm over the global batch; StyleGAN2: minibatch-stddev groups, R1, path length, the EMA)."""
    config = preset("smoke", gan=gan, **SMALL, **({"gan_options": options} if options else {}))
    one = Run(train_gan(config, tmp_path / "one"))
    two = Run(train_gan(config, tmp_path / "two", processes=2))
    _assert_same_run(one, two, atol=1e-4)
    assert two.summary["processes"] == 2 and one.summary["processes"] == 1
    assert two.info["provenance"]["backend"] == "gloo"
    if gan == "stylegan2":
        assert int(_weights(two)["images_seen"]) == SMALL["iterations"] * SMALL["batch_size"]


def _torchrun(config_file, study) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
                             "-m", "medgan_lib.cli", "train", "--config", str(config_file), "--study", str(study)],
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_a_killed_two_process_run_resumes_to_the_uninterrupted_run(tmp_path):
    config = preset("smoke", gan="dcgan", **{**SMALL, "iterations": 120, "checkpoint_every": 10, "grid_every": 60})
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config.to_dict()))
    killed = _torchrun(config_file, tmp_path / "killed")
    record = tmp_path / "killed" / "runs" / "00000-dcgan-cardiac_phantom-s0" / "checkpoints" / "last.json"
    deadline = time.monotonic() + 300
    while not (record.is_file() and json.loads(record.read_text())["step"] >= 20):
        assert killed.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline, "no checkpoint within 5 minutes"
        time.sleep(0.02)
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    run = Run(record.parent.parent)
    assert not run.finished and run.checkpoint_step() < config.iterations
    resumed = Run(train_gan(config, tmp_path / "killed", processes=2))
    assert resumed.path == run.path and resumed.finished
    whole = Run(train_gan(config, tmp_path / "whole", processes=2))
    wa, wb = _weights(resumed), _weights(whole)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert [r["d_loss"] for r in resumed.stats()] == [r["d_loss"] for r in whole.stats()]
    ranks = resumed.read_checkpoint()["rng_ranks"]
    assert len(ranks) == 2
