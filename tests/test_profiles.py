"""The course profile is the quick study with repeats: the same data, GANs and budgets, more seeds and settings."""

from medgan_lib.study.profiles import load_profile
from medgan_lib.training.config import preset
from medgan_lib.tune.search_space import random_trials

SIMPLE_GANS = ["vanilla", "dcgan", "lsgan", "wgan", "wgan_gp", "hinge"]
# The keys by which course differs from quick; any other difference would make course a different study.
REPEATS = {("study", "seeds"), ("04_unet_dice", "n_seeds"),
           ("08_conditional_and_translation", "class_gans"),  # the review's other GANs beside quick's cGAN
           ("08_conditional_and_translation", "translation_gans")}  # and beside quick's pix2pix


def test_course_is_quick_with_more_repeats():
    quick, course = load_profile("quick"), load_profile("course")
    assert course.common == quick.common and course.gans == quick.gans and course.mask_gans == quick.mask_gans
    assert len(course.seeds) >= 3 and course.sections["04_unet_dice"]["n_seeds"] >= 3
    assert "efficientnet_lite0" in quick.sections["03_fid_evaluation"]["extractors"]  # a second ImageNet space
    for name, keys in quick.sections.items():
        if name == "06_hyperparameter_search":
            continue
        differ = {key for key in set(keys) | set(course.sections[name]) if keys.get(key) != course.sections[name].get(key)}
        assert {(name, key) for key in differ} <= REPEATS, (name, differ)


def test_course_searches_eight_settings_of_every_simple_gan():
    search = load_profile("course").sections["06_hyperparameter_search"]
    assert search["tune_gans"] == SIMPLE_GANS and not search["asha"]  # no stopped trials in Figure 5's spread
    trials = random_trials(search["study_name"], search["tune_gans"], search["num_trials"], search["tune_seeds"],
                           search["iterations"], search["interval"], {}, restrict=search["restrict"],
                           scale=search["scale"])
    for gan in SIMPLE_GANS:
        settings = {trial.config_id for trial in trials if trial.gan == gan}
        assert len(settings) >= 8, gan
    for trial in trials:
        config = preset(trial.preset, **trial.overrides())  # every sampled setting is a valid TrainConfig
        assert config.gan == trial.gan and config.vgg_loss_weight == 0  # the VGG loss would need a weights file
    assert len({trial.seed for trial in trials}) >= 2  # chetty's t-tests compare seeds


def test_fid_section_trains_the_real_unet_that_dice_section_reuses():
    """03's real-data U-Net (the U-Net FID's network) must have 04's budget, or 04 trains a second one."""
    from medgan_lib.study.profiles import notebook_values

    same = {"unet_steps": "iterations", "unet_size": "unet_size", "unet_batch_size": "batch_size",
            "unet_val_every": "val_every", "amp": "amp"}
    for name in ("quick", "course", "paper"):
        profile = load_profile(name)
        fid, dice = notebook_values(profile, "03_fid_evaluation"), notebook_values(profile, "04_unet_dice")
        assert {k: fid[k] for k in same} == {k: dice[v] for k, v in same.items()}, name


def test_every_notebook_that_builds_the_data_spec_takes_all_its_keys():
    """A notebook that builds the study's DataSpec must take every key of it, or a profile's data_seed (say)
    silently gives that section other data than 01-02."""
    from medgan_lib.study.profiles import NOTEBOOKS_DIR, notebook_parameters

    builders = [p for p in sorted(NOTEBOOKS_DIR.glob("*.ipynb")) if "DataSpec.from_params(" in p.read_text()]
    assert len(builders) >= 4
    for path in builders:
        declared = notebook_parameters(path)
        missing = {"dataset", "root", "count", "data_seed", "view"} - set(declared)
        assert not missing, (path.name, missing)
