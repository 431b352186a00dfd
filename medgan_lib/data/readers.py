"""Readers for the real datasets' on-disk formats, and the pairing of images with masks.

NIfTI (nibabel), MetaImage .mhd/.raw (SimpleITK), DICOM (pydicom: rescale slope/intercept, MONOCHROME1
inverted; compressed pixel data through pydicom's pylibjpeg plugins: JPEG incl. 12-bit and lossless, and JPEG-LS
by pylibjpeg-libjpeg, JPEG 2000 by pylibjpeg-openjpeg, RLE by pylibjpeg-rle), PNG/JPEG/TIFF/BMP (Pillow). Every
reader returns channel-first float32 arrays: a 2-D image is (C, H, W), a 3-D volume is (Z, H, W) (slices along
NIfTI's last / MetaImage's first axis). Any failure becomes a ``DatasetError`` naming the file and what was
expected.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np

from medgan_lib.data.dataset import DatasetError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
DICOM_SUFFIXES = (".dcm", ".dicom")


def read_nifti(path: Path) -> np.ndarray:
    """A NIfTI volume as (Z, H, W): slices along the last axis, rows along the second voxel axis."""
    import nibabel as nib

    try:
        data = np.asarray(nib.load(str(path)).get_fdata(dtype=np.float32))
    except Exception as err:  # nibabel raises many types for bad files
        raise DatasetError(f"{path}: not a readable NIfTI file ({type(err).__name__}: {err})") from err
    if data.ndim == 2:
        data = data[:, :, None]
    if data.ndim != 3:
        raise DatasetError(f"{path}: expected a 3-D NIfTI volume (or 2-D image), got shape {data.shape}")
    return np.ascontiguousarray(np.transpose(data, (2, 1, 0)))


def read_metaimage(path: Path) -> np.ndarray:
    """A MetaImage (.mhd + .raw) volume as (Z, H, W), SimpleITK's array order."""
    import SimpleITK as sitk

    try:
        data = sitk.GetArrayFromImage(sitk.ReadImage(str(path))).astype(np.float32)
    except RuntimeError as err:
        raise DatasetError(f"{path}: not a readable MetaImage file ({str(err).strip().splitlines()[-1]})") from err
    if data.ndim == 2:
        data = data[None]
    if data.ndim != 3:
        raise DatasetError(f"{path}: expected a 3-D MetaImage volume, got shape {data.shape}")
    return data


def read_dicom(path: Path) -> np.ndarray:
    """A single-frame DICOM as (1, H, W) in modality units, MONOCHROME1 inverted so bright = dense."""
    import pydicom
    from pydicom import uid
    from pydicom.pixels import get_decoder

    try:
        ds = pydicom.dcmread(str(path))
    except Exception as err:  # pydicom raises InvalidDicomError, EOFError, struct.error, ...
        raise DatasetError(f"{path}: not a readable DICOM file ({type(err).__name__}: {err})") from err
    syntax = ds.file_meta.get("TransferSyntaxUID")
    has_pixels = any(name in ds for name in ("PixelData", "FloatPixelData", "DoubleFloatPixelData"))
    if syntax is None or not has_pixels:  # pydicom drops the element that a truncated file cuts short
        missing = "Transfer Syntax UID" if syntax is None else "Pixel Data"
        raise DatasetError(f"{path}: expected a DICOM image, but the file has no {missing} "
                           f"(truncated, or not an image)")
    frames, samples = int(ds.get("NumberOfFrames") or 1), int(ds.get("SamplesPerPixel") or 1)
    if frames != 1 or samples != 1:
        raise DatasetError(f"{path}: expected a single-frame grayscale DICOM, got {frames} frame(s) of {samples} "
                           f"sample(s) per pixel ({ds.get('PhotometricInterpretation', 'no photometric')})")
    plugin = {**dict.fromkeys(uid.JPEGTransferSyntaxes + uid.JPEGLSTransferSyntaxes, "pylibjpeg-libjpeg"),
              **dict.fromkeys(uid.JPEG2000TransferSyntaxes, "pylibjpeg-openjpeg"),
              **dict.fromkeys(uid.RLETransferSyntaxes, "pylibjpeg-rle")}.get(syntax)
    if plugin and not get_decoder(syntax).is_available:
        raise DatasetError(f"{path}: pixel data is compressed as {syntax.name} ({syntax}) and no decoder plugin "
                           f"is installed: pip install pylibjpeg {plugin}")
    try:
        pixels = ds.pixel_array.astype(np.float32)
    except Exception as err:  # the decoders raise RuntimeError, ValueError, ... for corrupt or short pixel data
        raise DatasetError(f"{path}: expected {syntax.name} pixel data for a {ds.get('Rows')}x{ds.get('Columns')} "
                           f"image, but it cannot be decoded ({type(err).__name__}: {err})") from err
    pixels = pixels * float(getattr(ds, "RescaleSlope", 1) or 1) + float(getattr(ds, "RescaleIntercept", 0) or 0)
    if str(getattr(ds, "PhotometricInterpretation", "")).strip() == "MONOCHROME1":
        pixels = pixels.max() + pixels.min() - pixels
    return pixels[None]


def read_picture(path: Path, channels: int | None) -> np.ndarray:
    """A PNG/JPEG/TIFF/BMP as (C, H, W); ``channels`` 1 or 3 is enforced (gray stored as RGB is accepted)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()
            mode = img.mode
            if mode in ("P", "PA", "LA", "RGBA", "CMYK", "YCbCr"):
                img = img.convert("RGB")
            elif mode == "1":
                img = img.convert("L")
            data = np.asarray(img).astype(np.float32)
    except (OSError, UnidentifiedImageError) as err:
        raise DatasetError(f"{path}: not a readable image ({err})") from err
    data = data[None] if data.ndim == 2 else np.moveaxis(data, -1, 0)
    if channels == 1 and data.shape[0] == 3:
        if not (np.array_equal(data[0], data[1]) and np.array_equal(data[0], data[2])):
            raise DatasetError(f"{path}: expected a grayscale (1-channel) image, got a colour image "
                               f"with {data.shape[0]} differing channels")
        data = data[:1]
    if channels is not None and data.shape[0] != channels:
        raise DatasetError(f"{path}: expected {channels} channel(s), got {data.shape[0]} (mode {mode})")
    return data


def read_file(path: Path, fmt: str, channels: int | None = None) -> np.ndarray:
    """Dispatch on the manifest's format name; (C, H, W) for 2-D formats, (Z, H, W) for volumes."""
    if not path.is_file():
        raise DatasetError(f"{path}: file is missing")
    if fmt == "nifti":
        return read_nifti(path)
    if fmt == "metaimage":
        return read_metaimage(path)
    if fmt == "dicom":
        return read_dicom(path)
    if fmt == "image":
        return read_picture(path, channels)
    raise DatasetError(f"{path}: unknown format {fmt!r}")


def format_of(path: Path) -> str:
    """Format name from a file name (for the generic folder reader)."""
    name = path.name.lower()
    if name.endswith((".nii", ".nii.gz")):
        return "nifti"
    if name.endswith(".mhd"):
        return "metaimage"
    if name.endswith(DICOM_SUFFIXES):
        return "dicom"
    if name.endswith(IMAGE_SUFFIXES):
        return "image"
    raise DatasetError(f"{path}: unknown file type; expected NIfTI, MetaImage .mhd, DICOM or "
                       f"{'/'.join(IMAGE_SUFFIXES)}")


@dataclasses.dataclass
class Case:
    """One image file (a 2-D picture or a 3-D volume), its mask file and its patient."""

    patient: str
    image: Path
    mask: Path | None
    fixed_split: str = ""
    subset: str = ""  # the manifest subset it was found in


def match_key(pattern: str, text: str, path: Path, what: str) -> str:
    found = re.search(pattern, text)
    if not found:
        raise DatasetError(f"{path}: {what} pattern {pattern!r} does not match {text!r}")
    return found.group(1)


@dataclasses.dataclass
class RawCase:
    """A case read from disk: raw intensities and (optional) label masks, before preprocessing."""

    images: np.ndarray  # float32 (S, C, H, W)
    masks: np.ndarray | None  # uint8 (S, H, W)


def read_case(case: Case, image_format: str, mask_format: str | None, channels: int | None, volumes: bool,
              label_count: int, binarise: bool = False, values: dict[int, tuple[float, float]] | None = None
              ) -> RawCase:
    """Read, check and pair one case: shapes agree, values finite, mask values in the label map.

    ``channels`` None accepts any channel count (the caller checks consistency across files). ``values`` maps
    labels to closed ranges of raw mask values (grey-level masks); raw 0 is background.
    """
    image = read_file(case.image, image_format, channels)
    if volumes:
        if image_format == "image" or image_format == "dicom":
            raise DatasetError(f"{case.image}: format {image_format} holds 2-D images, not volumes")
        if channels not in (None, 1):
            raise DatasetError(f"{case.image}: volumes are single-channel, but {channels} channels were expected")
        images = image[:, None]
    else:
        if channels is not None and image.shape[0] != channels:
            raise DatasetError(f"{case.image}: expected {channels} channel(s), got array of shape {image.shape}")
        images = image[None]
    if not np.isfinite(images).all():
        raise DatasetError(f"{case.image}: contains NaN or infinite pixel values")
    if case.mask is None:
        return RawCase(images, None)
    raw = read_file(case.mask, mask_format, None)
    if not volumes and raw.shape[0] != 1:  # colour-coded masks (e.g. red on black): any channel marks the label
        raw = raw.max(axis=0, keepdims=True)
    if raw.shape != (images.shape[0],) + images.shape[-2:]:
        raise DatasetError(f"{case.mask}: mask shape {raw.shape} does not match image {case.image} "
                           f"shape {image.shape}")
    if not np.isfinite(raw).all() or (raw != np.round(raw)).any() or raw.min() < 0:
        raise DatasetError(f"{case.mask}: mask values must be non-negative integers")
    if binarise:
        raw = (raw > 0).astype(np.float32)
    if values is not None:
        raw = _map_values(raw, values, case.mask)
    bad = sorted(set(np.unique(raw).astype(int).tolist()) - set(range(label_count)))
    if bad:
        raise DatasetError(f"{case.mask}: unexpected label values {bad}; the label map has 0..{label_count - 1}")
    return RawCase(images, raw.reshape(images.shape[0], *images.shape[-2:]).astype(np.uint8))


def _map_values(raw: np.ndarray, values: dict[int, tuple[float, float]], path: Path) -> np.ndarray:
    """Labels from grey levels: each value in a label's closed range becomes that label; 0 stays background."""
    labels = np.zeros(raw.shape, dtype=np.float32)
    known = raw == 0
    for label, (low, high) in values.items():
        inside = (raw >= low) & (raw <= high)
        labels[inside] = label
        known |= inside
    if not known.all():
        bad = sorted(np.unique(raw[~known]).astype(int).tolist())
        ranges = ", ".join(f"{label}: {low:g}-{high:g}" for label, (low, high) in values.items())
        raise DatasetError(f"{path}: mask values {bad[:8]} are in none of the manifest's ranges ({ranges})")
    return labels
