"""Bad input gets a clear error naming the file or parameter, and nothing half-written stays in the cache."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from test_data_readers import write_acdc, write_idrid, write_mhd, write_nifti, write_sliver

from medgan_lib.data import DatasetError, prepare
from medgan_lib.registry import UnknownNameError


@pytest.fixture
def cache(tmp_path, monkeypatch):
    path = tmp_path / "cache"
    monkeypatch.setenv("MEDGAN_CACHE", str(path))
    yield path
    prepared = path / "prepared"
    assert not prepared.exists() or not any(prepared.iterdir()), "a failure left files in the cache"


def test_missing_root(cache, tmp_path):
    with pytest.raises(DatasetError, match="pass root=PATH.*how to obtain it: https://"):
        prepare("acdc")
    with pytest.raises(DatasetError, match=r"root .*nowhere for dataset 'sliver07' is not an existing folder"):
        prepare("sliver07", root=tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match=r"no image files of dataset 'idrid'.*data_manifest/idrid.yaml"):
        prepare("idrid", root=tmp_path / "empty")


def test_missing_mask_and_missing_raw_file(cache, tmp_path):
    root = write_acdc(tmp_path / "ACDC", train=(1, 2, 3), test=())
    (root / "training/patient002/patient002_frame12_gt.nii.gz").unlink()
    with pytest.raises(DatasetError, match=r"patient002_frame12.nii.gz: mask file is missing"):
        prepare("acdc", root=root, resolution=16)
    sliver = write_sliver(tmp_path / "sliver", numbers=(1, 2, 3))
    (sliver / "scan" / "liver-orig002.raw").unlink()
    with pytest.raises(DatasetError, match=r"liver-orig002.mhd: not a readable MetaImage file"):
        prepare("sliver07", root=sliver, resolution=16)


def test_corrupt_files(cache, tmp_path):
    root = write_acdc(tmp_path / "ACDC", train=(1, 2, 3), test=())
    (root / "training/patient003/patient003_frame01.nii.gz").write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(DatasetError, match=r"patient003_frame01.nii.gz: not a readable NIfTI file"):
        prepare("acdc", root=root, resolution=16)
    idrid = write_idrid(tmp_path / "idrid")
    (idrid / "1. Original Images/a. Training Set/IDRiD_03.jpg").write_bytes(b"JFIF? no")
    with pytest.raises(DatasetError, match=r"IDRiD_03.jpg: not a readable image"):
        prepare("idrid", root=idrid, resolution=16)


def test_image_mask_shape_mismatch(cache, tmp_path):
    root = write_sliver(tmp_path / "sliver", numbers=(1, 2, 3))
    write_mhd(root / "label" / "liver-seg003.mhd", np.zeros((4, 12, 9), np.uint8))
    with pytest.raises(DatasetError, match=r"liver-seg003.mhd: mask shape \(4, 12, 9\) does not match image "
                                           r".*liver-orig003.mhd shape \(4, 12, 10\)"):
        prepare("sliver07", root=root, resolution=16)


def test_unexpected_label_values(cache, tmp_path):
    root = write_acdc(tmp_path / "ACDC", train=(1, 2, 3), test=())
    gt = np.zeros((20, 16, 3), np.uint8)
    gt[5, 5, 1] = 5
    write_nifti(root / "training/patient001/patient001_frame12_gt.nii.gz", gt)
    with pytest.raises(DatasetError, match=r"patient001_frame12_gt.nii.gz: unexpected label values \[5\]; "
                                           r"the label map has 0..3"):
        prepare("acdc", root=root, resolution=16)


def test_wrong_channel_count(cache, tmp_path):
    root = write_idrid(tmp_path / "idrid")
    Image.fromarray(np.zeros((30, 45), np.uint8)).save(root / "1. Original Images/a. Training Set/IDRiD_02.jpg")
    with pytest.raises(DatasetError, match=r"IDRiD_02.jpg: expected 3 channel\(s\), got 1"):
        prepare("idrid", root=root, resolution=16)


def test_colour_image_where_grayscale_expected(cache, tmp_path):
    path = tmp_path / "MURA" / "train/XR_ELBOW/patient00001/study1_negative/image1.png"
    path.parent.mkdir(parents=True)
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[..., 0] = 200
    Image.fromarray(rgb).save(path)
    with pytest.raises(DatasetError, match=r"image1.png: expected a grayscale \(1-channel\) image"):
        prepare("mura_elbow", root=tmp_path / "MURA", resolution=16)


def test_non_finite_pixels(cache, tmp_path):
    root = write_acdc(tmp_path / "ACDC", train=(1, 2, 3), test=())
    volume = np.ones((20, 16, 3), np.float32)
    volume[3, 3, 0] = np.nan
    write_nifti(root / "training/patient002/patient002_frame01.nii.gz", volume)
    with pytest.raises(DatasetError, match=r"patient002_frame01.nii.gz: contains NaN or infinite pixel values"):
        prepare("acdc", root=root, resolution=16)


def test_unknown_dataset_name_lists_valid_ones(cache):
    with pytest.raises(UnknownNameError, match=r"unknown dataset 'acdc2017'; valid names: acdc, cardiac_groups_phantom, cardiac_mr_ct_phantom, cardiac_phantom"):
        prepare("acdc2017")


def test_empty_split_is_refused_without_writing(cache):
    with pytest.raises(DatasetError, match=r"split 'val' is empty.*raise count"):
        prepare("cardiac_phantom", "val", count=12)
