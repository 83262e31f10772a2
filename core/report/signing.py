"""Signing the report PDF (issue #21): the author certifies it, the second reader approves it.

Qt-free. The keys are the clinicians' own: :func:`new_key_and_csr` makes one (the caller keeps the key in
the OS keyring and sends the CSR to the backend), the site CA (backend/pki.py) issues the certificate.

- :func:`certify`: the author's PAdES signature (ETSI.CAdES.detached) that certifies the document with
  DocMDP level 2: after it, only form filling and signing are permitted.
- :func:`approve`: the second reader's approval signature, appended as an incremental update.
- Both refuse (:class:`SigningRefused`) before signing when the signer's certificate is expired, not yet
  valid, revoked by the published CRLs or not issued by the site CA.
- :func:`verify`: each signature, whether its bytes are intact, whether its certificate chains to the
  site CA and is not revoked, what it covers and what changed after it; and the first revision whose
  change is not permitted. :meth:`Verification.plain_words` says it in English or Chinese.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields as sig_fields
from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY, ModificationLevel, SuspiciousModification
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner, SimpleSigner
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature, read_certification_data
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator import errors as cv_errors
from pyhanko_certvalidator.registry import SimpleCertificateStore

CERTIFICATION = "certification"
APPROVAL = "approval"


class SigningRefused(Exception):  # noqa: N818 - the name the backend and the GUI use
    """The signature was not made; ``reason`` says why in plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SigningIdentity:
    """A clinician's signing key (PEM, unencrypted: held in the OS keyring) and certificate, with the
    chain up to the site CA (``chain_pem``: the CA certificate)."""

    key_pem: bytes
    cert_pem: bytes
    chain_pem: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class TrustAnchors:
    """What the backend publishes: the site CA certificate and its current revocation lists (DER)."""

    ca_pem: bytes
    crls_der: tuple[bytes, ...] = ()


# keys ----------------------------------------------------------------------------------------------
def new_key_and_csr(username: str, display_name: str) -> tuple[bytes, bytes]:
    """A new EC P-256 signing key (PKCS#8 PEM, unencrypted) and its certificate request (PEM).

    The CA writes the certificate's subject from the account; the names here only help a reader of the
    request."""
    if not username.strip() or not display_name.strip():
        raise ValueError("A certificate request needs the username and the display name.")
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.COMMON_NAME, display_name.strip()),
                    x509.NameAttribute(NameOID.USER_ID, username.strip()),
                ]
            )
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, csr.public_bytes(serialization.Encoding.PEM)


# the pre-signing check -------------------------------------------------------------------------------
def _asn1_certs(pem: bytes) -> list[asn1_x509.Certificate]:
    return list(load_certs_from_pemder_data(pem))


def _validation_context(trust: TrustAnchors, moment: datetime | None = None) -> ValidationContext:
    return ValidationContext(
        trust_roots=_asn1_certs(trust.ca_pem),
        crls=list(trust.crls_der),
        revocation_mode="require" if trust.crls_der else "soft-fail",
        allow_fetching=False,
        moment=moment,
    )


def _name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string()


def _check_certificate(identity: SigningIdentity, trust: TrustAnchors, now: datetime) -> None:
    """Refuse, in plain words, a certificate that may not sign now. The plain checks come first (their
    messages are clearer); pyhanko-certvalidator then validates the path as a PDF reader would."""
    try:
        cert = x509.load_pem_x509_certificate(identity.cert_pem)
        ca = x509.load_pem_x509_certificate(trust.ca_pem)
    except ValueError as exc:
        raise SigningRefused("The signing certificate or the site CA certificate cannot be read.") from exc
    who = _name(cert)
    try:
        key = serialization.load_pem_private_key(identity.key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise SigningRefused("The signing key cannot be read (it must be an unencrypted PEM key).") from exc
    if key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) != cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ):
        raise SigningRefused(f"The signing key is not the key certified for {who}.")
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature) as exc:
        raise SigningRefused(
            f"The certificate of {who} was not issued by this site's certificate authority "
            f"({_name(ca)}): it cannot sign reports here."
        ) from exc
    if now < cert.not_valid_before_utc:
        raise SigningRefused(
            f"The certificate of {who} is not valid yet "
            f"(from {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC)."
        )
    if now > cert.not_valid_after_utc:
        raise SigningRefused(
            f"The certificate of {who} expired on {cert.not_valid_after_utc:%Y-%m-%d}: "
            "ask the administrator for a new one."
        )
    for der in trust.crls_der:
        try:
            crl = x509.load_der_x509_crl(der)
        except ValueError as exc:
            raise SigningRefused("A revocation list from the backend cannot be read.") from exc
        if crl.issuer != ca.subject or not crl.is_signature_valid(ca.public_key()):  # type: ignore[arg-type]
            raise SigningRefused("A revocation list is not signed by this site's certificate authority.")
        entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
        if entry is not None:
            raise SigningRefused(
                f"The certificate of {who} was revoked on {entry.revocation_date_utc:%Y-%m-%d}: "
                "it may no longer sign."
            )
    validator = CertificateValidator(
        _asn1_certs(identity.cert_pem)[0],
        intermediate_certs=[c for pem in identity.chain_pem for c in _asn1_certs(pem)],
        validation_context=_validation_context(trust, now),
    )
    try:
        asyncio.run(validator.async_validate_usage({"non_repudiation"}))
    except cv_errors.RevokedError as exc:
        raise SigningRefused(f"The certificate of {who} was revoked: it may no longer sign.") from exc
    except cv_errors.ExpiredError as exc:
        raise SigningRefused(f"The certificate of {who} has expired.") from exc
    except cv_errors.NotYetValidError as exc:
        raise SigningRefused(f"The certificate of {who} is not valid yet.") from exc
    except cv_errors.PathBuildingError as exc:
        raise SigningRefused(
            f"The certificate of {who} does not chain to this site's certificate authority."
        ) from exc
    except (cv_errors.ValidationError, cv_errors.PathError) as exc:
        raise SigningRefused(f"The certificate of {who} cannot be trusted: {exc}") from exc


def _signer(identity: SigningIdentity) -> SimpleSigner:
    chain = [c for pem in identity.chain_pem for c in _asn1_certs(pem)]
    return SimpleSigner(
        signing_cert=_asn1_certs(identity.cert_pem)[0],
        signing_key=load_private_key_from_pemder_data(identity.key_pem, passphrase=None),
        cert_registry=SimpleCertificateStore.from_certs(chain),
    )


def _field_names(pdf: bytes) -> dict[str, bool]:
    """The document's signature fields and whether each is filled."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    return {name: value is not None for name, value, _ in sig_fields.enumerate_sig_fields(reader)}


def _sign(
    pdf: bytes,
    identity: SigningIdentity,
    trust: TrustAnchors,
    *,
    field: str,
    reason: str,
    location: str,
    certify: bool,
) -> bytes:
    _check_certificate(identity, trust, datetime.now(UTC))
    fields_now = _field_names(pdf)
    if fields_now.get(field):
        raise SigningRefused(f"The signature field {field!r} is already signed.")
    if not certify and field not in fields_now:
        raise SigningRefused(
            f"The document has no empty signature field {field!r}: an approval may only fill a field "
            "the certified document already has."
        )
    meta = PdfSignatureMetadata(
        field_name=field,
        reason=reason or None,
        location=location or None,
        name=_name(x509.load_pem_x509_certificate(identity.cert_pem)),
        md_algorithm="sha256",
        subfilter=sig_fields.SigSeedSubFilter.PADES,
        certify=certify,
        docmdp_permissions=sig_fields.MDPPerm.FILL_FORMS,
        embed_validation_info=True,
        validation_context=_validation_context(trust),
        signer_key_usage={"non_repudiation"},
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    out = PdfSigner(meta, signer=_signer(identity)).sign_pdf(writer, existing_fields_only=not certify)
    data: bytes = out.getvalue()
    return data


def certify(
    pdf: bytes,
    identity: SigningIdentity,
    trust: TrustAnchors,
    *,
    reason: str,
    location: str = "",
    field: str = "author",
) -> bytes:
    """The author's certification signature (PAdES, DocMDP: form filling and signing only)."""
    return _sign(pdf, identity, trust, field=field, reason=reason, location=location, certify=True)


def approve(
    pdf: bytes,
    identity: SigningIdentity,
    trust: TrustAnchors,
    *,
    reason: str,
    field: str = "cosigner",
) -> bytes:
    """The second reader's approval signature, an incremental update (the output starts with ``pdf``)."""
    return _sign(pdf, identity, trust, field=field, reason=reason, location="", certify=False)


# verification ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SignatureCheck:
    """One signature in the document, as :func:`verify` found it."""

    field: str
    signer: str  # the certificate's common name
    kind: str  # certification | approval
    signed_at: datetime | None  # the signer's reported time (no timestamp authority)
    revision: int  # the revision the signature closes (0-based, as pyHanko counts)
    intact: bool  # the signed bytes are unchanged
    trusted: bool  # the certificate chains to the site CA and is not revoked
    revoked: bool
    whole_document: bool  # it covers the whole file (nothing was added after it)
    coverage: str  # pyHanko's coverage level: ENTIRE_FILE, ENTIRE_REVISION, ...
    modification_level: str | None  # what was changed after it: NONE, LTA_UPDATES, FORM_FILLING, ...
    changes_permitted: bool  # what follows it is allowed (DocMDP and pyHanko's diff policy)
    problem: str = ""  # pyHanko's words when something is wrong

    @property
    def ok(self) -> bool:
        return self.intact and self.trusted and self.changes_permitted

    @property
    def unchanged_since(self) -> bool:
        """Nothing but validation data (the signature's own certificates and CRLs) was added after it."""
        return self.whole_document or self.modification_level in ("NONE", "LTA_UPDATES")


@dataclass(frozen=True)
class Verification:
    signatures: tuple[SignatureCheck, ...]
    revisions: int
    tampered_revision: int | None  # the first revision whose change is not permitted, or whose bytes broke

    @property
    def ok(self) -> bool:
        return bool(self.signatures) and self.tampered_revision is None and all(s.ok for s in self.signatures)

    def plain_words(self, language: str = "en") -> list[str]:
        """The result as sentences a clinician reads, in ``en`` or ``zh_CN``."""
        zh = language == "zh_CN"
        out: list[str] = []
        if not self.signatures:
            return ["该文件没有签名。" if zh else "The document is not signed."]
        for s in self.signatures:
            when = s.signed_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if s.signed_at else "?"
            role = {"author": "报告医生", "cosigner": "审核医生"}.get(s.field, s.field) if zh else s.field
            if zh:
                head = f"{s.signer}（{role}）于 {when} 签名"
                if not s.intact:
                    tail = "：签名后文件内容被改动，签名无效。"
                elif not s.trusted:
                    tail = "：签名者证书被吊销。" if s.revoked else "：签名者证书不受本站信任。"
                elif not s.changes_permitted:
                    tail = "：签名本身有效，但其后文件被不允许地修改。"
                elif s.unchanged_since:
                    tail = " — 有效，此后文件未被改动。"
                else:
                    tail = " — 有效，此后仅有允许的添加（签名、表单填写）。"
            else:
                head = f"Signed by {s.signer} ({role}) on {when} UTC"
                if not s.intact:
                    tail = " — INVALID: the signed content was changed after signing."
                elif not s.trusted:
                    tail = (
                        " — not trusted: the signer's certificate was revoked."
                        if s.revoked
                        else " — not trusted: the signer's certificate is not from this site's authority."
                    )
                elif not s.changes_permitted:
                    tail = (
                        " — the signature is valid, but the document was changed afterwards "
                        "in a way not permitted."
                    )
                elif s.unchanged_since:
                    tail = " — valid, document unchanged since."
                else:
                    tail = " — valid; only permitted additions (signatures, form filling) since."
            out.append(head + tail)
        if self.tampered_revision is not None:
            rev = self.tampered_revision
            broken = [s for s in self.signatures if not s.intact and s.revision == rev]
            ordinal = len([s for s in self.signatures if s.revision < rev])
            if broken and zh:
                out.append(f"{broken[0].signer} 签名的内容（修订版本 {rev}）在签名后被改动：请勿信任其内容。")
            elif broken:
                out.append(
                    f"The content {broken[0].signer} signed (revision {rev}) was altered after signing: "
                    "do not trust its content."
                )
            elif zh:
                where = f"第 {ordinal} 个签名之后" if ordinal else "签名之前"
                out.append(f"文件在{where}被改动（修订版本 {rev}）：请勿信任其内容。")
            else:
                names = {1: "first", 2: "second", 3: "third"}
                where = (
                    f"after the {names.get(ordinal, f'#{ordinal}')} signature"
                    if ordinal
                    else "before signing"
                )
                out.append(f"The document was changed {where} (revision {rev}): do not trust its content.")
        elif self.ok:
            out.append(
                "所有签名有效，文件完整。" if zh else "All signatures are valid and the document is intact."
            )
        return out


_ALLOWED = {
    MDPPerm.NO_CHANGES: ModificationLevel.LTA_UPDATES,
    MDPPerm.FILL_FORMS: ModificationLevel.FORM_FILLING,
    MDPPerm.ANNOTATE: ModificationLevel.ANNOTATIONS,
}


def _first_bad_revision(reader: PdfFileReader, sig: EmbeddedPdfSignature) -> int | None:
    """The first revision after ``sig``'s whose change the document's DocMDP level and pyHanko's diff
    policy do not permit (each revision compared with the one before it)."""
    certification = read_certification_data(reader)
    docmdp = sig.docmdp_level or (certification.permission if certification else None)
    allowed = (
        _ALLOWED.get(docmdp, ModificationLevel.FORM_FILLING) if docmdp else ModificationLevel.ANNOTATIONS
    )
    for rev in range(sig.signed_revision + 1, reader.xrefs.total_revisions):
        old = reader.get_historical_resolver(rev - 1)
        new = reader.get_historical_resolver(rev)
        try:
            result = DEFAULT_DIFF_POLICY.apply(old, new, sig.fieldmdp, docmdp)
        except SuspiciousModification:
            return rev
        if result.modification_level > allowed:
            return rev
    return None


def _check(sig: EmbeddedPdfSignature, status: PdfSignatureStatus, kind: str) -> SignatureCheck:
    cert = sig.signer_cert
    signer = str(cert.subject.native.get("common_name", "") or cert.subject.human_friendly)
    coverage = status.coverage
    level = status.modification_level
    permitted = bool(status.docmdp_ok) and level != ModificationLevel.OTHER
    problem = ""
    if isinstance(status.diff_result, SuspiciousModification):
        problem = str(status.diff_result)
    return SignatureCheck(
        field=str(sig.field_name),
        signer=signer,
        kind=kind,
        signed_at=status.signer_reported_dt or sig.self_reported_timestamp,
        revision=sig.signed_revision,
        intact=bool(status.intact),
        trusted=bool(status.trusted) and not status.revoked,
        revoked=bool(status.revoked),
        whole_document=coverage == SignatureCoverageLevel.ENTIRE_FILE,
        coverage=coverage.name if coverage is not None else "NONE",
        modification_level=level.name if level is not None else None,
        changes_permitted=permitted,
        problem=problem,
    )


def verify(pdf: bytes, trust: TrustAnchors) -> Verification:
    """Validate every signature in ``pdf`` against the site CA and its CRLs, with pyHanko's difference
    analysis of what was appended after each."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    embedded = list(reader.embedded_regular_signatures)
    checks: list[SignatureCheck] = []
    tampered: int | None = None
    for sig in embedded:
        status = validate_pdf_signature(sig, signer_validation_context=_validation_context(trust))
        kind = CERTIFICATION if sig.docmdp_level is not None else APPROVAL
        check = _check(sig, status, kind)
        checks.append(check)
        if not check.intact:
            candidate: int | None = sig.signed_revision
        elif not check.changes_permitted:
            candidate = _first_bad_revision(reader, sig) or sig.signed_revision + 1
        else:
            candidate = None
        if candidate is not None and (tampered is None or candidate < tampered):
            tampered = candidate
    return Verification(tuple(checks), reader.xrefs.total_revisions, tampered)


def certificate_serial(cert_pem: bytes) -> int:
    """The serial of a PEM certificate (what the backend lists in its CRL when revoking it)."""
    return x509.load_pem_x509_certificate(cert_pem).serial_number
