"""Write small real DICOM files, uncompressed or compressed by pydicom itself, for the reader tests and fixtures.

Compression needs the encoder plugins: RLE is pydicom's own, JPEG 2000 uses pylibjpeg-openjpeg (a runtime
dependency) and JPEG-LS uses pyjpegls (the ``dev`` extra). All are lossless, so a reader must return exactly
the pixels written (times the rescale slope, plus the intercept).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, JPEG2000Lossless, JPEGLSLossless, RLELossless, generate_uid

DX_STORAGE = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray Image Storage - For Presentation
TRANSFER_SYNTAXES = {"explicit": ExplicitVRLittleEndian, "rle": RLELossless, "jpeg2000": JPEG2000Lossless,
                     "jpegls": JPEGLSLossless}
ENCODERS = {"rle": "pydicom", "jpeg2000": "pylibjpeg", "jpegls": "pyjpegls"}


def write_dicom(path: Path, pixels: np.ndarray, transfer_syntax: str = "explicit", monochrome1: bool = False,
                slope: float = 1, intercept: float = 0, bits_stored: int = 12, rgb: bool = False) -> Path:
    """A DX image: ``pixels`` (H, W) unsigned gray, (F, H, W) for a multi-frame file, or (H, W, 3) 8-bit
    with ``rgb``. Gray values must fit in ``bits_stored`` bits (12 as most X-ray detectors, or up to 16)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = DX_STORAGE
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = DX_STORAGE, meta.MediaStorageSOPInstanceUID
    ds.Modality = "DX"
    if rgb:
        ds.Rows, ds.Columns = pixels.shape[:2]
        ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
        pixels = pixels.astype(np.uint8)
    else:
        ds.Rows, ds.Columns = pixels.shape[-2:]
        if pixels.ndim == 3:
            ds.NumberOfFrames = pixels.shape[0]
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME1" if monochrome1 else "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, bits_stored, bits_stored - 1
        if pixels.min() < 0 or pixels.max() >= 2 ** bits_stored:
            raise ValueError(f"pixel values {pixels.min()}..{pixels.max()} do not fit in {bits_stored} bits")
        pixels = pixels.astype(np.uint16)
    ds.PixelRepresentation = 0
    ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
    if transfer_syntax == "explicit":
        ds.PixelData = pixels.tobytes()
    else:
        ds.compress(TRANSFER_SYNTAXES[transfer_syntax], pixels, encoding_plugin=ENCODERS[transfer_syntax],
                    generate_instance_uid=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(str(path), enforce_file_format=True)
    return path
