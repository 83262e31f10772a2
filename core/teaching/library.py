"""The case library (a folder of recordings with their manifests) and de-identified teaching files.

:func:`make_teaching_case` turns a recorded consult into a case trainees may see: the patient becomes
the site's stable pseudonym (core/consult/patient.py) in the manifest and in every track (chat and annotation
text with the patient's name or identifier replaced, whatever its spelling: "Wang Min", "Min Wang",
"WANG^MIN"), the study and series UIDs in view states and annotations are replaced with the same
mapping as the imaging, and the imaging that travels with the recording is de-identified with the
PS3.15 basic profile (viewers/dicom/deid.py). The original recording is only read.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from core.consult.patient import Patient
from core.teaching.scoring import PAUSE_POINTS
from core.teaching.tracks import MANIFEST, TRACKS, Manifest, PatientInfo
from viewers.dicom.deid import UidMapper, deidentify_files

log = logging.getLogger(__name__)

_UID_RE = re.compile(r"^[0-9]+(\.[0-9]+)*$")
LIBRARY_FOLDER = "case-library"


def default_library_root(data_dir: Path) -> Path:
    """The workstation's case library (recordings and the teaching files made from them), under the
    user's data folder (core/config/paths.py ``AppPaths.data_dir``)."""
    return Path(data_dir) / LIBRARY_FOLDER


@dataclass(frozen=True)
class CaseEntry:
    folder: Path
    manifest: Manifest

    @property
    def case_id(self) -> str:
        return self.manifest.id

    @property
    def title(self) -> str:
        return self.manifest.title


@dataclass
class CaseLibrary:
    """Every sub-folder of ``root`` holding a valid manifest.json is a case; the others are reported in
    ``problems`` and skipped."""

    root: Path
    problems: list[tuple[Path, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        self.root.mkdir(parents=True, exist_ok=True)

    def cases(self) -> list[CaseEntry]:
        self.problems = []
        found: list[CaseEntry] = []
        for folder in sorted(p for p in self.root.iterdir() if p.is_dir()):
            if not (folder / MANIFEST).is_file():
                continue
            try:
                found.append(CaseEntry(folder, Manifest.read(folder)))
            except (OSError, ValueError, ValidationError) as exc:
                self.problems.append((folder, f"{type(exc).__name__}: {exc}"[:300]))
                log.warning("case library: %s skipped: %s", folder, exc)
        found.sort(key=lambda c: c.manifest.started_at, reverse=True)
        return found

    def search(
        self,
        text: str = "",
        *,
        specialty: str | None = None,
        tags: Iterable[str] = (),
        deidentified_only: bool = False,
    ) -> list[CaseEntry]:
        """Cases of ``specialty`` carrying every tag in ``tags`` (case-insensitive) whose title, tags or
        chapter titles contain ``text``."""
        wanted = {t.casefold() for t in tags}
        needle = text.casefold().strip()
        out = []
        for case in self.cases():
            m = case.manifest
            if specialty and m.specialty.casefold() != specialty.casefold():
                continue
            if not wanted <= {t.casefold() for t in m.tags}:
                continue
            if deidentified_only and not m.deidentified:
                continue
            haystack = " ".join([m.title, *m.tags, *(c.title for c in m.chapters)]).casefold()
            if needle and needle not in haystack:
                continue
            out.append(case)
        return out

    def specialties(self) -> list[str]:
        return sorted({c.manifest.specialty for c in self.cases() if c.manifest.specialty})

    def tags(self) -> list[str]:
        return sorted({t for c in self.cases() for t in c.manifest.tags})

    def get(self, case_id: str) -> CaseEntry | None:
        return next((c for c in self.cases() if c.case_id == case_id), None)

    def add_teaching_case(self, recording: Path, site_salt: bytes, **kwargs: Any) -> CaseEntry:
        """De-identify ``recording`` into a new case folder of this library."""
        folder = self.root / f"case-{uuid.uuid4().hex[:12]}"
        manifest = make_teaching_case(recording, folder, site_salt, **kwargs)
        return CaseEntry(folder, manifest)


# --- pseudonymisation ---------------------------------------------------------------------------------
def _name_variants(name: str) -> list[str]:
    parts = [p for p in re.split(r"[\s^,]+", name) if p]
    variants = {
        name.strip(),
        " ".join(parts),
        " ".join(reversed(parts)),
        "^".join(parts),
        "^".join(reversed(parts)),
        ", ".join(reversed(parts)),
        "".join(parts),
    }
    return sorted((v for v in variants if v), key=len, reverse=True)


def _pattern(text: str) -> str:
    escaped = re.escape(text)
    if text.isascii():  # CJK names have no word boundaries to anchor on
        return rf"(?<!\w){escaped}(?!\w)"
    return escaped


def identity_replacer(
    patient: Patient, pseudonym: Patient, extra: Iterable[str] = ()
) -> Callable[[str], str]:
    """A function that replaces the patient's name (full, reordered, DICOM ``^`` form, any case; each
    name part on its own as a capitalised word), identifier and any ``extra`` identifying words."""
    extra = tuple(extra)
    rules: list[tuple[re.Pattern[str], str]] = []
    full = [_pattern(v) for v in _name_variants(patient.name)]
    if full:
        rules.append((re.compile("|".join(full), re.IGNORECASE), pseudonym.name))
    rules.append((re.compile(_pattern(patient.patient_id), re.IGNORECASE), pseudonym.patient_id))
    words = [w for w in (*re.split(r"[\s^,]+", patient.name), *extra) if len(w) >= 2]
    for word in sorted(set(words), key=len, reverse=True):
        flags = re.IGNORECASE if word in extra else 0
        rules.append((re.compile(_pattern(word), flags), pseudonym.name))

    def replace(text: str) -> str:
        for pattern, new in rules:
            text = pattern.sub(new, text)
        return text

    return replace


def _scrub(value: Any, replace: Callable[[str], str], uids: UidMapper, key: str = "") -> Any:
    if isinstance(value, str):
        if key.endswith("_uid") and _UID_RE.match(value):
            return uids(value)
        return replace(value)
    if isinstance(value, dict):
        return {k: _scrub(v, replace, uids, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, replace, uids, key) for v in value]
    return value


def _copy_pause_points(source: Path, dest: Path, replace: Callable[[str], str]) -> None:
    """The instructor's pause points travel with the teaching file, their questions pseudonymised (the
    trainees' scores do not: they belong to the recording they were given on)."""
    path = source / PAUSE_POINTS
    if not path.is_file():
        return
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        points = data["pause_points"]
        for point in points:
            point["question"] = replace(str(point["question"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("teaching case: pause points of %s not copied: %s", source, exc)
        return
    (dest / PAUSE_POINTS).write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")


def make_teaching_case(
    source: Path,
    dest: Path,
    site_salt: bytes,
    *,
    title: str | None = None,
    tags: Iterable[str] | None = None,
    extra_identifiers: Iterable[str] = (),
) -> Manifest:
    """Write a de-identified copy of the recording at ``source`` into ``dest`` (which must not exist)
    and return its manifest. Vitals batches carry no identity and are copied as they are; the video
    is copied too (a face or burnt-in text in the picture is the instructor's to review)."""
    source, dest = Path(source), Path(dest)
    manifest = Manifest.read(source)
    if manifest.patient is None:
        raise ValueError("the recording names no patient: nothing to pseudonymise against")
    patient = manifest.patient.to_patient()
    pseudonym = patient.pseudonymised(site_salt)
    replace = identity_replacer(patient, pseudonym, extra_identifiers)
    uids = UidMapper()
    dest.mkdir(parents=True, exist_ok=False)
    try:
        if manifest.imaging:
            imaging = source / Path(manifest.imaging).name
            report = deidentify_files(imaging, dest / "imaging", uids=uids)
            log.info(
                "teaching case: %d images de-identified, %d rejected",
                len(report.written),
                len(report.rejected),
            )
        for name in TRACKS:
            info = manifest.tracks.get(name)
            if info is None or Path(info.file).name != info.file or not (source / info.file).is_file():
                continue
            with (
                (source / info.file).open(encoding="utf-8") as src,
                (dest / info.file).open("w", encoding="utf-8") as out,
            ):
                for line in src:
                    try:
                        event = json.loads(line)
                    except ValueError:
                        continue  # a torn last line
                    if name != "vitals":
                        event["data"] = _scrub(event.get("data"), replace, uids)
                    out.write(json.dumps(event, separators=(",", ":"), ensure_ascii=False) + "\n")
        _copy_pause_points(source, dest, replace)
        if manifest.media.file and (source / manifest.media.file).is_file():
            shutil.copyfile(source / manifest.media.file, dest / manifest.media.file)
        case = manifest.model_copy(deep=True)
        case.id = uuid.uuid4().hex
        case.title = replace(title if title is not None else manifest.title)
        case.tags = [replace(t) for t in (tags if tags is not None else manifest.tags)]
        case.chapters = [c.model_copy(update={"title": replace(c.title)}) for c in manifest.chapters]
        case.patient = PatientInfo.of(pseudonym)
        case.deidentified = True
        case.imaging = "imaging" if manifest.imaging else None
        case.write(dest)
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    return case
