"""Network shapes at several resolutions/channel counts, every knob builds, augmentations, VGG loss,
one optimisation step per GAN, and bad configs rejected with clear errors."""

from __future__ import annotations

import pytest
import torch

from medgan_lib.config import ConfigError
from medgan_lib.gans import GANS, DataShape
from medgan_lib.gans.augment import classic_augment, diff_augment
from medgan_lib.gans.networks import ConvDiscriminator, ConvGenerator, MLPDiscriminator, MLPGenerator, level_channels
from medgan_lib.gans.perceptual import VGGLoss
from medgan_lib.registry import UnknownNameError
from medgan_lib.training import TrainConfig, preset

CONV_GANS = ["vanilla", "dcgan", "lsgan", "wgan", "wgan_gp", "hinge"]



@pytest.mark.parametrize("resolution,channels", [(32, 1), (64, 5), (128, 4), (256, 3)])
def test_conv_pair_shapes(resolution, channels):
    g = ConvGenerator(16, channels, resolution, filters=4)
    d = ConvDiscriminator(channels, resolution, filters=4)
    x = g(torch.randn(2, 16))
    assert x.shape == (2, channels, resolution, resolution) and x.abs().max() <= 1
    out, feats = d(x, features=True)
    assert out.shape == (2,) and feats.shape == (2, level_channels(resolution, 4)[0] * 16)


def test_channel_widths_follow_dcgan():
    assert level_channels(64, 64) == [512, 256, 128, 64]  # DCGAN at 64x64 with 64 filters
    assert level_channels(256, 32) == [256, 256, 256, 128, 64, 32]  # capped at 8x filters


@pytest.mark.parametrize("resolution,channels", [(32, 1), (64, 3)])
def test_mlp_pair_shapes(resolution, channels):
    g = MLPGenerator(8, channels, resolution, hidden=(16, 32))
    d = MLPDiscriminator(channels, resolution, hidden=(32, 16))
    x = g(torch.randn(3, 8))
    assert x.shape == (3, channels, resolution, resolution) and d(x).shape == (3,)


@pytest.mark.parametrize("act,norm,init,spectral", [
    ("relu", "batch", "normal", False), ("leaky_relu", "instance", "xavier", True),
    ("elu", "none", "xavier_uniform", False), ("selu", "batch", "kaiming", True),
])
def test_every_activation_norm_init_and_spectral_norm_builds(act, norm, init, spectral):
    g = ConvGenerator(8, 2, 32, 4, act, norm, spectral=spectral, init=init, gain=0.1)
    d = ConvDiscriminator(2, 32, 4, act, norm, spectral=spectral, init=init, gain=0.1)
    assert torch.isfinite(d(g(torch.randn(2, 8)))).all()


def test_weight_init_gain_sets_std():
    g = ConvGenerator(8, 1, 32, 8, init="normal", gain=0.02)
    w = g.net[0].weight.detach()
    assert 0.015 < float(w.std()) < 0.025


def test_diff_augment_shapes_gradients_and_masks():
    torch.manual_seed(0)
    x = torch.rand(4, 3, 32, 32, requires_grad=True)
    y = diff_augment(x, ["color", "translation", "cutout"], image_channels=1)
    assert y.shape == x.shape
    y.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    colour = diff_augment(x.detach(), ["color"], image_channels=1)
    assert torch.equal(colour[:, 1:], x.detach()[:, 1:])  # mask channels are never recoloured
    cut = diff_augment(torch.ones(2, 1, 32, 32), ["cutout"], 1)
    assert float((cut == 0).float().mean()) == pytest.approx(0.25)  # a 16x16 square of 32x32
    aug = classic_augment(torch.rand(3, 2, 32, 32))
    assert aug.shape == (3, 2, 32, 32)


def test_vgg_loss_needs_a_local_weights_file(tmp_path):
    with pytest.raises(ConfigError, match="nothing is downloaded"):
        VGGLoss(None)
    with pytest.raises(ConfigError, match="does not exist"):
        VGGLoss(tmp_path / "missing.pth")
    with pytest.raises(ConfigError, match="nothing is downloaded"):
        TrainConfig(vgg_loss_weight=1.0)
    from torchvision.models.vgg import cfgs, make_layers

    torch.manual_seed(0)
    weights = {f"features.{k}": v for k, v in make_layers(cfgs["D"])[:16].state_dict().items()}
    torch.save(weights, tmp_path / "vgg16.pth")
    vgg = VGGLoss(tmp_path / "vgg16.pth")
    a, b = torch.rand(2, 1, 32, 32) * 2 - 1, torch.rand(2, 1, 32, 32) * 2 - 1
    assert float(vgg(a, a)) == 0.0 and float(vgg(a, b)) > 0


@pytest.mark.parametrize("name", CONV_GANS)
def test_one_optimisation_step_per_gan(name):
    torch.manual_seed(0)
    config = preset("smoke", gan=name, resolution=32, gan_options={"hidden": [16, 16]} if name == "vanilla" else {},
                    feature_matching_weight=1.0, diff_augment=True, label_smoothing=True)
    gan = GANS[name](config, DataShape(1, 3, 32))
    real = torch.rand(4, 4, 32, 32) * 2 - 1
    opt_d = torch.optim.Adam(gan.discriminator.parameters(), lr=1e-3)
    opt_g = torch.optim.Adam(gan.generator.parameters(), lr=1e-3)
    before = [p.detach().clone() for p in gan.generator.parameters()]
    d_loss, d_stats = gan.discriminator_loss(real, None, 0)
    opt_d.zero_grad(); d_loss.backward(); opt_d.step(); gan.after_discriminator_step(0)  # noqa: E702
    g_loss, g_stats = gan.generator_loss(real, None, 0)
    opt_g.zero_grad(); g_loss.backward(); opt_g.step()  # noqa: E702
    assert torch.isfinite(d_loss) and torch.isfinite(g_loss) and {"d_real", "d_fake"} <= set(d_stats)
    assert any(not torch.equal(a, b) for a, b in zip(before, gan.generator.parameters()))
    assert gan.generate(3, generator=torch.Generator().manual_seed(0)).shape == (3, 4, 32, 32)
    if name == "wgan":
        assert all(p.abs().max() <= config.clip_value + 1e-7 for p in gan.discriminator.parameters())
    if name == "wgan_gp":
        assert "gradient_penalty" in d_stats


def test_presets_and_gan_defaults():
    assert preset("WGAN-GP2").lr_g == 5e-5 and preset("WGAN-GP2").n_critic == 5
    assert preset("quick+Vanilla3").gan == "vanilla" and preset("quick+Vanilla3").betas_g == (0.5, 0.9)
    table2 = preset("belmekki_table2")
    assert (table2.activation_g, table2.activation_d, table2.norm_g, table2.norm_d) == ("elu", "elu", "none", "batch")
    ttur = preset("belmekki_adas_elu_ttur")
    assert ttur.optimizer == "adas" and ttur.lr_d > ttur.lr_g
    assert preset("quick", gan="wgan_gp", n_critic=2).n_critic == 2  # explicit overrides win


@pytest.mark.parametrize("changes,message", [
    (dict(gan="nope"), "unknown GAN 'nope'; valid names: .*dcgan"),
    (dict(activation_g="swish"), "activation_g: 'swish' is not one of"),
    (dict(norm_d="layer"), "norm_d: 'layer' is not one of"),
    (dict(resolution=48), "power of two in 32..256"),
    (dict(resolution=512), "power of two in 32..256"),
    (dict(lr_d=-1e-4), "lr_d: learning rate must be a finite number > 0"),
    (dict(betas_g=(0.5, 1.5)), "betas_g"),
    (dict(diff_augment_policy="color,blur"), "unknown transform"),
    (dict(gan_options={"depth": 3}), r"unknown key\(s\) \['depth'\]"),
])
def test_bad_configs_rejected(changes, message):
    with pytest.raises((ConfigError, UnknownNameError), match=message):
        TrainConfig.from_dict(changes)


def test_unknown_preset_lists_valid_ones():
    with pytest.raises(ConfigError, match="unknown preset 'huge'; valid presets: smoke, quick, paper"):
        preset("huge")


def test_compressed_conv_pairs_keep_the_resolution_with_fewer_layers():
    from medgan_lib.gans.networks import strides

    assert strides(64) == [2, 2, 2, 2] and strides(64, 4) == [4, 4] and strides(32, 4) == [4, 2]
    assert strides(64, 8) == [8, 2] and strides(128, 8) == [8, 4]
    with pytest.raises(ValueError, match="stride must be a power of two"):
        strides(64, 3)
    for stride in (2, 4, 8):
        g, d = ConvGenerator(16, 1, 64, 8, stride=stride), ConvDiscriminator(1, 64, 8, stride=stride)
        x = g(torch.randn(3, 16))
        assert x.shape == (3, 1, 64, 64) and d(x).shape == (3,)
        convs = [m for m in g.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
        assert len(convs) == 1 + len(strides(64, stride))
        assert [m.kernel_size[0] for m in convs[1:]] == [2 * s for s in strides(64, stride)]
    with pytest.raises(Exception, match="stride must be a power of two"):
        preset("smoke", gan="dcgan", gan_options={"stride": 6})
