"""What the backend checks of an uploaded report PDF before it moves the report's status (pyHanko).

The workstation builds the PDF and signs it with the clinician's own key (PAdES); the backend never
holds a clinician's key. It checks instead:

* ``check_certified`` (draft -> pending): exactly one signature, a *certification* signature (DocMDP,
  form filling allowed), intact, cryptographically valid, chaining to the site CA, not revoked on the
  site's CRL, covering the whole file (or followed only by validation data: a DSS, as PAdES B-LT adds);
* ``check_approved`` (pending -> final): the new file is the stored one with bytes appended (an
  incremental update), exactly one signature more, an *approval* signature, intact, valid and chained as
  above, covering the whole file (or followed only by validation data); the certification signature
  still holds and pyHanko's difference analysis finds the update within what it allows (modification
  level at most FORM_FILLING).

Both return who signed (``SignerInfo``); whether that certificate is the caller's own, unrevoked and
unexpired in the ``certificates`` table is the route's check (backend/routes/reports.py). Every refusal is
a ``ReportCheckError`` whose message says what failed and why."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)


class ReportCheckError(ValueError):
    """The upload is refused; the message says which check failed and why."""


@dataclass(frozen=True)
class Trust:
    """The site CA's certificate (PEM) and its current CRL (DER)."""

    ca_pem: bytes
    crl_der: bytes | None = None


@dataclass(frozen=True)
class SignerInfo:
    serial: str  # decimal, as the certificates table keeps it
    cert_der: bytes
    subject: str
    field: str


def _reader(pdf: bytes) -> Any:
    from pyhanko.pdf_utils.reader import PdfFileReader

    if not pdf.startswith(b"%PDF-"):
        raise ReportCheckError("not a PDF file")
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = list(reader.embedded_signatures)
    except ReportCheckError:
        raise
    except Exception as exc:  # pyHanko raises many kinds for a broken file
        raise ReportCheckError(f"the PDF cannot be read: {type(exc).__name__}: {exc}") from exc
    return reader, signatures


def _is_certification(signature: Any) -> bool:
    """A certification signature carries a signature reference with the DocMDP transform."""
    try:
        references = signature.sig_object.get("/Reference")
    except Exception:
        return False
    if references is None:
        return False
    for entry in references:
        entry = entry.get_object() if hasattr(entry, "get_object") else entry
        if str(entry.get("/TransformMethod", "")) == "/DocMDP":
            return True
    return False


def _context(trust: Trust, now: datetime | None) -> Any:
    from asn1crypto import pem, x509
    from pyhanko_certvalidator import ValidationContext

    try:
        der = pem.unarmor(trust.ca_pem)[2] if pem.detect(trust.ca_pem) else trust.ca_pem
        ca = x509.Certificate.load(der)
    except Exception as exc:
        raise ReportCheckError(f"the site CA certificate cannot be read: {exc}") from exc
    return ValidationContext(
        trust_roots=[ca],
        crls=[trust.crl_der] if trust.crl_der else [],
        allow_fetching=False,
        # Revocation is read from the CRL given here (soft-fail: a certificate the CRL does not cover
        # is not refused for that alone); the route checks the certificates table besides.
        revocation_mode="soft-fail",
        moment=now or datetime.now(UTC),
    )


def _validate(signature: Any, trust: Trust, now: datetime | None, *, what: str) -> Any:
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.settings import KeyUsageConstraints

    try:
        status = validate_pdf_signature(
            signature,
            signer_validation_context=_context(trust, now),
            key_usage_settings=KeyUsageConstraints(
                key_usage={"digital_signature", "non_repudiation"}, match_all_key_usages=False
            ),
        )
    except ReportCheckError:
        raise
    except Exception as exc:
        raise ReportCheckError(f"the {what} cannot be validated: {type(exc).__name__}: {exc}") from exc
    if not status.intact:
        raise ReportCheckError(f"the {what} is not intact: the signed bytes were changed")
    if not status.valid:
        raise ReportCheckError(f"the {what} is not cryptographically valid")
    if status.revoked:
        raise ReportCheckError(f"the {what}'s certificate is revoked")
    if not status.trusted:
        problem = status.trust_problem_indic
        raise ReportCheckError(
            f"the {what}'s certificate does not chain to the site CA or is not valid now"
            + (f" ({problem})" if problem is not None else "")
        )
    return status


def _signer(signature: Any) -> SignerInfo:
    cert = signature.signer_cert
    return SignerInfo(
        serial=str(int(cert.serial_number)),
        cert_der=cert.dump(),
        subject=cert.subject.human_friendly,
        field=str(signature.field_name),
    )


def _covers(status: Any, what: str) -> None:
    """The signature covers the file, or everything after it is validation data (a DSS or a document
    timestamp, as PAdES B-LT appends after signing), nothing a reader would see."""
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    if status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return
    level = status.modification_level
    if (
        status.coverage != SignatureCoverageLevel.ENTIRE_REVISION
        or level is None
        or level > ModificationLevel.LTA_UPDATES
    ):
        raise ReportCheckError(
            f"the {what} does not cover the whole file: more than validation data was added after it"
        )


def check_certified(pdf: bytes, trust: Trust, *, now: datetime | None = None) -> SignerInfo:
    """The author's signed PDF: one certification signature (form filling allowed), valid, trusted."""
    from pyhanko.sign.fields import MDPPerm
    from pyhanko.sign.validation import read_certification_data

    reader, signatures = _reader(pdf)
    if len(signatures) != 1:
        raise ReportCheckError(f"the PDF must carry exactly one signature, it carries {len(signatures)}")
    signature = signatures[0]
    if str(signature.sig_object_type) != "/Sig":
        raise ReportCheckError("the signature is a document timestamp, not a signature")
    certification = read_certification_data(reader)
    if certification is None or not _is_certification(signature):
        raise ReportCheckError("the signature is not a certification signature (DocMDP)")
    if certification.permission != MDPPerm.FILL_FORMS:
        raise ReportCheckError(
            "the certification signature must allow form filling (DocMDP P=2), so that the second "
            f"reader can sign; it has {certification.permission}"
        )
    status = _validate(signature, trust, now, what="certification signature")
    _covers(status, "certification signature")
    return _signer(signature)


def check_approved(pdf: bytes, base: bytes, trust: Trust, *, now: datetime | None = None) -> SignerInfo:
    """The second reader's PDF: ``base`` (the stored pending PDF) with one approval signature appended
    in an incremental update that the certification allows."""
    from pyhanko.sign.diff_analysis import ModificationLevel

    if len(pdf) <= len(base) or not pdf.startswith(base):
        raise ReportCheckError(
            "the PDF is not an incremental update of the pending PDF: it must start with the stored "
            "pending PDF's bytes exactly"
        )
    _, before = _reader(base)
    _, signatures = _reader(pdf)
    if len(signatures) != len(before) + 1:
        raise ReportCheckError(
            f"the PDF must carry exactly one signature more than the pending PDF ({len(before) + 1}), "
            f"it carries {len(signatures)}"
        )
    certification, approval = signatures[0], signatures[-1]
    if str(approval.sig_object_type) != "/Sig":
        raise ReportCheckError("the new signature is a document timestamp, not a signature")
    if _is_certification(approval):
        raise ReportCheckError("the new signature is a certification signature; an approval is needed")
    # The author's signature was checked, revocation included, when the pending PDF was stored, and the
    # new file starts with those very bytes: a revocation since (the author left, lost a key later)
    # does not undo it. Here it must still be intact, chain to the CA and allow what was added.
    status = _validate(certification, Trust(trust.ca_pem), now, what="author's certification signature")
    level = status.modification_level
    if level is None or level > ModificationLevel.FORM_FILLING or status.docmdp_ok is False:
        raise ReportCheckError(
            "the update after the author's signature is not permitted by its certification "
            f"(modification level {level.name if level is not None else 'unknown'})"
        )
    status = _validate(approval, trust, now, what="approval signature")
    _covers(status, "approval signature")
    return _signer(approval)
