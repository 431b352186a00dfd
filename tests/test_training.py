"""train_gan: run layout, determinism, exact resume, refusal of changed hyperparameters, non-finite
losses, D-loss statistics, sampling and run discovery. Tiny random data, CPU, a few iterations."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from medgan_lib.config import ConfigError
from medgan_lib.data import DataSpec
from medgan_lib.data.dataset import PreparedDataset
from medgan_lib.gans.conv import DCGAN
from medgan_lib.results import read_results
from medgan_lib.samples import SampleSet
from medgan_lib.training import Run, TrainingDiverged, find_runs, preset, sample, train_gan
from medgan_lib.diversity import diversity
from medgan_lib.training.stats import dloss_statistics



def tiny_data(n: int = 12) -> PreparedDataset:
    rng = np.random.default_rng(0)
    masks = np.zeros((n, 32, 32), dtype=np.uint8)
    masks[:, 8:24, 8:24] = 1
    masks[:, 12:20, 12:20] = 2
    images = np.clip(masks[:, None].astype(np.float32) - 1 + rng.normal(0, 0.1, (n, 1, 32, 32)), -1, 1).astype(np.float32)
    return PreparedDataset("toy", "train", images, masks, np.array([f"p{i // 3}" for i in range(n)]),
                           ("background", "outer", "inner"), {"hash": "toyhash"})


def tiny_config(**changes):
    values = dict(gan="dcgan", dataset="toy", resolution=32, iterations=4, checkpoint_every=2, grid_every=2)
    values.update(changes)
    return preset("smoke", **values)


def stats(run_dir):
    rows = [json.loads(line) for line in (run_dir / "stats.jsonl").read_text().splitlines()]
    for row in rows:
        row.pop("wall_time")
    return rows


def test_run_layout_and_result_row(tmp_path):
    run = train_gan(tiny_config(), tmp_path, data=tiny_data())
    assert run.parent == tmp_path / "runs" and run.name == "00000-dcgan-toy-s0"
    for name in ("config.json", "run.json", "stats.jsonl", "summary.json", "checkpoints/last.pt",
                 "grids/step_000002.png", "grids/step_000004.png"):
        assert (run / name).is_file(), name
    rows = stats(run)
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    assert {"d_loss", "g_loss", "d_real", "d_fake", "grad_norm_d", "grad_norm_g"} <= set(rows[0])
    summary = json.loads((run / "summary.json").read_text())
    assert {"dloss_mean", "dloss_variance", "dloss_std", "t0", "mode_collapse"} <= set(summary)
    assert summary["dloss_mean"] == pytest.approx(np.mean([r["d_loss"] for r in rows]))
    table = read_results(tmp_path, "gan_runs")
    assert list(table["run"]) == [run.name] and table["gan"][0] == "dcgan"
    assert train_gan(tiny_config(), tmp_path, data=tiny_data()) == run  # finished: returned, not retrained
    assert len(read_results(tmp_path, "gan_runs")) == 1


@pytest.mark.parametrize("gan", ["wgan_gp", "vanilla"])
def test_same_seed_gives_identical_stats(tmp_path, gan):
    options = {"gan_options": {"hidden": [16, 16]}} if gan == "vanilla" else {}
    config = tiny_config(gan=gan, iterations=2, n_critic=2, diff_augment=True, data_augmentation=True, **options)
    a = train_gan(config, tmp_path / "a", data=tiny_data())
    b = train_gan(config, tmp_path / "b", data=tiny_data())
    assert stats(a) == stats(b)
    c = train_gan(tiny_config(gan=gan, iterations=2, n_critic=2, diff_augment=True, data_augmentation=True,
                              seed=1, **options), tmp_path / "a", data=tiny_data())
    assert stats(c) != stats(a) and c.name.endswith("-s1")


def test_resume_is_bit_identical_to_an_uninterrupted_run(tmp_path):
    config = tiny_config(iterations=4, diff_augment=True, optimizer="adas")
    straight = train_gan(config, tmp_path / "straight", data=tiny_data())
    half = train_gan(tiny_config(iterations=2, diff_augment=True, optimizer="adas"), tmp_path / "resumed",
                     data=tiny_data())
    resumed = train_gan(config, tmp_path / "resumed", data=tiny_data())  # auto: continues the 2-step run
    assert resumed == half
    assert stats(resumed) == stats(straight)
    a = torch.load(straight / "checkpoints/last.pt", weights_only=False)["gan"]
    b = torch.load(resumed / "checkpoints/last.pt", weights_only=False)["gan"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resume_with_changed_hyperparameters_is_refused(tmp_path):
    run = train_gan(tiny_config(iterations=2), tmp_path, data=tiny_data())
    with pytest.raises(ConfigError, match=r"refusing to resume(.|\n)*lr_d: 0.0002 -> 0.001(.|\n)*n_critic: 1 -> 2"):
        train_gan(tiny_config(iterations=4, lr_d=1e-3, n_critic=2), tmp_path, resume=run, data=tiny_data())
    other = train_gan(tiny_config(iterations=2, lr_d=1e-3), tmp_path, data=tiny_data())  # auto: a new run
    assert other != run and other.name.startswith("00001-")


def test_non_finite_loss_stops_with_a_message_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    original = DCGAN.discriminator_loss

    def failing(self, real, cond, step):
        loss, stats = original(self, real, cond, step)
        return (loss * float("nan"), stats) if step == 2 else (loss, stats)

    monkeypatch.setattr(DCGAN, "discriminator_loss", failing)
    with pytest.raises(TrainingDiverged, match=r"discriminator loss became nan at iteration 3(.|\n)*step 2"):
        train_gan(tiny_config(iterations=4), tmp_path, data=tiny_data())
    run = tmp_path / "runs" / "00000-dcgan-toy-s0"
    assert torch.load(run / "checkpoints/last.pt", weights_only=False)["step"] == 2
    assert not (run / "summary.json").exists()


def test_dloss_statistics_known_values():
    d = np.r_[np.full(100, 0.1), np.full(300, 1.0)]
    out = dloss_statistics(d, window=1)
    assert out["dloss_mean"] == pytest.approx(0.775) and out["dloss_variance"] == pytest.approx(np.var(d))
    assert out["dloss_std"] == pytest.approx(np.std(d)) and out["t0"] == 100
    assert dloss_statistics(-np.ones(10))["t0"] is None  # critic losses: no low-loss phase defined


def test_diversity_flags_identical_samples():
    same = torch.ones(8, 1, 4, 4)
    assert diversity(same) == 0.0
    assert diversity(torch.randn(8, 1, 4, 4)) > 1.0


def test_sample_writes_batches_and_reuses_existing_sets(tmp_path):
    run = train_gan(tiny_config(iterations=2), tmp_path, data=tiny_data())
    samples = sample(run, 10, seed=3, batch_size=4)
    assert isinstance(samples, SampleSet) and len(samples) == 10 and (samples.path / "preview.png").is_file()
    images, masks = samples.load()
    assert images.shape == (10, 1, 32, 32) and masks.max() <= 2 and samples.meta["gan"] == "dcgan"
    stamp = (samples.path / "meta.json").stat().st_mtime_ns
    assert sample(run, 10, seed=3).path == samples.path
    assert (samples.path / "meta.json").stat().st_mtime_ns == stamp  # not rewritten
    again = sample(run, 10, seed=4, batch_size=10).load()[0]
    assert not np.array_equal(again, images)
    first = sample(run, 6, seed=3)  # a smaller set is the first samples of the larger one, not drawn again
    assert first.path == samples.path and len(first) == 6 and not (Path(run) / "samples" / "n6-s3").exists()
    np.testing.assert_array_equal(first.load()[0], images[:6])
    assert len(sample(run, 12, seed=3)) == 12 and (Path(run) / "samples" / "n12-s3").is_dir()  # more: drawn anew
    found = Run(run)
    assert found.config.gan == "dcgan" and not found.load().training and found.finished
    assert found.data_spec == tiny_config().data and found.training_patients == set(tiny_data().patient_ids.tolist())
    assert find_runs(tmp_path) == [found] and find_runs(tmp_path, gan="hinge") == []
    assert find_runs(tmp_path, dataset="toy") == [found] and find_runs(tmp_path, data=found.data_spec) == [found]
    assert find_runs(tmp_path, data=DataSpec("toy", resolution=64)) == []


def test_concurrent_train_gan_calls_train_one_run(tmp_path, monkeypatch):
    """Two train_gan calls with one config on one study (two notebooks, two runners): one run, trained once."""
    import threading

    monkeypatch.setenv("MEDGAN_CACHE", str(tmp_path / "cache"))
    config = preset("smoke", gan="dcgan", dataset="cardiac_phantom", resolution=32, count=60, iterations=3,
                    progress=False)
    config.data.gan_train()  # prepare once, outside the race
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(train_gan(config, tmp_path))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(results) == 2 and results[0] == results[1]
    assert [r.name for r in find_runs(tmp_path)] == [results[0].name]
    assert len(read_results(tmp_path, "gan_runs")) == 1  # finished once, not twice
    assert len(Run(results[0]).stats()) == 3


def test_a_finished_run_whose_row_was_lost_gets_it_back_once(tmp_path):
    """A kill after summary.json but before the gan_runs append: the rerun (which returns early) records it."""
    run = train_gan(tiny_config(iterations=2), tmp_path, data=tiny_data())
    results = tmp_path / "results" / "gan_runs.jsonl"
    assert len(read_results(tmp_path, "gan_runs")) == 1
    results.unlink()
    assert train_gan(tiny_config(iterations=2), tmp_path, data=tiny_data()) == run
    assert train_gan(tiny_config(iterations=2), tmp_path, data=tiny_data()) == run
    rows = read_results(tmp_path, "gan_runs")
    assert list(rows["run"]) == [run.name] and rows["config_hash"].iloc[0] == Run(run).summary["config_hash"]


def test_a_run_config_with_a_retired_field_still_loads_and_matches():
    from medgan_lib.training.config import TrainConfig, config_differences

    config = preset("smoke", gan="dcgan")
    old = {**config.to_dict(), "collapse_ratio": 0.25}  # written before the one mode-collapse rule
    assert TrainConfig.from_dict(old) == config and config_differences(old, config.to_dict()) == []


def test_one_mode_collapse_rule_for_training_and_the_audit():
    from medgan_lib.diversity import COLLAPSE_RATIO, collapsed

    assert collapsed(COLLAPSE_RATIO - 1e-6) and not collapsed(COLLAPSE_RATIO)
    assert diversity(np.zeros((4, 1, 2, 2))) == 0.0 and diversity(np.zeros((1, 3))) == 0.0


def test_diversity_overlay_puts_every_image_gan_on_one_axis(tmp_path):
    from medgan_lib.training import latest_per_gan, latest_per_seed
    from medgan_lib.training.plots import plot_diversity_overlay

    runs = [train_gan(tiny_config(gan=gan), tmp_path, data=tiny_data()) for gan in ("dcgan", "lsgan")]
    again = train_gan(tiny_config(gan="dcgan", seed=1), tmp_path, data=tiny_data())  # a second DCGAN seed
    masks = train_gan(tiny_config(channels="masks", iterations=2), tmp_path, data=tiny_data())
    ax = plot_diversity_overlay([*runs, again, masks]).axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[:2] == ["DCGAN", "LSGAN"] and len(labels) == 5  # three runs, the threshold, the real-image level
    assert ax.get_lines()[2].get_color() == ax.get_lines()[0].get_color()  # seeds of one GAN share its colour
    assert [t.get_text() for t in ax.get_legend().get_texts()][:2] == ["DCGAN", "LSGAN"]  # named once
    assert [r.name for r in latest_per_gan([Run(p) for p in (*runs, again)])] == [Run(again).name, Run(runs[1]).name]
    retrained = train_gan(tiny_config(gan="dcgan"), tmp_path, resume=None, data=tiny_data())  # seed 0 again
    assert [r.name for r in latest_per_seed([Run(p) for p in (*runs, again, retrained)])] == \
        [Run(retrained).name, Run(again).name, Run(runs[1]).name]  # every DCGAN seed once, its latest run
    assert list(ax.get_lines()[0].get_ydata()) == [row["diversity_ratio"] for row in Run(runs[0]).stats()
                                                   if "diversity_ratio" in row]
