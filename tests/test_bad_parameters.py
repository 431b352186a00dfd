"""Bad input that used to slip through gets a clear error naming the parameter (issue 20, "bad input")."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from PIL import Image

from medgan_lib.config import ConfigError, name_list
from medgan_lib.data import DataSpec, DatasetError, prepare
from medgan_lib.study import ProfileError, apply_overrides, load_profile
from medgan_lib.training import TrainConfig


@pytest.mark.parametrize("lr", [float("inf"), float("nan"), 0.0, -1e-4, 1e39])  # 1e39 overflows float32
def test_learning_rates_must_be_finite_and_positive(lr):
    with pytest.raises(ConfigError, match=r"TrainConfig.lr_g: learning rate must be a finite number > 0"):
        TrainConfig(lr_g=lr)


@pytest.mark.parametrize("resolution", [48, 16, 512, True])
def test_data_resolution_is_one_the_gans_build(resolution):
    with pytest.raises(DatasetError, match=r"DataSpec.resolution: expected a power of two in 32..256"):
        DataSpec(resolution=resolution)
    assert DataSpec(resolution=32).resolution == 32


def test_a_gan_list_given_as_one_string_is_one_gan():
    assert name_list("dcgan", "gans") == ["dcgan"] and name_list("", "gans") == []
    assert name_list(["dcgan", "spade"], "gans") == ["dcgan", "spade"]
    with pytest.raises(ConfigError, match=r"gans: expected a list of names"):
        name_list(3, "gans")


def test_profile_yaml_errors_and_negative_seeds_name_the_file_and_key(tmp_path):
    (tmp_path / "broken.yaml").write_text("study:\n  gans: [dcgan\ncommon: {}\n")
    with pytest.raises(ProfileError, match=r"broken.yaml: not valid YAML"):
        load_profile("broken", tmp_path)
    smoke = load_profile("smoke")
    with pytest.raises(ProfileError, match=r"study.seeds must be a non-empty list of integers >= 0"):
        apply_overrides(smoke, seeds=[-1])
    with pytest.raises(ProfileError, match=r"override 'count': value '\[1' is not valid YAML"):
        apply_overrides(smoke, [("count", "[1")])
    assert yaml.safe_load("[1]") == [1]


def _folder(tmp_path, masks: dict[str, np.ndarray], images: tuple[str, ...] = ("a", "b", "c", "d")):
    (tmp_path / "images").mkdir(parents=True)
    (tmp_path / "masks").mkdir()
    rng = np.random.default_rng(0)
    for name in images:
        Image.fromarray(rng.integers(0, 255, (32, 32), dtype=np.uint8)).save(tmp_path / "images" / f"{name}.png")
    for name, mask in masks.items():
        Image.fromarray(mask).save(tmp_path / "masks" / f"{name}.png")
    return tmp_path


def test_folder_masks_stored_as_0_255_are_one_label(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDGAN_CACHE", str(tmp_path / "cache"))
    disc = np.zeros((32, 32), np.uint8)
    disc[8:20, 8:20] = 255
    root = _folder(tmp_path / "data", {name: disc for name in "abcd"})
    train = prepare("folder", "train", 32, root=root, count=None)
    assert train.label_names == ("background", "label_1") and set(np.unique(train.masks).tolist()) == {0, 1}
    (root / "labels.txt").write_text("background\noptic_disc\n")
    assert prepare("folder", "train", 32, root=root).label_names == ("background", "optic_disc")


def test_folder_masks_without_images_and_labels_beyond_labels_txt_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDGAN_CACHE", str(tmp_path / "cache"))
    mask = np.zeros((32, 32), np.uint8)
    root = _folder(tmp_path / "orphans", {name: mask for name in "abcdz"})
    with pytest.raises(DatasetError, match=r"1 mask\(s\) without an image of the same name.*z.png"):
        prepare("folder", "train", 32, root=root)
    three = mask.copy()
    three[4:8, 4:8] = 3
    root = _folder(tmp_path / "labels", {name: three for name in "abcd"})
    (root / "labels.txt").write_text("background\nlesion\n")
    with pytest.raises(DatasetError, match=r"label values \[3\] are not in labels.txt \(2 labels"):
        prepare("folder", "train", 32, root=root)


def test_notebook_parameters_of_the_wrong_type_are_named():
    """papermill -p n abc injects n = 'abc' unchecked; the notebooks' check_parameters stops it by name."""
    from medgan_lib.config import ConfigError, check_parameters

    declared = {"n": int, "lr": float, "gans": list, "name": str, "measure": bool}
    check_parameters(declared, {"n": 3, "lr": 1, "gans": [], "name": "x", "measure": True, "other": object()})
    with pytest.raises(ConfigError, match=r"'n' must be int, got 'abc' \(str\); 'lr' must be float, got True"):
        check_parameters(declared, {"n": "abc", "lr": True, "gans": [], "name": "x", "measure": False})
    with pytest.raises(ConfigError, match=r"'gans' must be list, got 'dcgan'"):
        check_parameters(declared, {"gans": "dcgan"})
