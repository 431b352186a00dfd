"""prepare(): cardiac phantom content, patient splits, cache keys and determinism."""

from __future__ import annotations

import numpy as np
import pytest

from medgan_lib.data import DATASETS, DatasetError, PreparedDataset, prepare
from medgan_lib.data.prepare import split_by_patient
from medgan_lib.registry import UnknownNameError


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDGAN_CACHE", str(tmp_path / "cache"))


def test_cardiac_phantom_has_acdc_labels_and_anatomy():
    ds = prepare("cardiac_phantom", "train", resolution=64, count=120, seed=0)
    assert ds.images.shape[1:] == (1, 64, 64) and ds.images.dtype == np.float32
    assert ds.label_names == ("background", "rv_cavity", "myocardium", "lv_cavity")
    assert set(np.unique(ds.masks)) == {0, 1, 2, 3}
    assert -1.0 <= ds.images.min() and ds.images.max() <= 1.0
    img, masks = ds.images[:, 0], ds.masks
    # bright blood, dark myocardium: the contrast a segmentation network has to learn
    assert img[masks == 3].mean() > img[masks == 2].mean() + 0.5
    assert img[masks == 1].mean() > img[masks == 2].mean() + 0.4
    # the myocardium encloses the LV cavity: every LV cavity pixel's 4 neighbours are cavity or myocardium
    lv = masks == 3
    for axis, shift in ((1, 1), (1, -1), (2, 1), (2, -1)):
        assert set(np.unique(np.roll(masks, shift, axis=axis)[lv])) <= {2, 3}


def test_splits_are_by_patient_and_cover_the_count():
    parts = {s: prepare(split=s, count=120, seed=0) for s in ("train", "val", "test")}
    assert sum(len(p) for p in parts.values()) == 120
    ids = [set(p.patient_ids.tolist()) for p in parts.values()]
    assert not (ids[0] & ids[1]) and not (ids[0] & ids[2]) and not (ids[1] & ids[2])
    assert [len(i) for i in ids] == [8, 1, 1]  # 10 patients of 12 slices, 70/15/15 with one patient minimum
    assert parts["train"].meta["split_sizes"]["val"] == {"patients": 1, "slices": 12}


def test_prepare_is_deterministic_cached_and_seed_sensitive(tmp_path):
    a = prepare(count=60, seed=1)
    files = sorted((tmp_path / "cache" / "prepared").iterdir())
    assert len(files) == 3 and all(f.suffix == ".npz" for f in files)
    b = prepare(count=60, seed=1)
    np.testing.assert_array_equal(a.images, b.images)
    assert a.meta["hash"] == b.meta["hash"]
    (tmp_path / "cache" / "prepared").joinpath(f"{a.meta['hash']}.npz").unlink()
    c = prepare(count=60, seed=1)  # rebuilt from scratch: identical numbers
    np.testing.assert_array_equal(a.images, c.images)
    np.testing.assert_array_equal(a.masks, c.masks)
    d = prepare(count=60, seed=2)
    assert d.meta["hash"] != a.meta["hash"] and not np.array_equal(d.images[:5], a.images[:5])
    assert prepare(count=60, seed=1, resolution=32).images.shape[-1] == 32


def test_a_cached_file_reads_back_with_the_meta_a_fresh_build_has(tmp_path):
    fresh = prepare(count=60, seed=1)
    path = tmp_path / "cache" / "prepared" / f"{fresh.meta['hash']}.npz"
    old = PreparedDataset.load(path)
    del old.meta["preprocessing"]["channels"]  # written before per-channel preprocessing existed (same data)
    old.save(path)
    assert "channels" not in PreparedDataset.load(path).meta["preprocessing"]
    again = prepare(count=60, seed=1)
    assert again.meta == fresh.meta and again.meta["preprocessing"]["channels"] == []


def test_split_by_patient_keeps_fixed_splits():
    ids = np.array([f"p{i // 2}" for i in range(20)])
    fixed = np.array(["test" if i >= 16 else "" for i in range(20)])
    parts = split_by_patient(ids, fixed, {"train": 0.85, "val": 0.15}, seed=0)
    assert set(ids[parts["test"]]) == {"p8", "p9"}
    assert len(parts["val"]) == 2 and len(parts["train"]) == 14


def test_bad_parameters_name_the_parameter():
    with pytest.raises(UnknownNameError, match="valid names: .*cardiac_phantom"):
        prepare("no_such_data")
    with pytest.raises(DatasetError, match="split must be one of"):
        prepare(split="training")
    with pytest.raises(DatasetError, match="resolution"):
        prepare(resolution=4)
    with pytest.raises(DatasetError, match="count"):
        prepare(count=0)
    with pytest.raises(DatasetError, match="phantom and reads no files"):
        prepare(root="/data/acdc")
    assert "cardiac_phantom" in DATASETS


def test_prepare_splits_records_a_data_row_and_plots_summarise_it(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from medgan_lib.data import DataSpec, prepare_splits
    from medgan_lib.data.plots import intensity_histograms, label_fractions, show_samples, split_table
    from medgan_lib.results import read_results

    data = DataSpec("cardiac_phantom", resolution=32, count=60)
    parts = prepare_splits(data, study_dir=tmp_path / "study", progress=False)
    rows = read_results(tmp_path / "study", "data")
    assert len(rows) == 1 and rows.iloc[0]["hashes"]["train"] == parts["train"].meta["hash"]
    assert DataSpec.from_dict(rows.iloc[0]["data_spec"]) == data and rows.iloc[0]["data_spec_hash"] == data.hash
    sizes = split_table(parts)
    assert sizes["slices"].sum() == 60 and sizes.loc["train", "patients"] == 3
    table, _ = label_fractions(parts)
    fractions = table.loc["train"]["pixel fraction"]
    assert abs(fractions.sum() - 1.0) < 1e-6 and fractions["background"] > 0.8
    assert table.loc[("train", "lv_cavity"), "slices with label"] == 1.0
    assert len(show_samples(parts["train"], n=4).axes) == 8
    assert len(intensity_histograms(parts).axes) == 2


def test_empty_slices_drop_keeps_only_slices_with_foreground():
    kept = prepare("liver_phantom", "train", resolution=32, count=48, empty_slices="drop")
    assert kept.masks.reshape(len(kept), -1).any(axis=1).all()
    parts = [prepare("liver_phantom", s, resolution=32, count=48, empty_slices="drop") for s in ("val", "test")]
    assert len(kept) + sum(len(p) for p in parts) == 48
    everything = prepare("liver_phantom", "train", resolution=32, count=48)
    assert not everything.masks.reshape(len(everything), -1).any(axis=1).all()
