"""CHAOS (CT and T2-SPIR MR) from its exact layout: per-slice DICOM with PNG masks, pairing by (patient, slice)
although every patient folder reuses the file names, grey-level MR masks, per-series normalisation."""

from __future__ import annotations

import re

import numpy as np
import pytest
import yaml
from PIL import Image
from real_datasets import CHAOS_CT_PATIENTS, CHAOS_MR_PATIENTS, CHAOS_SLICES, write_chaos

from medgan_lib.config import ConfigError, from_dict
from medgan_lib.data import DATASETS, DatasetError, prepare
from medgan_lib.data.manifest import MANIFEST_DIR, Manifest, load_manifest
from medgan_lib.data.preprocessing import normalise
from medgan_lib.data.readers import read_dicom


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return write_chaos(tmp_path_factory.mktemp("chaos"))


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDGAN_CACHE", str(tmp_path / "cache"))


def test_every_slice_pairs_with_the_mask_of_its_own_patient_and_number(root):
    for name, patients in (("chaos_ct", CHAOS_CT_PATIENTS), ("chaos_mr", CHAOS_MR_PATIENTS)):
        cases, problems = DATASETS[name].scan(root)
        assert not problems and len(cases) == len(patients) * CHAOS_SLICES
        assert {c.patient for c in cases} == {f"{name[-2:]}-{n}" for n in patients}
        for case in cases:
            number = case.patient.split("-")[1]
            assert f"/{number}/" in case.image.as_posix() and f"/{number}/" in case.mask.as_posix()
            assert case.mask.parent.name == "Ground" and "T1DUAL" not in case.image.as_posix()
            assert _slice_number(case.image) == _slice_number(case.mask)  # i0004,0000b <-> liver_GT_004


def _slice_number(path) -> int:
    return int(re.search(r"(?:^i|_GT_|-)(\d+)(?:,\d+b)?$", path.stem).group(1))


def test_ct_reads_hounsfield_units_and_the_liver_stands_out(root):
    case = DATASETS["chaos_ct"].scan(root)[0][CHAOS_SLICES // 2]  # a slice through the liver
    hu = read_dicom(case.image)[0]
    assert -1024 <= hu.min() and hu.max() < 3072 and hu.min() < -500  # air around the body, through the intercept
    mask = np.asarray(Image.open(case.mask)) > 0
    assert mask.any() and hu[mask].mean() > hu[~mask].mean() + 200  # enhanced liver against air, fat and gut
    ds = prepare("chaos_ct", "train", resolution=32, root=root)
    assert ds.label_names == ("background", "liver") and set(np.unique(ds.masks)) == {0, 1}


def test_mr_grey_levels_keep_the_liver_and_fold_other_organs_into_background(root):
    ds = prepare("chaos_mr", "train", resolution=32, root=root)
    assert set(np.unique(ds.masks)) == {0, 1}
    assert (ds.masks[:, :3, :3] == 0).all() and (ds.masks[:, -3:, -3:] == 0).all()  # kidney 126, spleen 252
    raw = np.asarray(Image.open(DATASETS["chaos_mr"].scan(root)[0][CHAOS_SLICES // 2].mask))
    assert set(np.unique(raw)) >= {0, 63, 126, 252}


def test_a_grey_level_in_no_range_is_an_error_naming_the_mask(tmp_path):
    root = write_chaos(tmp_path / "chaos")
    bad = sorted((root / "Train_Sets" / "MR" / "3" / "T2SPIR" / "Ground").glob("*.png"))[2]
    grey = np.asarray(Image.open(bad)).copy()
    grey[10, 10] = 90  # between the liver's 55-70 and the kidney's range
    Image.fromarray(grey).save(bad)
    with pytest.raises(DatasetError, match=rf"{bad.name}: mask values \[90\] are in none of the manifest's ranges"):
        for split in ("train", "val", "test"):
            prepare("chaos_mr", split, resolution=32, root=root)


def test_mr_is_normalised_per_patient_series_not_per_slice(root):
    source = DATASETS["chaos_mr"]
    ds = prepare("chaos_mr", "train", resolution=32, root=root)  # the copy's native size: no resampling
    patient = ds.patient_ids[0]
    files = sorted(c.image for c in source.scan(root)[0] if c.patient == patient)
    raw = np.stack([read_dicom(f) for f in files])  # (S, 1, H, W), file-name order
    prep = source.preprocessing
    volume = normalise(raw, np.zeros(len(raw), int), prep)  # one window for the whole series
    slices = normalise(raw, np.arange(len(raw)), prep)  # what one window per slice would give
    np.testing.assert_allclose(ds.images[ds.patient_ids == patient], volume, atol=1e-6)
    assert np.abs(volume - slices).max() > 0.05


def test_a_missing_mask_names_the_key_it_looked_for(tmp_path):
    root = write_chaos(tmp_path / "chaos")
    (root / "Train_Sets" / "CT" / "5" / "Ground" / "liver_GT_004.png").unlink()
    cases, problems = DATASETS["chaos_ct"].scan(root)
    assert len(cases) == len(CHAOS_CT_PATIENTS) * CHAOS_SLICES - 1
    assert problems == [f"{root / 'Train_Sets/CT/5/DICOM_anon/i0004,0000b.dcm'}: mask file is missing (expected one "
                        f"matching '**/CT/*/Ground/*.png' with key (5, 4))"]


def test_slices_of_one_series_must_share_a_size(tmp_path):
    from dicom_files import write_dicom

    root = write_chaos(tmp_path / "chaos")
    folder = root / "Train_Sets" / "CT" / "1"
    write_dicom(folder / "DICOM_anon" / "i0000,0000b.dcm", np.full((16, 16), 1000, np.uint16), intercept=-1024)
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(folder / "Ground" / "liver_GT_000.png")
    with pytest.raises(DatasetError, match=r"slices of patient 'ct-1' differ in shape"):
        for split in ("train", "val", "test"):
            prepare("chaos_ct", split, resolution=32, root=root)


@pytest.mark.parametrize("change, message", [
    (lambda d: d["layout"].update(mask_values={1: [55, 130], 0: [110, 255]}), r"ranges of labels .* overlap"),
    (lambda d: d["layout"].update(mask_values={2: [55, 70]}), r"mask_values: 2 is not a label"),
    (lambda d: d["layout"].update(mask_binarise=True), r"mask_values and layout.mask_binarise exclude"),
    (lambda d: d["layout"].update(mask_key=r"Ground/IMG-\d+-(\d+)\.png$"), r"as many regex groups as"),
    (lambda d: d["layout"].update(volumes=True), r"series .* contradicts layout.volumes"),
])
def test_the_layout_schema_rejects_contradictions(change, message):
    values = yaml.safe_load((MANIFEST_DIR / "chaos_mr.yaml").read_text())
    change(values)
    with pytest.raises(ConfigError, match=message):
        from_dict(Manifest, values, "chaos_mr.yaml")


def test_ct_and_mr_share_a_label_map_and_come_from_different_patients():
    ct, mr = load_manifest("chaos_ct"), load_manifest("chaos_mr")
    assert ct.labels == mr.labels and ct.modality == "CT" and mr.modality == "MRI"
    assert "different patients" in ct.notes and "unpaired" in mr.notes and "CC BY-SA 4.0" in ct.licence
    assert ct.layout.subsets[0].patient_prefix != mr.layout.subsets[0].patient_prefix  # ct-1 and mr-1 differ


def test_chaos_unpairs_its_mr_and_ct_into_one_two_channel_dataset(root):
    parts = {split: prepare("chaos", split, resolution=32, root=root) for split in ("train", "val", "test")}
    for split, ds in parts.items():
        assert ds.images.shape[1] == 2 and ds.class_names == ("MR", "CT") and ds.label_names == ("background", "liver")
        mr, ct = ds.classes == 0, ds.classes == 1
        assert mr.any() and ct.any(), split  # every split has patients of both modalities (each part's own split)
        assert all(p.startswith("mr-") for p in ds.patient_ids[mr]) and all(p.startswith("ct-") for p in ds.patient_ids[ct])
        assert (ds.images[mr, 1] == -1).all() and (ds.images[ct, 0] == -1).all()  # the other channel is empty
        for channel, part in ((0, "chaos_mr"), (1, "chaos_ct")):  # each channel is its part's prepared slices
            own = prepare(part, split, resolution=32, root=root)
            np.testing.assert_array_equal(ds.images[ds.classes == channel, channel], own.images[:, 0])
            np.testing.assert_array_equal(ds.masks[ds.classes == channel], own.masks)


def test_cyclegan_learns_chaos_unpaired_and_is_evaluated_without_pixel_scores(root, tmp_path):
    from medgan_lib.data import DataSpec
    from medgan_lib.gans import GANS, DataShape
    from medgan_lib.metrics.translation import evaluate_translations, example_rows
    from medgan_lib.segmentation.train import SegConfig
    from medgan_lib.training import Run, preset, train_gan

    data = DataSpec.from_params("chaos", root, 32, 0)
    train = data.gan_train()
    with pytest.raises(ValueError, match="unpaired .* use cyclegan"):
        GANS["pix2pix"](preset("smoke", gan="pix2pix", resolution=32), DataShape(2, 2, 32, 2)).training_pair(
            train.images, train.masks, train.classes, train.patient_ids)
    gan = GANS["cyclegan"](preset("smoke", gan="cyclegan", resolution=32), DataShape(2, 2, 32, 2))
    target, source = gan.training_pair(train.images, train.masks, train.classes, train.patient_ids)
    n = min((train.classes == 0).sum(), (train.classes == 1).sum())
    np.testing.assert_array_equal(target, train.images[train.classes == 1][:n, 1:])  # CT slices' CT channel
    np.testing.assert_array_equal(source, train.images[train.classes == 0][:n, :1])  # MR slices' MR channel

    config = preset("smoke", gan="cyclegan", resolution=32, iterations=2, batch_size=4, filters_g=8, filters_d=8,
                    progress=False, dataset="chaos", root=str(root))
    run = Run(train_gan(config, tmp_path / "runs"))
    found = evaluate_translations({"cyclegan": run}, data, str(tmp_path / "study"),
                                  SegConfig(iterations=2, batch_size=4, device="cpu"), ("pixels",), bootstrap_reps=5)
    rows = found["rows"]
    assert not found["paired"] and set(rows["metric"]) == {"dice", "fid_pixels"}  # no MAE/PSNR/SSIM across patients
    assert set(rows["method"]) == {"identity", "cyclegan", "real target"} and rows["paired"].eq(False).all()
    test = prepare("chaos", "test", resolution=32, root=root)
    assert len(found["source"]) == (test.classes == 0).sum() and len(found["target"]) == (test.classes == 1).sum()
    assert set(found["test"].patient_ids) == set(test.patient_ids[test.classes == 0])  # Dice against the MR masks
    assert "real CT (other patients)" in example_rows(found, 2)
