"""Request and response bodies (pydantic). Inputs forbid unknown fields and bound every size."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    field_validator,
    model_validator,
)

Role = Literal["specialist", "county_doctor", "trainee", "it_admin"]
ROLES: tuple[str, ...] = ("specialist", "county_doctor", "trainee", "it_admin")
ConsultState = Literal["open", "accepted", "in_session", "answered", "closed"]
Urgency = Literal["routine", "urgent", "emergency"]
Sex = Literal["M", "F", "O", "U"]
# How a consult's reader sees its patient (backend/access.py): the identity, a trainee's pseudonym, or
# nothing but a summary (a specialist deciding whether to accept an open consult).
IdentityShown = Literal["full", "pseudonym", "withheld"]

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Username = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")
]
Specialty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=100_000)]
MAX_OP_BYTES = 64 * 1024


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(Input):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class RefreshIn(Input):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    specialties: list[str]


class TokenOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    user: UserOut


class UserIn(Input):
    username: Username
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    display_name: Name
    role: Role
    specialties: Annotated[list[Specialty], Field(max_length=32)] = []


class PatientIn(Input):
    patient_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    name: Name
    sex: Sex
    birth_date: date | None = None


class StudyRef(Input):
    study_instance_uid: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[0-9.]+$")
    ]
    source: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


MAX_VITALS_BYTES = 64 * 1024
Uid = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[0-9.]+$")
]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]


class NumericIn(Input):
    value: float
    unit: Annotated[str, StringConstraints(max_length=16)] = ""


class WaveformIn(Input):
    """A short excerpt (at most 10 s at 500 Hz): enough to read a rhythm, not a recording."""

    unit: Annotated[str, StringConstraints(max_length=16)] = ""
    rate_hz: Annotated[float, Field(gt=0, le=1000)]
    samples: Annotated[list[float], Field(min_length=1, max_length=5000)]


class VitalsSnapshot(Input):
    taken_at: datetime
    numerics: Annotated[dict[Label, NumericIn], Field(max_length=32)] = {}
    waveforms: Annotated[dict[Label, WaveformIn], Field(max_length=8)] = {}

    @field_validator("taken_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("taken_at needs a timezone")
        return value


def vitals_json(snapshot: VitalsSnapshot) -> dict[str, Any]:
    """The snapshot as stored; refused when its JSON is larger than MAX_VITALS_BYTES."""
    data = snapshot.model_dump(mode="json")
    if len(json.dumps(data, separators=(",", ":")).encode("utf-8")) > MAX_VITALS_BYTES:
        raise ValueError(f"vitals snapshot is larger than {MAX_VITALS_BYTES} bytes")
    return data


class ConsultIn(Input):
    patient: PatientIn
    question: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)]
    urgency: Urgency
    specialty: Specialty
    study: StudyRef | None = None
    vitals: VitalsSnapshot | None = None

    @field_validator("vitals")
    @classmethod
    def _small_vitals(cls, value: VitalsSnapshot | None) -> VitalsSnapshot | None:
        if value is not None:
            vitals_json(value)
        return value


class KeyImageRef(Input):
    study_instance_uid: Uid
    series_instance_uid: Uid
    sop_instance_uid: Uid


class AnswerIn(Input):
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
    key_images: Annotated[list[KeyImageRef], Field(max_length=64)] = []


class AnswerOut(BaseModel):
    text: str
    key_images: list[KeyImageRef]
    answered_by: UserOut | None
    answered_at: datetime


class PhotoOut(BaseModel):
    id: int
    consult_id: int
    media_type: str
    caption: str
    size: int
    sha256: str
    uploaded_by: int
    created_at: datetime


class CloseIn(Input):
    outcome: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)]
    # Closing needs a final report or this: why the consult closes without one (audited).
    no_report_reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2_000)] | None = None


class PatientOut(BaseModel):
    patient_id: str
    name: str
    sex: Sex
    birth_date: date | None
    # For the consult's participants: the code of the pseudonym trainees see ("Patient CODE"), so the
    # instructor's workstation scrubs what it forwards to a class with the same pseudonym.
    pseudonym_code: str | None = None


AgeBand = Annotated[str, StringConstraints(pattern=r"^(0-9|[1-8]0-[1-8]9|90\+)$")]


class PatientSummaryOut(BaseModel):
    """What a specialist deciding whether to accept an open consult learns of the patient: no name, no
    patient id, no birth date."""

    age_band: AgeBand | None = Field(
        description='the decade of age today, "0-9" ... "80-89", then "90+"; null without a birth date',
        examples=["60-69"],
    )
    sex: Sex


class StudyOut(BaseModel):
    study_instance_uid: str
    source: str


ReportKind = Literal["original", "addendum", "amendment", "correction"]
ReportStatus = Literal["draft", "pending", "final"]
ReportStatusShown = Literal["none", "draft", "pending", "final"]


class ConsultOut(BaseModel):
    id: int
    state: ConsultState
    identity: IdentityShown = Field(
        description="full: `patient` is the identity (participants); pseudonym: `patient` is a stable "
        "pseudonym and every text is scrubbed (trainees); withheld: `patient` is null, `summary` says "
        "what may be said, `question` has the identifiers taken out, vitals, answer and outcome are null"
    )
    patient: PatientOut | None
    summary: PatientSummaryOut | None = None  # set exactly when identity is "withheld"
    question: str
    urgency: Urgency
    specialty: str
    study: StudyOut | None
    requested_by: UserOut
    accepted_by: UserOut | None
    created_at: datetime
    accepted_at: datetime | None
    started_at: datetime | None
    closed_at: datetime | None
    outcome: str | None
    vitals: dict[str, Any] | None = None
    answer: AnswerOut | None = None
    waiting_seconds: float
    target_seconds: float
    overdue: bool
    # The report (backend/routes/reports.py): the latest version's status, "none" without one, and
    # whether the requesting county doctor acknowledged the latest final version.
    report_status: ReportStatusShown = "none"
    report_acknowledged: bool = False


class NoteIn(Input):
    op_id: UUID
    text: Text
    created_at: datetime | None = None

    @field_validator("created_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("created_at needs a timezone (e.g. 2026-01-01T10:00:00Z)")
        return value


class ChatIn(Input):
    op_id: UUID
    text: Annotated[str, StringConstraints(min_length=1, max_length=10_000)]


class AnnotationIn(Input):
    op_id: UUID
    lamport: Annotated[StrictInt, Field(ge=0, le=2**31 - 1)]
    op: dict[str, Any]

    @field_validator("op")
    @classmethod
    def _bounded(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(json.dumps(value, separators=(",", ":")).encode("utf-8")) > MAX_OP_BYTES:
            raise ValueError(f"op is larger than {MAX_OP_BYTES} bytes")
        return value


class RecordOut(BaseModel):
    seq: int
    op_id: str
    consult_id: int
    author: UserOut
    created_at: datetime
    received_at: datetime


class NoteOut(RecordOut):
    text: str


class ChatOut(RecordOut):
    text: str


class AnnotationOut(RecordOut):
    lamport: int
    op: dict[str, Any]


class RecordingIn(Input):
    on: StrictBool  # "yes" or 1 is a client bug, not a request to record


class RecordingOut(BaseModel):
    on: bool
    since: datetime | None


class AuditEventIn(Input):
    """A clinical event the workstation records in the audit chain (alarms, acknowledgements)."""

    # Only the workstation's own event families: a client can never forge sign-ins or record access.
    action: Annotated[str, StringConstraints(pattern=r"^vitals\.[a-z_.]{1,60}$")]
    consult_id: Annotated[StrictInt, Field(ge=1, le=2**31 - 1)] | None = None
    details: dict[str, Any] = {}

    @field_validator("details")
    @classmethod
    def _small(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(json.dumps(value, separators=(",", ":"), default=str).encode("utf-8")) > 4096:
            raise ValueError("details are larger than 4096 bytes")
        return value


class AuditEventOut(BaseModel):
    id: int


class AuditOut(BaseModel):
    id: int
    ts: str
    actor_id: int | None
    actor: str | None
    action: str
    consult_id: int | None
    client: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str


class VerifyOut(BaseModel):
    ok: bool
    checked: int
    first_broken_id: int | None
    reason: str | None


class HealthOut(BaseModel):
    status: Literal["ok"]
    version: str
    database: Literal["sqlite", "postgresql"]


# --- signalling -------------------------------------------------------------------------------------

SignalType = Literal["offer", "answer", "candidate", "bye", "message"]


# An SDP line is `x=value` with a lower-case letter type (RFC 8866 section 5); a session description
# starts with `v=0` and carries an origin, a session name and a timing line before the first media.
_SDP_LINE = re.compile(r"[a-z]=[^\x00\r\n]*")
_SDP_SESSION_FIRST = ("v", "o", "s")
# An ICE candidate attribute (RFC 8839 section 5.1): foundation, component, transport, priority,
# address, port, "typ" type, then extension name/value pairs.
_CANDIDATE = re.compile(
    r"candidate:[A-Za-z0-9+/]{1,32} [0-9]{1,3} (?i:udp|tcp) [0-9]{1,10} [A-Za-z0-9.:_-]{1,253} [0-9]{1,5}"
    r" typ (?:host|srflx|prflx|relay)(?: [A-Za-z0-9_.:/+-]{1,64} [A-Za-z0-9_.:/+-]{1,256})*"
)
MAX_SDP_LINES = 2000


def check_sdp(sdp: str) -> str:
    """Raise ValueError unless `sdp` has the structure of a session description."""
    lines = sdp.split("\r\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) == 1 and "\n" in sdp:
        lines = sdp.rstrip("\n").split("\n")  # tolerated: bare LF line ends
    if not lines or lines[0] != "v=0":
        raise ValueError("an SDP starts with the line v=0")
    if len(lines) > MAX_SDP_LINES:
        raise ValueError(f"an SDP has at most {MAX_SDP_LINES} lines")
    for number, line in enumerate(lines, 1):
        if not _SDP_LINE.fullmatch(line):
            raise ValueError(f"SDP line {number} is not of the form x=value")
    types = [line[0] for line in lines]
    if tuple(types[:3]) != _SDP_SESSION_FIRST:
        raise ValueError("an SDP starts with its v=, o= and s= lines")
    session = types[: types.index("m")] if "m" in types else types
    if "t" not in session:
        raise ValueError("an SDP has a t= line before its media")
    return sdp


class SessionDescriptionIn(Input):
    type: Literal["offer", "answer"]
    sdp: Annotated[str, StringConstraints(min_length=1, max_length=200_000)]

    @field_validator("sdp")
    @classmethod
    def _sdp(cls, value: str) -> str:
        return check_sdp(value)


class CandidateIn(Input):
    """A trickled candidate as a browser's RTCIceCandidate.toJSON(); an empty `candidate` ends them."""

    candidate: Annotated[str, StringConstraints(max_length=1024)]
    sdpMid: Annotated[str, StringConstraints(max_length=64)] | None = None  # noqa: N815 (the W3C name)
    sdpMLineIndex: Annotated[StrictInt, Field(ge=0, le=1024)] | None = None  # noqa: N815
    usernameFragment: Annotated[str, StringConstraints(max_length=256)] | None = None  # noqa: N815

    @field_validator("candidate")
    @classmethod
    def _candidate(cls, value: str) -> str:
        if value and not _CANDIDATE.fullmatch(value):
            raise ValueError("not an ICE candidate line (candidate:FOUNDATION COMPONENT ... typ TYPE)")
        return value


class SignalIn(Input):
    v: Literal[1]
    type: SignalType
    to: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    payload: dict[str, Any] = {}

    @field_validator("v", mode="before")
    @classmethod
    def _strict_version(cls, value: Any) -> Any:
        if isinstance(value, bool):  # True == 1 in Python; a version is a number
            raise ValueError("v is the number 1")
        return value

    @model_validator(mode="after")
    def _payload_fits_type(self) -> SignalIn:
        """Negotiation payloads are checked by type: an offer or answer carries an SDP of that type, a
        candidate an ICE candidate line; nothing else rides along."""
        if self.type in ("offer", "answer"):
            description = SessionDescriptionIn.model_validate(self.payload)
            if description.type != self.type:
                raise ValueError(f"an {self.type} carries an SDP of type {self.type!r}")
        elif self.type == "candidate":
            CandidateIn.model_validate(self.payload)
        return self


# --- reports and the site PKI ------------------------------------------------------------------------

MAX_REPORT_CONTENT_BYTES = 512 * 1024
# A signed PDF (the CJK font embedded), a DICOM SR and KOS, base64: bounded here and by the body limit.
MAX_REPORT_FILE_BYTES = 16 * 1024 * 1024
Base64File = Annotated[str, StringConstraints(min_length=4, max_length=(MAX_REPORT_FILE_BYTES * 4) // 3 + 4)]


def _bounded_json(value: dict[str, Any], limit: int, what: str) -> dict[str, Any]:
    if len(json.dumps(value, separators=(",", ":"), default=str).encode("utf-8")) > limit:
        raise ValueError(f"{what} is larger than {limit} bytes")
    return value


class EnrollIn(Input):
    csr_pem: Annotated[str, StringConstraints(min_length=1, max_length=16_384)]


class RevokeIn(Input):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1_000)]


class CertificateOut(BaseModel):
    serial: str = Field(description="the certificate's serial number, decimal")
    user_id: int
    username: str
    pem: str
    not_before: datetime
    not_after: datetime
    revoked_at: datetime | None
    revoked_reason: str | None


class ReportIn(Input):
    content: dict[str, Any] = Field(description="the workstation's Report.to_json()")
    kind: ReportKind = "original"
    supersedes_id: Annotated[StrictInt, Field(ge=1, le=2**31 - 1)] | None = None

    @field_validator("content")
    @classmethod
    def _small(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _bounded_json(value, MAX_REPORT_CONTENT_BYTES, "content")


class ReportUpdateIn(Input):
    content: dict[str, Any]

    @field_validator("content")
    @classmethod
    def _small(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _bounded_json(value, MAX_REPORT_CONTENT_BYTES, "content")


class ReportSignIn(Input):
    pdf_base64: Base64File


class ReportCosignIn(Input):
    pdf_base64: Base64File
    sr_base64: Base64File | None = None  # required when the report has measurements on images
    kos_base64: Base64File | None = None  # required when the report has key images
    fhir: dict[str, Any]

    @field_validator("fhir")
    @classmethod
    def _small(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _bounded_json(value, MAX_REPORT_FILE_BYTES, "fhir")


class ReportOut(BaseModel):
    id: int
    consult_id: int
    version: int
    kind: ReportKind
    status: ReportStatus
    supersedes_id: int | None
    superseded_by_id: int | None
    content: dict[str, Any]
    author: UserOut
    cosigner: UserOut | None
    created_at: datetime
    updated_at: datetime
    signed_at: datetime | None
    cosigned_at: datetime | None
    acknowledged_by_id: int | None
    acknowledged_at: datetime | None
    pdf_sha256: str | None
    has_pdf: bool
    has_sr: bool
    has_kos: bool
    has_fhir: bool
