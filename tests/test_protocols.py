"""Each paper's profile and presets reproduce the settings the paper published (medgan_lib/reference/), with
every training trick the paper did not use switched off, whatever scale a paper experiment is chained with."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from medgan_lib.gans import GANS
from medgan_lib.gans.base import DataShape
from medgan_lib.gans.stylegan2 import StyleGAN2Options
from medgan_lib.reference import assumed, load_belmekki_table1, load_chetty_experiments, protocol, published
from medgan_lib.study.plan import profile_sections
from medgan_lib.study.profiles import load_profile
from medgan_lib.training.config import EXPERIMENT_PRESETS, NO_TRICKS, belmekki_preset_name, preset

PAPERS = ("chetty2023", "belmekki", "skandarani2023")


@pytest.mark.parametrize("paper", PAPERS)
def test_every_setting_says_where_it_comes_from(paper):
    entries = protocol(paper)
    assert entries["published"] and entries["assumptions"] and entries["inconsistencies"]
    assert all(e.get("source") for e in entries["published"].values())
    assert all(e.get("why") for e in entries["assumptions"].values())
    assert all(e.get("where") and e.get("text") for e in entries["inconsistencies"])


def _no_tricks(config):
    return {key: getattr(config, key) for key in NO_TRICKS} == NO_TRICKS


def _networks(config, channels=1, resolution=32):
    gan = GANS[config.gan](config, DataShape(image_channels=channels, num_classes=1, resolution=resolution))
    return gan.generator, gan.discriminator


def _layers(module, kind):
    return [m for m in module.modules() if isinstance(m, kind)]


# ------------------------------------------------------------------------------------------------ chetty2023

@pytest.mark.parametrize("row", load_chetty_experiments(), ids=lambda row: row["experiment"])
def test_chetty_experiments_as_published(row):
    config = preset(row["experiment"])  # a bare experiment name runs at chetty's own scale
    assert config.lr_g == config.lr_d == row["lr"] and config.betas_g == config.betas_d == (row["beta1"], row["beta2"])
    assert config.resolution == published("chetty2023", "resolution") == 256
    assert config.batch_size == published("chetty2023", "batch_size") == 64
    assert config.optimizer == "adam" and _no_tricks(config)
    if row["gan"] == "wgan_gp":
        assert config.n_critic == 5 and config.gradient_penalty_weight == 10
        assert config.iterations * config.n_critic == published("chetty2023", "iterations")
    else:
        assert config.iterations == published("chetty2023", "iterations")
    quick = preset(f"quick+{row['experiment']}")  # the paper's protocol at the quick budget: quick's tricks off
    assert _no_tricks(quick) and quick.lr_g == row["lr"] and quick.iterations < config.iterations


@pytest.mark.parametrize("experiment", ["Vanilla2", "WGAN-GP2"])
def test_chetty_networks_are_the_cited_pytorch_gan_mlps(experiment):
    g, d = _networks(preset(f"smoke+{experiment}", resolution=32))
    assert not _layers(g, nn.Conv2d) and not _layers(d, nn.Conv2d)
    widths_g = [m.out_features for m in _layers(g, nn.Linear)]
    widths_d = [m.out_features for m in _layers(d, nn.Linear)]
    assert widths_g == [*published("chetty2023", "vanilla_generator"), 32 * 32]
    assert widths_d == [*published("chetty2023", "vanilla_discriminator"), 1]
    assert [m.num_features for m in _layers(g, nn.BatchNorm1d)] == [256, 512, 1024]  # none after the first layer
    assert not _layers(d, nn.BatchNorm1d) and not _layers(d, nn.LayerNorm)
    assert not _layers(d, nn.Sigmoid)  # logits (BCE with logits) or the WGAN critic's linear output


def test_chetty_does_not_clip_and_says_why():
    config = preset("WGAN-GP2")
    assert not hasattr(GANS[config.gan], "after_discriminator_step") or GANS[config.gan].after_discriminator_step \
        is GANS["dcgan"].after_discriminator_step
    assert "never clips" in protocol("chetty2023")["assumptions"]["gradient_clip"]["why"]


def test_chetty_profile_runs_its_baselines_at_its_scale():
    profile = load_profile("chetty")
    assert profile.common["resolution"] == published("chetty2023", "resolution")
    assert [s.notebook[:2] for s in profile_sections(profile)] == ["01", "02", "03", "06"]
    assert profile.common["medfid_per_class"] == published("chetty2023", "medfid_train_per_class")
    assert published("chetty2023", "view") == "LAT" and profile.common["view"] == "lateral"  # chetty §2.1
    assert profile.sections["06_hyperparameter_search"]["metric"] == "medfid"  # Table 3 on MedFID
    assert profile.sections["06_hyperparameter_search"]["batch_size"] == published("chetty2023", "batch_size")
    for gan in profile.gans:
        config = preset(profile.sections["02_gan_training"]["preset"], gan=gan)
        assert _no_tricks(config) and config.resolution == 256
    assert preset("chetty", gan="vanilla").lr_g == preset("Vanilla1").lr_g  # the source implementation's row


# ------------------------------------------------------------------------------------------------ belmekki

@pytest.mark.parametrize("row", load_belmekki_table1(), ids=belmekki_preset_name)
def test_belmekki_table1_rows(row):
    config = preset(belmekki_preset_name(row))
    assert config.gan == "dcgan" and config.optimizer == row["optimizer"].lower() and _no_tricks(config)
    assert config.resolution == published("belmekki", "resolution") and config.latent_dim == 100
    assert config.filters_g == config.filters_d == published("belmekki", "filters")
    if row["activation"] == "ELU":
        assert (config.activation_g, config.activation_d, config.norm_g, config.norm_d) == ("elu", "elu", "none", "batch")
    else:
        assert (config.activation_g, config.activation_d) == ("relu", "leaky_relu")
    ttur = tuple(assumed("belmekki", "ttur_lr"))
    assert ((config.lr_g, config.lr_d) == ttur) == (row["ttur"] == "yes")
    assert _no_tricks(preset(f"quick+{belmekki_preset_name(row)}"))


def test_belmekki_table2_is_table1s_best_row():
    best = min(load_belmekki_table1(), key=lambda row: row["fid"])
    assert EXPERIMENT_PRESETS["belmekki_table2"] == EXPERIMENT_PRESETS[belmekki_preset_name(best)]
    assert preset("belmekki_table2").optimizer == "adas"
    g, d = _networks(preset("smoke+belmekki_table2", resolution=64), resolution=64)
    assert not _layers(g, nn.BatchNorm2d) and _layers(d, nn.BatchNorm2d) and _layers(g, nn.ELU)


def test_belmekki_profile():
    profile = load_profile("belmekki")
    assert profile.common["resolution"] == published("belmekki", "resolution")
    assert [s.notebook[:2] for s in profile_sections(profile)] == ["01", "02", "03", "05", "06"]
    assert profile.sections["05_memory_analysis"]["batch_size"] == published("belmekki", "memory_batch_size")
    low, high = published("belmekki", "feature_maps")
    maps = profile.sections["05_memory_analysis"]["feature_maps"]
    assert min(maps) == low and max(maps) == high
    assert preset(profile.sections["02_gan_training"]["preset"], gan="dcgan").to_dict() == \
        preset("belmekki_table2").to_dict()


def test_belmekki_on_its_chest_x_rays_draws_one_channel_not_table_ii_s_three():
    from medgan_lib.data.manifest import load_manifest

    chest = load_manifest("chest_xray")
    assert chest.image_channels == 1 and len(chest.label_names) == 1  # VinBigData: grey films, no masks here
    config = preset("smoke+belmekki_table2", resolution=64)
    gan = GANS[config.gan](config, DataShape(chest.image_channels, len(chest.label_names), 64))
    fake = gan.generator(torch.randn(2, config.latent_dim))
    assert fake.shape == (2, 1, 64, 64) and gan.discriminator(fake).shape[0] == 2  # D takes what G draws
    assert assumed("belmekki", "output_channels") == 1  # ours, and the contradiction is said where it is shown:
    assert any(i["where"] == "Table II" and "3 channels" in i["text"] for i in protocol("belmekki")["inconsistencies"])


# ------------------------------------------------------------------------------------------------ skandarani2023

def test_stylegan2_defaults_are_the_official_paper256():
    official = published("skandarani2023", "stylegan2_paper256")
    options = StyleGAN2Options()
    for key in ("mbstd_group", "ema_kimg", "ema_rampup", "r1_gamma", "channel_base", "channel_max", "mapping_layers"):
        assert getattr(options, key) == official[key], key
    config = preset("paper", gan="stylegan2")
    assert config.batch_size == official["batch_size"] and config.lr_g == config.lr_d == official["lr"]


def test_spade_defaults_are_its_published_ttur():
    config = preset("paper", gan="spade")
    assert [config.lr_g, config.lr_d] == published("skandarani2023", "spade_ttur")


def test_paper_profile_generates_what_skandarani_did():
    profile = load_profile("paper")
    n = published("skandarani2023", "n_generated")
    assert profile.sections["02_gan_training"]["n_samples"] == n
    assert profile.sections["03_fid_evaluation"]["n"] == n and profile.sections["04_unet_dice"]["n_synthetic"] == n
    assert preset("paper", gan="dcgan").iterations == assumed("skandarani2023", "iterations")
    assert profile.common["resolution"] == assumed("skandarani2023", "resolution")
    assert profile.sections["06_hyperparameter_search"]["tune_gans"] == published("skandarani2023", "searched_gans")


def test_bare_experiment_names_and_unknown_parts():
    assert preset("Vanilla2").to_dict() == preset("chetty+Vanilla2").to_dict()
    with pytest.raises(Exception, match="unknown preset 'Vanila2'"):
        preset("quick+Vanila2")


def test_a_scale_resolution_yields_to_the_data_asked_for():
    from medgan_lib.data.spec import DataSpec

    assert preset("chetty", gan="vanilla", data=DataSpec(resolution=32)).resolution == 32
    assert preset("chetty", gan="vanilla", resolution=64).resolution == 64


@pytest.mark.parametrize("experiment", ["Vanilla5", "WGAN-GP1", "belmekki_adas_elu_ttur"])
def test_paper_experiments_train(experiment, tmp_path):
    from medgan_lib.training.run import Run
    from medgan_lib.training.train import train_gan

    dataset = "chest_phantom" if experiment.startswith("belmekki") else "elbow_phantom"
    config = preset(f"smoke+{experiment}", dataset=dataset, resolution=32, count=40, iterations=2, batch_size=8)
    run = Run(train_gan(config, tmp_path))
    assert run.finished and run.checkpoint_step() == 2 and run.config.to_dict() == config.to_dict()


def test_inconsistencies_are_footnoted_where_their_numbers_are():
    from medgan_lib.reference import footnotes, inconsistencies

    assert inconsistencies("skandarani2023", "cardiac_phantom") == []  # the IDRiD note is not ACDC's
    assert any("78.61" in line for line in inconsistencies("skandarani2023", "retina_phantom"))
    assert footnotes("skandarani2023", "acdc") == ""
    notes = footnotes("belmekki")
    assert "480" in notes and "3 channels" in notes and "lowest FID" in notes
    assert "0.0002" in footnotes("chetty2023")
