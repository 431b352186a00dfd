"""The memorisation audit, calibrated: planted near-copies of training images of known kinds and shares, and
how many of them the audit flags in pixels and in a feature space."""

from __future__ import annotations

import numpy as np
import pytest

from medgan_lib.metrics import get_extractor
from medgan_lib.metrics.evaluate import calibrate_audit
from medgan_lib.metrics.memorization import NEAR_COPY_KINDS, near_copy, plant_near_copies
from test_metrics_core import smooth_images


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDGAN_CACHE", str(tmp_path / "cache"))


def test_near_copies_are_what_their_kind_says():
    rng = np.random.default_rng(0)
    image = np.linspace(-1, 1, 2 * 4 * 4, dtype=np.float32).reshape(2, 4, 4)
    np.testing.assert_array_equal(near_copy(image, "flip", rng), image[..., ::-1])
    np.testing.assert_array_equal(near_copy(image, "shift", rng)[:, 2:, 2:], image[:, :2, :2])
    np.testing.assert_allclose(near_copy(image, "intensity", rng), np.clip(image * 0.9 + 0.05, -1, 1))
    noisy = near_copy(image, "noise", rng)
    assert noisy.dtype == image.dtype and 0 < np.abs(noisy - image).mean() < 0.1 and noisy.max() <= 1
    with pytest.raises(ValueError, match="unknown near-copy kind 'blur'"):
        near_copy(image, "blur", rng)


def test_planting_replaces_the_asked_share_with_copies_of_training_images():
    fake, train = smooth_images(40, 1), smooth_images(30, 2)
    planted = plant_near_copies(fake, train, 0.2, seed=3)
    assert len(planted.positions) == 8 and len(set(planted.positions)) == 8
    assert planted.kinds == (*NEAR_COPY_KINDS, *NEAR_COPY_KINDS)
    untouched = np.setdiff1d(np.arange(40), planted.positions)
    np.testing.assert_array_equal(planted.images[untouched], fake[untouched])
    flip = planted.positions[0]
    np.testing.assert_array_equal(planted.images[flip], train[planted.sources[0]][..., ::-1])
    assert len(plant_near_copies(fake, train, 0.0).positions) == 0
    with pytest.raises(ValueError, match="planted share"):
        plant_near_copies(fake, train, 1.5)


def test_the_audit_catches_close_copies_and_reports_what_it_misses():
    train, heldout, fake = smooth_images(60, 10), smooth_images(30, 11), smooth_images(50, 12)
    table = calibrate_audit(train, heldout, fake, [get_extractor("pixels")], shares=(0.0, 0.2))
    assert list(table["space"]) == ["pixel", "pixels", "pixel", "pixels"]  # raw pixels, then the extractor's
    nothing = table[table["share"] == 0.0]
    assert (nothing["planted"] == 0).all() and nothing["detected"].isna().all()
    assert (nothing["flagged_own"] < 0.3).all()  # new images: about the 5 % quantile, not all of them
    planted = table[table["share"] == 0.2]
    assert (planted["planted"] == 10).all()
    assert (planted["detected_noise"] == 1.0).all()  # RMS 0.05 from its source: caught in both spaces
    kinds = planted[[f"detected_{kind}" for kind in NEAR_COPY_KINDS]]
    assert np.allclose(kinds.to_numpy() @ np.array([3, 3, 2, 2]) / 10, planted["detected"])  # kinds in turn: 3, 3, 2, 2
    assert kinds.to_numpy().min() < 1.0  # some kind slips through on these blobs: what the calibration is for


def test_the_calibration_is_kept_as_result_rows_the_index_reads_back(tmp_path):
    from medgan_lib.metrics.study import audit_calibration, calibration_notes, calibration_summary
    from medgan_lib.results import read_results

    train, heldout = smooth_images(40, 20), smooth_images(20, 21)
    fakes = {name: smooth_images(30, seed) for name, seed in (("a", 22), ("b", 23))}
    runs = {name: {"fid": [{"extractor": "pixels", "fid": fid, "samples": fakes[name], "n": 30, "run": f"run-{name}",
                            "gan": "dcgan", "dataset": "toy"}]} for name, fid in (("a", 5.0), ("b", 2.0))}
    run, table = audit_calibration(runs, train, heldout, {}, ["pixels"], 30, n_real=None, n_heldout=None,
                                   device="cpu", study_dir=str(tmp_path))
    assert run == "run-b"  # the lowest FID: its planted copies are the hardest to tell apart
    rows = read_results(tmp_path, "calibration")
    assert len(rows) == len(table) == 8 and set(rows["run"]) == {"run-b"} and (rows["quantile"] == 0.05).all()
    shown_run, shown = calibration_summary(rows, "toy")
    assert shown_run == "run-b" and list(shown["share"]) == sorted(table["share"])
    np.testing.assert_allclose(shown.set_index(["space", "share"])["detected"].sort_index(),
                               table.set_index(["space", "share"])["detected"].sort_index())
    assert calibration_notes(shown)[0].startswith("pixel: catches ")
    assert calibration_summary(rows, "other")[1].empty
