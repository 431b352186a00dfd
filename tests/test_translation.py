"""The review's translation GANs (pix2pix, CycleGAN) and their metrics: shapes and one step, unpaired batches from
disjoint patients, cycle consistency after training on an easy pair, exact resume of CycleGAN's four networks and
image pools, and MAE/PSNR/SSIM on cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from medgan_lib.config import ConfigError
from medgan_lib.data.dataset import PreparedDataset
from medgan_lib.data.preprocessing import Preprocessing
from medgan_lib.gans import GANS, DataShape
from medgan_lib.metrics.translation import hu_per_unit, image_scores, translation_rows
from medgan_lib.training import preset, train_gan


def pair_data(n: int = 16, seed: int = 0) -> PreparedDataset:
    """Two channels of one anatomy: a bright disc (channel 0) and the same disc dark on grey (channel 1)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:32, :32]
    masks = np.zeros((n, 32, 32), np.uint8)
    for i in range(n):
        r, cx, cy = rng.uniform(5, 10), rng.uniform(11, 21), rng.uniform(11, 21)
        masks[i][(xx - cx) ** 2 + (yy - cy) ** 2 < r ** 2] = 1
    first = masks * 1.6 - 0.8
    images = np.stack([first, -first * 0.5], axis=1).astype(np.float32)
    return PreparedDataset("pairs", "train", images, masks, np.array([f"p{i // 2}" for i in range(n)]),
                           ("background", "disc"), {"hash": f"pairs{seed}"})


def config(gan: str, **changes):
    values = dict(gan=gan, dataset="toy", resolution=32, iterations=4, checkpoint_every=2, grid_every=2,
                  batch_size=4, filters_g=8, filters_d=8)
    values.update(changes)
    return preset("smoke", **values)


@pytest.mark.parametrize("name", ["pix2pix", "cyclegan"])
def test_shapes_one_step_and_no_sampling_from_noise(name):
    gan = GANS[name](config(name), DataShape(2, 2, 32))
    data = pair_data()
    real, cond = (torch.from_numpy(a) for a in gan.training_pair(data.images, data.masks, None, data.patient_ids))
    assert real.shape[1:] == cond.shape[1:] == (1, 32, 32)
    for loss_fn, net in ((gan.discriminator_loss, gan.discriminator), (gan.generator_loss, gan.generator)):
        loss, _ = loss_fn(real[:4], cond[:4], 0)
        net.zero_grad()
        loss.backward()
        assert torch.isfinite(loss) and all(p.grad is not None for p in net.parameters() if p.requires_grad)
    assert gan.translate(data.images[:3, :1]).shape == (3, 1, 32, 32)
    with pytest.raises(ValueError, match="draws none from noise: use gan.translate"):
        gan.sample(2)
    with pytest.raises(ConfigError, match="use a two-modality dataset"):
        GANS[name](config(name), DataShape(1, 2, 32))


def test_cyclegan_never_shows_a_slice_with_its_counterpart():
    gan = GANS["cyclegan"](config("cyclegan"), DataShape(2, 2, 32))
    data = pair_data(16)
    target, source = gan.training_pair(data.images, data.masks, None, data.patient_ids)
    assert len(target) == len(source) == 8  # the first four patients' targets, the last four's sources
    np.testing.assert_array_equal(target, data.images[:8, 1:])
    np.testing.assert_array_equal(source, data.images[8:, :1])
    pix = GANS["pix2pix"](config("pix2pix"), DataShape(2, 2, 32))
    target, source = pix.training_pair(data.images, data.masks)
    np.testing.assert_array_equal(source, data.images[:, :1])  # pix2pix: aligned pairs


def test_cycle_closes_after_training_on_an_easy_pair(tmp_path):
    data = pair_data(32)
    gan = train_gan(config("cyclegan", iterations=1, diff_augment=False), tmp_path / "start", data=data)
    from medgan_lib.training import Run

    source = data.images[:8, :1]
    start = np.abs(Run(gan).load("cpu").reconstruct(source) - source).mean()
    run = train_gan(config("cyclegan", iterations=200, checkpoint_every=100, grid_every=100, diff_augment=False,
                           lr_g=1e-3, lr_d=1e-3), tmp_path / "trained", data=data)
    trained = Run(run).load("cpu")
    cycle = np.abs(trained.reconstruct(source) - source).mean()
    assert cycle < 0.2 and cycle < start / 2, (start, cycle)


def test_cyclegan_resume_is_exact_including_the_image_pools(tmp_path):
    options = {"gan_options": {"pool_size": 3}}  # filled and swapping within the run
    straight = train_gan(config("cyclegan", **options), tmp_path / "straight", data=pair_data())
    train_gan(config("cyclegan", iterations=2, **options), tmp_path / "resumed", data=pair_data())
    resumed = train_gan(config("cyclegan", **options), tmp_path / "resumed", data=pair_data())
    a, b = (torch.load(run / "checkpoints/last.pt", weights_only=False)["gan"] for run in (straight, resumed))
    assert {k.split(".")[0] for k in a} == {"generator", "discriminator", "pools"}
    assert int(a["pools.target.count"]) == 3 and all(torch.equal(a[k], b[k]) for k in a)


def test_translation_scores_on_known_answers():
    target = pair_data(6).images[:, 1:]
    same = image_scores(target, target)
    assert np.allclose(same["mae"], 0) and np.allclose(same["ssim"], 1) and np.all(same["psnr"] > 60)
    shifted = image_scores(np.clip(target + 0.1, -1, 1), target)
    assert np.allclose(shifted["mae"], 0.1, atol=1e-6)
    assert np.allclose(shifted["psnr"], 10 * np.log10(4 / 0.01), atol=1e-3)  # data range 2, MSE 0.01
    rows = {r["metric"]: r for r in translation_rows("x", target, target, np.arange(6) // 3, hu_scale=550.0)}
    assert rows["mae_hu"]["value"] == 0 and rows["ssim"]["n_patients"] == 2 and rows["ssim"]["value"] == pytest.approx(1)
    assert hu_per_unit(Preprocessing(channels=("mri_percentile", "ct_window"), window=(150.0, 1100.0)), 1) == 550.0
    assert hu_per_unit(Preprocessing(channels=("mri_percentile", "ct_window")), 0) is None
