"""De-identification for teaching: DICOM PS3.15 Annex E Basic Application Level Confidentiality Profile.

Writes a de-identified copy of each file into an output folder; the originals are only read. UIDs are
replaced through one :class:`UidMapper` per run, so references between files (study, series, frame of
reference, referenced SOP instances) stay consistent. Ultrasound marked BurnedInAnnotation=YES gets
the Clean Pixel Data option (everything outside its Sequence of Ultrasound Regions blanked); any other
file marked YES, or one that cannot be cleaned, is reported and keeps the mark.
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

from viewers.dicom.clean_pixels import CLEAN_PIXELS_CODE, clean_pixel_data
from viewers.dicom.discovery import Rejected, find_files

METHOD = "DICOM PS3.15 E.1 Basic Profile (Teleconsult Workstation)"  # LO: at most 64 chars
# CID 7050 "De-identification Method": 113100 is the Basic Application Confidentiality Profile.
METHOD_CODE = ("113100", "DCM", "Basic Application Confidentiality Profile")


# Actions of PS3.15 Table E.1-1 (Basic Profile), per keyword: D dummy value, Z empty, X remove, K keep,
# C clean, U new UID. Compound actions (X/Z, X/D, Z/D, X/Z/D) depend on the IOD and are resolved by
# :func:`_resolve`: the attribute stays (empty, or a dummy where Type 1) only where an IOD the project
# writes requires it, otherwise it goes. "X/Z/U*" sequences stay with their UIDs replaced. Any other
# UI attribute is U (standard UIDs kept), private attributes are X, curves and overlay text X.
def _table(**groups: str) -> dict[str, str]:
    return {kw: action.replace("_", "/") for action, kws in groups.items() for kw in kws.split()}


PROFILE = _table(
    Z="""PatientName PatientID PatientBirthDate PatientSex ReferringPhysicianName AccessionNumber StudyID
    StudyDate StudyTime FillerOrderNumberImagingServiceRequest PlacerOrderNumberImagingServiceRequest
    ContentCreatorName""",
    D="VerifyingObserverName PersonName VerifyingOrganization",
    Z_D="ContentDate ContentTime ContrastBolusAgent",
    X_Z="""AcquisitionDate AcquisitionTime PatientSexNeutered ReviewerName ConsultingPhysicianName
    ReferencedStudySequence""",
    X_D="""AcquisitionDateTime SeriesDate SeriesTime InstanceCreationDate ProtocolName
    AcquisitionDeviceProcessingDescription FrameAcquisitionDateTime FrameReferenceDateTime""",
    X_Z_D="StationName DeviceSerialNumber InstanceCreationTime ReferencedPerformedProcedureStepSequence",
    X="""InstanceCreatorUID OverlayDate OverlayTime CurveDate CurveTime InstitutionName InstitutionAddress
    InstitutionCodeSequence InstitutionalDepartmentName InstitutionalDepartmentTypeCodeSequence
    ReferringPhysicianAddress ReferringPhysicianTelephoneNumbers ReferringPhysicianIdentificationSequence
    ConsultingPhysicianIdentificationSequence StudyDescription SeriesDescription PhysiciansOfRecord
    PhysiciansOfRecordIdentificationSequence PerformingPhysicianName PerformingPhysicianIdentificationSequence
    NameOfPhysiciansReadingStudy PhysiciansReadingStudyIdentificationSequence OperatorsName
    OperatorIdentificationSequence AdmittingDiagnosesDescription AdmittingDiagnosesCodeSequence
    ReferencedPatientSequence ReferencedPatientPhotoSequence ReferencedPatientAliasSequence
    DerivationDescription IssuerOfPatientID IssuerOfPatientIDQualifiersSequence PatientBirthTime
    PatientInsurancePlanCodeSequence
    PatientPrimaryLanguageCodeSequence OtherPatientIDs OtherPatientNames OtherPatientIDsSequence
    PatientBirthName PatientAge PatientSize PatientWeight PatientAddress PatientMotherBirthName MilitaryRank
    BranchOfService
    MedicalRecordLocator MedicalAlerts Allergies CountryOfResidence RegionOfResidence PatientTelephoneNumbers
    PatientTelecomInformation EthnicGroup Occupation SmokingStatus AdditionalPatientHistory PregnancyStatus
    LastMenstrualDate PatientReligiousPreference PatientComments PatientState PatientTransportArrangements
    PatientBirthDateInAlternativeCalendar PatientDeathDateInAlternativeCalendar PatientAlternativeCalendar
    ResponsiblePerson ResponsibleOrganization SpecialNeeds InsurancePlanIdentification
    PerformedProcedureStepStartDate PerformedProcedureStepStartTime PerformedProcedureStepEndDate
    PerformedProcedureStepEndTime PerformedProcedureStepID PerformedProcedureStepDescription
    PerformedProcedureTypeDescription CommentsOnThePerformedProcedureStep PerformedLocation
    PerformedStationAETitle PerformedStationGeographicLocationCodeSequence PerformedStationName
    PerformedStationNameCodeSequence RequestAttributesSequence RequestedProcedureDescription
    RequestedProcedureID RequestedProcedureLocation RequestedProcedureComments RequestedContrastAgent
    RequestingPhysician RequestingService ReasonForStudy ReasonForTheRequestedProcedure
    ImagingServiceRequestComments ScheduledProcedureStepID ScheduledProcedureStepDescription
    ScheduledProcedureStepStartDate ScheduledProcedureStepStartTime ScheduledProcedureStepEndDate
    ScheduledProcedureStepEndTime ScheduledProcedureStepLocation ScheduledProcedureStepModificationDateTime
    ScheduledStationAETitle ScheduledStationGeographicLocationCodeSequence ScheduledStationName
    ScheduledStationNameCodeSequence ScheduledStudyLocation ScheduledStudyLocationAETitle
    ScheduledHumanPerformersSequence ScheduledPatientInstitutionResidence ScheduledPerformingPhysicianName
    ScheduledPerformingPhysicianIdentificationSequence NetworkID ImageComments StudyComments StudyIDIssuer
    InterpretationAuthor InterpretationApproverSequence InterpretationRecorder InterpretationTranscriber
    PhysicianApprovingInterpretation ResultsComments ResultsDistributionListSequence ResultsIDIssuer
    DistributionAddress DistributionName NamesOfIntendedRecipientsOfResults
    IntendedRecipientsOfResultsIdentificationSequence TextComments TextString IdentifyingComments
    DetectorID GantryID PlateID CassetteID GeneratorID DeviceUID DeviceDescription DeviceLabel
    ModifyingDeviceID ModifyingDeviceManufacturer ModifiedAttributesSequence OriginalAttributesSequence
    DigitalSignaturesSequence DataSetTrailingPadding FrameComments AcquisitionComments
    AcquisitionProtocolDescription ContributionDescription CurrentPatientLocation PatientInstitutionResidence
    AdmissionID IssuerOfAdmissionID IssuerOfAdmissionIDSequence AdmittingDate AdmittingTime ServiceEpisodeID
    ServiceEpisodeDescription IssuerOfServiceEpisodeIDSequence DischargeDiagnosisDescription VisitComments
    OrderEnteredBy OrderEntererLocation OrderCallbackPhoneNumber ReasonForRequestedProcedureCodeSequence
    ReasonForVisit
    ReasonForVisitCodeSequence ActualHumanPerformersSequence HumanPerformerName
    HumanPerformerOrganization AuthorObserverSequence ParticipantSequence CustodialOrganizationSequence
    PersonAddress PersonTelephoneNumbers PersonTelecomInformation PreMedication TopicAuthor TopicKeywords
    TopicSubject TopicTitle TimezoneOffsetFromUTC StorageMediaFileSetID IconImageSequence Arbitrary
    ConfidentialityConstraintOnPatientDataDescription""",
    X_Z_U="ReferencedImageSequence SourceImageSequence",
)  # fmt: skip
# Attributes the compound actions above must keep: Type 2 (or 2C) in a module of the IODs the project
# handles (CT, MR, US, US multi-frame, Secondary Capture; Patient, General Study, General Image,
# Contrast/Bolus). Type 1 ones take a dummy value (D): in the enhanced (functional group) IODs the
# content date and time, the acquisition and frame date-times and the device serial number are Type 1(C).
_IOD_TYPE2 = frozenset({"ContentDate", "ContentTime", "ContrastBolusAgent", "PatientSexNeutered"})
_ENHANCED_TYPE1 = frozenset({
    "ContentDate", "ContentTime", "AcquisitionDateTime", "FrameAcquisitionDateTime", "FrameReferenceDateTime",
    "DeviceSerialNumber",
})  # fmt: skip
_DUMMY = {"DA": "19000101", "TM": "000000", "DT": "19000101000000", "PN": "ANONYMOUS", "AS": "000Y"}


def _resolve(keyword: str, action: str, type1: frozenset[str] = frozenset()) -> str:
    """One of D, Z, X, K, U for a table action, compound ones resolved for the IOD."""
    if "/" not in action:
        return action
    if action.endswith("U*") or action.endswith("/U"):
        return "U"
    options = action.split("/")
    if keyword in type1 and "D" in options:
        return "D"
    if keyword in _IOD_TYPE2 | type1 and "Z" in options:
        return "Z"
    if keyword in _IOD_TYPE2 and "D" in options:
        return "D"
    return "X" if "X" in options else options[0]


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


def _dummy(elem: DataElement) -> str | int | float:
    if elem.VR in _DUMMY:
        return _DUMMY[elem.VR]
    if elem.VR in ("US", "SS", "UL", "SL", "IS", "DS", "FL", "FD"):
        return 0
    return "ANONYMOUS"


def _apply(ds: Dataset, elem: DataElement, action: str, uids: UidMapper, type1: frozenset[str]) -> None:
    if action == "X":
        del ds[elem.tag]
    elif action == "Z":
        elem.value = (
            [] if elem.VR == "SQ" else None if elem.VR in ("US", "SS", "UL", "SL", "FL", "FD") else ""
        )
    elif action == "D":
        if elem.VR == "SQ":
            elem.value = []
        else:
            elem.value = _dummy(elem)
    elif elem.VR == "SQ":  # U on a sequence of references, or K/C: its items are cleaned in turn
        for item in elem.value or []:
            _clean(item, uids, type1)
    elif elem.VR == "UI":
        _replace_uids(elem, uids)


def _clean(ds: Dataset, uids: UidMapper, type1: frozenset[str] = frozenset()) -> None:
    for elem in list(ds):
        if elem.tag.is_private:
            del ds[elem.tag]
            continue
        keyword = elem.keyword
        group = elem.tag.group
        if (0x5000 <= group <= 0x50FF) or (
            0x6000 <= group <= 0x60FF and elem.tag.element in (0x4000, 0x0022)
        ):
            del ds[elem.tag]  # curves; overlay comments and descriptions
        elif keyword in PROFILE:
            _apply(ds, elem, _resolve(keyword, PROFILE[keyword], type1), uids, type1)
        elif elem.VR in ("UI", "SQ"):
            _apply(ds, elem, "U", uids, type1)
        elif elem.VR == "PN":
            elem.value = ""  # any other person name (e.g. an observer in a content item) goes too
        elif elem.VR in ("DA", "DT", "TM") and keyword not in _KEEP_TIMING:
            # dates the table keeps could still date the patient: keep presence, not value
            elem.value = ""


def deidentify_dataset(ds: Dataset, uids: UidMapper, *, clean_pixels: bool = True) -> list[str]:
    """De-identify ``ds`` in place (a copy the caller owns); returns warnings for the user.

    With ``clean_pixels`` an ultrasound image marked BurnedInAnnotation=YES is cleaned (the Clean Pixel
    Data option, :mod:`viewers.dicom.clean_pixels`): only its ultrasound regions are kept; where that is
    not possible it stays marked YES and a warning says why."""
    warnings: list[str] = []
    cleaned = False
    if str(ds.get("BurnedInAnnotation", "")).upper() == "YES":
        reason = "the Clean Pixel Data option is off"
        if clean_pixels:
            cleaned, reason = clean_pixel_data(ds)
        if not cleaned:
            warnings.append(f"BurnedInAnnotation=YES: identifying text may remain in the pixels ({reason})")
    enhanced = "SharedFunctionalGroupsSequence" in ds or "PerFrameFunctionalGroupsSequence" in ds
    _clean(ds, uids, _ENHANCED_TYPE1 if enhanced else frozenset())
    meta = getattr(ds, "file_meta", None)
    if meta is not None and "MediaStorageSOPInstanceUID" in meta:
        meta.MediaStorageSOPInstanceUID = UID(uids(str(meta.MediaStorageSOPInstanceUID)))
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = METHOD
    codes = [METHOD_CODE, CLEAN_PIXELS_CODE] if cleaned else [METHOD_CODE]
    items = []
    for value in codes:
        code = Dataset()
        code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = value
        items.append(code)
    ds.DeidentificationMethodCodeSequence = DicomSequence(items)
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime"):
        if keyword not in ds:  # Type 2 in every IOD: present, empty
            setattr(ds, keyword, "")
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
    sources: Path | Iterable[Path], out_dir: Path, *, uids: UidMapper | None = None, clean_pixels: bool = True
) -> DeidReport:
    """Write a de-identified copy of every DICOM file in ``sources`` (files or folders) under ``out_dir``.

    Copies are named by their new UIDs (``<study>/<series>/<instance>.dcm``) because original file
    names can carry identifiers. Files that are not DICOM are listed as rejected and skipped.
    ``clean_pixels``: the Clean Pixel Data option for ultrasound (see :func:`deidentify_dataset`).
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
        for warning in deidentify_dataset(ds, uids, clean_pixels=clean_pixels):
            report.warnings.append((path, warning))
        try:
            target = save_copy(ds, out_dir)
        except Exception as exc:
            report.rejected.append(Rejected(path, f"could not write the copy: {type(exc).__name__}: {exc}"))
            continue
        report.written.append((path, target))
    return report
