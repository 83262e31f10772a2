"""The report's workflow at a workstation: draft, sign, co-sign, acknowledge, publish. Qt-free, async.

The backend keeps the versions and enforces who may do what (backend/routes/reports.py); this side holds
what the server must never hold, the clinician's private key (core/report/keys.py), and makes the
documents: the PDF (pdf.py), its PAdES signatures (signing.py), the DICOM SR and KOS (dicom_sr.py) and
the FHIR bundle (fhir.py). CPU work (rendering, signing, building) runs in a worker thread, so the
event loop the UI talks to never stalls.

All or nothing: co-signing builds and validates every output first; if any fails validation nothing is
uploaded and :class:`ReportError` says which and why. The backend then stores the PDF, SR, KOS and
bundle in one transaction; only a final report is published (to the study's archive and the site's
FHIR server), and a failed publication can be repeated (the same UIDs and identifiers: no duplicates).
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.report.keys import SigningKeys
from core.report.model import Clinician, Kind, Report, Status

if TYPE_CHECKING:
    from pydicom import Dataset

    from core.client.backend import BackendClient
    from core.report.signing import SigningIdentity, TrustAnchors, Verification

log = logging.getLogger(__name__)


class ReportError(Exception):
    """Something the clinician must read: in plain words, never half-done."""


@dataclass(frozen=True)
class ReportVersion:
    id: int
    consult_id: int
    version: int
    kind: Kind
    status: Status
    report: Report
    author: str
    cosigner: str | None = None
    supersedes_id: int | None = None
    acknowledged_at: datetime | None = None
    pdf_sha256: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReportVersion:
        def name(value: Any) -> str | None:
            if isinstance(value, Mapping):
                return str(value.get("display_name") or value.get("username"))
            return str(value) if value else None

        status = Status(data["status"])
        kind = Kind(data.get("kind", "original"))
        content = dict(data["content"])
        # what the backend knows is what counts: the status, the version, who signed and when
        content.update(
            status=status.value,
            kind=kind.value,
            version=int(data["version"]),
            supersedes=data.get("supersedes_id"),
            signed_at=data.get("signed_at"),
            cosigned_at=data.get("cosigned_at"),
        )
        specialty = str(content.get("specialty", ""))
        for role in ("author", "cosigner"):
            user = data.get(role)
            if isinstance(user, Mapping):
                content[role] = {
                    "username": str(user["username"]),
                    "display_name": str(user.get("display_name") or user["username"]),
                    "role": str(user.get("role", "specialist")),
                    "specialty": specialty if specialty in (user.get("specialties") or ()) else "",
                }
        report = Report.from_json(content)
        ack = data.get("acknowledged_at")
        return cls(
            id=int(data["id"]),
            consult_id=int(data["consult_id"]),
            version=int(data["version"]),
            kind=kind,
            status=status,
            report=report,
            author=name(data.get("author")) or report.author.display_name,
            cosigner=name(data.get("cosigner")),
            supersedes_id=data.get("supersedes_id"),
            acknowledged_at=datetime.fromisoformat(ack) if ack else None,
            pdf_sha256=data.get("pdf_sha256"),
        )


@dataclass
class Publication:
    """Where a final report went, and what did not go (to be repeated)."""

    archive: str | None = None
    fhir: str | None = None
    exported: Path | None = None
    failures: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Outputs:
    """What a final report goes out as, besides its PDF: each validated before any is sent."""

    sr: bytes | None  # DICOM SR, TID 1500 Measurement Report (None: nothing was measured on images)
    kos: bytes | None  # Key Object Selection (None: no key images)
    fhir: dict[str, Any]  # the FHIR R4 transaction bundle


Sources = Callable[[Report], Mapping[str, "Dataset"]]


class ReportDesk:
    def __init__(
        self,
        client: BackendClient,
        keys: SigningKeys | None = None,
        *,
        me: Clinician,
        pacs: Sequence[Any] = (),
        fhir_url: str | None = None,
        fhir_token: str | None = None,
        export_folder: Path | None = None,
        sources: Sources | None = None,
    ) -> None:
        self.client = client
        self.keys = keys if keys is not None else SigningKeys()
        self.me = me
        self.pacs = list(pacs)
        self.fhir_url = fhir_url
        self.fhir_token = fhir_token
        self.export_folder = export_folder
        self.sources = sources

    # reading ------------------------------------------------------------------------------------
    async def versions(self, consult_id: int) -> list[ReportVersion]:
        return [ReportVersion.from_json(v) for v in await self.client.reports(consult_id)]

    async def version(self, report_id: int) -> ReportVersion:
        return ReportVersion.from_json(await self.client.report(report_id))

    async def pending(self) -> list[ReportVersion]:
        """The reports of my specialties awaiting a second signature that I did not write."""
        return [ReportVersion.from_json(v) for v in await self.client.pending_reports()]

    async def pdf(self, report_id: int) -> bytes:
        return await self.client.report_pdf(report_id)

    async def trust(self) -> TrustAnchors:
        from core.report.signing import TrustAnchors

        ca, crl = await asyncio.gather(self.client.ca_pem(), self.client.crl())
        return TrustAnchors(ca, (crl,))

    async def verification(self, report_id: int) -> Verification:
        """The signatures of a version's PDF, checked against the site CA and its current CRL."""
        from core.report.signing import verify

        pdf, trust = await asyncio.gather(self.pdf(report_id), self.trust())
        return await asyncio.to_thread(verify, pdf, trust)

    # writing ------------------------------------------------------------------------------------
    async def save_draft(self, report: Report, report_id: int | None = None) -> ReportVersion:
        content = report.to_json()
        if report_id is None:
            data = await self.client.create_report(
                report.consult_id, content, kind=report.kind.value, supersedes_id=report.supersedes
            )
        else:
            data = await self.client.update_report(report_id, content)
        return ReportVersion.from_json(data)

    async def new_version(self, report_id: int, kind: Kind) -> Report:
        """A draft that follows a final version: its content, to be edited, as ``kind``."""
        if kind is Kind.ORIGINAL:
            raise ReportError("A new version is an addendum, an amendment or a correction.")
        earlier = await self.version(report_id)
        if earlier.status is not Status.FINAL:
            raise ReportError("Only a final report takes an addendum, an amendment or a correction.")
        r = earlier.report
        return Report(
            **{
                **{f: getattr(r, f) for f in r.__dataclass_fields__},
                "kind": kind,
                "supersedes": earlier.id,
                "status": Status.DRAFT,
                "author": self.me,
                "cosigner": None,
                "signed_at": None,
                "cosigned_at": None,
                "created_at": datetime.now(UTC),
            }
        )

    async def identity(self) -> SigningIdentity:
        """My key (from the keyring) and a valid certificate for it, enrolling a new key when needed."""
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        from core.report.signing import SigningIdentity, new_key_and_csr

        account = SigningKeys.account(self.client.base_url, self.me.username)
        ca = await self.client.ca_pem()
        key_pem = self.keys.load(account)
        if key_pem is not None:
            key = serialization.load_pem_private_key(key_pem, None)
            mine = key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            now = datetime.now(UTC)
            for item in await self.client.my_certificates():
                if item.get("revoked_at"):
                    continue
                cert = x509.load_pem_x509_certificate(str(item["pem"]).encode("ascii"))
                if not cert.not_valid_before_utc <= now < cert.not_valid_after_utc:
                    continue
                spki = cert.public_key().public_bytes(
                    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
                )
                if spki == mine:
                    return SigningIdentity(key_pem, str(item["pem"]).encode("ascii"), (ca,))
        new_key, csr_pem = await asyncio.to_thread(new_key_and_csr, self.me.username, self.me.display_name)
        issued = await self.client.enroll(csr_pem)
        self.keys.save(account, new_key)
        log.info("enrolled a new signing key for %s (certificate %s)", self.me.username, issued.get("serial"))
        return SigningIdentity(new_key, str(issued["pem"]).encode("ascii"), (ca,))

    async def sign(self, report_id: int, report: Report) -> ReportVersion:
        """The author signs: the PDF is rendered, certified with my key and uploaded (-> pending)."""
        from core.report.pdf import render_pdf
        from core.report.signing import SigningRefused, certify

        problems = report.problems()
        if problems:
            raise ReportError(" ".join(problems))
        await self.client.update_report(report_id, report.to_json())
        identity, trust = await asyncio.gather(self.identity(), self.trust())
        signed_at = datetime.now(UTC)
        shown = report.with_status(Status.PENDING, signed_at=signed_at)

        def make() -> bytes:
            return certify(render_pdf(shown), identity, trust, reason="Author of the consult report")

        try:
            pdf = await asyncio.to_thread(make)
        except SigningRefused as exc:
            raise ReportError(f"Your certificate cannot sign: {exc}") from exc
        return ReportVersion.from_json(await self.client.sign_report(report_id, pdf))

    async def cosign(self, report_id: int) -> tuple[ReportVersion, Publication]:
        """The second reader signs: the approval signature, and the SR, KOS and FHIR bundle of the final
        report, all built and validated before anything is uploaded (-> final), then published."""
        from core.report.signing import SigningRefused, approve

        pending = await self.version(report_id)
        if pending.status is not Status.PENDING:
            raise ReportError(f"This report is {pending.status.value}, not awaiting a second signature.")
        if pending.report.author.username == self.me.username:
            raise ReportError("The author cannot give the second signature.")
        pdf, identity, trust = await asyncio.gather(self.pdf(report_id), self.identity(), self.trust())
        final = pending.report.with_status(Status.FINAL, cosigner=self.me, cosigned_at=datetime.now(UTC))

        def make() -> tuple[bytes, Outputs]:
            approved = approve(pdf, identity, trust, reason="Second reader: approved")
            return approved, self._outputs(final, approved)

        try:
            approved, outputs = await asyncio.to_thread(make)
        except SigningRefused as exc:
            raise ReportError(f"Your certificate cannot sign: {exc}") from exc
        data = await self.client.cosign_report(report_id, approved, outputs.sr, outputs.kos, outputs.fhir)
        version = ReportVersion.from_json(data)
        publication = await self.publish(version.report, approved, outputs)
        return version, publication

    def _outputs(self, final: Report, pdf: bytes) -> Outputs:
        """SR, KOS (when there are key images) and FHIR bundle of ``final``, each validated; raises
        ReportError naming every problem, so that nothing goes out half-way."""
        from core.report.dicom_sr import key_object_selection, measurement_report, validate_dataset
        from core.report.fhir import report_bundle, validate_bundle

        sources = self.sources(final) if self.sources else headers_from_refs(final)
        problems: list[str] = []
        sr = kos = None
        try:
            if final.all_images():  # TID 1500 reports measurements on images; an ECG-only report has none
                sr_ds = measurement_report(final, sources)
                problems += [f"DICOM SR: {p}" for p in validate_dataset(sr_ds, sources)]
                sr = part10(sr_ds)
            if final.key_images:
                kos_ds = key_object_selection(final, sources)
                problems += [f"DICOM KOS: {p}" for p in validate_dataset(kos_ds, sources)]
                kos = part10(kos_ds)
        except ValueError as exc:
            problems.append(f"DICOM: {exc}")
        bundle = report_bundle(final, pdf=pdf)
        problems += [f"FHIR: {p}" for p in validate_bundle(bundle)]
        if problems:
            raise ReportError("The report was not sent: " + " ".join(problems))
        return Outputs(sr, kos, bundle)

    async def acknowledge(self, report_id: int) -> ReportVersion:
        return ReportVersion.from_json(await self.client.acknowledge_report(report_id))

    # publishing ---------------------------------------------------------------------------------
    async def publish(self, report: Report, pdf: bytes, outputs: Outputs) -> Publication:
        """The final report's SR and KOS to the study's archive, its bundle to the site's FHIR server, a
        copy of every file to the export folder. Repeating it is harmless (same UIDs, conditional
        creates); what failed is listed, not raised: the report is final on the backend already."""
        result = Publication()
        datasets = [d for d in (outputs.sr, outputs.kos) if d is not None]
        endpoint = self._archive()
        if endpoint is not None and datasets:
            try:
                await asyncio.to_thread(_stow, endpoint, datasets)
                result.archive = str(getattr(endpoint, "name", "archive"))
            except Exception as exc:  # network or archive refusal: reported, repeatable
                result.failures.append(f"archive: {exc}")
        if self.fhir_url:
            from core.report.fhir import FhirSendError, send

            try:
                await asyncio.to_thread(send, outputs.fhir, self.fhir_url, token=self.fhir_token)
                result.fhir = self.fhir_url
            except (FhirSendError, OSError) as exc:
                result.failures.append(f"FHIR: {exc}")
        if self.export_folder is not None:
            result.exported = await asyncio.to_thread(export_files, self.export_folder, report, pdf, outputs)
        return result

    def _archive(self) -> Any | None:
        web = [e for e in self.pacs if getattr(e, "kind", "") == "dicomweb"]
        return web[0] if web else None


def part10(ds: Dataset) -> bytes:
    from io import BytesIO

    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def headers_from_refs(report: Report) -> dict[str, Dataset]:
    """Header-only stand-ins for the referenced images, from what the report knows (patient, study, the
    references): enough for the SR's evidence and its patient and study modules."""
    from pydicom import Dataset

    out: dict[str, Dataset] = {}
    p = report.patient
    for ref in report.all_images():
        ds = Dataset()
        ds.PatientName = p.name
        ds.PatientID = p.patient_id
        ds.PatientBirthDate = p.birth_date.strftime("%Y%m%d") if p.birth_date else ""
        ds.PatientSex = p.sex if p.sex in ("M", "F", "O") else ""
        if p.issuer:
            ds.IssuerOfPatientID = p.issuer
        ds.StudyInstanceUID = ref.study_uid
        ds.SeriesInstanceUID = ref.series_uid
        ds.SOPInstanceUID = ref.sop_instance_uid
        ds.SOPClassUID = ref.sop_class_uid
        ds.StudyDate = ""
        ds.StudyTime = ""
        ds.StudyID = ""
        ds.AccessionNumber = ""
        ds.ReferringPhysicianName = ""
        out[ref.sop_instance_uid] = ds
    return out


def _stow(endpoint: Any, datasets: Sequence[bytes]) -> None:
    from io import BytesIO

    import pydicom

    from viewers.dicom.dicomweb import DicomWebClient
    from viewers.dicom.keyimage import store_key_images
    from viewers.dicom.pacs import PacsSettings

    settings = endpoint if isinstance(endpoint, PacsSettings) else PacsSettings.from_endpoint(endpoint)
    assert settings.url is not None
    client = DicomWebClient(settings.url, username=settings.username, password=settings.password)
    try:
        store_key_images(client, [pydicom.dcmread(BytesIO(d)) for d in datasets])
    finally:
        client.close()


def export_files(folder: Path, report: Report, pdf: bytes, outputs: Outputs) -> Path:
    """``<folder>/consult-<id>-v<version>/`` with report.pdf, report-sr.dcm, report-kos.dcm and
    report.fhir.json, each written whole (a temporary file, then renamed)."""
    import json
    import os

    target = folder / f"consult-{report.consult_id}-v{report.version}"
    target.mkdir(parents=True, exist_ok=True)
    files: dict[str, bytes] = {"report.pdf": pdf}
    if outputs.sr:
        files["report-sr.dcm"] = outputs.sr
    if outputs.kos:
        files["report-kos.dcm"] = outputs.kos
    files["report.fhir.json"] = json.dumps(outputs.fhir, ensure_ascii=False, indent=1).encode("utf-8")
    for name, data in files.items():
        tmp = target / (name + ".part")
        tmp.write_bytes(data)
        os.replace(tmp, target / name)
    return target


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
