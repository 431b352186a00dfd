"""StyleGAN2: FIR resampling (known responses, the fast up/down convs against their definitions), shapes,
demodulation keeps the output scale, R1 against an independent gradient, one warning-free training step,
EMA, average w and truncation, lazy-regularisation optimiser settings, style mixing grid, determinism and
exact resume through train_gan. Tiny networks, CPU."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

from medgan_lib.config import ConfigError
from medgan_lib.data.dataset import PreparedDataset
from medgan_lib.gans import GANS, DataShape
from medgan_lib.gans.resample import downsample2d, fir_filter, upsample2d
from medgan_lib.gans.stylegan2 import EqualConv2d, ModulatedConv2d, StyleGAN2, minibatch_stddev, r1_penalty
from medgan_lib.training import Run, TrainConfig, preset, train_gan
from medgan_lib.training.grids import style_mixing_grid, truncation_grid

TINY = {"channel_base": 256, "channel_max": 16, "mapping_layers": 2, "pl_weight": 2.0, "pl_interval": 2,
        "r1_interval": 2, "r1_gamma": 1.0}



def config(**changes) -> TrainConfig:
    values = dict(gan="stylegan2", dataset="toy", resolution=32, latent_dim=16, gan_options=dict(TINY),
                  iterations=4, batch_size=4, checkpoint_every=2, grid_every=2, grid_size=4, progress=False)
    values.update(changes)
    return preset("smoke", **values)


def tiny_data(n: int = 8) -> PreparedDataset:
    rng = np.random.default_rng(0)
    masks = np.zeros((n, 32, 32), dtype=np.uint8)
    masks[:, 8:24, 8:24] = 1
    masks[:, 12:20, 12:20] = 2
    images = np.clip(masks[:, None] - 1.0 + rng.normal(0, 0.1, (n, 1, 32, 32)), -1, 1).astype(np.float32)
    return PreparedDataset("toy", "train", images, masks, np.array([f"p{i}" for i in range(n)]),
                           ("background", "outer", "inner"), {"hash": "toy"})


def test_fir_resampling_known_responses():
    taps = torch.tensor([1.0, 3.0, 3.0, 1.0])
    impulse = torch.zeros(1, 1, 4, 4)
    impulse[0, 0, 1, 1] = 1.0
    up = upsample2d(impulse)[0, 0]  # pixel 1 becomes pixels 2-3; the filter spreads it over 1-4, total 4
    expected = torch.zeros(8, 8)
    expected[1:5, 1:5] = torch.outer(taps, taps) / 16
    assert torch.allclose(up, expected) and float(up.sum()) == pytest.approx(4.0)
    impulse = torch.zeros(1, 1, 8, 8)
    impulse[0, 0, 4, 4] = 1.0  # output i averages inputs 2i-1 .. 2i+2 with weights 1, 3, 3, 1 (/ 8)
    down = downsample2d(impulse)[0, 0]
    expected = torch.zeros(4, 4)
    expected[1:3, 1:3] = torch.outer(taps[[3, 2]], taps[[3, 2]]) / 64
    assert torch.allclose(down, expected)
    ones = torch.ones(2, 3, 8, 8)  # a constant keeps its value away from the zero-padded border
    assert upsample2d(ones).shape == (2, 3, 16, 16) and downsample2d(ones).shape == (2, 3, 4, 4)
    assert torch.allclose(upsample2d(ones)[..., 2:-2, 2:-2], torch.ones(1))
    assert torch.allclose(downsample2d(ones)[..., 1:-1, 1:-1], torch.ones(1))
    # the transposed-conv upsampling equals its definition: insert zeros, then filter with gain 4
    x = torch.randn(2, 3, 5, 6)
    zeros = torch.zeros(2, 3, 10, 12)
    zeros[:, :, ::2, ::2] = x
    assert torch.allclose(upsample2d(x), fir_filter(zeros, pad=(2, 1), gain=4.0), atol=1e-6)
    # up then down of a smooth image is close to the identity (a low-pass filter twice)
    yy, xx = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    smooth = (torch.sin(xx / 5) + torch.cos(yy / 7))[None, None]
    assert (downsample2d(upsample2d(smooth)) - smooth)[..., 4:-4, 4:-4].abs().max() < 0.02


def test_resampling_convs_match_their_unfused_definitions():
    torch.manual_seed(0)
    x, w = torch.randn(2, 4, 8, 8), torch.randn(2, 6)
    conv = ModulatedConv2d(4, 5, 3, w_dim=6, up=True)
    styles, weight = conv.affine(w), conv.weight * conv.scale
    dcoef = torch.rsqrt(styles.square() @ weight.square().sum(dim=(2, 3)).t() + 1e-8)
    reference = torch.nn.functional.conv2d(upsample2d(x * styles[:, :, None, None]), weight, padding=1)
    reference = reference * dcoef[:, :, None, None]
    assert conv(x, w).shape == (2, 5, 16, 16)
    assert torch.allclose(conv(x, w)[..., 2:-2, 2:-2], reference[..., 2:-2, 2:-2], atol=1e-5)  # borders pad differently
    for kernel in (1, 3):  # FIR-filtered strided conv == full-resolution conv, then FIR downsampling
        down = EqualConv2d(4, 5, kernel, down=True)
        full = EqualConv2d(4, 5, kernel)
        full.load_state_dict(down.state_dict())
        reference = downsample2d(full(x) - full.bias[None, :, None, None]) + full.bias[None, :, None, None]
        assert down(x).shape == (2, 5, 4, 4)
        assert torch.allclose(down(x)[..., 1:-1, 1:-1], reference[..., 1:-1, 1:-1], atol=1e-5)


@pytest.mark.parametrize("resolution,image_channels,num_classes", [(32, 1, 4), (64, 3, 2), (128, 1, 1)])
def test_shapes(resolution, image_channels, num_classes):
    torch.manual_seed(0)
    shape = DataShape(image_channels, num_classes, resolution)
    gan = GANS["stylegan2"](config(resolution=resolution), shape)
    fake = gan.generator(torch.randn(3, 16))
    assert fake.shape == (3, shape.joint_channels, resolution, resolution)
    assert gan.discriminator(fake).shape == (3,)
    assert gan.generate(2).shape == (2, shape.joint_channels, resolution, resolution)
    assert gan.generator.num_ws == 2 * (int(np.log2(resolution)) - 2) + 2


def test_channels_scale_with_resolution():
    gan = StyleGAN2(config(gan_options={"channel_base": 512, "channel_max": 32}), DataShape(1, 4, 64))
    widths = [layer.conv.weight.shape[0] for layer in gan.generator.synthesis.layers]
    assert widths == [32, 32, 32, 32, 32, 16, 16, 8, 8]  # 4x4 .. 64x64: min(512 // r, 32)


def test_bad_options_are_rejected_by_name():
    with pytest.raises(ConfigError, match="style_mixing_prob"):
        config(gan_options={"style_mixing_prob": 1.5})
    with pytest.raises(ConfigError, match="mapping_depth"):
        config(gan_options={"mapping_depth": 3})
    with pytest.raises(ConfigError, match="truncation_psi"):
        config(gan_options={"truncation_psi": -0.5})


@pytest.mark.parametrize("style_scale", [0.01, 1.0, 100.0])
def test_demodulation_keeps_unit_scale(style_scale):
    torch.manual_seed(0)
    conv = ModulatedConv2d(64, 64, 3, w_dim=8)
    with torch.no_grad():
        conv.affine.bias.mul_(style_scale)  # styles = affine(w) ~ style_scale; w = 0 below
        x = torch.randn(4, 64, 32, 32)
        y = conv(x, torch.zeros(4, 8))[:, :, 1:-1, 1:-1]  # borders see zero padding
        conv.demodulate = False
        raw = conv(x, torch.zeros(4, 8))[:, :, 1:-1, 1:-1]
    assert float(y.std()) == pytest.approx(1.0, abs=0.1)
    assert float(raw.std()) == pytest.approx(style_scale, rel=0.2)  # without demodulation the style scales it


def test_minibatch_stddev_appends_group_std():
    x = torch.arange(16.0).reshape(4, 1, 2, 2)
    y = minibatch_stddev(x, group=2)
    assert y.shape == (4, 2, 2, 2)
    # groups pair sample i with i + 2: every pixel differs by 8, population std 4
    assert torch.allclose(y[:, 1], torch.full((4, 2, 2), 4.0))
    assert minibatch_stddev(torch.randn(3, 2, 4, 4), group=4).shape == (3, 3, 4, 4)  # 3 not divisible by 4


def test_r1_penalty_matches_independent_gradients():
    torch.manual_seed(0)
    a = torch.randn(1, 2, 4, 4)
    real = torch.randn(3, 2, 4, 4)
    _, r1 = r1_penalty(lambda x: (a * x.square()).sum(dim=(1, 2, 3)), real)
    assert torch.allclose(r1, (2 * a * real).square().sum(dim=(1, 2, 3)))  # d/dx sum(a x^2) = 2 a x
    gan = StyleGAN2(config(), DataShape(1, 2, 32))
    real = torch.randn(4, 3, 32, 32)
    _, r1 = r1_penalty(gan.discriminator, real)
    reference = torch.func.grad(lambda x: gan.discriminator(x).sum())(real)
    assert torch.allclose(r1, reference.square().sum(dim=(1, 2, 3)), rtol=1e-4)
    # the lazy R1 term of the loss: every r1_interval-th step, weighted gamma / 2 * interval
    state = torch.get_rng_state()
    with_r1, stats = gan.discriminator_loss(real, None, step=0)
    torch.set_rng_state(state)
    without, _ = gan.discriminator_loss(real, None, step=1)
    expected = TINY["r1_gamma"] / 2 * TINY["r1_interval"] * reference.square().sum(dim=(1, 2, 3)).mean()
    assert float((with_r1 - without).detach()) == pytest.approx(float(expected.detach()), rel=1e-4)
    assert stats["r1"] == pytest.approx(float(reference.detach().square().sum(dim=(1, 2, 3)).mean()), rel=1e-4)


def test_one_training_step_updates_networks_and_ema():
    torch.manual_seed(0)
    gan = StyleGAN2(config(gan_options={**TINY, "ema_rampup": 0.0, "ema_kimg": 0.004}), DataShape(1, 2, 32))
    real = torch.rand(4, 3, 32, 32) * 2 - 1
    opt_d = torch.optim.Adam(gan.discriminator.parameters(), lr=0.01, betas=(0.0, 0.99))
    opt_g = torch.optim.Adam(gan.generator.parameters(), lr=0.01, betas=(0.0, 0.99))
    d_before = [p.clone() for p in gan.discriminator.parameters()]
    ema_before = [p.clone() for p in gan.generator_ema.parameters()]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. float() of a tensor that requires grad
        loss, stats = gan.discriminator_loss(real, None, 0)
        opt_d.zero_grad(), loss.backward(), opt_d.step()
        assert {"d_real", "d_fake", "r1"} <= set(stats) and torch.isfinite(loss)
        gan.discriminator.requires_grad_(False)
        state = torch.get_rng_state()
        with torch.no_grad():  # the first w the generator step draws (no style mixing in TINY)
            first_w = gan.generator.mapping(torch.randn(4, 16))
        torch.set_rng_state(state)
        loss, stats = gan.generator_loss(real, None, 0)
        opt_g.zero_grad(), loss.backward(), opt_g.step()
        gan.after_generator_step(0)
    # average w: one EMA update from zero with beta 0.995, copied to the EMA generator
    assert torch.allclose(gan.generator.mapping.w_avg, 0.005 * first_w.mean(dim=0), atol=1e-6)
    assert torch.equal(gan.generator_ema.mapping.w_avg, gan.generator.mapping.w_avg)
    assert "pl_length" in stats and float(gan.pl_mean) > 0 and torch.isfinite(loss)
    assert all(not torch.equal(a, b) for a, b in zip(d_before, gan.discriminator.parameters()) if a.numel() > 1)
    # half-life of 4 images and a batch of 4: the EMA moves exactly half way to the new weights
    for before, ema, new in zip(ema_before, gan.generator_ema.parameters(), gan.generator.parameters()):
        assert torch.allclose(ema, (before + new) / 2, atol=1e-6)
    assert not any(p.requires_grad for p in gan.generator_ema.parameters())


def test_generate_uses_ema_weights_and_is_seeded():
    torch.manual_seed(0)
    gan = StyleGAN2(config(), DataShape(1, 2, 32))
    a = gan.generate(3, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        for p in gan.generator.parameters():
            p.add_(1.0)  # the trained copy changes; the EMA copy (used for sampling) does not
    assert torch.equal(a, gan.generate(3, generator=torch.Generator().manual_seed(5)))
    assert not torch.equal(a, gan.generate(3, generator=torch.Generator().manual_seed(6)))


def test_truncation_pulls_styles_to_the_average_w():
    torch.manual_seed(0)
    gan = StyleGAN2(config(), DataShape(1, 2, 32))
    g = gan.generator_ema
    with torch.no_grad():
        g.mapping.w_avg.normal_()
        for layer in g.synthesis.layers:
            layer.noise_strength.fill_(0.3)  # noise visible in the images, so fixing it matters
    z = torch.randn(3, 16)
    w = g.mapping(z)
    assert torch.allclose(g.styles(z, 0.5)[:, 0], (w + g.mapping.w_avg) / 2, atol=1e-6)
    assert torch.equal(g.styles(z, 1.0)[:, 0], w)
    grid = truncation_grid(gan, psis=(1.0, 0.5, 0.0), rows=3, seed=0)
    assert grid.shape == (3 * 32, 3 * 32) and np.array_equal(grid, truncation_grid(gan, (1.0, 0.5, 0.0), 3, 0))
    psi0 = [grid[r * 32:(r + 1) * 32, 64:] for r in range(3)]  # psi = 0: every latent gives the average image
    assert all(np.allclose(psi0[0], cell, atol=1e-5) for cell in psi0[1:])
    assert not np.allclose(grid[:32, :32], grid[32:64, :32])  # psi = 1: the latents differ
    # generate(): psi = 1 (default) is untruncated; the option truncates
    seeded = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    gen = seeded()  # generate() draws z, then the noise, from one generator
    assert torch.equal(gan.generate(2, generator=seeded()), g(torch.randn(2, 16, generator=gen), gen))
    gan.options.truncation_psi = 0.0
    with torch.no_grad():
        for layer in g.synthesis.layers:
            layer.noise_strength.zero_()
    out = gan.generate(3, generator=seeded())
    assert torch.allclose(out[0], out[1], atol=1e-5) and torch.allclose(out[0], out[2], atol=1e-5)


def test_lazy_regularisation_optimizer_correction():
    gan = StyleGAN2(config(gan_options={"channel_base": 64, "channel_max": 8, "mapping_layers": 1}),
                    DataShape(1, 2, 32))  # official intervals: R1 every 16 D steps, path length every 4 G steps
    lr, (b1, b2) = gan.optimizer_settings("discriminator", 0.0025, (0.0, 0.99))
    assert lr == pytest.approx(0.0025 * 16 / 17) and b1 == 0.0 and b2 == pytest.approx(0.99 ** (16 / 17))
    assert b2 == pytest.approx(0.990585, abs=1e-6)  # exp(16 / 17 * ln 0.99)
    lr, (b1, b2) = gan.optimizer_settings("generator", 0.0025, (0.5, 0.99))
    assert lr == pytest.approx(0.002) and (b1, b2) == pytest.approx((0.5 ** 0.8, 0.99 ** 0.8))
    off = StyleGAN2(config(gan_options={"channel_base": 64, "channel_max": 8, "pl_weight": 0.0, "r1_gamma": 0.0}),
                    DataShape(1, 2, 32))  # no regulariser: nothing to correct
    assert off.optimizer_settings("generator", 0.0025, (0.0, 0.99)) == (0.0025, (0.0, 0.99))
    assert off.optimizer_settings("discriminator", 0.0025, (0.0, 0.99)) == (0.0025, (0.0, 0.99))


def test_style_mixing_grid():
    torch.manual_seed(0)
    gan = StyleGAN2(config(), DataShape(1, 2, 32))
    grid = style_mixing_grid(gan, rows=2, cols=3, seed=0)
    assert grid.shape == (3 * 32, 4 * 32) and 0.0 <= grid.min() and grid.max() <= 1.0
    assert np.array_equal(grid, style_mixing_grid(gan, rows=2, cols=3, seed=0))
    # cell (row 1, col 1) mixes row source 1 with column source 1: it differs from both sources
    cell, row_src, col_src = grid[32:64, 32:64], grid[32:64, :32], grid[:32, 32:64]
    assert not np.allclose(cell, row_src) and not np.allclose(cell, col_src)


def test_chetty_settings_are_the_preset_defaults():
    cfg = preset("quick", gan="stylegan2")
    assert (cfg.lr_g, cfg.lr_d, cfg.betas_g, cfg.betas_d) == (0.0025, 0.0025, (0.0, 0.99), (0.0, 0.99))


def stats_rows(run_dir):
    rows = [json.loads(line) for line in (run_dir / "stats.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k != "wall_time"} for r in rows]


def test_train_gan_determinism_and_exact_resume(tmp_path):
    cfg = config(diff_augment=True, diff_augment_policy="color,translation")
    a = train_gan(cfg, tmp_path / "a", data=tiny_data())
    b = train_gan(cfg, tmp_path / "b", data=tiny_data())
    assert stats_rows(a) == stats_rows(b)
    assert {"r1", "pl_length", "d_real", "d_fake"} <= set().union(*stats_rows(a))
    # stop after 2 iterations, then resume to 4: same numbers as the uninterrupted run
    half = train_gan(config(diff_augment=True, diff_augment_policy="color,translation", iterations=2),
                     tmp_path / "c", data=tiny_data())
    resumed = train_gan(cfg, tmp_path / "c", resume=half, data=tiny_data())
    assert stats_rows(resumed) == stats_rows(a)
    gan_a = Run(a).load(device="cpu")
    gan_r = Run(resumed).load(device="cpu")
    for (name, x), (_, y) in zip(gan_a.state_dict().items(), gan_r.state_dict().items()):
        assert torch.equal(x, y), name
    assert torch.equal(gan_a.generate(2, generator=torch.Generator().manual_seed(0)),
                       gan_r.generate(2, generator=torch.Generator().manual_seed(0)))
    assert float(gan_r.generator_ema.mapping.w_avg.abs().sum()) > 0  # the average w is checkpointed
    old = {k: v for k, v in gan_a.state_dict().items() if not k.endswith("w_avg")}  # before FIR + average w
    with pytest.raises(ValueError, match="predates FIR"):
        gan_r.load_state_dict(old)
    # train_gan builds the optimisers through optimizer_settings: TINY regularises every 2nd step, c = 2/3
    groups = {k: torch.load(Run(a).checkpoint_file, weights_only=False)[k]["param_groups"][0] for k in ("opt_g", "opt_d")}
    for group in groups.values():
        assert group["lr"] == pytest.approx(cfg.lr_g * 2 / 3) and group["betas"][1] == pytest.approx(0.99 ** (2 / 3))
