"""Real-format readers: tiny files written by nibabel, SimpleITK, pydicom and Pillow, read back by prepare().

DICOMs are also written compressed (RLE, JPEG 2000, JPEG-LS; see dicom_files.py) and decoded by the pylibjpeg plugins.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk
from PIL import Image
from dicom_files import write_dicom
from pydicom import dcmread
from pydicom.encaps import encapsulate, generate_frames
from pydicom.pixels import get_decoder
from pydicom.uid import JPEG2000Lossless, JPEGLSLossless, RLELossless

from medgan_lib.data import DatasetError, prepare
from medgan_lib.data.readers import read_dicom, read_metaimage, read_nifti


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDGAN_CACHE", str(tmp_path / "cache"))


def acdc_volume(seed: int, shape=(20, 16, 3)) -> tuple[np.ndarray, np.ndarray]:
    """(X, Y, Z) MR magnitudes and ACDC labels: a bright LV disc in a dark ring, RV beside it."""
    x, y = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    r = np.hypot(x - 11, y - 8)
    gt = np.zeros(shape, np.uint8)
    for z in range(shape[2]):
        gt[..., z][r < 5] = 2
        gt[..., z][r < 3] = 3
        gt[..., z][(np.abs(x - 4) < 2) & (np.abs(y - 8) < 3)] = 1
    gt[..., -1] = 0  # an apical slice beyond the heart: empty
    rng = np.random.default_rng(seed)
    image = (np.choose(gt, [100, 600, 150, 700]) + rng.normal(0, 5, shape)).astype(np.int16)
    return image, gt


def write_nifti(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(array, np.diag([1.5, 1.5, 8.0, 1.0])), str(path))
    return path


def write_acdc(root: Path, train=(1, 2, 3, 4), test=(101,)) -> Path:
    for number in (*train, *test):
        folder = root / ("training" if number in train else "testing") / f"patient{number:03d}"
        for frame in (1, 12):
            image, gt = acdc_volume(number * 100 + frame)
            write_nifti(folder / f"patient{number:03d}_frame{frame:02d}.nii.gz", image)
            write_nifti(folder / f"patient{number:03d}_frame{frame:02d}_gt.nii.gz", gt)
        write_nifti(folder / f"patient{number:03d}_4d.nii.gz", np.zeros((20, 16, 3, 4), np.int16))
        (folder / "Info.cfg").write_text("ED: 1\nES: 12\nGroup: NOR\n")
    return root


def write_mhd(path: Path, zyx: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(sitk.GetImageFromArray(zyx), str(path))
    return path


def write_sliver(root: Path, numbers=(1, 2, 3, 4, 5)) -> Path:
    for number in numbers:
        hu = np.full((4, 12, 10), -1000, np.int16)
        hu[:, 2:10, 1:9] = 40  # abdomen
        seg = np.zeros(hu.shape, np.uint8)
        seg[1:3, 3:7, 2:6] = 1
        hu[seg == 1] = 160  # window top: maps to +1... (60 + 400 / 2 = 260 maps to +1)
        write_mhd(root / "scan" / f"liver-orig{number:03d}.mhd", hu)
        write_mhd(root / "label" / f"liver-seg{number:03d}.mhd", seg)
    return root


def write_vinbig(root: Path, n=6) -> Path:
    for i in range(n):
        pixels = np.tile(np.linspace(0, 4000, 24), (20, 1)) + 10 * i
        write_dicom(root / "train" / f"{i:032x}.dicom", pixels, monochrome1=bool(i % 2))
    (root / "train.csv").write_text("image_id,class_name,class_id,rad_id,x_min,y_min,x_max,y_max\n")
    return root


def write_idrid(root: Path, n=5) -> Path:
    images = root / "1. Original Images" / "a. Training Set"
    masks = root / "2. All Segmentation Groundtruths" / "a. Training Set" / "5. Optic Disc"
    images.mkdir(parents=True)
    masks.mkdir(parents=True)
    for i in range(1, n + 1):
        rgb = np.zeros((30, 45, 3), np.uint8)
        rgb[..., 0], rgb[..., 1] = 180, 80
        rgb[10:20, 30:40] = 250  # the bright optic disc
        Image.fromarray(rgb).save(images / f"IDRiD_{i:02d}.jpg", quality=95)
        od = np.zeros((30, 45, 3), np.uint8)
        od[10:20, 30:40, 0] = 255  # IDRiD masks: red on black
        Image.fromarray(od).save(masks / f"IDRiD_{i:02d}_OD.tif")
    return root


def write_mura(root: Path) -> Path:
    for subset, patients in (("train", range(1, 6)), ("valid", range(11, 13))):
        for p in patients:
            for view in (1, 2):
                path = root / subset / "XR_ELBOW" / f"patient{p:05d}" / "study1_negative" / f"image{view}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                img = np.zeros((40, 30), np.uint8)
                img[5:35, 12:18] = 200 + view  # a bone
                Image.fromarray(img).save(path)
    return root


def test_acdc_reads_volumes_as_slices_with_testing_as_test(tmp_path):
    root = write_acdc(tmp_path / "ACDC")
    vol = read_nifti(root / "training/patient001/patient001_frame01.nii.gz")
    assert vol.shape == (3, 16, 20)  # (Z, rows=Y, columns=X)
    train = prepare("acdc", "train", resolution=20, root=root)
    test = prepare("acdc", "test", resolution=20, root=root)
    val = prepare("acdc", "val", resolution=20, root=root)
    assert set(test.patient_ids) == {"patient101"} and len(test) == 6  # 2 frames x 3 slices
    assert len(train) + len(val) == 4 * 6 and set(val.patient_ids).isdisjoint(train.patient_ids)
    assert train.label_names == ("background", "rv_cavity", "myocardium", "lv_cavity")
    assert set(np.unique(train.masks)) == {0, 1, 2, 3}
    img = train.images[:, 0]
    assert img[train.masks == 3].mean() > 0.8 and img[train.masks == 2].mean() < -0.3  # aligned image/mask
    dropped = prepare("acdc", "test", resolution=20, root=root, empty_slices="drop")
    assert len(dropped) == 4 and dropped.meta["hash"] != test.meta["hash"]


def test_sliver07_metaimage_with_hu_window(tmp_path):
    root = write_sliver(tmp_path / "sliver")
    vol = read_metaimage(root / "scan" / "liver-orig001.mhd")
    assert vol.shape == (4, 12, 10) and vol[0, 0, 0] == -1000
    parts = [prepare("sliver07", s, resolution=12, root=root) for s in ("train", "val", "test")]
    assert [len(p) for p in parts] == [12, 4, 4]  # 5 volumes: 3/1/1 patients x 4 slices
    ds = parts[0]
    # HU window centre 60, width 400: -1000 -> -1, 40 -> -0.1, 160 -> 0.5 (pad to square adds -1000 columns)
    np.testing.assert_allclose(ds.images[0, 0, 0, 0], -1.0)
    np.testing.assert_allclose(np.median(ds.images[:, 0][ds.masks == 1]), 0.5, atol=0.02)
    assert 0 < ds.masks.mean() < 0.2


def test_dicom_rescale_and_monochrome1(tmp_path):
    pixels = np.arange(12, dtype=np.uint16).reshape(3, 4) * 100
    plain = read_dicom(write_dicom(tmp_path / "a.dcm", pixels, slope=2.0, intercept=-10.0))
    np.testing.assert_allclose(plain[0], pixels * 2.0 - 10.0)
    inverted = read_dicom(write_dicom(tmp_path / "b.dcm", pixels, monochrome1=True))
    np.testing.assert_allclose(inverted[0], 1100 - pixels)  # dense (low raw value) becomes bright
    root = write_vinbig(tmp_path / "vinbig")
    ds = prepare("chest_xray", "train", resolution=16, root=root)
    assert ds.label_names == ("background",) and ds.images.shape[1:] == (1, 16, 16)
    row = ds.images[0, 0, 8]
    assert (row[3:13] - row[2:12] != 0).all()  # a horizontal ramp survives (either direction)
    assert ds.joint_channels == 1


def test_idrid_rgb_jpeg_with_red_tif_masks(tmp_path):
    root = write_idrid(tmp_path / "A. Segmentation")
    ds = prepare("idrid", "train", resolution=15, root=root)
    assert ds.images.shape == (4, 3, 15, 15) and ds.label_names == ("background", "optic_disc")  # 4 train, 1 val
    assert set(np.unique(ds.masks)) == {0, 1}
    assert ds.images[:, 0][ds.masks == 1].mean() > ds.images[:, 0][ds.masks == 0].mean()
    assert ds.images[0, :, 0, 0].max() == -1.0  # square padding rows are background (image minimum)


def test_mura_png_patients_and_valid_as_test(tmp_path):
    root = write_mura(tmp_path / "MURA-v1.1")
    test = prepare("mura_elbow", "test", resolution=20, root=root)
    train = prepare("mura_elbow", "train", resolution=20, root=root)
    assert set(test.patient_ids) == {"patient00011", "patient00012"} and len(test) == 4
    assert len(train) == 8 and train.masks.max() == 0  # 4 of 5 train patients, 2 views each
    assert len(prepare("mura_elbow", "train", resolution=20, root=root, count=3)) <= 3


def test_folder_reader_mixes_formats_with_labels_file(tmp_path):
    root = tmp_path / "mine"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(4):
        img = np.full((10, 10), 20 * i, np.uint8)
        img[2:6, 2:6] = 250
        mask = np.zeros((10, 10), np.uint8)
        mask[2:6, 2:6] = 1 + i % 2
        Image.fromarray(img).save(root / "images" / f"case{i}.png")
        Image.fromarray(mask).save(root / "masks" / f"case{i}.png")
    write_nifti(root / "images" / "vol.nii.gz", np.ones((10, 10, 2), np.float32))
    write_nifti(root / "masks" / "vol.nii.gz", np.zeros((10, 10, 2), np.uint8))
    (root / "labels.txt").write_text("background\nlesion\ncyst\n")
    parts = [prepare("folder", s, resolution=8, root=root) for s in ("train", "val", "test")]
    assert sum(len(p) for p in parts) == 6 and parts[0].label_names == ("background", "lesion", "cyst")


def expected_dicom(raw: np.ndarray, monochrome1=False, slope=1.0, intercept=0.0) -> np.ndarray:
    """What read_dicom must return for stored values ``raw``: rescaled, MONOCHROME1 flipped."""
    values = raw.astype(np.float32) * slope + intercept
    return (values.max() + values.min() - values if monochrome1 else values)[None]


@pytest.mark.parametrize("syntax, uid, bits, monochrome1", [
    ("rle", RLELossless, 16, False), ("jpeg2000", JPEG2000Lossless, 12, False),
    ("jpeg2000", JPEG2000Lossless, 16, True), ("jpegls", JPEGLSLossless, 12, True)])
def test_compressed_dicom_decodes_to_the_exact_pixels(tmp_path, syntax, uid, bits, monochrome1):
    raw = np.random.default_rng(bits).integers(0, 2 ** bits, (40, 36))  # JPEG 2000 needs >= 32 px a side
    raw[0, 0], raw[-1, -1] = 0, 2 ** bits - 1  # the full stored range
    path = write_dicom(tmp_path / f"{syntax}.dcm", raw, syntax, monochrome1=monochrome1, slope=2.0,
                       intercept=-1024.0, bits_stored=bits)
    stored = dcmread(path)
    assert stored.file_meta.TransferSyntaxUID == uid and stored.PixelData[:4] == b"\xfe\xff\x00\xe0"  # encapsulated
    np.testing.assert_array_equal(read_dicom(path), expected_dicom(raw, monochrome1, 2.0, -1024.0))


@pytest.mark.filterwarnings("ignore:End of file reached before delimiter")
@pytest.mark.parametrize("syntax", ["rle", "jpeg2000", "jpegls"])
def test_truncated_compressed_dicom_names_the_file(tmp_path, syntax):
    path = write_dicom(tmp_path / f"{syntax}.dcm", np.full((40, 36), 700), syntax)
    data = path.read_bytes()
    cut = path.with_name("cut.dcm")
    cut.write_bytes(data[: len(data) - 100])  # a download cut short: the encapsulated Pixel Data is incomplete
    with pytest.raises(DatasetError) as info:
        read_dicom(cut)
    assert str(info.value).startswith(f"{cut}: expected a DICOM image, but the file has no Pixel Data")
    cut.write_bytes(data[:200])  # cut inside the file meta header
    with pytest.raises(DatasetError, match="has no Transfer Syntax UID"):
        read_dicom(cut)


@pytest.mark.parametrize("syntax", ["rle", "jpeg2000"])  # libjpeg returns a short JPEG-LS stream padded, no error
def test_short_codestream_is_a_decode_error(tmp_path, syntax):
    path = write_dicom(tmp_path / f"{syntax}.dcm", np.random.default_rng(0).integers(0, 4096, (40, 36)), syntax)
    ds = dcmread(path)
    frame = next(generate_frames(ds.PixelData, number_of_frames=1))
    ds.PixelData = encapsulate([frame[: len(frame) // 2]])
    ds.save_as(path)
    with pytest.raises(DatasetError) as info:
        read_dicom(path)
    assert str(info.value).startswith(f"{path}: expected {ds.file_meta.TransferSyntaxUID.name} pixel data for a "
                                      f"40x36 image, but it cannot be decoded")


def test_missing_decoder_plugin_names_syntax_and_package(tmp_path, monkeypatch):
    path = write_dicom(tmp_path / "j2k.dcm", np.full((40, 36), 700), "jpeg2000")
    monkeypatch.setattr(get_decoder(JPEG2000Lossless), "_available", {})  # as if pylibjpeg-openjpeg were absent
    with pytest.raises(DatasetError) as info:
        read_dicom(path)
    assert str(info.value) == (f"{path}: pixel data is compressed as JPEG 2000 Image Compression (Lossless Only) "
                               f"(1.2.840.10008.1.2.4.90) and no decoder plugin is installed: "
                               f"pip install pylibjpeg pylibjpeg-openjpeg")


@pytest.mark.parametrize("syntax", ["explicit", "rle"])
def test_colour_and_multiframe_dicoms_are_refused(tmp_path, syntax):
    rgb = write_dicom(tmp_path / "rgb.dcm", np.zeros((32, 32, 3)), syntax, rgb=True)
    with pytest.raises(DatasetError, match=f"{rgb.name}: expected a single-frame grayscale DICOM, got 1 frame"
                                           r"\(s\) of 3 sample\(s\) per pixel \(RGB\)"):
        read_dicom(rgb)
    frames = write_dicom(tmp_path / "frames.dcm", np.zeros((3, 32, 32)), syntax)
    with pytest.raises(DatasetError, match=f"{frames.name}: expected a single-frame grayscale DICOM, got 3 frame"):
        read_dicom(frames)
