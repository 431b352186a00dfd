"""U-Net Dice study: known Dice values (empty masks), one training step, determinism, bookkeeping, bad input."""

from pathlib import Path

import numpy as np
import pytest
import torch

from medgan_lib.data.dataset import DatasetError, PreparedDataset
from medgan_lib.results import read_results
from medgan_lib.samples import write_samples
from medgan_lib.segmentation import (Condition, SegConfig, augment, build_unet, dice_per_patient, load_unet,
                                     run_condition, summarize, summary, synthetic_arrays, unet_features)

LABELS = ("background", "rv", "myo", "lv")
TINY = SegConfig(iterations=2, batch_size=4, val_every=1, n_synthetic=8, device="cpu")


def _data(split, n, first_patient, res=32):
    rng = np.random.default_rng(first_patient)
    masks = np.zeros((n, res, res), np.uint8)
    masks[:, 8:20, 8:20] = 2
    masks[:, 11:17, 11:17] = 3
    masks[: n // 2, 20:26, 4:10] = 1
    images = np.clip(masks[:, None].astype(np.float32) / 3 * 1.6 - 0.8 + rng.normal(0, 0.1, (n, 1, res, res)), -1, 1)
    ids = np.array([f"p{first_patient + i // 2}" for i in range(n)])
    return PreparedDataset("toy", split, images.astype(np.float32), masks, ids, LABELS, {"hash": f"h{split}"})


@pytest.fixture
def splits():
    return _data("train", 8, 0), _data("val", 4, 100), _data("test", 4, 200)


def test_dice_known_values_and_empty_masks():
    target = np.zeros((2, 4, 4), np.int64)
    target[0, :2, :2] = 1  # 4 px of class 1 in image 0; class 2 absent everywhere; class 3 absent in GT
    pred = np.zeros_like(target)
    pred[0, :1, :2] = 1  # 2 px, all correct -> 2*2/(4+2)
    pred[1, 0, 0] = 3  # false positive where GT is empty -> 0
    patients, dice = dice_per_patient(pred, target, 4)
    assert list(patients) == ["0", "1"]
    assert dice[0, 0] == pytest.approx(2 / 3)
    assert np.isnan(dice[0, 1]) and np.isnan(dice[1, 1])  # empty GT and empty prediction: undefined, skipped
    assert dice[1, 2] == 0.0 and np.isnan(dice[0, 2])
    out = summarize(dice, ("a", "b", "c"))
    assert out["dice_a"] == pytest.approx(2 / 3) and np.isnan(out["dice_b"]) and out["dice_c"] == 0.0
    assert out["dice"] == pytest.approx(1 / 3)
    # pooled per patient: both images of one patient are summed before the ratio
    _, pooled = dice_per_patient(pred, target, 4, np.array(["a", "a"]))
    assert pooled.shape == (1, 3) and pooled[0, 2] == 0.0


def test_unet_shapes_features_and_checkpoint(tmp_path):
    model = build_unet(1, 4, "quick")
    x = torch.zeros(2, 1, 64, 64)
    assert model(x).shape == (2, 4, 64, 64)
    feats = unet_features(model, x)
    assert feats.shape == (2, model.encoder.out_channels[-1])
    from medgan_lib.segmentation import save_unet

    path = save_unet(tmp_path / "m.pt", model, note="x")
    again, info = load_unet(path)
    assert info == {"note": "x"}
    assert torch.equal(unet_features(again, x), feats)
    with pytest.raises(ValueError, match="unknown"):
        build_unet(1, 4, "huge")


def test_augment_keeps_labels_and_range():
    images = torch.rand(3, 1, 16, 16) * 2 - 1
    masks = torch.randint(0, 4, (3, 16, 16))
    out, lab = augment(images, masks, torch.Generator().manual_seed(0))
    assert out.shape == images.shape and lab.shape == masks.shape
    assert set(lab.unique().tolist()) <= {0, 1, 2, 3} and out.min() >= -1 - 1e-5 and out.max() <= 1 + 1e-5


def test_a_reused_dice_row_whose_unet_checkpoint_is_damaged_or_gone_trains_again(tmp_path, splits):
    from medgan_lib.hashing import sha256_file

    train, val, test = splits
    first = run_condition(Condition("real"), train, val, test, TINY, 0, tmp_path)
    path = first["checkpoint"]
    assert first["checkpoint_sha256"] == sha256_file(path)
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0xFF  # a flipped byte inside the weights: torch would load it without a word
    open(path, "wb").write(bytes(data))
    (tmp_path / "flipped").write_bytes(bytes(data))
    with pytest.warns(UserWarning, match=f"U-Net checkpoint {path} does not match the SHA-256 .*training Original Data"):
        again = run_condition(Condition("real"), train, val, test, TINY, 0, tmp_path)
    assert sha256_file(path) == again["checkpoint_sha256"] != sha256_file(tmp_path / "flipped")  # rewritten
    assert again["dice"] == first["dice"] and len(read_results(tmp_path, "dice")) == 1  # replaced, not appended
    load_unet(path)
    Path(path).unlink()
    with pytest.warns(UserWarning, match="is missing"):
        run_condition(Condition("real"), train, val, test, TINY, 0, tmp_path)
    assert Path(path).is_file()


def test_training_determinism_and_bookkeeping(tmp_path, splits):
    train, val, test = splits
    a = run_condition(Condition("real"), train, val, test, TINY, 0, tmp_path / "a")
    b = run_condition(Condition("real"), train, val, test, TINY, 0, tmp_path / "b")
    assert a["dice"] == b["dice"] and a["per_patient"] == b["per_patient"]
    assert set(a) >= {"dice_rv", "dice_myo", "dice_lv", "dice", "condition", "seed", "iterations", "config_hash"}
    again = run_condition(Condition("real"), train, val, test, TINY, 0, tmp_path / "a")  # same hash: skipped
    assert again["config_hash"] == a["config_hash"] and len(read_results(tmp_path / "a", "dice")) == 1
    model, info = load_unet(a["checkpoint"])
    assert info["label_names"] == LABELS
    samples = write_samples(tmp_path / "s", [(train.images, train.masks)], {"label_names": list(LABELS)})
    for kind in ("synthetic", "real+synthetic"):
        run_condition(Condition(kind, "dcgan", "00000-dcgan", str(samples.path)), train, val, test, TINY, 0, tmp_path / "a")
    run_condition(Condition("augmented"), train, val, test, TINY, 1, tmp_path / "a")
    rows = read_results(tmp_path / "a", "dice")
    assert list(rows["condition"]) == ["real", "synthetic", "real+synthetic", "augmented"]
    table = summary(rows)
    assert list(table["condition"]) == ["Original Data", "DCGAN", "Orig. Data + DCGAN", "Augmented Original Data"]
    assert np.isnan(table["p_wilcoxon"].iloc[0])


def test_bad_input(tmp_path, splits):
    train, val, test = splits
    leaky = _data("test", 4, 0)  # same patients as train
    with pytest.raises(DatasetError, match="shares .* patient"):
        run_condition(Condition("real"), train, val, leaky, TINY, 0, tmp_path)
    bad_labels = write_samples(tmp_path / "l", [(train.images, train.masks + 3)], {})
    with pytest.raises(DatasetError, match="mask values"):
        synthetic_arrays(bad_labels, train)
    bad_shape = write_samples(tmp_path / "h", [(train.images[:, :, :16, :16], train.masks[:, :16, :16])], {})
    with pytest.raises(DatasetError, match="do not match"):
        synthetic_arrays(bad_shape, train)
    other_names = write_samples(tmp_path / "n", [(train.images, train.masks)], {"label_names": ["background", "liver"]})
    with pytest.raises(DatasetError, match="label names"):
        synthetic_arrays(other_names, train)
    empty = write_samples(tmp_path / "e", [], {})
    with pytest.raises(DatasetError, match="empty"):
        synthetic_arrays(empty, train)
    with pytest.raises(ValueError, match="sample set"):
        Condition("synthetic", "dcgan")


def test_dice_notes_are_written_from_the_table():
    import pandas as pd

    from medgan_lib.segmentation.study import dice_notes

    table = pd.DataFrame([
        {"condition": "Original Data", "kind": "real", "gan": None, "seeds": 1, "dice_mean": 0.85, "p_wilcoxon": np.nan},
        {"condition": "WGAN", "kind": "synthetic", "gan": "wgan", "seeds": 1, "dice_mean": 0.44, "p_wilcoxon": 0.001},
        {"condition": "DCGAN", "kind": "synthetic", "gan": "dcgan", "seeds": 1, "dice_mean": 0.31, "p_wilcoxon": 0.001},
        {"condition": "Orig. Data + SPADE GAN", "kind": "real+synthetic", "gan": "spade", "seeds": 1, "dice_mean": 0.815,
         "p_wilcoxon": 0.03}])
    notes = dice_notes(table)
    assert notes[0] == "real data alone: Dice 0.85."
    assert "best synthetic-only training set: WGAN at 0.44, 0.41 below real data" in notes[1]
    assert "below half of real data: DCGAN:" in notes[2]  # WGAN (0.44) is above 0.85 / 2
    assert "one GAN run and one U-Net" in notes[3] and "not a ranking" in notes[3]
    assert "Orig. Data + SPADE GAN: costs 0.035 Dice" in notes[4] and "one seed" in notes[4]
    assert not any("one GAN run" in note for note in dice_notes(table.assign(seeds=3)))  # over seeds: no warning
    assert dice_notes(pd.DataFrame()) == []


def test_execution_switches_are_recorded_and_keep_the_result_key(tmp_path, splits):
    """amp/channels_last are off on CPU and recorded; channels_last never enters the row's key, amp only when on
    (so rows computed before the switches existed keep their key)."""
    import dataclasses

    train, val, test = splits
    plain = run_condition(Condition("real"), train, val, test, TINY, 0, tmp_path)
    switched = dataclasses.replace(TINY, amp=True, channels_last=True)
    assert switched.key() != TINY.key() and dataclasses.replace(TINY, channels_last=True).key() == TINY.key()
    assert "amp" not in TINY.key() and "channels_last" not in TINY.key()
    row = run_condition(Condition("real"), train, val, test, dataclasses.replace(TINY, channels_last=True), 0, tmp_path)
    assert row["config_hash"] == plain["config_hash"]  # reused, not trained again
    row = run_condition(Condition("real"), train, val, test, switched, 0, tmp_path)
    assert row["precision"] == "fp32" and row["channels_last"] is False  # CPU: both off
    assert row["dice"] == plain["dice"]  # off means off: the same arithmetic
