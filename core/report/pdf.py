"""The consult report as a PDF (issue #21): A4, in the reader's language, ready to be signed.

:func:`render_pdf` turns one :class:`~core.report.model.Report` into the document the author certifies
and the second reader approves (core/report/signing.py). Every page carries the patient's two
identifiers (name and patient id) and date of birth in its header and "page x of y" in its footer; the
text is set in Noto Sans CJK (Simplified Chinese face), embedded as a subset, so Chinese renders in
either language. The two signature boxes at the end are empty signature fields named ``author`` and
``cosigner``, made here so the signatures only fill fields (what the certification's DocMDP level
allows). A report that is not final carries a "Draft" watermark (draft) or says it awaits the second
signature (pending).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import io
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields, is_dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.enums import Align, TableCellFillMode, TextMode, XPos, YPos
from fpdf.fonts import FontFace, SubsetMap, TTFFont

from core.config.paths import app_paths
from core.report.model import Clinician, ImageRef, Measurement, Report, Section, Status, VitalsSnapshot

# the signature fields render_pdf makes and signing.py fills
AUTHOR_FIELD = "author"
COSIGNER_FIELD = "cosigner"

MM = 72 / 25.4  # points per millimetre

# fonts ---------------------------------------------------------------------------------------------
_CJK_FAMILY = "Noto Sans CJK SC"
_KNOWN_FONT_DIRS = (
    "/usr/share/fonts/opentype/noto",  # Debian, Ubuntu (fonts-noto-cjk)
    "/usr/share/fonts/noto-cjk",  # Arch (noto-fonts-cjk)
    "/usr/share/fonts/google-noto-cjk",  # Fedora
    "/usr/share/fonts/google-noto-sans-cjk-fonts",  # Fedora 39+
    "/usr/share/fonts/truetype/noto",
    "/usr/local/share/fonts",
    "/Library/Fonts",
    "C:/Windows/Fonts",
)


class FontMissingError(RuntimeError):
    """The CJK font the report is set in is not installed."""


@dataclass(frozen=True)
class _Face:
    path: Path
    index: int  # the face in a .ttc collection


def _sc_index(path: Path) -> int:
    """The Simplified Chinese face of a Noto Sans CJK collection (a plain .otf is face 0)."""
    if path.suffix.lower() not in (".ttc", ".otc"):
        return 0
    from fontTools.ttLib import TTCollection

    collection = TTCollection(str(path), lazy=True)
    try:
        for i, font in enumerate(collection.fonts):
            family = font["name"].getDebugName(1) or ""
            if family.endswith("CJK SC"):
                return i
    finally:
        collection.close()
    raise FontMissingError(f"{path} has no Simplified Chinese ({_CJK_FAMILY}) face.")


def _fc_match(pattern: str) -> Path | None:
    if not shutil.which("fc-match"):
        return None
    try:
        out = subprocess.run(
            ["fc-match", "-f", "%{file}", pattern], capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    path = Path(out) if out else None
    return path if path and path.exists() and "CJK" in path.name else None


@functools.lru_cache(maxsize=1)
def _face() -> _Face:
    """The regular Simplified Chinese face of Noto Sans CJK (one face: bold is drawn, see ``bold``)."""
    found = _fc_match(f"{_CJK_FAMILY}:style=Regular")
    if found is None or "Regular" not in found.name:
        found = next(
            (
                Path(d) / n
                for d in _KNOWN_FONT_DIRS
                for n in ("NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular.otf", "NotoSansSC-Regular.otf")
                if (Path(d) / n).exists()
            ),
            None,
        )
    if found is None:
        raise FontMissingError(
            f"The report PDF needs the {_CJK_FAMILY} font (NotoSansCJK-Regular.ttc): install it "
            "(Debian/Ubuntu: apt install fonts-noto-cjk; Fedora: google-noto-sans-cjk-fonts)."
        )
    return _Face(found, _sc_index(found))


# The full face has 65 000 glyphs: parsing and subsetting it costs most of a second. Once per process
# it is cut down to what reports are written in (Latin, punctuation, symbols and the 6 763 hanzi of
# GB 2312), and each document subsets that; a report using a character outside it (a rare hanzi in a
# name) is set from the full face, slower but complete.
_REPERTOIRE_RANGES = (
    (0x20, 0x7E),
    (0xA0, 0x24F),  # Latin-1, Latin Extended-A/B
    (0x370, 0x3FF),  # Greek (µ, α, β ...)
    (0x2000, 0x20CF),  # punctuation, super- and subscripts, currency
    (0x2100, 0x22FF),  # letterlike, number forms, arrows, mathematical operators
    (0x2460, 0x24FF),  # enclosed numbers
    (0x2500, 0x25FF),  # box drawing, shapes
    (0x3000, 0x303F),  # CJK punctuation
    (0xFF00, 0xFFEF),  # full-width forms
)


_REDUCTION_VERSION = 1  # bump when the repertoire or the options change


def _repertoire() -> set[int]:
    points = {c for lo, hi in _REPERTOIRE_RANGES for c in range(lo, hi + 1)}
    for c in range(0x4E00, 0xA000):
        try:
            chr(c).encode("gb2312")
        except UnicodeEncodeError:
            continue
        points.add(c)
    return points


def _open_face(face: _Face) -> TTFont:
    font = TTFont(str(face.path), recalcTimestamp=False, fontNumber=face.index, lazy=True)
    for tag in ("GDEF", "GSUB", "GPOS"):  # no shaping: the subsets drop them; not reading them saves time
        if tag in font:
            del font[tag]
    return font


@functools.lru_cache(maxsize=1)
def _reduced_face() -> bytes:
    """The face cut down to the report repertoire (OpenType/CFF bytes, CID-keyed like the original),
    made once per machine (a few seconds) and kept in the user's cache folder."""
    face = _face()
    stat = face.path.stat()
    name = f"{face.path.stem}-{face.index}-{stat.st_size}-{stat.st_mtime_ns}-report{_REDUCTION_VERSION}.otf"
    try:
        cached = app_paths().cache_dir / "fonts" / name
        if cached.is_file():
            return cached.read_bytes()
    except OSError:
        cached = None
    data = _reduce(face)
    if cached is not None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = cached.with_suffix(f".{os.getpid()}.part")
            partial.write_bytes(data)
            partial.replace(cached)
        except OSError:
            pass  # an unwritable cache: made again by the next process
    return data


def warm_up() -> None:
    """Prepare the font (the first render on a machine pays for it otherwise); safe on any thread."""
    _parsed(True)


def _reduce(face: _Face) -> bytes:
    from fontTools import subset as ftsubset

    font = _open_face(face)
    options = ftsubset.Options(notdef_outline=True, recommended_glyphs=True)
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.drop_tables += ["GDEF", "GSUB", "GPOS", "MATH", "vhea", "vmtx", "VORG"]
    subsetter = ftsubset.Subsetter(options)
    subsetter.populate(unicodes=_repertoire())
    subsetter.subset(font)
    font.recalcBBoxes = False  # the bounding boxes of 7 700 glyphs are the original's: no need to redraw them
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


@functools.lru_cache(maxsize=2)
def _parsed(reduced: bool) -> TTFFont:
    """The face (reduced or full) as fpdf2 parses it (metrics, cmap): the prototype documents copy."""
    scratch = FPDF()
    source: Any = io.BytesIO(_reduced_face()) if reduced else _face().path
    return TTFFont(scratch, source, _FONT, "", collection_font_number=0 if reduced else _face().index)


def _text_of(value: object) -> Iterator[str]:
    """Every string in a report (its dataclasses, tuples and enums), for the repertoire check."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, tuple | list):
        for v in value:
            yield from _text_of(v)
    elif is_dataclass(value) and not isinstance(value, type):
        for f in fields(value):
            yield from _text_of(getattr(value, f.name))


def _fits_reduced(report: Report) -> bool:
    cmap = _parsed(True).cmap
    return all(ord(c) in cmap or c in "\n\r\t" for c in set("".join(_text_of(report))))


# labels --------------------------------------------------------------------------------------------
LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Teleconsultation report",
        "patient": "Patient",
        "patient_id": "ID",
        "birth_date": "DOB",
        "sex": "Sex",
        "page": "Page {x} of {y}",
        "request": "Request",
        "question": "Question",
        "history": "History",
        "requested_by": "Requested by",
        "urgency": "Urgency",
        "findings": "Findings",
        "measurements": "Measurements",
        "label": "Measurement",
        "value": "Value",
        "method": "Method",
        "image": "Image",
        "key_images": "Key images",
        "annotations": "Annotations",
        "vitals": "Vital signs",
        "taken_at": "Taken at",
        "news2": "NEWS2 score",
        "news2_missing": "NEWS2 could not score {what}: the total is a lower bound.",
        "news2_none": "NEWS2 not scored.",
        "impression": "Impression",
        "recommendations": "Recommendations",
        "follow_up": "Follow-up",
        "specialty": "Specialty",
        "consult": "Consult",
        "version": "Version {version} ({kind}), status: {status}",
        "supersedes": "follows version {version}",
        "created": "Written",
        "signatures": "Signatures",
        "author": "Author",
        "cosigner": "Second reader",
        "sign_here": "Digital signature",
        "draft_mark": "Draft — not for clinical use",
        "pending_note": "Signed by the author; awaiting the second reader's signature (below).",
        "final_note": "Final: signed by the author and the second reader.",
        "none": "None.",
        "status.draft": "draft",
        "status.pending": "awaiting second signature",
        "status.final": "final",
        "kind.original": "original",
        "kind.addendum": "addendum",
        "kind.amendment": "amendment",
        "kind.correction": "correction",
        "urgency.routine": "routine",
        "urgency.urgent": "urgent",
        "urgency.emergency": "emergency",
        "sex.M": "male",
        "sex.F": "female",
        "sex.O": "other",
        "sex.U": "unknown",
        "vital.hr": "Heart rate",
        "vital.spo2": "SpO2",
        "vital.rr": "Respiratory rate",
        "vital.sys": "Systolic BP",
        "vital.dia": "Diastolic BP",
        "vital.map": "Mean BP",
        "vital.temp": "Temperature",
    },
    "zh_CN": {
        "title": "远程会诊报告",
        "patient": "患者",
        "patient_id": "患者编号",
        "birth_date": "出生日期",
        "sex": "性别",
        "page": "第 {x} 页，共 {y} 页",
        "request": "会诊申请",
        "question": "会诊问题",
        "history": "病史",
        "requested_by": "申请医生",
        "urgency": "紧急程度",
        "findings": "检查所见",
        "measurements": "测量",
        "label": "测量项",
        "value": "数值",
        "method": "方法",
        "image": "图像",
        "key_images": "关键图像",
        "annotations": "标注",
        "vitals": "生命体征",
        "taken_at": "采集时间",
        "news2": "NEWS2 评分",
        "news2_missing": "NEWS2 无法评分的项目：{what}；总分为下限。",
        "news2_none": "未计算 NEWS2。",
        "impression": "诊断意见",
        "recommendations": "建议",
        "follow_up": "随访",
        "specialty": "专科",
        "consult": "会诊",
        "version": "版本 {version}（{kind}），状态：{status}",
        "supersedes": "接续版本 {version}",
        "created": "撰写时间",
        "signatures": "签名",
        "author": "报告医生",
        "cosigner": "审核医生",
        "sign_here": "数字签名",
        "draft_mark": "草稿 — 不可用于临床",
        "pending_note": "报告医生已签名；等待审核医生签名（见下方）。",
        "final_note": "终稿：报告医生与审核医生均已签名。",
        "none": "无。",
        "status.draft": "草稿",
        "status.pending": "待审核签名",
        "status.final": "终稿",
        "kind.original": "原始报告",
        "kind.addendum": "补充报告",
        "kind.amendment": "修订报告",
        "kind.correction": "更正报告",
        "urgency.routine": "常规",
        "urgency.urgent": "紧急",
        "urgency.emergency": "危急",
        "sex.M": "男",
        "sex.F": "女",
        "sex.O": "其他",
        "sex.U": "未知",
        "vital.hr": "心率",
        "vital.spo2": "血氧饱和度",
        "vital.rr": "呼吸频率",
        "vital.sys": "收缩压",
        "vital.dia": "舒张压",
        "vital.map": "平均动脉压",
        "vital.temp": "体温",
    },
}

# UCUM units as printed
_UNITS = {"mm2": "mm²", "cm2": "cm²", "mm3": "mm³", "deg": "°", "Cel": "°C", "mm[Hg]": "mmHg", "/min": "/min"}


def labels(language: str) -> dict[str, str]:
    """The label table for ``language`` (English for an unknown one)."""
    return LABELS.get(language, LABELS["en"])


def patient_name(name: str) -> str:
    """A DICOM person name (``Family^Given^Middle``) as printed: ``Family Given Middle``."""
    return " ".join(p for p in name.split("^") if p).strip() or name


def _unit(unit: str) -> str:
    return _UNITS.get(unit, unit)


def _number(value: float) -> str:
    return f"{value:.0f}" if value == int(value) and abs(value) >= 100 else f"{value:.3g}"


def _uid_tail(uid: str) -> str:
    """The end of a UID, enough to tell the images of one report apart (the whole UIDs are in the DICOM
    SR and the FHIR bundle): short UID schemes keep their last two components, long random ones their
    last six digits."""
    parts = uid.split(".")
    tail = ".".join(parts[-2:]) if len(parts) > 2 else uid
    return "…" + tail[-6:] if len(tail) > 8 else ("…" + tail if len(parts) > 2 else tail)


def _image_ref(ref: ImageRef) -> str:
    frame = f" f{ref.frame}" if ref.frame else ""
    return f"S {_uid_tail(ref.series_uid)} / I {_uid_tail(ref.sop_instance_uid)}{frame}"


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


# the document --------------------------------------------------------------------------------------
_FONT = "noto"
_BODY = 9.5
_LINE = 4.8
_GREY = (90, 90, 90)
_RULE = (160, 160, 160)


class _ReportPdf(FPDF):
    def __init__(self, report: Report) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.report = report
        self.t = labels(report.language)
        self._add_face(reduced=_fits_reduced(report))
        self.set_margins(16, 28, 16)
        self.set_auto_page_break(True, margin=18)
        self.alias_nb_pages("{nb}")
        self.set_creation_date(report.created_at)
        self.set_title(f"{self.t['title']} — {patient_name(report.patient.name)}")
        self.set_subject(f"{report.patient.patient_id} {patient_name(report.patient.name)}")
        self.set_author(report.author.display_name)
        self.set_creator("Teleconsult Workstation")
        self.set_lang("zh-CN" if report.language == "zh_CN" else "en")
        self.signature_boxes: dict[str, tuple[int, tuple[float, float, float, float]]] = {}

    # fonts
    def _add_face(self, *, reduced: bool) -> None:
        """Add the CJK face: its metrics parsed once per process and shared read-only, its glyphs
        opened afresh for this document's subset (fpdf2 subsets the font object in place)."""
        font = copy.copy(_parsed(reduced))
        font.i = len(self.fonts) + 1
        font.ttfont = (
            TTFont(io.BytesIO(_reduced_face()), recalcTimestamp=False) if reduced else _open_face(_face())
        )
        font.ttfont.recalcBBoxes = False  # the subset keeps the face's box: no need to draw every glyph
        font.missing_glyphs = []
        font.biggest_size_pt = 0
        font.subset = SubsetMap(font)
        self.fonts[_FONT] = font
        self._set_min_pdf_version("1.6")  # CID-keyed CFF

    def ink(self, rgb: tuple[int, int, int]) -> None:
        """Text (and the outline of bold text) in ``rgb``."""
        self.set_text_color(*rgb)
        self.set_draw_color(*rgb)

    def bold(self, size: float = _BODY) -> None:
        """Bold, drawn: the text filled and outlined (one embedded face keeps a render fast)."""
        self.set_font(_FONT, "", size)
        self.text_mode = TextMode.FILL_STROKE
        self.set_line_width(size * 0.0035)

    def regular(self, size: float = _BODY) -> None:
        self.set_font(_FONT, "", size)
        if self.text_mode != TextMode.FILL:
            self.text_mode = TextMode.FILL
            # fpdf2 writes "2 Tr" into each bold text object but never switches back, and the render mode
            # is graphics state: it would outline all the text that follows
            if self.page:
                self._out("0 Tr")
        self.set_line_width(0.2)

    # every page
    def header(self) -> None:
        p = self.report.patient
        t = self.t
        self.ink((0, 0, 0))
        self.set_xy(16, 9)
        self.bold(11)
        self.cell(0, 6, patient_name(p.name), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.regular(8.5)
        dob = p.birth_date.isoformat() if p.birth_date else "—"
        issuer = f" ({p.issuer})" if p.issuer else ""
        sex = t.get(f"sex.{p.sex}", p.sex)
        self.cell(
            0,
            4.5,
            f"{t['patient_id']}: {p.patient_id}{issuer}    {t['birth_date']}: {dob}    {t['sex']}: {sex}",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        self.set_xy(110, 9)
        self.ink(_GREY)
        self.cell(84, 6, t["title"], align=Align.R)
        self.set_xy(110, 15)
        self.cell(
            84, 4.5, f"{t['consult']} #{self.report.consult_id} · v{self.report.version}", align=Align.R
        )
        self.set_draw_color(*_RULE)
        self.line(16, 21, 194, 21)
        self.ink((0, 0, 0))
        if self.report.status is Status.DRAFT:
            self.watermark()
        self.set_y(25)

    def watermark(self) -> None:
        self.ink((225, 190, 190))
        self.bold(34)
        with self.rotation(35, 105, 150):
            width = self.get_string_width(self.t["draft_mark"])
            self.text(105 - width / 2, 150, self.t["draft_mark"])
        self.ink((0, 0, 0))

    def footer(self) -> None:
        self.set_y(-13)
        self.set_draw_color(*_RULE)
        self.line(16, self.get_y() - 1, 194, self.get_y() - 1)
        self.regular(8)
        self.ink(_GREY)
        self.cell(
            90,
            5,
            f"{patient_name(self.report.patient.name)} · {self.report.patient.patient_id}",
            align=Align.L,
        )
        self.cell(0, 5, self.t["page"].format(x=self.page_no(), y="{nb}"), align=Align.R)
        self.ink((0, 0, 0))

    # building blocks
    def heading(self, text: str) -> None:
        if self.get_y() > self.h - 40:  # keep a heading with what follows it
            self.add_page()
        self.ln(2.5)
        self.bold(11.5)
        self.ink((20, 60, 110))
        self.cell(0, 7, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ink((0, 0, 0))
        self.regular()

    def paragraph(self, text: str) -> None:
        self.regular()
        self.multi_cell(0, _LINE, text.strip() or self.t["none"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def field(self, label: str, text: str) -> None:
        self.bold()
        self.cell(34, _LINE, label)
        self.regular()
        self.multi_cell(0, _LINE, text.strip() or "—", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def grid(self, headings: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float]) -> None:
        self.regular(8.5)
        self.set_draw_color(*_RULE)
        with self.table(
            col_widths=tuple(widths),
            headings_style=FontFace(color=(20, 40, 80), fill_color=(228, 234, 242)),
            line_height=4.6,
            cell_fill_color=(246, 246, 246),
            cell_fill_mode=TableCellFillMode.ROWS,
            borders_layout="HORIZONTAL_LINES",
            padding=0.8,
            text_align="LEFT",
            first_row_as_headings=True,
        ) as table:
            table.row(list(headings))
            for r in rows:
                cells = list(r) + [""] * (len(headings) - len(r))
                table.row(cells[: len(headings)])
        self.regular()
        self.ln(1.5)


def _clinician(c: Clinician | None) -> str:
    if c is None:
        return "—"
    return f"{c.display_name} ({c.specialty})" if c.specialty else c.display_name


def _measurement_rows(ms: Sequence[Measurement]) -> list[tuple[str, str, str, str]]:
    return [
        (m.label, f"{_number(m.value)} {_unit(m.unit)}", m.method, "; ".join(_image_ref(i) for i in m.images))
        for m in ms
    ]


def _request(pdf: _ReportPdf, r: Report) -> None:
    t = pdf.t
    pdf.heading(t["request"])
    pdf.field(t["question"], r.question)
    pdf.field(t["history"], r.history)
    pdf.field(t["requested_by"], _clinician(r.requested_by))
    pdf.field(t["urgency"], t.get(f"urgency.{r.urgency}", r.urgency))
    pdf.field(t["specialty"], r.specialty)


def _measurements(pdf: _ReportPdf, ms: Sequence[Measurement]) -> None:
    t = pdf.t
    pdf.heading(t["measurements"])
    if not ms:
        pdf.paragraph("")
        return
    pdf.grid((t["label"], t["value"], t["method"], t["image"]), _measurement_rows(ms), (52, 26, 36, 64))


def _key_images(pdf: _ReportPdf, r: Report) -> None:
    t = pdf.t
    keys = [k for k in r.key_images if k.png]
    if not keys:
        return
    width, gap = 64.0, 14.0
    if pdf.get_y() + width + 30 > pdf.h - 18:  # the heading goes with the first row
        pdf.add_page()
    pdf.heading(t["key_images"])
    for start in range(0, len(keys), 2):
        pair = keys[start : start + 2]
        if pdf.get_y() + width + 18 > pdf.h - 18:
            pdf.add_page()
        top = pdf.get_y()
        bottom = top
        for col, key in enumerate(pair):
            x = pdf.l_margin + col * (width + gap)
            assert key.png is not None
            info = pdf.image(io.BytesIO(key.png), x=x, y=top, w=width)
            y = top + float(info.rendered_height) + 1
            pdf.set_xy(x, y)
            pdf.bold(8.5)
            pdf.multi_cell(width, 4, key.caption or _image_ref(key.ref), new_x=XPos.LEFT, new_y=YPos.NEXT)
            pdf.regular(7.5)
            lines = [_image_ref(key.ref)]
            if key.annotations:
                lines.append(f"{t['annotations']}: " + "; ".join(key.annotations))
            pdf.multi_cell(width, 3.6, "\n".join(lines), new_x=XPos.LEFT, new_y=YPos.NEXT)
            bottom = max(bottom, pdf.get_y())
        pdf.set_xy(pdf.l_margin, bottom + 3)
    pdf.regular()


def _vitals(pdf: _ReportPdf, v: VitalsSnapshot) -> None:
    t = pdf.t
    pdf.heading(t["vitals"])
    pdf.field(t["taken_at"], _when(v.taken_at))
    rows = [(t.get(f"vital.{s.name}", s.name), f"{_number(s.value)} {_unit(s.unit)}") for s in v.values]
    if rows:
        pdf.grid((t["label"], t["value"]), rows, (60, 40))
    if v.news2 is None:
        pdf.paragraph(t["news2_none"])
    else:
        pdf.field(t["news2"], str(v.news2))
        if v.news2_missing:
            what = ", ".join(t.get(f"vital.{m}", m) for m in v.news2_missing)
            pdf.paragraph(t["news2_missing"].format(what=what))


def _section(pdf: _ReportPdf, s: Section) -> None:
    pdf.heading(s.title)
    if s.columns:
        usable = pdf.epw
        pdf.grid(s.columns, s.rows, [usable / len(s.columns)] * len(s.columns))
    if s.note.strip():
        pdf.paragraph(s.note)


def _signatures(pdf: _ReportPdf, r: Report) -> None:
    t = pdf.t
    box_h = 30.0
    if pdf.get_y() + box_h + 22 > pdf.h - 18:
        pdf.add_page()
    pdf.heading(t["signatures"])
    top = pdf.get_y() + 1
    width, gap = 84.0, 10.0
    who = ((AUTHOR_FIELD, t["author"], r.author), (COSIGNER_FIELD, t["cosigner"], r.cosigner))
    for col, (name, role, person) in enumerate(who):
        x = pdf.l_margin + col * (width + gap)
        pdf.set_xy(x, top)
        pdf.bold(8.5)
        pdf.cell(width, 4.5, f"{role}: {person.display_name if person else ''}")
        pdf.set_draw_color(*_RULE)
        pdf.rect(x, top + 5, width, box_h)
        pdf.set_xy(x + 1, top + 5 + box_h - 5)
        pdf.regular(7)
        pdf.ink(_GREY)
        pdf.cell(width - 2, 4, t["sign_here"])
        pdf.ink((0, 0, 0))
        # the field's box in PDF user space (points, origin bottom left)
        y_bottom = pdf.h - (top + 5 + box_h)
        box = (x * MM, y_bottom * MM, (x + width) * MM, (y_bottom + box_h) * MM)
        pdf.signature_boxes[name] = (pdf.page_no() - 1, box)
    pdf.set_xy(pdf.l_margin, top + 5 + box_h + 3)


def _build(r: Report) -> _ReportPdf:
    pdf = _ReportPdf(r)
    t = pdf.t
    pdf.add_page()
    pdf.bold(15)
    pdf.cell(0, 8, t["title"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.regular(8.5)
    version = t["version"].format(
        version=r.version, kind=t[f"kind.{r.kind.value}"], status=t[f"status.{r.status.value}"]
    )
    if r.supersedes is not None:
        version += " · " + t["supersedes"].format(version=r.supersedes)
    pdf.cell(0, 4.5, version, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.cell(
        0,
        4.5,
        f"{t['created']}: {_when(r.created_at)} · {t['author']}: {_clinician(r.author)}",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    note = {Status.DRAFT: "draft_mark", Status.PENDING: "pending_note", Status.FINAL: "final_note"}[r.status]
    pdf.ink((170, 30, 30) if r.status is Status.DRAFT else _GREY)
    pdf.cell(0, 4.5, t[note], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ink((0, 0, 0))

    _request(pdf, r)
    pdf.heading(t["findings"])
    pdf.paragraph(r.findings)
    _measurements(pdf, r.measurements)
    _key_images(pdf, r)
    if r.vitals is not None:
        _vitals(pdf, r.vitals)
    for s in r.sections:
        _section(pdf, s)
    pdf.heading(t["impression"])
    pdf.paragraph(r.impression)
    pdf.heading(t["recommendations"])
    pdf.paragraph(r.recommendations)
    pdf.heading(t["follow_up"])
    pdf.paragraph(r.follow_up)
    _signatures(pdf, r)
    return pdf


def _with_signature_fields(
    document: bytes, boxes: dict[str, tuple[int, tuple[float, float, float, float]]], moment: datetime
) -> bytes:
    """The document rewritten (one revision) with the empty signature fields in their boxes; dated
    ``moment`` (the report's), not the clock: the same report, the same file."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.pdf_utils.writer import copy_into_new_writer
    from pyhanko.sign.fields import SigFieldSpec, append_signature_field

    writer = copy_into_new_writer(PdfFileReader(io.BytesIO(document), strict=False))
    # the file identifier from the content rather than random bytes: the same report, the same file
    digest = hashlib.sha256(document).digest()[:16]
    writer._document_id = generic.ArrayObject([generic.ByteStringObject(digest)] * 2)
    for name, (page, box) in boxes.items():
        rounded: Any = tuple(round(v) for v in box)
        append_signature_field(writer, SigFieldSpec(sig_field_name=name, on_page=page, box=rounded))
    stamp_meta = writer._update_meta  # pyHanko dates the rewrite with the clock (ModDate); ours instead

    def dated_meta() -> None:
        stamp_meta()
        info = writer._info.get_object() if writer._info is not None else None
        if info is not None and "/ModDate" in info:
            info["/ModDate"] = generic.pdf_date(moment)

    writer._update_meta = dated_meta  # type: ignore[method-assign]
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def render_pdf(report: Report) -> bytes:
    """The report as an A4 PDF in ``report.language``, with empty ``author`` and ``cosigner`` fields."""
    pdf = _build(report)
    return _with_signature_fields(bytes(pdf.output()), pdf.signature_boxes, report.created_at)
