"""The course profile is the quick study with repeats: the same data, GANs and budgets, more seeds and settings."""

from medgan_lib.study.profiles import load_profile
from medgan_lib.training.config import preset
from medgan_lib.tune.search_space import random_trials

SIMPLE_GANS = ["vanilla", "dcgan", "lsgan", "wgan", "wgan_gp", "hinge"]
# The keys by which course differs from quick; any other difference would make course a different study.
REPEATS = {("study", "seeds"), ("04_unet_dice", "n_seeds")}


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
