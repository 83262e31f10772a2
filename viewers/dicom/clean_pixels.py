"""The PS3.15 Clean Pixel Data option for ultrasound: blank everything outside the ultrasound regions.

An ultrasound scanner burns the patient's name, dates and the operator into the frame around the
image; the Sequence of Ultrasound Regions says where the image data (B-mode, Doppler...) lies. Every
pixel outside the union of those regions is set to black, in every frame. Only then is
BurnedInAnnotation set to NO; when the file cannot be cleaned (no regions, pixels encoded in a
transfer syntax this cannot write back, an unusual pixel layout) it is left untouched and marked YES,
and the reason is returned for the user.
"""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import RLELossless

# CID 7050: 113101 is the Clean Pixel Data Option.
CLEAN_PIXELS_CODE = ("113101", "DCM", "Clean Pixel Data Option")
_NATIVE = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1"}  # little endian: what numpy writes here
_PHOTOMETRIC = {"MONOCHROME1", "MONOCHROME2", "RGB", "PALETTE COLOR"}  # YBR would be converted on read


def region_mask(ds: Dataset) -> np.ndarray | None:
    """(Rows, Columns) bool: True inside any ultrasound region; None without a usable region."""
    rows, cols = int(ds.Rows), int(ds.Columns)
    mask = np.zeros((rows, cols), bool)
    found = False
    for item in ds.get("SequenceOfUltrasoundRegions", None) or []:
        try:
            x0, y0 = int(item.RegionLocationMinX0), int(item.RegionLocationMinY0)
            x1, y1 = int(item.RegionLocationMaxX1), int(item.RegionLocationMaxY1)
        except (AttributeError, TypeError, ValueError):
            continue
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, cols - 1), min(y1, rows - 1)
        if x1 < x0 or y1 < y0:
            continue
        mask[y0 : y1 + 1, x0 : x1 + 1] = True
        found = True
    return mask if found else None


def _black(ds: Dataset, photometric: str) -> int:
    return int((1 << int(ds.BitsStored)) - 1) if photometric == "MONOCHROME1" else 0


def clean_pixel_data(ds: Dataset) -> tuple[bool, str]:
    """Blank ``ds``'s pixels outside its ultrasound regions in place. (True, what was done) when cleaned
    and BurnedInAnnotation set to NO; (False, why not) when the dataset was left as it was."""
    if str(ds.get("Modality", "")).upper() != "US":
        return False, "Clean Pixel Data is only available for ultrasound"
    if "PixelData" not in ds:
        return False, "the file was read without its pixel data"
    if not ds.get("SequenceOfUltrasoundRegions"):
        return False, "no Sequence of Ultrasound Regions says where the image lies"
    mask = region_mask(ds)
    if mask is None:
        return False, "the Sequence of Ultrasound Regions holds no usable region"
    meta = getattr(ds, "file_meta", None)
    syntax = str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""
    if syntax and syntax not in _NATIVE and syntax != RLELossless:
        return False, f"pixel data in transfer syntax {syntax} cannot be re-encoded here"
    photometric = str(ds.get("PhotometricInterpretation", ""))
    if photometric not in _PHOTOMETRIC or int(ds.BitsAllocated) not in (8, 16):
        return False, f"pixel layout {photometric}, {ds.BitsAllocated} bits is not supported"
    try:
        pixels = np.array(ds.pixel_array)  # a writable copy
    except Exception as exc:
        return False, f"the pixel data could not be decoded ({type(exc).__name__}: {exc})"
    samples = int(ds.get("SamplesPerPixel", 1))
    frames = pixels.reshape((-1, int(ds.Rows), int(ds.Columns)) + ((samples,) if samples > 1 else ()))
    frames[:, ~mask] = _black(ds, photometric)
    if syntax == RLELossless:
        ds.compress(RLELossless, frames.reshape(pixels.shape))
    else:
        if samples > 1 and int(ds.get("PlanarConfiguration", 0)) == 1:
            out = np.ascontiguousarray(np.moveaxis(frames, -1, 1))  # colour-by-plane
        else:
            out = np.ascontiguousarray(frames)
        data = out.tobytes()
        ds.PixelData = data + (b"\0" if len(data) % 2 else b"")
    ds.BurnedInAnnotation = "NO"
    blanked = int(mask.size - mask.sum())
    return True, f"blanked {blanked} pixels outside the ultrasound regions in {len(frames)} frame(s)"
