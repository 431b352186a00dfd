"""SPADE: shapes, output follows the mask, losses and one training step (with encoder and VGG), mask
sources, mask->image grid, determinism and exact resume through train_gan. Tiny networks, CPU."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torchvision.models.vgg import cfgs, make_layers

import medgan_lib.data
from medgan_lib.config import ConfigError
from medgan_lib.data.dataset import PreparedDataset
from medgan_lib.gans import GANS, DataShape
from medgan_lib.data import DataSpec
from medgan_lib.gans.spade import SPADEGAN, onehot_cond
from medgan_lib.training.grids import mask_to_image_grid
from medgan_lib.training.sampling import mask_batches, mask_source_meta
from medgan_lib.samples import SampleSet
from medgan_lib.training import Run, preset, train_gan

TINY = {"spade_hidden": 8, "channel_max": 32}



def config(**changes):
    values = dict(gan="spade", dataset="toy", resolution=32, latent_dim=16, filters_g=4, filters_d=8,
                  gan_options=dict(TINY), iterations=4, batch_size=4, checkpoint_every=2, grid_every=2,
                  grid_size=4, progress=False)
    values.update(changes)
    return preset("smoke", **values)


def tiny_data(n: int = 8, split: str = "train", offset: int = 0) -> PreparedDataset:
    rng = np.random.default_rng(offset)
    masks = np.zeros((n, 32, 32), dtype=np.uint8)
    size = 16 if offset == 0 else 12  # other splits: other shapes
    for i in range(n):
        s = 4 + i % 8
        masks[i, s:s + size, s:s + size] = 1
        masks[i, s + 4:s + size - 4, s + 4:s + size - 4] = 2
    images = np.clip(masks[:, None] - 1.0 + rng.normal(0, 0.1, (n, 1, 32, 32)), -1, 1).astype(np.float32)
    return PreparedDataset("toy", split, images, masks, np.array([f"{split}{i}" for i in range(n)]),
                           ("background", "outer", "inner"), {"hash": f"toy-{split}"})


def onehot(masks: np.ndarray, k: int = 3) -> torch.Tensor:
    return torch.from_numpy((masks[:, None] == np.arange(k)[None, :, None, None]).astype(np.float32))


@pytest.mark.parametrize("resolution,image_channels,num_classes", [(32, 1, 4), (64, 3, 2), (128, 1, 3)])
def test_shapes(resolution, image_channels, num_classes):
    torch.manual_seed(0)
    gan = GANS["spade"](config(resolution=resolution), DataShape(image_channels, num_classes, resolution))
    masks = np.random.default_rng(0).integers(0, num_classes, (2, resolution, resolution))
    cond = onehot(masks, num_classes)
    out = gan.generate(2, cond)
    assert out.shape == (2, image_channels, resolution, resolution) and out.abs().max() <= 1
    scales = gan.discriminator(torch.cat([out, cond], dim=1))
    assert len(scales) == 2 and scales[1][-1].shape[-1] < scales[0][-1].shape[-1]
    assert SPADEGAN.conditional


def test_cond_is_validated_and_both_encodings_accepted():
    gan = SPADEGAN(config(), DataShape(1, 3, 32))
    cond = onehot(tiny_data(2).masks)
    with pytest.raises(ValueError, match=r"one-hot masks of shape \(N, 3, H, W\)"):
        gan.generate(2, None)
    g = torch.Generator().manual_seed(0)
    assert torch.equal(gan.generate(2, cond, generator=g),
                       gan.generate(2, cond * 2 - 1, generator=torch.Generator().manual_seed(0)))  # {-1,1} too
    assert torch.equal(onehot_cond(cond * 2 - 1, 3), cond)
    with pytest.raises(ConfigError, match="num_classes >= 2"):
        SPADEGAN(config(), DataShape(1, 1, 32))


def test_output_follows_the_mask():
    """Changing the mask in one corner changes the image there far more than elsewhere (not only there:
    instance normalisation statistics and the low-resolution blocks spread a little of it)."""
    torch.manual_seed(0)
    gan = SPADEGAN(config(resolution=64, filters_g=8), DataShape(1, 3, 64))
    masks = np.zeros((1, 64, 64), dtype=np.uint8)
    masks[0, 24:40, 24:40] = 1
    changed = masks.copy()
    changed[0, 4:20, 4:20] = 2
    a = gan.generate(1, onehot(masks), generator=torch.Generator().manual_seed(0))
    b = gan.generate(1, onehot(changed), generator=torch.Generator().manual_seed(0))
    diff = (a - b).abs()[0, 0]
    inside = float(diff[4:20, 4:20].mean())
    far = float(diff[36:, 36:].mean())
    assert inside > 0 and inside > 3 * far


def test_losses_and_one_training_step_with_encoder_and_vgg(tmp_path):
    torch.manual_seed(0)
    weights = tmp_path / "vgg16.pth"
    torch.save({f"features.{k}": v for k, v in make_layers(cfgs["D"]).state_dict().items()}, weights)
    gan = SPADEGAN(config(vgg_loss_weight=1.0, vgg_weights=str(weights), gan_options={**TINY, "encoder": True}),
                   DataShape(1, 3, 32))
    data = tiny_data(4)
    real, cond = torch.from_numpy(data.images), onehot(data.masks)
    opt_d = torch.optim.Adam(gan.discriminator.parameters(), lr=1e-3)
    opt_g = torch.optim.Adam(gan.generator.parameters(), lr=1e-3)
    loss, stats = gan.discriminator_loss(real, cond, 0)
    assert {"d_real", "d_fake"} <= set(stats) and 0 < float(loss.detach()) < 4  # hinge at init: about 2
    opt_d.zero_grad(), loss.backward(), opt_d.step()
    encoder_before = [p.clone() for p in gan.generator.encoder.parameters()]
    gan.discriminator.requires_grad_(False)
    loss, stats = gan.generator_loss(real, cond, 0)
    assert {"d_fake_g", "feature_matching", "vgg", "kl"} <= set(stats) and torch.isfinite(loss)
    opt_g.zero_grad(), loss.backward(), opt_g.step()
    assert all(not torch.equal(a, b) for a, b in zip(encoder_before, gan.generator.encoder.parameters()))
    assert not any(k.startswith("_vgg") or "features" in k for k in gan.state_dict())  # VGG stays external


def test_vgg_loss_without_weights_fails_clearly():
    with pytest.raises(ConfigError, match="vgg_weights"):
        config(vgg_loss_weight=1.0)
    gan = SPADEGAN(config(vgg_loss_weight=1.0, vgg_weights="/nonexistent/vgg16.pth"), DataShape(1, 3, 32))
    data = tiny_data(2)
    with pytest.raises(ConfigError, match="does not exist"):
        gan.generator_loss(torch.from_numpy(data.images), onehot(data.masks), 0)


TOY = DataSpec("toy", resolution=32)
TOY50 = DataSpec("toy", resolution=32, count=50)


@pytest.fixture
def fake_prepare(monkeypatch):
    """``prepare`` returning tiny train/val splits; records the calls."""
    calls = []

    def prepare(dataset, split, resolution, root=None, count=None, seed=0, empty_slices=None, view=None,
                progress=False):
        calls.append((dataset, split, resolution, count, seed))
        return tiny_data(6, split, offset=0 if split == "train" else 100)

    monkeypatch.setattr(medgan_lib.data.spec, "prepare", prepare)
    return calls


def test_mask_batches_from_training_and_heldout_masks(fake_prepare):
    train = list(mask_batches("train", 10, TOY50, seed=3, batch_size=4))
    assert [len(b) for b in train] == [4, 4, 2]
    masks = np.concatenate(train)
    assert masks.dtype == np.uint8 and masks.shape == (10, 32, 32)
    # every training mask used before any repeats; same seed, same masks
    assert len({m.tobytes() for m in masks[:6]}) == 6 and np.array_equal(masks[6:], masks[:4])
    again = np.concatenate(list(mask_batches("train", 10, TOY50, seed=3, batch_size=4)))
    assert np.array_equal(masks, again)
    held = np.concatenate(list(mask_batches("heldout", 5, TOY50)))
    train_set, held_set = {m.tobytes() for m in tiny_data(6).masks}, {m.tobytes() for m in held}
    assert held_set and not held_set & train_set
    assert fake_prepare[-1] == ("toy", "val", 32, 50, 0)  # same count: the same patient split as training
    assert mask_source_meta("heldout") == {"mask_source": "heldout", "mask_split": "val", "mask_run": None,
                                           "mask_gan": None}


def test_mask_batches_rejects_bad_sources(tmp_path):
    with pytest.raises(ValueError, match="valid: train, heldout, gan"):
        next(mask_batches("test", 4, TOY))
    with pytest.raises(ValueError, match="needs mask_run"):
        next(mask_batches("gan", 4, TOY))
    with pytest.raises(FileNotFoundError, match="config.json is missing"):
        next(mask_batches("gan", 4, TOY, mask_run=tmp_path))


def stats_rows(run_dir):
    rows = [json.loads(line) for line in (run_dir / "stats.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k != "wall_time"} for r in rows]


def test_mask_batches_from_a_masks_only_gan_run(tmp_path):
    def tiny_run(channels):
        return train_gan(preset("smoke", gan="dcgan", dataset="toy", resolution=32, iterations=1, progress=False,
                                channels=channels), tmp_path, data=tiny_data())

    joint = tiny_run("joint")
    with pytest.raises(ValueError, match=f"mask_run {joint.name} \\(dcgan\\) learnt channels='joint'.*masks-only"):
        next(mask_batches("gan", 5, TOY, mask_run=joint))
    with pytest.raises(ValueError, match="masks-only run"):
        mask_source_meta("gan", joint)
    run = tiny_run("masks")
    masks = np.concatenate(list(mask_batches("gan", 5, TOY, mask_run=run, batch_size=2)))
    assert masks.shape == (5, 32, 32) and masks.max() <= 2
    # the masks are that run's samples (same seed), written once in the run
    assert np.array_equal(masks, np.concatenate([m for _, m in SampleSet(run / "samples" / "n5-s0").iter_batches()]))
    assert mask_source_meta("gan", run) == {"mask_source": "gan", "mask_split": None, "mask_run": run.name,
                                            "mask_gan": "dcgan"}
    with pytest.raises(ValueError, match="masks for toy at 64 px"):
        next(mask_batches("gan", 5, DataSpec("toy", resolution=64), mask_run=run))


def test_train_gan_determinism_resume_and_grid(tmp_path):
    a = train_gan(config(), tmp_path / "a", data=tiny_data())
    b = train_gan(config(), tmp_path / "b", data=tiny_data())
    assert stats_rows(a) == stats_rows(b) and "feature_matching" in stats_rows(a)[0]
    half = train_gan(config(iterations=2), tmp_path / "c", data=tiny_data())
    resumed = train_gan(config(), tmp_path / "c", resume=half, data=tiny_data())
    assert stats_rows(resumed) == stats_rows(a)
    gan_a = Run(a).load(device="cpu")
    gan_r = Run(resumed).load(device="cpu")
    for (name, x), (_, y) in zip(gan_a.state_dict().items(), gan_r.state_dict().items()):
        assert torch.equal(x, y), name
    grid = mask_to_image_grid(gan_a, tiny_data(3).masks, styles=2, seed=0)
    assert grid.shape == (3 * 32, 3 * 32, 3) and 0 <= grid.min() and grid.max() <= 1
    assert np.array_equal(grid, mask_to_image_grid(gan_a, tiny_data(3).masks, styles=2, seed=0))
