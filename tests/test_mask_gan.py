"""Masks-only GAN runs (TrainConfig.channels="masks"): config checks, training shapes, sampling, run discovery,
SPADE sampled on their masks, and the Table 2 condition built from them. Tiny networks, CPU."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import medgan_lib.data
from medgan_lib.config import ConfigError
from medgan_lib.data.dataset import PreparedDataset
from medgan_lib.results import read_results
from medgan_lib.segmentation.study import Condition, table2_conditions
from medgan_lib.study import table2
from medgan_lib.training import Run, find_runs, preset, sample, train_gan
from medgan_lib.training.config import config_differences
from medgan_lib.training.grids import grid_array

SPADE_TINY = dict(latent_dim=16, filters_g=4, filters_d=8, gan_options={"spade_hidden": 8, "channel_max": 32},
                  batch_size=4)


def toy(n: int = 12, labels: tuple[str, ...] = ("background", "outer", "inner")) -> PreparedDataset:
    """Squares of varying position (so masks differ), images that follow them."""
    masks = np.zeros((n, 32, 32), dtype=np.uint8)
    for i in range(n):
        s = 2 + i % 10
        masks[i, s:s + 16, s:s + 16] = 1
        masks[i, s + 4:s + 12, s + 4:s + 12] = 2
    masks = np.minimum(masks, len(labels) - 1).astype(np.uint8)
    rng = np.random.default_rng(0)
    images = np.clip(masks[:, None] - 1.0 + rng.normal(0, 0.1, (n, 1, 32, 32)), -1, 1).astype(np.float32)
    return PreparedDataset("toy", "train", images, masks, np.array([f"p{i // 3}" for i in range(n)]), labels,
                           {"hash": "toyhash"})


def config(**changes):
    values = dict(gan="dcgan", dataset="toy", resolution=32, iterations=2, checkpoint_every=2, grid_every=2,
                  progress=False)
    values.update(changes)
    return preset("smoke", **values)


def test_config_rejects_masks_for_conditional_gans_and_datasets_without_masks(tmp_path):
    assert config().channels == "joint"
    with pytest.raises(ConfigError, match="channels: 'both' is not one of"):
        config(channels="both")
    with pytest.raises(ConfigError, match="TrainConfig.channels.*GAN 'spade' is conditioned on masks"):
        config(gan="spade", channels="masks")
    with pytest.raises(ConfigError, match="dataset 'toy' has none"):
        train_gan(config(channels="masks"), tmp_path, data=toy(labels=("background",)))
    # quick: every GAN run, joint or masks-only, gets the same wall-clock budget; explicit values still win
    from medgan_lib.training.config import QUICK_BUDGET_SECONDS, QUICK_SECONDS_PER_ITERATION

    for key, seconds in QUICK_SECONDS_PER_ITERATION.items():
        gan, _, channels = key.partition(":")
        iterations = preset("quick", gan=gan, channels=channels or "joint").iterations
        assert abs(iterations * seconds - QUICK_BUDGET_SECONDS) <= 5 * seconds, key  # rounded to tens
    from medgan_lib.study import load_profile

    from medgan_lib.training.config import QUICK_RESOLUTION

    quick = load_profile("quick")
    assert set(quick.gans + quick.mask_gans) <= {key.partition(":")[0] for key in QUICK_SECONDS_PER_ITERATION}
    assert quick.common["resolution"] == QUICK_RESOLUTION  # the resolution the seconds per iteration were measured at
    assert preset("quick", gan="dcgan", channels="masks", iterations=20).iterations == 20
    # a config.json written before the field existed means channels="joint": such runs still resume
    old = {k: v for k, v in config().to_dict().items() if k != "channels"}
    assert config_differences(old, config().to_dict()) == []
    assert config_differences(old, config(channels="masks").to_dict()) == ["channels: 'joint' -> 'masks'"]


def test_masks_only_run_learns_mask_channels_and_samples_masks(tmp_path):
    run = train_gan(config(channels="masks"), tmp_path, data=toy())
    assert run.name == "00000-dcgan-toy-masks-s0"
    info = json.loads((run / "run.json").read_text())
    assert info["channels"] == "masks" and info["shape"] == {"image_channels": 0, "num_classes": 3, "resolution": 32}
    assert json.loads((run / "summary.json").read_text())["channels"] == "masks"
    gan = Run(run).load(device="cpu")
    assert gan.generate(2).shape == (2, 3, 32, 32)  # the one-hot mask channels, nothing else
    # grids (2x2 at smoke size) show the coloured masks alone: 32 px tiles, not 64 (image + mask)
    assert Image.open(run / "grids" / "step_000002.png").size == (2 + 2 * 34, 2 + 2 * 34)

    samples = sample(run, 5, seed=1, batch_size=2)
    images, masks = samples.load()
    assert images.shape == (5, 1, 32, 32) and np.all(images == -1.0)
    assert masks.shape == (5, 32, 32) and masks.dtype == np.uint8 and masks.max() <= 2
    assert samples.meta["channels"] == "masks" and samples.meta["image_channels"] == 1
    again = sample(run, 5, seed=1, batch_size=5, device="cpu")  # cached set returned
    assert again.path == samples.path
    fresh = sample(run, 5, seed=2)
    assert np.array_equal(fresh.load()[1], sample(run, 5, seed=2).load()[1])


def test_grid_of_masks_only_samples():
    masks = np.arange(4 * 8 * 8, dtype=np.uint8).reshape(4, 8, 8) % 3
    grid = grid_array(np.zeros((4, 0, 8, 8), np.float32), masks)
    assert grid.shape == (2 + 2 * 10, 2 + 2 * 10, 3)
    with pytest.raises(ValueError, match="need their masks"):
        grid_array(np.zeros((4, 0, 8, 8), np.float32), None)


def test_find_runs_spade_on_gan_masks_and_the_table2_condition(tmp_path, monkeypatch):
    monkeypatch.setattr(medgan_lib.data.spec, "prepare", lambda *args, **kwargs: toy())  # SPADE's training masks
    joint = train_gan(config(), tmp_path, data=toy())
    masks_run = train_gan(config(channels="masks"), tmp_path, data=toy())
    spade = train_gan(config(gan="spade", **SPADE_TINY), tmp_path, data=toy())
    assert [r.path for r in find_runs(tmp_path)] == [joint, spade]  # image generators only, by default
    assert [r.path for r in find_runs(tmp_path, channels="masks")] == [masks_run]
    assert [r.path for r in find_runs(tmp_path, channels=None)] == [joint, masks_run, spade]
    with pytest.raises(ValueError, match="channels must be"):
        find_runs(tmp_path, channels="image")

    with pytest.raises(ValueError, match=f"mask_run {joint.name} \\(dcgan\\) learnt channels='joint'"):
        sample(spade, 4, mask_source="gan", mask_run=joint)
    assert not (spade / "samples" / f"n4-s0-gan-{joint.name}").exists()  # nothing written for a rejected run
    drawn = sample(spade, 4, seed=3, mask_source="gan", mask_run=masks_run)
    assert drawn.path.name == f"n4-s3-gan-{masks_run.name}"
    assert {k: drawn.meta[k] for k in ("mask_source", "mask_run", "mask_gan")} == \
        {"mask_source": "gan", "mask_run": masks_run.name, "mask_gan": "dcgan"}
    images, masks = drawn.load()
    assert images.shape == (4, 1, 32, 32) and np.unique(images).size > 1  # SPADE's images, not the -1 channel
    assert np.array_equal(masks, sample(masks_run, 4, seed=3).load()[1])  # conditioned on the generated masks

    conditions, used = table2_conditions(tmp_path, "toy", [], [], [], n_synthetic=4)
    assert [r.path for r in used] == [joint, spade, masks_run]  # the runs whose data and patients 04 checks
    assert [(c.kind, c.gan) for c in conditions] == [("real", None), ("augmented", None), ("synthetic", "dcgan"),
                                                     ("synthetic", "spade"), ("synthetic_gan_masks", "spade")]
    gan_masks = conditions[-1]
    assert gan_masks.label == "SPADE GAN on GAN-generated masks" and gan_masks.run == spade.name
    assert f"-gan-{masks_run.name}" in gan_masks.samples
    assert [c.kind for c in table2_conditions(tmp_path, "toy", [], [], [joint.name], 4)[0]] == \
        ["real", "augmented", "synthetic"]  # named runs: no masks-only run named, no such condition
    with pytest.raises(ValueError, match="sample set is needed"):
        Condition("synthetic_gan_masks", "spade")
    # Table 2's SPADE row stays the paper's (training masks); the variant on GAN masks is a column beside it
    dice = pd.DataFrame([{"dataset": "toy", "gan": "spade", "condition": condition, "seed": 0, "dice": value}
                         for condition, value in (("synthetic", 0.7), ("synthetic_gan_masks", 0.5))])
    row = table2(read_results(tmp_path, "fid"), dice, "toy").set_index("GAN").loc["spade"]
    assert (row["Dice"], row["Dice (synthetic, on GAN masks)"]) == ("0.7", "0.5")


def test_dice_replicates_pair_gan_seeds_with_unet_seeds():
    from medgan_lib.segmentation.study import replicates, unused_runs

    def synthetic(gan, run):
        return Condition("synthetic", gan, run, f"/samples/{run}")

    real, dcgan = Condition("real"), [synthetic("dcgan", f"dcgan-s{s}") for s in range(3)]
    spade = synthetic("spade", "spade-s0")
    pairs = [(c.run or c.kind, seed) for c, seed in replicates([real, *dcgan, spade], [0, 1, 2])]
    assert pairs == [("real", 0), ("real", 1), ("real", 2), ("dcgan-s0", 0), ("dcgan-s1", 1), ("dcgan-s2", 2),
                     ("spade-s0", 0), ("spade-s0", 1), ("spade-s0", 2)]  # 3 GAN seeds x 3 U-Net seeds: 3 pairs
    assert [(c.run, seed) for c, seed in replicates(dcgan, [5])] == [("dcgan-s0", 5)]
    assert unused_runs([real, *dcgan], [5]) == ["dcgan-s1", "dcgan-s2"] and unused_runs(dcgan, [0, 1, 2]) == []
    assert [(c.run, s) for c, s in replicates(dcgan[:2], [0, 1, 2])] == [("dcgan-s0", 0), ("dcgan-s1", 1),
                                                                         ("dcgan-s0", 2)]
