"""The review's class-conditional GANs (cGAN, ACGAN, InfoGAN) and their evaluation: shapes, one training step,
exact resume, sampling by class, the CAS and InfoGAN's code statistics on cases with known answers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from medgan_lib.config import ConfigError
from medgan_lib.data.dataset import PreparedDataset
from medgan_lib.gans import GANS, DataShape
from medgan_lib.metrics.conditional import (ClassifierConfig, classification_accuracy_score, code_effects,
                                            code_summary, patient_bootstrap)
from medgan_lib.training import Run, preset, train_gan

CLASSES = ("a", "b", "c")


def class_data(n: int = 24, seed: int = 0) -> PreparedDataset:
    """Three classes told apart by the size of a bright square (its mask is label 1)."""
    rng = np.random.default_rng(seed)
    classes = np.arange(n) % 3
    masks = np.zeros((n, 32, 32), np.uint8)
    for i, k in enumerate(classes):
        half = 4 + 4 * int(k)
        masks[i, 16 - half:16 + half, 16 - half:16 + half] = 1
    images = np.clip(masks[:, None] * 1.6 - 0.8 + rng.normal(0, 0.1, (n, 1, 32, 32)), -1, 1).astype(np.float32)
    return PreparedDataset("toy", "train", images, masks, np.array([f"p{i // 2}" for i in range(n)]),
                           ("background", "square"), {"hash": f"classes{seed}"}, CLASSES, classes)


def config(gan: str, **changes):
    values = dict(gan=gan, dataset="toy", resolution=32, iterations=4, checkpoint_every=2, grid_every=2,
                  batch_size=6, diff_augment=True)
    values.update(changes)
    return preset("smoke", **values)


@pytest.mark.parametrize("name", ["cgan", "acgan", "infogan"])
def test_shapes_and_one_step(name):
    gan = GANS[name](config(name), DataShape(1, 2, 32, image_classes=3))
    data = class_data()
    real, cond = gan.training_pair(data.images[:6], data.masks[:6], data.classes[:6])
    real, cond = torch.from_numpy(real), None if cond is None else torch.from_numpy(cond)
    assert real.shape == (6, 3, 32, 32) and (cond is None) == (name == "infogan")
    for loss_fn, net in ((gan.discriminator_loss, gan.discriminator), (gan.generator_loss, gan.generator)):
        loss, stats = loss_fn(real, cond, 0)
        net.zero_grad()
        loss.backward()
        assert torch.isfinite(loss) and any(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())
    images, masks = gan.sample(6, classes=np.array([0, 1, 2, 0, 1, 2]) if name != "infogan" else None)
    assert images.shape == (6, 1, 32, 32) and masks.shape == (6, 32, 32) and images.min() >= -1
    assert gan.realness(data.images[:6], data.masks[:6], classes=data.classes[:6]).shape == (6,)
    with pytest.raises(ValueError, match="masks must be None|pass neither"):
        gan.sample(2, masks=data.masks[:2])


def test_class_conditional_gans_need_classes_and_draw_the_asked_class():
    with pytest.raises(ConfigError, match="conditioned on image-level classes"):
        GANS["cgan"](config("cgan"), DataShape(1, 2, 32))
    gan = GANS["cgan"](config("cgan"), DataShape(1, 2, 32, image_classes=3))
    with pytest.raises(ValueError, match=r"classes must be 2 indices in \[0, 3\)"):
        gan.sample(2, classes=np.array([0, 3]))
    a, _ = gan.sample(4, classes=np.array([0, 0, 0, 0]), generator=torch.Generator().manual_seed(0))
    b, _ = gan.sample(4, classes=np.array([2, 2, 2, 2]), generator=torch.Generator().manual_seed(0))
    assert not np.allclose(a, b)  # same z, another class: another image


@pytest.mark.parametrize("name", ["cgan", "infogan"])
def test_resume_is_bit_identical(tmp_path, name):
    straight = train_gan(config(name), tmp_path / "straight", data=class_data())
    train_gan(config(name, iterations=2), tmp_path / "resumed", data=class_data())
    resumed = train_gan(config(name), tmp_path / "resumed", data=class_data())
    rows = [[{k: v for k, v in json.loads(line).items() if k != "wall_time"}
             for line in (run / "stats.jsonl").read_text().splitlines()] for run in (straight, resumed)]
    assert rows[0] == rows[1]
    a, b = (torch.load(run / "checkpoints/last.pt", weights_only=False)["gan"] for run in (straight, resumed))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert Run(straight).shape.image_classes == 3  # the data's classes, recorded in run.json


def test_infogan_traversal_keeps_z_and_the_other_codes():
    gan = GANS["infogan"](config("infogan", gan_options={"categorical": 3, "continuous": 2}),
                          DataShape(1, 2, 32))
    images, masks = gan.traverse(4, "continuous_1", np.array([0.5, 0.5, -1.0]), seed=3)
    assert images.shape == (3, 4, 1, 32, 32) and masks.shape == (3, 4, 32, 32)
    np.testing.assert_array_equal(images[0], images[1])  # same value -> the same samples
    assert not np.array_equal(images[0], images[2])
    with pytest.raises(ValueError, match="unknown InfoGAN code 'continuous_2'"):
        gan.traverse(2, "continuous_2", np.array([0.0]))


def test_cas_is_perfect_on_separable_classes_and_chance_on_shuffled_labels():
    train, test = class_data(60, 0), class_data(30, 1)
    fast = ClassifierConfig(steps=60, batch_size=16, lr=3e-3, width=8)
    good = classification_accuracy_score((train.images, train.classes), train, test, fast)
    assert good["synthetic"]["accuracy"] == good["real"]["accuracy"] == 1.0
    assert good["synthetic"]["confusion"] == np.diag([10, 10, 10]).tolist()
    shuffled = np.random.default_rng(0).permutation(train.classes)
    bad = classification_accuracy_score((train.images, shuffled), train, test, fast)
    assert bad["synthetic"]["accuracy"] < 0.7 and bad["synthetic"]["accuracy_low"] <= bad["synthetic"]["accuracy"]


def test_patient_bootstrap_interval():
    assert patient_bootstrap(np.ones(10, bool), np.arange(10) // 2) == (1.0, 1.0)
    low, high = patient_bootstrap(np.arange(40) % 2 == 0, np.arange(40))
    assert low < 0.5 < high and high - low < 0.4


def test_code_effects_on_known_traversals():
    values = np.linspace(-1, 1, 5)
    masks = np.zeros((5, 6, 16, 16), np.uint8)
    for j in range(5):
        masks[j, :, :2 + 2 * j, :8] = 3  # the LV grows with the code
    names = ("background", "rv_cavity", "myocardium", "lv_cavity")
    effects = pd.DataFrame(code_effects(masks, values, "continuous_0", names)).set_index("structure")
    assert effects.loc["lv_cavity", "value"] == pytest.approx(1.0) and effects.loc["rv_cavity", "value"] == 0
    categorical = pd.DataFrame(code_effects(masks, np.arange(5), "categorical", names)).set_index("structure")
    assert categorical.loc["lv_cavity", "value"] == pytest.approx(1.0) and categorical.loc["lv_cavity", "p"] < 0.01
    lines = code_summary(pd.concat([effects.reset_index(), categorical.reset_index()]))
    assert lines[0].startswith("continuous_0 controls the lv_cavity area most")
    flat = pd.DataFrame(code_effects(np.zeros((3, 4, 8, 8), np.uint8), np.arange(3), "categorical", names))
    assert code_summary(flat)[0].startswith("categorical moves no structure's area measurably")
