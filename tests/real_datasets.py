"""Tiny copies of the public datasets, in their exact on-disk layouts, for tests (no tests in here).

Each ``write_*`` function writes a small, deterministic dataset under ``root`` with the library the
real files are written with (nibabel, SimpleITK, Pillow, pydicom) and returns the folder to pass as
``root`` (the one the manifest's globs start from). The pictures are the project's phantoms
(``medgan_lib.data.phantoms``), converted to each format's units: MRI magnitudes in arbitrary units,
CT in Hounsfield units, 8-bit RGB fundus photographs, 12-bit (DICOM) and 8-bit (PNG) radiographs, so
what a test prepares is learnable anatomy, not noise. Every dataset is well under a few MB.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import nibabel as nib
import numpy as np
import SimpleITK as sitk
from dicom_files import write_dicom
from PIL import Image

from medgan_lib.data.phantoms import PHANTOMS

ACDC_GROUPS = ("DCM", "HCM", "MINF", "NOR", "RV")  # training exams: 20 of each, in this order of numbers
ACDC_FIRST_TEST = 101  # testing exams are patient101 .. patient150
IDRID_FIRST_TEST = 55  # the 27 segmentation test images are IDRiD_55 .. IDRiD_81
SLIVER_VOLUMES = 20  # liver-orig001 .. liver-orig020 (the training volumes with public masks)
MURA_FIRST_VALID = 11185  # MURA-v1.1 valid/ patients are numbered after the train/ ones


def _rng(seed: int, dataset: str, index: int) -> np.random.Generator:
    """One stream per (seed, dataset, item): adding items never changes the ones already drawn."""
    return np.random.default_rng([seed, int(hashlib.sha256(dataset.encode()).hexdigest()[:8], 16), index])


def _draw(phantom: str, rng: np.random.Generator, n: int, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """(images (S, C, R, R) raw phantom units, masks (S, R, R)) of one phantom patient."""
    return PHANTOMS[phantom].patient(rng, n, resolution)


# ---------------------------------------------------------------------------------------------------- ACDC

def _acdc_exam(folder: Path, number: int, group: str, rng: np.random.Generator, resolution: int) -> None:
    """patientNNN_frameED/ES.nii.gz + _gt, the 4-D cine patientNNN_4d.nii.gz and Info.cfg."""
    raw, labels = _draw("cardiac_phantom", rng, PHANTOMS["cardiac_phantom"].slices_per_patient, resolution)
    levels = len(raw) // 2  # the phantom's slices: base..apex at ED, then base..apex at ES
    rows = resolution - resolution // 8  # ACDC slices are not square (e.g. 216 x 256): crop a few rows
    top = (resolution - rows) // 2
    magnitude = np.rint(raw[:, 0, top:top + rows] * 1000.0).clip(0, 32767).astype(np.int16)  # arbitrary units
    gt = labels[:, top:top + rows].astype(np.uint8)
    es = int(rng.integers(8, 14))  # 1-based frame numbers, as in Info.cfg
    n_frames = es + int(rng.integers(4, 8))
    spacing = float(rng.uniform(300.0, 380.0)) / resolution  # a ~340 mm field of view
    thickness = float(rng.choice([5.0, 6.5, 8.0, 10.0]))
    affine = np.diag([spacing, spacing, thickness, 1.0])

    def to_xyz(stack: np.ndarray) -> np.ndarray:  # (Z, rows=Y, columns=X) -> NIfTI's (X, Y, Z)
        return np.ascontiguousarray(np.transpose(stack, (2, 1, 0)))

    ed_img, es_img = magnitude[:levels], magnitude[levels:]
    name = f"patient{number:03d}"
    folder.mkdir(parents=True, exist_ok=True)
    for frame, image, mask in ((1, ed_img, gt[:levels]), (es, es_img, gt[levels:])):
        nib.save(nib.Nifti1Image(to_xyz(image), affine), str(folder / f"{name}_frame{frame:02d}.nii.gz"))
        nib.save(nib.Nifti1Image(to_xyz(mask), affine), str(folder / f"{name}_frame{frame:02d}_gt.nii.gz"))
    # The cine: ED at frame 1, ES at frame `es`, relaxing back toward ED afterwards.
    phase = np.array([min(t / (es - 1), max(0.0, 1 - (t - es + 1) / (n_frames - es + 1))) for t in range(n_frames)])
    cine = np.stack([np.rint((1 - w) * ed_img + w * es_img).astype(np.int16) for w in phase], axis=-1)
    cine_affine = np.diag([spacing, spacing, thickness, 1.0])
    nib.save(nib.Nifti1Image(np.ascontiguousarray(np.transpose(cine, (2, 1, 0, 3))), cine_affine),
             str(folder / f"{name}_4d.nii.gz"))
    height, weight = float(rng.uniform(150, 195)), float(rng.uniform(50, 110))
    (folder / "Info.cfg").write_text(f"ED: 1\nES: {es}\nGroup: {group}\nHeight: {height:.1f}\n"
                                     f"NbFrame: {n_frames}\nWeight: {weight:.1f}\n")


def write_acdc(root: str | Path, n_train: int = 6, n_test: int = 3, resolution: int = 32, seed: int = 0) -> Path:
    """ACDC ``database/``: ``training/patient001..`` and ``testing/patient101..``, each exam with its ED and ES
    frames (6 short-axis slices each) and their ``_gt`` masks, the 4-D cine and ``Info.cfg``. Returns ``root``."""
    root = Path(root)
    for i in range(n_train):
        number = 1 + i
        _acdc_exam(root / "training" / f"patient{number:03d}", number, ACDC_GROUPS[(number - 1) // 20 % 5],
                   _rng(seed, "acdc", number), resolution)
    for i in range(n_test):
        number = ACDC_FIRST_TEST + i
        _acdc_exam(root / "testing" / f"patient{number:03d}", number, ACDC_GROUPS[i % 5],
                   _rng(seed, "acdc", number), resolution)
    return root


# ------------------------------------------------------------------------------------------------ SLiver07

def write_sliver07(root: str | Path, n: int = SLIVER_VOLUMES, resolution: int = 32, slices: int = 12,
                   seed: int = 0) -> Path:
    """SLiver07 training data: ``scan/liver-origNNN.mhd/.raw`` (int16 Hounsfield units) and
    ``label/liver-segNNN.mhd/.raw`` (uint8 liver masks) for volumes 001..``n``. Each volume has ``slices``
    axial slices spread from the pelvis brim to the lung bases (so the liver is in the middle ones)."""
    root = Path(root)
    (root / "scan").mkdir(parents=True, exist_ok=True)
    (root / "label").mkdir(parents=True, exist_ok=True)
    full = PHANTOMS["liver_phantom"].slices_per_patient
    for number in range(1, n + 1):
        rng = _rng(seed, "sliver07", number)
        hu, liver = _draw("liver_phantom", rng, full, resolution)
        pick = np.unique(np.linspace(0, full - 1, min(slices, full)).round().astype(int))
        spacing = (float(rng.uniform(0.55, 0.8)) * 512 / resolution,) * 2 + (full / len(pick) * 1.5,)
        for folder, name, array in (("scan", f"liver-orig{number:03d}.mhd",
                                     np.rint(hu[pick, 0]).clip(-1024, 3071).astype(np.int16)),
                                    ("label", f"liver-seg{number:03d}.mhd", liver[pick].astype(np.uint8))):
            image = sitk.GetImageFromArray(array)  # (Z, Y, X), SimpleITK's array order
            image.SetSpacing(spacing)
            sitk.WriteImage(image, str(root / folder / name))  # header .mhd + data .raw, uncompressed
    return root


# --------------------------------------------------------------------------------------------------- IDRiD

def _fundus(rng: np.random.Generator, eye: int, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """(H, W, 3) uint8 photograph and (H, W, 3) uint8 red-on-black optic-disc mask, 3:2 like IDRiD's
    4288 x 2848 photos: the round fundus in the middle of a black frame."""
    rgb, disc = _draw("retina_phantom", rng, 2, resolution)
    photo = np.rint(np.clip(rgb[eye], 0, 1) * 255).astype(np.uint8).transpose(1, 2, 0)
    width = resolution * 3 // 2
    left = (width - resolution) // 2
    framed = np.zeros((resolution, width, 3), np.uint8)
    framed[:, left:left + resolution] = photo
    mask = np.zeros_like(framed)
    mask[:, left:left + resolution, 0] = disc[eye] * 255
    return framed, mask


def write_idrid(root: str | Path, n_train: int = 6, n_test: int = 3, resolution: int = 32, seed: int = 0,
                first_test: int = IDRID_FIRST_TEST) -> Path:
    """IDRiD ``A. Segmentation/``: training photos ``1. Original Images/a. Training Set/IDRiD_01..`` with
    ``2. All Segmentation Groundtruths/a. Training Set/5. Optic Disc/IDRiD_NN_OD.tif``, and test photos in
    ``b. Testing Set`` (numbered from ``first_test``: 55 in the real data; 1 makes the names repeat the
    training ones) with their masks in the testing set's own ``5. Optic Disc`` folder. JPEG photos (RGB),
    TIF masks red (255) on black (0)."""
    root = Path(root)
    for subset, numbers in (("a. Training Set", range(1, n_train + 1)),
                            ("b. Testing Set", range(first_test, first_test + n_test))):
        images = root / "1. Original Images" / subset
        masks = root / "2. All Segmentation Groundtruths" / subset / "5. Optic Disc"
        images.mkdir(parents=True, exist_ok=True)
        masks.mkdir(parents=True, exist_ok=True)
        for number in numbers:
            photo, mask = _fundus(_rng(seed, f"idrid/{subset}", number), number % 2, resolution)
            Image.fromarray(photo).save(images / f"IDRiD_{number:02d}.jpg", quality=95)
            Image.fromarray(mask).save(masks / f"IDRiD_{number:02d}_OD.tif")
    return root


# ------------------------------------------------------------------------------------- VinBigData chest X-ray

def vinbig_image_id(seed: int, index: int) -> str:
    """A 32-hex-digit anonymised image id, as VinBigData names its files."""
    return hashlib.md5(f"vinbig-{seed}-{index}".encode()).hexdigest()


def write_chest_xray(root: str | Path, n: int = 8, resolution: int = 32, seed: int = 0, n_test: int = 1) -> Path:
    """VinBigData competition folder: ``train/<image_id>.dicom`` (12-bit DX images; one JPEG 2000 file, every
    third MONOCHROME1 with inverted stored values, the rest uncompressed MONOCHROME2), ``train.csv`` with
    one 'No finding' row per image, and ``test/<image_id>.dicom`` (``n_test`` images the study does not read)."""
    root = Path(root)
    rows = ["image_id,class_name,class_id,rad_id,x_min,y_min,x_max,y_max"]
    for i in range(n + n_test):
        rng = _rng(seed, "chest_xray", i)
        film, _ = _draw("chest_phantom", rng, 1, resolution)
        shown = np.rint(np.clip(film[0, 0], 0, 1) * 4095).astype(np.uint16)  # 12 bits, bright = dense
        monochrome1 = i % 3 == 2
        stored = (4095 - shown) if monochrome1 else shown  # MONOCHROME1 stores dense as dark
        image_id = vinbig_image_id(seed, i)
        folder = "train" if i < n else "test"
        write_dicom(root / folder / f"{image_id}.dicom", stored, transfer_syntax="jpeg2000" if i == 1 else "explicit",
                    monochrome1=monochrome1)
        if i < n:
            rows.append(f"{image_id},No finding,14,R{1 + i % 3},,,,")
    (root / "train.csv").write_text("\n".join(rows) + "\n")
    return root


# -------------------------------------------------------------------------------------------- MURA elbow

def write_mura(root: str | Path, n_train: int = 4, n_valid: int = 2, resolution: int = 32, seed: int = 0) -> Path:
    """``MURA-v1.1/`` with elbow studies only: ``{train,valid}/XR_ELBOW/patientNNNNN/studyK_positive|negative/
    imageV.png`` (8-bit grayscale PNGs, portrait; one stored as RGB with equal channels, as a few MURA
    files are), every second patient with two studies, and MURA's four CSVs
    (``{train,valid}_image_paths.csv``, ``{train,valid}_labeled_studies.csv``). Returns the MURA-v1.1 folder."""
    root = Path(root)
    views = PHANTOMS["elbow_phantom"].slices_per_patient
    width = resolution * 3 // 4  # radiographs are taller than wide: crop the sides
    left = (resolution - width) // 2
    written_rgb = False
    for subset, numbers in (("train", range(1, n_train + 1)),
                            ("valid", range(MURA_FIRST_VALID, MURA_FIRST_VALID + n_valid))):
        image_paths, studies = [], []
        for number in numbers:
            for study in range(1, 2 + number % 2):
                rng = _rng(seed, f"mura/{subset}/{study}", number)
                film, _ = _draw("elbow_phantom", rng, views, resolution)
                label = int(rng.random() < 0.4)  # abnormal studies are 'positive'
                folder = root / subset / "XR_ELBOW" / f"patient{number:05d}" / \
                    f"study{study}_{'positive' if label else 'negative'}"
                folder.mkdir(parents=True, exist_ok=True)
                for v in range(views):
                    gray = np.rint(np.clip(film[v, 0, :, left:left + width], 0, 1) * 255).astype(np.uint8)
                    picture = Image.fromarray(gray)
                    if not written_rgb:
                        picture, written_rgb = picture.convert("RGB"), True
                    picture.save(folder / f"image{v + 1}.png")
                    image_paths.append(f"MURA-v1.1/{folder.relative_to(root).as_posix()}/image{v + 1}.png")
                studies.append(f"MURA-v1.1/{folder.relative_to(root).as_posix()}/,{label}")
        (root / f"{subset}_image_paths.csv").write_text("\n".join(image_paths) + "\n")
        (root / f"{subset}_labeled_studies.csv").write_text("\n".join(studies) + "\n")
    return root


# ---------------------------------------------------------------------------------------------------- CHAOS

CHAOS_CT_PATIENTS = (1, 2, 5, 6, 8)  # CHAOS numbers its CT and MR training patients separately, with gaps
CHAOS_MR_PATIENTS = (1, 2, 3, 5, 8)
CHAOS_SLICES = 6


def write_chaos(root: str | Path, resolution: int = 32, slices: int = CHAOS_SLICES, seed: int = 0) -> Path:
    """``Train_Sets/`` as CHAOS_Train_Sets.zip unpacks: CT slices ``CT/<n>/DICOM_anon/i<kkkk>,0000b.dcm`` (12-bit
    stored values, intercept -1024: HU) with ``CT/<n>/Ground/liver_GT_<kkk>.png`` (liver 255), and T2-SPIR slices
    ``MR/<n>/T2SPIR/DICOM_anon/IMG-0002-<kkkkk>.dcm`` with ``.../T2SPIR/Ground/IMG-0002-<kkkkk>.png`` (liver 63,
    a right-kidney patch 126 and a spleen patch 252 that the manifest folds into background). Also a T1-DUAL
    in-phase slice the reader must ignore. Returns the folder holding Train_Sets/."""
    root = Path(root)
    base = root / "Train_Sets"
    full = PHANTOMS["liver_phantom"].slices_per_patient
    pick = np.unique(np.linspace(full // 4, full - 1 - full // 8, slices).round().astype(int))  # through the liver
    for number in CHAOS_CT_PATIENTS:
        hu, liver = _draw("liver_phantom", _rng(seed, "chaos/ct", number), full, resolution)
        for k, z in enumerate(pick):
            stored = np.rint(hu[z, 0] + 1024).clip(0, 4095).astype(np.uint16)
            write_dicom(base / "CT" / str(number) / "DICOM_anon" / f"i{k:04d},0000b.dcm", stored, intercept=-1024)
            _png(base / "CT" / str(number) / "Ground" / f"liver_GT_{k:03d}.png", liver[z] * 255)
    for number in CHAOS_MR_PATIENTS:
        mr, liver = _draw("liver_mr_phantom", _rng(seed, "chaos/mr", number), full, resolution)
        folder = base / "MR" / str(number)
        for k, z in enumerate(pick):
            stored = np.rint(np.clip(mr[z, 0], 0, None) * 2000).clip(0, 4095).astype(np.uint16)
            name = f"IMG-0002-{k + 1:05d}"
            write_dicom(folder / "T2SPIR" / "DICOM_anon" / f"{name}.dcm", stored)
            grey = liver[z].astype(np.uint8) * 63
            grey[:3, :3], grey[-3:, -3:] = 126, 252  # other organs: background in our label map
            _png(folder / "T2SPIR" / "Ground" / f"{name}.png", grey)
        write_dicom(folder / "T1DUAL" / "DICOM_anon" / "InPhase" / "IMG-0004-00002.dcm", stored)
    return root


def _png(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path)


WRITERS = {"acdc": write_acdc, "sliver07": write_sliver07, "idrid": write_idrid, "chest_xray": write_chest_xray,
           "mura_elbow": write_mura, "chaos_ct": write_chaos, "chaos_mr": write_chaos}
