"""The consult report PDF (core/report/pdf.py), read back with poppler's own tools."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest

from core.report.model import Kind, Status
from core.report.pdf import LABELS, labels, patient_name, render_pdf
from tests.report_samples import PATIENT, sample_report


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"poppler's {name} is needed (Debian: apt install poppler-utils)", pytrace=False)
    return path


def _run(*args: str) -> str:
    return subprocess.run(list(args), capture_output=True, text=True, check=True, timeout=60).stdout


def _pages(pdf: bytes, tmp_path: Path) -> list[str]:
    """The text of each page (pdftotext -layout; pages end with a form feed)."""
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    text = _run(_tool("pdftotext"), "-layout", str(path), "-")
    return [p for p in text.split("\f") if p.strip()]


@pytest.fixture(scope="module")
def rendered() -> dict[str, bytes]:
    out = {}
    for language in ("en", "zh_CN"):
        report = sample_report(measurements=20, key_images=10, language=language)
        start = time.perf_counter()
        out[language] = render_pdf(report)
        # information only (the first render in a process also prepares the font)
        print(f"render {language}: {time.perf_counter() - start:.3f} s, {len(out[language])} bytes")
    return out


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_every_page_names_the_patient_and_counts_the_pages(rendered, language, tmp_path):
    pages = _pages(rendered[language], tmp_path)
    assert len(pages) >= 2  # 20 measurements and 10 key images do not fit one page
    t = labels(language)
    for number, page in enumerate(pages, start=1):
        assert PATIENT.patient_id in page, f"page {number} lacks the patient id"
        assert patient_name(PATIENT.name) in page, f"page {number} lacks the patient name"
        assert "1961-03-14" in page, f"page {number} lacks the date of birth"
        assert t["page"].format(x=number, y=len(pages)) in page


def test_english_sections_in_order(tmp_path):
    final = replace(sample_report(measurements=20, key_images=10), status=Status.FINAL)
    text = "\n".join(_pages(render_pdf(final), tmp_path))
    t = LABELS["en"]
    order = [
        t["request"],
        t["findings"],
        t["measurements"],
        t["key_images"],
        t["vitals"],
        "ECG measurements",
        t["impression"],
        t["recommendations"],
        t["follow_up"],
        t["signatures"],
    ]
    found = [re.search(rf"^{re.escape(heading)}$", text, re.MULTILINE) for heading in order]
    positions = [m.start() if m else -1 for m in found]
    assert all(p >= 0 for p in positions), dict(zip(order, positions, strict=True))
    assert positions == sorted(positions)
    # the request, the figures with their units, the image references, NEWS2, the status line
    assert "Chest pain for 3 hours" in text
    assert "Li Ming" in text
    assert "urgent" in text
    assert re.search(r"Nodule 20 long axis\s+22\.8 mm\s+distance", text)
    assert "Nodule 3 area" in text and "42 mm²" in text
    assert "S …498.2 / I …3.1" in text
    assert "NEWS2 score" in text
    assert "QTc" in text and "452" in text
    assert "Key image 10" in text and "arrow: nodule" in text
    assert "Version 1 (original), status: final" in text
    assert "Final: signed by the author and the second reader." in text


def test_a_draft_says_so(rendered, tmp_path):
    pages = _pages(rendered["en"], tmp_path)
    assert "Version 1 (original), status: draft" in pages[0]
    assert "Draft — not for clinical use" in pages[0]


def test_chinese_labels_and_news2_missing_note(tmp_path):
    report = sample_report(language="zh_CN")
    assert report.vitals is not None
    report = replace(
        report,
        vitals=replace(report.vitals, news2_missing=("temp",)),
        impression="考虑急性非ST段抬高型心肌梗死。",
        status=Status.PENDING,
    )
    text = "\n".join(_pages(render_pdf(report), tmp_path))
    t = LABELS["zh_CN"]
    for key in ("title", "request", "findings", "measurements", "key_images", "vitals", "impression"):
        assert t[key] in text, key
    assert "考虑急性非ST段抬高型心肌梗死。" in text
    assert "NEWS2 无法评分的项目：体温" in text
    assert t["pending_note"] in text
    assert t["draft_mark"] not in text  # only a draft carries the watermark
    assert "第 1 页，共" in text


def test_cjk_font_is_embedded_as_a_subset(rendered, tmp_path):
    for language, pdf in rendered.items():
        path = tmp_path / f"{language}.pdf"
        path.write_bytes(pdf)
        rows = _run(_tool("pdffonts"), str(path)).splitlines()[2:]
        assert rows, "no fonts listed"
        for row in rows:
            # name type... emb sub uni: every font is the embedded, subset CID font
            assert "NotoSansCJK" in row and "CID" in row, row
            emb, sub, uni = row.split()[-5:-2]
            assert (emb, sub, uni) == ("yes", "yes", "yes"), row
        assert len(pdf) < 600_000  # a subset, not the 19 MB collection


def test_key_images_are_in_the_document(rendered, tmp_path):
    path = tmp_path / "en.pdf"
    path.write_bytes(rendered["en"])
    rows = [r for r in _run(_tool("pdfimages"), "-list", str(path)).splitlines()[2:] if r.strip()]
    images = [r for r in rows if r.split()[2] == "image"]
    assert len(images) == 10
    assert all(r.split()[3:5] == ["96", "96"] for r in images)


def test_a_rare_character_outside_the_prepared_repertoire_still_renders(tmp_path):
    rare = "䶮"  # CJK Extension A: not in GB 2312, in Noto Sans CJK
    report = replace(sample_report(), patient=replace(PATIENT, name=f"Liu^Yan{rare}"))
    pages = _pages(render_pdf(report), tmp_path)
    assert all(f"Liu Yan{rare}" in p for p in pages)


def test_signature_fields_and_version_line(tmp_path):
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.fields import enumerate_sig_fields

    report = replace(sample_report(), version=2, kind=Kind.ADDENDUM, supersedes=1, status=Status.FINAL)
    pdf = render_pdf(report)
    reader = PdfFileReader(io.BytesIO(pdf))
    fields = {name: value for name, value, _ in enumerate_sig_fields(reader)}
    assert fields == {"author": None, "cosigner": None}  # empty, for signing.py to fill
    assert reader.xrefs.total_revisions == 1
    text = "\n".join(_pages(pdf, tmp_path))
    assert "Version 2 (addendum), status: final · follows version 1" in text
    assert "Draft" not in text


def test_rendering_is_deterministic():
    report = sample_report(measurements=5, key_images=2)
    assert render_pdf(report) == render_pdf(report)


def test_a_missing_cjk_font_is_a_clear_error(monkeypatch, tmp_path):
    from core.report import pdf as report_pdf

    monkeypatch.setattr(report_pdf, "_fc_match", lambda pattern: None)
    monkeypatch.setattr(report_pdf, "_KNOWN_FONT_DIRS", (str(tmp_path),))
    with pytest.raises(report_pdf.FontMissingError, match="apt install fonts-noto-cjk"):
        report_pdf._face.__wrapped__()


def test_the_simplified_chinese_face_is_found():
    from fontTools.ttLib import TTFont

    from core.report import pdf as report_pdf

    face = report_pdf._face()
    font = TTFont(str(face.path), fontNumber=face.index, lazy=True)
    assert font["name"].getDebugName(1) == "Noto Sans CJK SC"
