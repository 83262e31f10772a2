"""Discovery's own reader of plain explicit-VR-little-endian headers gives exactly what pydicom's
dcmread gives (every element, the pixel data offset), and hands everything else to dcmread."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from pydicom.uid import ImplicitVRLittleEndian

from viewers.dicom import discovery, synthetic
from viewers.dicom.discovery import InstanceHeader, Rejected, discover, read_header


def _both(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[InstanceHeader, InstanceHeader]:
    monkeypatch.setattr(discovery, "FAST_HEADERS", True)
    fast = read_header(path)
    monkeypatch.setattr(discovery, "FAST_HEADERS", False)
    slow = read_header(path)
    assert isinstance(fast, InstanceHeader) and isinstance(slow, InstanceHeader)
    return fast, slow


def _used_fast_reader(path: Path) -> bool:
    with path.open("rb") as fp:
        return discovery._fast_header(fp) is not None


def _assert_same(fast: InstanceHeader, slow: InstanceHeader) -> None:
    assert fast.dataset.to_json_dict() == slow.dataset.to_json_dict()
    assert fast.dataset.file_meta.to_json_dict() == slow.dataset.file_meta.to_json_dict()
    assert fast.dataset.original_encoding[:2] == slow.dataset.original_encoding[:2] == (False, True)
    assert (fast.pixel_offset, fast.pixel_length) == (slow.pixel_offset, slow.pixel_length)
    assert (fast.transfer_syntax_uid, fast.sop_class_uid, fast.instance_number, fast.number_of_frames) == (
        slow.transfer_syntax_uid,
        slow.sop_class_uid,
        slow.instance_number,
        slow.number_of_frames,
    )


@pytest.mark.parametrize("syntax", [None, synthetic.RLE_LOSSLESS, synthetic.JPEG_LOSSLESS_SV1])
def test_plain_and_compressed_ct_headers_match_dcmread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, syntax: str | None
) -> None:
    written = synthetic.write_ct_series(tmp_path, (2, 32, 32), anatomy="chest")
    if syntax is not None:
        synthetic.compress_series(written, syntax)
    path = written.paths[0]
    assert _used_fast_reader(path)
    fast, slow = _both(path, monkeypatch)
    _assert_same(fast, slow)
    if syntax is None:  # native pixels: the offset points at exactly the stored values
        assert fast.pixel_offset is not None and fast.pixel_length == 32 * 32 * 2
        raw = path.read_bytes()[fast.pixel_offset : fast.pixel_offset + fast.pixel_length]
        assert raw == pydicom.dcmread(path).PixelData


def test_chinese_patient_name_decodes_through_the_fast_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = synthetic.write_ct_series(tmp_path, (1, 8, 8), patient_name="Zhang^Wei")
    ds = pydicom.dcmread(written.paths[0])
    ds.SpecificCharacterSet = "GB18030"
    ds.PatientName = "张^伟"
    ds.save_as(written.paths[0], enforce_file_format=True)
    assert _used_fast_reader(written.paths[0])
    fast, slow = _both(written.paths[0], monkeypatch)
    _assert_same(fast, slow)
    assert str(fast.dataset.PatientName) == "张^伟"


def test_what_the_fast_reader_leaves_to_dcmread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    enhanced, _ = synthetic.write_enhanced_ct(tmp_path / "enhanced")  # sequences
    cine = synthetic.write_us_cine(tmp_path / "us")
    implicit = synthetic.write_ct_series(tmp_path / "implicit", (1, 8, 8)).paths[0]
    ds = pydicom.dcmread(implicit)
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    ds.save_as(implicit, implicit_vr=True, little_endian=True)
    large = synthetic.write_ct_series(tmp_path / "large", (1, 8, 8)).paths[0]
    ds = pydicom.dcmread(large)
    ds.add_new(0x00090010, "LO", "TELECONSULT TEST")
    ds.add_new(0x00091000, "UT", "x" * 40_000)  # a header longer than the fast reader's first read
    ds.save_as(large, enforce_file_format=True)
    assert not _used_fast_reader(enhanced)
    assert not _used_fast_reader(implicit)
    assert not _used_fast_reader(large)
    assert _used_fast_reader(cine)
    for path in (enhanced, cine, large):
        fast, slow = _both(path, monkeypatch)
        _assert_same(fast, slow)
    fast, slow = _both(implicit, monkeypatch)
    assert fast.dataset.original_encoding[0] is True and fast.pixel_offset == slow.pixel_offset
    assert fast.dataset.to_json_dict() == slow.dataset.to_json_dict()


def test_damage_inside_the_first_read_is_reported_as_before(tmp_path: Path) -> None:
    written = synthetic.write_ct_series(tmp_path, (4, 16, 16), shuffle_names=False)
    data = written.paths[0].read_bytes()
    header = read_header(written.paths[0])
    assert isinstance(header, InstanceHeader) and header.pixel_offset is not None
    written.paths[0].write_bytes(data[: header.pixel_offset - 40])  # cut inside an element
    bad_length = bytearray(data)
    at = bad_length.index(b"PN") + 2  # PatientName's 2-byte length now runs past the file
    bad_length[at : at + 2] = (0xFFF0).to_bytes(2, "little")
    written.paths[1].write_bytes(bytes(bad_length))
    result = discover(tmp_path)
    reasons = {r.path.name: r.reason for r in result.rejected}
    assert set(reasons) == {written.paths[0].name, written.paths[1].name}
    assert all(reason for reason in reasons.values())
    assert not isinstance(read_header(written.paths[2]), Rejected)
    assert sum(s.instance_count for s in result.all_series()) == 2
