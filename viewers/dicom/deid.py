"""De-identification for teaching: DICOM PS3.15 Annex E Basic Application Level Confidentiality Profile.

Writes a de-identified copy of each file into an output folder; the originals are only read. UIDs are
replaced through one :class:`UidMapper` per run, so references between files (study, series, frame of
reference, referenced SOP instances) stay consistent. Pixel data is not inspected: files marked
BurnedInAnnotation=YES are reported, since text burnt into pixels needs the Clean Pixel Data option.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import UID, generate_uid

from viewers.dicom.discovery import Rejected, find_files

METHOD = "DICOM PS3.15 E.1 Basic Profile (Teleconsult Workstation)"  # LO: at most 64 chars
# CID 7050 "De-identification Method": 113100 is the Basic Application Confidentiality Profile.
METHOD_CODE = ("113100", "DCM", "Basic Application Confidentiality Profile")

# Action per keyword from PS3.15 Table E.1-1 (the attributes a CT/MR/US/SC file carries in practice).
# Z: keep the element with an empty value (type 2 attributes); X: remove; D: dummy value.
_ZERO = {
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "ReferringPhysicianName",
    "AccessionNumber", "StudyID", "StudyDate", "StudyTime", "ContentDate", "ContentTime",
    "ContrastBolusAgent", "FillerOrderNumberImagingServiceRequest", "PlacerOrderNumberImagingServiceRequest",
    "VerifyingObserverName", "PersonName",
}  # fmt: skip
_REMOVE = {
    "InstanceCreatorUID", "AcquisitionDate", "AcquisitionTime", "AcquisitionDateTime", "SeriesDate",
    "SeriesTime", "OverlayDate", "OverlayTime", "CurveDate", "CurveTime", "InstanceCreationDate",
    "InstanceCreationTime", "InstitutionName", "InstitutionAddress", "InstitutionCodeSequence",
    "InstitutionalDepartmentName", "ReferringPhysicianAddress", "ReferringPhysicianTelephoneNumbers",
    "ReferringPhysicianIdentificationSequence", "ConsultingPhysicianName", "StationName",
    "StudyDescription", "SeriesDescription", "PhysiciansOfRecord", "PhysiciansOfRecordIdentificationSequence",
    "PerformingPhysicianName", "PerformingPhysicianIdentificationSequence", "NameOfPhysiciansReadingStudy",
    "PhysiciansReadingStudyIdentificationSequence", "OperatorsName", "OperatorIdentificationSequence",
    "AdmittingDiagnosesDescription", "AdmittingDiagnosesCodeSequence", "ReferencedPatientSequence",
    "DerivationDescription", "IssuerOfPatientID", "PatientBirthTime", "PatientInsurancePlanCodeSequence",
    "PatientPrimaryLanguageCodeSequence", "OtherPatientIDs", "OtherPatientNames", "OtherPatientIDsSequence",
    "PatientBirthName", "PatientAge", "PatientSize", "PatientWeight", "PatientAddress",
    "PatientMotherBirthName", "MilitaryRank", "BranchOfService", "MedicalRecordLocator",
    "MedicalAlerts", "Allergies", "CountryOfResidence", "RegionOfResidence", "PatientTelephoneNumbers",
    "EthnicGroup", "Occupation", "SmokingStatus", "AdditionalPatientHistory", "PregnancyStatus",
    "LastMenstrualDate", "PatientReligiousPreference", "PatientComments", "PatientState",
    "ResponsiblePerson", "ResponsibleOrganization", "DeviceSerialNumber", "ProtocolName",
    "PerformedProcedureStepStartDate", "PerformedProcedureStepStartTime", "PerformedProcedureStepID",
    "PerformedProcedureStepDescription", "RequestAttributesSequence", "RequestedProcedureDescription",
    "RequestedProcedureID", "RequestingPhysician", "RequestingService", "ScheduledProcedureStepDescription",
    "ImageComments", "StudyComments", "InterpretationAuthor", "TextComments", "TextString",
    "DetectorID", "GantryID", "PlateID", "CassetteID", "GeneratorID", "ModifiedAttributesSequence",
    "OriginalAttributesSequence", "DigitalSignaturesSequence", "DataSetTrailingPadding",
    "FrameComments", "AcquisitionComments", "ReasonForStudy", "ReasonForTheRequestedProcedure",
    "CurrentPatientLocation", "PatientInstitutionResidence", "AdmissionID", "IssuerOfAdmissionID",
    "ServiceEpisodeID", "ServiceEpisodeDescription", "VisitComments", "OrderEnteredBy",
    "OrderEntererLocation", "OrderCallbackPhoneNumber", "DeviceUID", "ReferencedStudySequence",
    "ReferencedPerformedProcedureStepSequence", "ActualHumanPerformersSequence", "HumanPerformerName",
    "ScheduledPerformingPhysicianName", "AuthorObserverSequence",
}  # fmt: skip
# UIDs that identify a standard thing (SOP class, transfer syntax, coding scheme) are kept.
_KEEP_UID_KEYWORDS = {
    "SOPClassUID", "MediaStorageSOPClassUID", "ReferencedSOPClassUID", "TransferSyntaxUID",
    "ImplementationClassUID", "ReferencedSOPClassUIDInFile", "ReferencedTransferSyntaxUIDInFile",
    "CodingSchemeUID", "ContextGroupExtensionCreatorUID", "ContextUID", "MappingResourceUID",
}  # fmt: skip


# DA/DT/TM attributes that are durations or offsets, not calendar dates.
_KEEP_TIMING = {"FrameTime", "FrameReferenceTime", "TemporalResolution", "ActualFrameDuration"}


class UidMapper:
    """Same input UID gives the same new UID within one run (a new random salt per mapper)."""

    def __init__(self, prefix: str | None = "2.25.") -> None:
        self.prefix = prefix
        self._salt = secrets.token_hex(16)
        self.mapping: dict[str, str] = {}

    def __call__(self, uid: str) -> str:
        uid = str(uid).strip()
        new = self.mapping.get(uid)
        if new is None:
            new = str(generate_uid(prefix=self.prefix, entropy_srcs=[self._salt, uid]))
            self.mapping[uid] = new
        return new


def _keeps_uid(elem: DataElement, value: str) -> bool:
    if elem.keyword in _KEEP_UID_KEYWORDS:
        return True
    # a UID defined by the standard (SOP class, transfer syntax...) identifies nobody
    return value.startswith("1.2.840.10008.")


def _replace_uids(elem: DataElement, uids: UidMapper) -> None:
    if elem.value in (None, ""):
        return
    if elem.VM > 1:
        elem.value = [v if _keeps_uid(elem, str(v)) else UID(uids(str(v))) for v in elem.value]
    elif not _keeps_uid(elem, str(elem.value)):
        elem.value = UID(uids(str(elem.value)))


def _clean(ds: Dataset, uids: UidMapper) -> None:
    for elem in list(ds):
        if elem.tag.is_private:
            del ds[elem.tag]
            continue
        keyword = elem.keyword
        group = elem.tag.group
        if (
            keyword in _REMOVE
            or (0x5000 <= group <= 0x50FF)
            or (0x6000 <= group <= 0x60FF and elem.tag.element in (0x4000, 0x0022))
        ):
            # curves; overlay comments and descriptions
            del ds[elem.tag]
        elif keyword in _ZERO:
            elem.value = [] if elem.VR == "SQ" else ""
        elif elem.VR == "UI":
            _replace_uids(elem, uids)
        elif elem.VR == "SQ":
            for item in elem.value:
                _clean(item, uids)
        elif elem.VR == "PN":
            elem.value = ""  # any other person name (e.g. in a private-free sequence) goes too
        elif elem.VR in ("DA", "DT", "TM") and keyword not in _KEEP_TIMING:
            # dates left by the table above could still date the patient: keep presence, not value
            elem.value = ""


def deidentify_dataset(ds: Dataset, uids: UidMapper) -> list[str]:
    """De-identify ``ds`` in place (a copy the caller owns); returns warnings for the user."""
    warnings: list[str] = []
    if str(ds.get("BurnedInAnnotation", "")).upper() == "YES":
        warnings.append("BurnedInAnnotation=YES: identifying text may remain in the pixels")
    _clean(ds, uids)
    meta = getattr(ds, "file_meta", None)
    if meta is not None and "MediaStorageSOPInstanceUID" in meta:
        meta.MediaStorageSOPInstanceUID = UID(uids(str(meta.MediaStorageSOPInstanceUID)))
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = METHOD
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = METHOD_CODE
    ds.DeidentificationMethodCodeSequence = DicomSequence([code])
    if "PatientName" not in ds:
        ds.PatientName = ""
    if "PatientID" not in ds:
        ds.PatientID = ""
    return warnings


@dataclass
class DeidReport:
    written: list[tuple[Path, Path]] = field(default_factory=list)  # (original, copy)
    rejected: list[Rejected] = field(default_factory=list)
    warnings: list[tuple[Path, str]] = field(default_factory=list)
    uid_map: dict[str, str] = field(default_factory=dict)


def uid_file_name(uid: str) -> str:
    """A UID as a file name: digits and dots only (anything else is a broken file's guess)."""
    text = "".join(c for c in uid if c.isdigit() or c == ".").strip(".")
    return text[:64] or hashlib.sha1(uid.encode()).hexdigest()[:16]


def save_copy(ds: Dataset, out_dir: Path) -> Path:
    """Write a de-identified dataset to <study>/<series>/<instance>.dcm under out_dir and return the path.

    The names are the dataset's UIDs only: original file names and folders can carry identifiers."""
    target = (
        out_dir
        / uid_file_name(str(ds.get("StudyInstanceUID", "")) or "study")
        / uid_file_name(str(ds.get("SeriesInstanceUID", "")) or "series")
        / f"{uid_file_name(str(ds.SOPInstanceUID))}.dcm"
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(target, enforce_file_format=True)
    return target


def deidentify_files(
    sources: Path | Iterable[Path], out_dir: Path, *, uids: UidMapper | None = None
) -> DeidReport:
    """Write a de-identified copy of every DICOM file in ``sources`` (files or folders) under ``out_dir``.

    Copies are named by their new UIDs (``<study>/<series>/<instance>.dcm``) because original file
    names can carry identifiers. Files that are not DICOM are listed as rejected and skipped.
    """
    uids = uids or UidMapper()
    report = DeidReport(uid_map=uids.mapping)
    roots = [sources] if isinstance(sources, Path) else list(sources)
    files, rejected = find_files(roots)
    report.rejected.extend(rejected)
    out_dir = out_dir.resolve()
    for path in files:
        if out_dir in path.resolve().parents:
            continue  # an earlier run's output inside the source tree
        try:
            ds = pydicom.dcmread(path)
        except Exception as exc:
            report.rejected.append(Rejected(path, f"not readable as DICOM: {type(exc).__name__}: {exc}"))
            continue
        if "SOPInstanceUID" not in ds:
            report.rejected.append(Rejected(path, "DICOM file without SOPInstanceUID; not copied"))
            continue
        for warning in deidentify_dataset(ds, uids):
            report.warnings.append((path, warning))
        try:
            target = save_copy(ds, out_dir)
        except Exception as exc:
            report.rejected.append(Rejected(path, f"could not write the copy: {type(exc).__name__}: {exc}"))
            continue
        report.written.append((path, target))
    return report
