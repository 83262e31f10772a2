"""The WADO-RS multipart/related splitter, fed in every chunk size, and the search terms."""

from __future__ import annotations

from pathlib import Path

import pytest

from viewers.dicom.dicomweb import MultipartWriter, _boundary
from viewers.dicom.pacs_common import PacsProtocolError, SearchQuery

PARTS = [b"DICM" + bytes(range(256)) * 3, b"", b"\r\n--not-the-boundary\r\n" + b"x" * 1000]


def _body(boundary: bytes) -> bytes:
    out = b"preamble to ignore\r\n"
    for part in PARTS:
        out += b"--" + boundary + b"\r\nContent-Type: application/dicom\r\n\r\n" + part + b"\r\n"
    return out + b"--" + boundary + b"--\r\nepilogue"


@pytest.mark.parametrize("chunk", [1, 7, 64, 100_000])
def test_parts_become_files_whatever_the_chunking(tmp_path: Path, chunk: int) -> None:
    boundary = b"b0undary-123"
    body = _body(boundary)
    writer = MultipartWriter(boundary, tmp_path)
    done = []
    for start in range(0, len(body), chunk):
        done += writer.feed(body[start : start + chunk])
    assert writer.finished
    assert done == writer.files
    assert [path.read_bytes() for path in writer.files] == PARTS


def test_a_cut_stream_leaves_no_half_file(tmp_path: Path) -> None:
    boundary = b"xyz"
    body = _body(boundary)
    writer = MultipartWriter(boundary, tmp_path)
    writer.feed(body[: len(body) // 2])
    writer.close()
    assert not writer.finished
    assert sorted(tmp_path.iterdir()) == sorted(writer.files)  # only complete parts remain
    assert all(path.read_bytes() in PARTS for path in writer.files)


def test_boundary_from_content_type() -> None:
    assert _boundary('multipart/related; type="application/dicom"; boundary="abc def"') == b"abc def"
    assert _boundary("multipart/related; boundary=plain") == b"plain"
    with pytest.raises(PacsProtocolError):
        _boundary("multipart/related; type=application/dicom")


def test_search_query_terms() -> None:
    assert SearchQuery(patient_name="Doe").name_pattern() == "Doe*"
    assert SearchQuery(patient_name="D?e^*").name_pattern() == "D?e^*"
    assert SearchQuery(patient_name=" ").name_pattern() == ""
    assert SearchQuery(date_from="20260101").date_range() == "20260101-"
    assert SearchQuery(date_to="20260131").date_range() == "-20260131"
    assert SearchQuery(date_from="20260101", date_to="20260101").date_range() == "20260101"
    with pytest.raises(ValueError, match="YYYYMMDD"):
        SearchQuery(date_from="2026-01-01")
