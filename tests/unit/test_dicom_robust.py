"""One damaged file never stops a folder: every header value is converted inside the per-file error
handling, so an unknown VR, a bad length or a bad value rejects that file and the rest loads."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from viewers.dicom.discovery import InstanceHeader, discover, read_header
from viewers.dicom.synthetic import write_ct_series, write_us_cine
from viewers.dicom.volume import load_volume


def _element_at(data: bytes, tag: int, vr: bytes) -> int:
    """Where the explicit VR little endian element ``tag`` with ``vr`` starts in ``data``."""
    at = data.find(struct.pack("<HH", tag >> 16, tag & 0xFFFF) + vr, 132)
    assert at > 0, f"{tag:08X} not in file"
    return at


def _set_value(path: Path, tag: int, vr: bytes, value: bytes) -> None:
    """Overwrite the (short-form) element's value with ``value`` padded to the same length."""
    data = bytearray(path.read_bytes())
    at = _element_at(bytes(data), tag, vr)
    (length,) = struct.unpack_from("<H", data, at + 6)
    assert len(value) <= length
    data[at + 8 : at + 8 + length] = value.ljust(length, b" ")
    path.write_bytes(bytes(data))


def test_unknown_vr_rejects_one_file_and_the_series_loads_without_it(tmp_path: Path) -> None:
    ct = write_ct_series(tmp_path, (41, 8, 8))
    bad = ct.paths[20]
    data = bytearray(bad.read_bytes())
    at = _element_at(bytes(data), 0x00180050, b"DS")  # Slice Thickness
    data[at + 4] ^= 0x02  # a bit flip: "DS" becomes "FS", two letters that are no VR
    bad.write_bytes(bytes(data))

    found = discover(tmp_path)
    assert [r.path for r in found.rejected] == [bad]
    assert "unknown Value Representation" in found.rejected[0].reason
    assert "(0018,0050)" in found.rejected[0].reason
    (series,) = found.all_series()
    assert series.instance_count == 40
    result = load_volume(series.instances, max_workers=1)
    assert result.volume.array.shape == (40, 8, 8)
    assert "gap" in {w.code for w in result.warnings}  # the missing slice is reported


@pytest.mark.parametrize(
    ("tag", "vr", "value"),
    [
        (0x00180050, b"DS", b"abc"),  # Slice Thickness
        (0x00280030, b"DS", b"0.8\\x"),  # Pixel Spacing
        (0x00200032, b"DS", b"nan"),  # Image Position (Patient)
        (0x00281053, b"DS", b"inf"),  # Rescale Slope: not finite
        (0x00200013, b"IS", b"??"),  # Instance Number
    ],
)
def test_a_bad_number_rejects_that_file_only(tmp_path: Path, tag: int, vr: bytes, value: bytes) -> None:
    ct = write_ct_series(tmp_path, (6, 8, 8))
    bad = ct.paths[2]
    _set_value(bad, tag, vr, value)
    found = discover(tmp_path)
    assert [r.path for r in found.rejected] == [bad]
    where = f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
    assert where in found.rejected[0].reason and "not a finite number" in found.rejected[0].reason
    (series,) = found.all_series()
    assert series.instance_count == 5
    assert load_volume(series.instances, max_workers=1).volume.array.shape == (5, 8, 8)


def test_frame_time_that_is_not_a_number_rejects_the_cine(tmp_path: Path) -> None:
    cine = write_us_cine(tmp_path / "us", frames=3, rows=8, cols=8)
    write_ct_series(tmp_path / "ct", (3, 8, 8))
    _set_value(cine, 0x00181063, b"DS", b"fast")  # Frame Time
    found = discover(tmp_path)
    assert [r.path for r in found.rejected] == [cine]
    assert "(0018,1063)" in found.rejected[0].reason
    assert [s.modality for s in found.all_series()] == ["CT"]


def test_bad_length_field_is_rejected_with_its_reason(tmp_path: Path) -> None:
    ct = write_ct_series(tmp_path, (3, 8, 8))
    data = bytearray(ct.paths[0].read_bytes())
    at = _element_at(bytes(data), 0x00280100, b"US")  # Bits Allocated, 2 bytes
    data[at + 6 : at + 8] = struct.pack("<H", 3)  # 3 bytes cannot hold an unsigned short
    data[at + 8 : at + 10] = b"\x10\x00"
    ct.paths[0].write_bytes(bytes(data))
    outcome = read_header(ct.paths[0])
    assert not isinstance(outcome, InstanceHeader)
    assert outcome.reason.startswith("corrupt header")
    assert len(discover(tmp_path).all_series()[0].instances) == 2


@pytest.mark.parametrize(("tag", "value"), [(0x00280010, 0), (0x00280011, 0)])
def test_zero_rows_or_columns_is_rejected(tmp_path: Path, tag: int, value: int) -> None:
    ct = write_ct_series(tmp_path, (3, 8, 8))
    data = bytearray(ct.paths[1].read_bytes())
    at = _element_at(bytes(data), tag, b"US")
    data[at + 8 : at + 10] = struct.pack("<H", value)
    ct.paths[1].write_bytes(bytes(data))
    found = discover(tmp_path)
    assert [r.path for r in found.rejected] == [ct.paths[1]]
    assert "not a positive whole number" in found.rejected[0].reason
    assert found.all_series()[0].instance_count == 2


def test_every_value_of_an_accepted_header_is_already_converted(tmp_path: Path) -> None:
    from pydicom.dataelem import RawDataElement

    ct = write_ct_series(tmp_path, (2, 8, 8))
    header = read_header(ct.paths[0])
    assert isinstance(header, InstanceHeader)
    assert not any(isinstance(v, RawDataElement) for v in header.dataset._dict.values())


def _patch(path: Path, tag: int, vr: bytes, offset: int, new: bytes) -> None:
    data = bytearray(path.read_bytes())
    at = _element_at(bytes(data), tag, vr)
    data[at + offset : at + offset + len(new)] = new
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("tag", "vr", "offset", "new", "reason"),
    [
        (0x00280101, b"US", 4, b"SH", "has VR SH"),  # Bits Stored read as text
        (0x00280101, b"US", 8, b"\x00\x10", "Bits Stored is 4096"),
        (0x00280103, b"US", 8, b"\x07\x00", "Pixel Representation"),
        (0x00180050, b"DS", 8, b"1\\", "holds 2 values, not 1"),  # Slice Thickness "1\..."
    ],
)
def test_values_the_loader_reads_are_checked(
    tmp_path: Path, tag: int, vr: bytes, offset: int, new: bytes, reason: str
) -> None:
    ct = write_ct_series(tmp_path, (4, 8, 8))
    bad = ct.paths[1]
    _patch(bad, tag, vr, offset, new)
    found = discover(tmp_path)
    assert [r.path for r in found.rejected] == [bad]
    assert reason in found.rejected[0].reason
    (series,) = found.all_series()
    assert load_volume(series.instances, max_workers=1).volume.array.shape[0] == 3


def test_zero_orientation_vector_is_rejected(tmp_path: Path) -> None:
    ct = write_ct_series(tmp_path, (4, 8, 8))
    bad = ct.paths[0]
    data = bad.read_bytes()
    at = _element_at(data, 0x00200037, b"DS")
    (length,) = struct.unpack_from("<H", data, at + 6)
    _set_value(bad, 0x00200037, b"DS", b"0\\0\\0\\0\\1\\0".ljust(length)[:length])
    found = discover(tmp_path)
    assert [r.path for r in found.rejected] == [bad]
    assert "zero vector" in found.rejected[0].reason
