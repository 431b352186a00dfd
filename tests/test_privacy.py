"""Membership inference and anatomy reuse on inputs with known answers: separable and identical score sets, a
discriminator that tells members apart perfectly or not at all, masks that are or are not training masks."""

from __future__ import annotations

import numpy as np
import pytest

from medgan_lib.data.dataset import PreparedDataset
from medgan_lib.metrics.privacy import auc, black_box, mask_nn_dice, membership_verdict, white_box
from medgan_lib.training import Run, train_gan
from test_training import tiny_config, tiny_data


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDGAN_CACHE", str(tmp_path / "cache"))


def test_auc_is_one_for_separated_scores_and_contains_a_half_for_identical_ones():
    rng = np.random.default_rng(0)
    separated = auc(rng.normal(5, 1, 40), rng.normal(0, 1, 40))
    assert separated.value == 1.0 and separated.low == pytest.approx(1.0) and membership_verdict(separated) == "leaks"
    same = auc(rng.normal(0, 1, 40), rng.normal(0, 1, 40))
    assert same.low < 0.5 < same.high and membership_verdict(same) == "no signal"
    assert auc([0.0, 1.0], [2.0, 3.0]).value == 0.0
    with pytest.raises(ValueError, match="at least 2 scores"):
        auc([1.0], [0.0, 1.0])


class _Discriminator:
    """A stand-in GAN whose discriminator scores an image by its mean brightness (``remembers``) or by noise."""

    def __init__(self, remembers: bool) -> None:
        self.remembers, self.rng = remembers, np.random.default_rng(1)

    def realness(self, images, masks):
        return images.mean(axis=(1, 2, 3)) if self.remembers else self.rng.normal(size=len(images))


def test_white_box_reads_the_discriminator_and_black_box_the_nearest_synthetic_image():
    rng = np.random.default_rng(2)
    members, others = rng.uniform(0.5, 1, (32, 1, 8, 8)), rng.uniform(-1, -0.5, (32, 1, 8, 8))
    masks = np.zeros((32, 8, 8), np.uint8)
    assert white_box(_Discriminator(True), members, masks, others, masks).value == 1.0  # it remembers perfectly
    assert membership_verdict(white_box(_Discriminator(False), members, masks, others, masks)) == "no signal"
    copies = members + rng.normal(0, 0.01, members.shape)  # a generator that reproduces its training images
    assert black_box(copies, members, others).value == 1.0
    fresh = rng.uniform(-1, 1, (32, 1, 8, 8))
    assert black_box(fresh, members, others).low < 0.9


def test_mask_nn_dice_is_one_for_training_masks_and_known_for_others():
    train = np.zeros((3, 4, 4), np.uint8)
    train[0, :2] = 1  # top half
    train[1, :, :2] = 2  # left half
    assert np.allclose(mask_nn_dice(train, train, 3), 1.0)  # SPADE on training masks: 1 by construction
    quarter = np.zeros((1, 4, 4), np.uint8)
    quarter[0, :2, :2] = 1  # the top-left quarter, labelled 1: Dice 2·4 / (4 + 8) with mask 0
    assert mask_nn_dice(quarter, train, 3)[0] == pytest.approx(2 / 3)
    assert mask_nn_dice(np.zeros((1, 4, 4), np.uint8), train, 3)[0] == 1.0  # empty matches the empty mask 2


def test_a_gan_scores_real_pairs_as_in_training_and_the_probe_writes_a_privacy_row(tmp_path):
    from medgan_lib.metrics.evaluate import probe_privacy
    from medgan_lib.rows import result_kind

    data = tiny_data(16)
    for gan in ("dcgan", "spade", "stylegan2"):
        run = Run(train_gan(tiny_config(gan=gan, iterations=2), tmp_path / gan, data=data))
        scores = run.load("cpu").realness(data.images, data.masks, batch_size=8)
        assert scores.shape == (16,) and np.isfinite(scores).all() and np.unique(scores).size > 1, gan
    held = PreparedDataset("toy", "test", data.images[::-1].copy(), data.masks[::-1].copy(), data.patient_ids,
                           data.label_names, {"hash": "held"})
    row = probe_privacy(run, data, held, run.samples(16, seed=0), n_heldout=16, seed=0, device="cpu")
    assert set(result_kind("privacy").keys) - {"dataset", "gan", "run", "seed", "n"} <= set(row)
    assert row["members"] == 16 and 0 <= row["white_box_low"] <= row["white_box_auc"] <= row["white_box_high"] <= 1
    assert 0 <= row["mask_nn_dice_median"] <= 1 and 0 <= row["mask_copy_share"] <= 1


def test_privacy_notes_name_the_leaking_gans_and_the_anatomy_copies():
    import pandas as pd

    from medgan_lib.metrics.study import privacy_notes, privacy_summary

    rows = pd.DataFrame([{"dataset": "toy", "gan": gan, "run": f"0000{i}-{gan}", "seed": 0, "n": 100, "members": 64,
                          "white_box_auc": auc_, "white_box_low": auc_ - 0.1, "white_box_high": auc_ + 0.1,
                          "black_box_auc": 0.5, "black_box_low": 0.4, "black_box_high": 0.6,
                          "mask_nn_dice_median": reuse, "mask_copy_share": reuse}
                         for i, (gan, auc_, reuse) in enumerate((("spade", 0.7, 1.0), ("dcgan", 0.5, 0.2)))])
    summary = privacy_summary(rows, "toy")
    assert list(summary["white-box"]) == ["leaks", "no signal"] and summary["white-box AUC"][0] == "0.70 [0.60, 0.80]"
    notes = privacy_notes(summary)
    assert "for SPADE GAN (AUC interval above 0.5)" in notes[0] and "no run's" in notes[1]
    assert "most masks of SPADE GAN" in notes[2] and privacy_notes(pd.DataFrame()) == []
