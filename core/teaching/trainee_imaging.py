"""Imaging for trainees: every study a trainee's workstation shows is a de-identified copy. Qt-free.

:class:`TraineeImagingCache` turns identified DICOM (a folder from the prefetch cache, a PACS retrieve,
the demo study) into a copy under a trainee-only folder, and only that copy is ever discovered and
loaded. The copy follows the PS3.15 Basic Profile of :mod:`viewers.dicom.deid` (names, identifiers,
free text and private tags gone; dates emptied or removed) with two options:

- *Retain UIDs* (PS3.15 E.3.9, code 113110): Study, Series and SOP Instance UIDs (and the frame of
  reference) are kept, so the instructor's mirrored view state (which names the study and series) and
  the consult's Study Instance UID still match on the trainee's side.
- The patient becomes the backend's stable pseudonym ("Patient XXXX", "ANON-XXXX") of the consult that
  has the study, so the images and the patient banner agree; without such a consult, a site-stable
  pseudonym from the workstation's salt (core/consult/patient.py).

Any text the profile keeps is also scrubbed of the original name and identifier (every spelling
:func:`core.teaching.library.identity_replacer` knows). The originals are only read; a study fetched
from PACS for the trainee is retrieved into a staging folder that is deleted once the copy is made.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydicom
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from core.consult.patient import Patient
from core.teaching.library import identity_replacer
from viewers.dicom.deid import UidMapper, deidentify_dataset, save_copy
from viewers.dicom.discovery import Rejected, find_files

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
COMPLETE = ".complete"
CACHE_VERSION = 1
# CID 7050 code of the Retain UIDs option (dates are not retained: the basic profile empties them)
RETAIN_UIDS_CODE = ("113110", "DCM", "Retain UIDs Option")
METHOD_NOTE = "Retain UIDs; pseudonym of the consult (teaching)"  # LO: at most 64 characters
_TEXT_VRS = {"AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UT"}


class RetainUids(UidMapper):
    """The PS3.15 Retain UIDs option: every UID maps to itself."""

    def __call__(self, uid: str) -> str:
        uid = str(uid).strip()
        self.mapping[uid] = uid
        return uid


@dataclass(frozen=True)
class Pseudonyms:
    """Where a trainee's pseudonyms come from, as a snapshot the loading thread may read.

    ``by_study``: Study Instance UID -> the patient as the backend returned it to the trainee (already
    pseudonymised there); ``current``: the patient of the consult open on the workstation; ``salt``:
    the site-stable salt for studies no consult names."""

    salt: bytes
    by_study: Mapping[str, Patient] = field(default_factory=dict)
    current: Patient | None = None

    def named(self, study_uid: str) -> Patient | None:
        """The pseudonym a consult gives ``study_uid``; None: the site's own from the salt."""
        return self.by_study.get(study_uid) or self.current

    def for_study(self, study_uid: str, original: Patient) -> Patient:
        named = self.named(study_uid)
        return named if named is not None else original.pseudonymised(self.salt)


def _original_patient(ds: Dataset) -> Patient:
    name = str(ds.get("PatientName", "") or "").replace("^", " ").strip()
    return Patient(
        patient_id=str(ds.get("PatientID", "") or ""),
        name=name,
        sex=str(ds.get("PatientSex", "") or "U") or "U",
        birth_date=None,
    )


def _scrub_text(ds: Dataset, replace: Callable[[str], str]) -> None:
    """Replace the patient's name and identifier in every text element left, nested sequences too."""
    for elem in ds:
        if elem.VR == "SQ":
            for item in elem.value or []:
                _scrub_text(item, replace)
        elif elem.VR in _TEXT_VRS and elem.value not in (None, ""):
            if isinstance(elem.value, MultiValue | list):
                elem.value = [replace(str(v)) for v in elem.value]
            else:
                new = replace(str(elem.value))
                if new != str(elem.value):
                    elem.value = new


def deidentify_for_trainee(ds: Dataset, pseudonyms: Pseudonyms) -> tuple[Patient, list[str]]:
    """De-identify ``ds`` in place (UIDs retained, the pseudonym as patient); (pseudonym, warnings)."""
    original = _original_patient(ds)
    pseudonym = pseudonyms.for_study(str(ds.get("StudyInstanceUID", "")), original)
    warnings = deidentify_dataset(ds, RetainUids())
    if original.patient_id or original.name:
        # an empty identifier would match everywhere: stand in one that matches nothing
        searched = original if original.patient_id else Patient("\0", original.name, "U", None)
        _scrub_text(ds, identity_replacer(searched, pseudonym))
    ds.PatientName = pseudonym.name
    ds.PatientID = pseudonym.patient_id
    ds.PatientIdentityRemoved = "YES"
    method = ds.get("DeidentificationMethod")
    methods = [str(m) for m in method] if isinstance(method, MultiValue | list) else [str(method or "")]
    ds.DeidentificationMethod = [m for m in methods if m] + [METHOD_NOTE]
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = RETAIN_UIDS_CODE
    ds.DeidentificationMethodCodeSequence.append(code)
    ds.LongitudinalTemporalInformationModified = "REMOVED"
    return pseudonym, warnings


@dataclass
class PrepareReport:
    folder: Path
    written: int = 0
    reused: bool = False
    rejected: list[Rejected] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # per study written: the PatientID it carries, and whether that came from a consult (not the salt)
    studies: dict[str, tuple[str, bool]] = field(default_factory=dict)


class TraineeImagingCache:
    """De-identified copies for a trainee, one folder per source set under ``root``.

    ``pseudonyms`` is replaced (one attribute assignment) by the UI thread whenever the consults it
    knows change; :meth:`prepare` may run on any thread."""

    def __init__(
        self, root: Path, salt: bytes, pseudonyms: Pseudonyms | None = None, *, max_copies: int = 8
    ) -> None:
        self.root = Path(root)
        self.max_copies = max_copies
        self.root.mkdir(parents=True, exist_ok=True)
        self.pseudonyms = pseudonyms or Pseudonyms(salt)
        self.salt = salt
        self.last_report: PrepareReport | None = None
        self._lock = threading.Lock()
        for partial in self.root.glob("*.partial"):  # an interrupted copy from an earlier run
            shutil.rmtree(partial, ignore_errors=True)

    @property
    def staging_root(self) -> Path:
        """Where a PACS retrieve lands, identified, until its copy is made."""
        return self.root.with_name(self.root.name + ".staging")

    def holds(self, path: Path) -> bool:
        """Whether ``path`` is inside this cache (already de-identified)."""
        root = self.root.resolve()
        resolved = Path(path).resolve()
        return resolved == root or root in resolved.parents

    def _key(self, files: Sequence[Path]) -> str:
        digest = hashlib.sha256(f"v{CACHE_VERSION}".encode())
        for path in sorted(files):
            try:
                stat = path.stat()
            except OSError:
                continue
            digest.update(f"{os.path.realpath(path)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        return digest.hexdigest()[:24]

    @staticmethod
    def _still_valid(folder: Path, pseudonyms: Pseudonyms) -> bool:
        """A finished copy whose every study still carries the pseudonym it would be given now."""
        try:
            record = json.loads((folder / COMPLETE).read_text(encoding="utf-8"))
            studies = dict(record["studies"])
        except (OSError, ValueError, KeyError, TypeError):
            return False
        for uid, (patient_id, from_consult) in studies.items():
            named = pseudonyms.named(uid)
            if (named is not None) != bool(from_consult) or (named and named.patient_id != patient_id):
                return False
        return True

    def prepare(
        self,
        paths: Iterable[Path],
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> list[Path]:
        """The de-identified copy of ``paths`` (folders or files) to load instead of them. Blocking.

        Paths already inside this cache are returned as they are; a source set copied before (same
        files, sizes, times and pseudonyms) is reused. Raises when cancelled or nothing could be copied
        from a source that had files."""
        paths = [Path(p) for p in paths]
        if all(self.holds(p) for p in paths):
            return paths
        report = self._prepare(paths, progress, cancel)
        self.last_report = report
        return [report.folder]

    def _prepare(
        self, paths: list[Path], progress: Progress | None, cancel: threading.Event | None
    ) -> PrepareReport:
        from viewers.dicom.volume import LoadCancelled

        files, rejected = find_files(paths)
        files = [f for f in files if not self.holds(f)]
        pseudonyms = self.pseudonyms
        key = self._key(files)
        final = self.root / key
        if (final / COMPLETE).is_file() and self._still_valid(final, pseudonyms):
            os.utime(final / COMPLETE)  # recently used: kept longest
            if progress is not None:
                progress(len(files), len(files))
            return PrepareReport(final, reused=True, rejected=rejected)
        with self._lock:  # one copy at a time: two loads of one source never write one folder
            partial = self.root / f"{key}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            report = PrepareReport(final, rejected=list(rejected))
            try:
                for done, path in enumerate(files, start=1):
                    if cancel is not None and cancel.is_set():
                        raise LoadCancelled("cancelled")
                    self._copy_one(path, partial, pseudonyms, report)
                    if progress is not None:
                        progress(done, len(files))
                if files and report.written == 0:
                    raise ValueError("none of the files could be de-identified for teaching")
                partial.mkdir(parents=True, exist_ok=True)
                (partial / COMPLETE).write_text(
                    json.dumps({"version": CACHE_VERSION, "files": report.written,
                                "studies": report.studies}) + "\n",
                    encoding="utf-8",
                )  # fmt: skip
                shutil.rmtree(final, ignore_errors=True)
                partial.rename(final)
            except BaseException:
                shutil.rmtree(partial, ignore_errors=True)
                raise
            self._trim(keep=final)
        log.info("trainee imaging: %d file(s) de-identified into %s", report.written, final)
        return report

    def _copy_one(self, path: Path, out: Path, pseudonyms: Pseudonyms, report: PrepareReport) -> None:
        try:
            ds = pydicom.dcmread(path)
        except Exception as exc:
            report.rejected.append(Rejected(path, f"not readable as DICOM: {type(exc).__name__}"))
            return
        sop = str(ds.get("SOPInstanceUID", "") or "")
        if not sop or str(ds.get("SOPClassUID", "")) == "1.2.840.10008.1.3.10":  # no instance; DICOMDIR
            report.rejected.append(Rejected(path, "no SOP Instance UID; not copied"))
            return
        pseudonym, warnings = deidentify_for_trainee(ds, pseudonyms)
        report.warnings.extend(warnings)
        study_uid = str(ds.get("StudyInstanceUID", ""))
        report.studies[study_uid] = (pseudonym.patient_id, pseudonyms.named(study_uid) is not None)
        try:
            save_copy(ds, out)  # named by the (retained) UIDs
        except Exception as exc:
            report.rejected.append(Rejected(path, f"could not write the copy: {type(exc).__name__}"))
            return
        report.written += 1

    def fetch_study(
        self,
        study_uid: str,
        endpoint: Any,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> Path:
        """Retrieve ``study_uid`` from PACS into a staging folder, de-identify it into this cache and
        delete the staged identified copy. Blocking; returns the de-identified folder."""
        from core.worklist.study_cache import StudyCache

        # beside the cache, never in it: what is in the cache counts as de-identified
        staging = StudyCache(self.staging_root, max_bytes=0)
        try:
            folder = staging.ensure(study_uid, endpoint, progress, cancel)
            return self.prepare([folder], None, cancel)[0]
        finally:
            staging.remove(study_uid)

    def _trim(self, keep: Path) -> None:
        """Keep the ``max_copies`` most recently used copies (a cache, not an archive)."""
        done = [p for p in self.root.iterdir() if (p / COMPLETE).is_file() and p != keep]
        done.sort(key=lambda p: (p / COMPLETE).stat().st_mtime, reverse=True)
        for old in done[max(self.max_copies - 1, 0) :]:
            shutil.rmtree(old, ignore_errors=True)

    def clear(self) -> None:
        """Remove every de-identified copy (the cache is only a cache)."""
        with self._lock:
            for child in self.root.iterdir():
                if child.is_dir():
                    shutil.rmtree(child, ignore_errors=True)
