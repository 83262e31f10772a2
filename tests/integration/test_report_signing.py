"""Signing the report (core/report/signing.py) against the site CA (backend/pki.py), checked by pyHanko
and independently by poppler's pdfsig (with the site CA trusted in a throw-away NSS database)."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from backend.pki import SiteCA
from core.report.pdf import render_pdf
from core.report.signing import (
    SigningIdentity,
    SigningRefused,
    TrustAnchors,
    approve,
    certify,
    new_key_and_csr,
    verify,
)
from tests.report_samples import sample_report, write_study
from tests.report_validators import nss_db_trusting, pdfsig


@dataclass
class Site:
    ca: SiteCA
    author: SigningIdentity
    cosigner: SigningIdentity
    trust: TrustAnchors


def _identity(ca: SiteCA, username: str, name: str, **issue: object) -> SigningIdentity:
    key_pem, csr_pem = new_key_and_csr(username, name)
    cert = ca.issue(csr_pem, username=username, display_name=name, role="specialist", **issue)  # type: ignore[arg-type]
    return SigningIdentity(key_pem, cert.public_bytes(serialization.Encoding.PEM), (ca.cert_pem,))


def _serial(identity: SigningIdentity) -> int:
    return x509.load_pem_x509_certificate(identity.cert_pem).serial_number


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Site:
    ca = SiteCA.load_or_create(tmp_path_factory.mktemp("pki"), "County Hospital 3")
    author = _identity(ca, "dr.chen", "Chen Jing")
    cosigner = _identity(ca, "dr.wang", "Wang Lei")
    return Site(ca, author, cosigner, TrustAnchors(ca.cert_pem, (ca.crl([]),)))


@pytest.fixture(scope="module")
def report_pdf(tmp_path_factory) -> bytes:
    study = write_study(tmp_path_factory.mktemp("study"))
    return render_pdf(sample_report(study, measurements=20, key_images=10))


@pytest.fixture(scope="module")
def signed(site, report_pdf) -> tuple[bytes, bytes]:
    """(certified by the author, then approved by the second reader)."""
    start = time.perf_counter()
    first = certify(report_pdf, site.author, site.trust, reason="Author of the report", location="Beijing")
    middle = time.perf_counter()
    both = approve(first, site.cosigner, site.trust, reason="Second reading")
    end = time.perf_counter()
    print(f"certify {middle - start:.3f} s, approve {end - middle:.3f} s")
    return first, both


# pdfsig --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def nss_db(site, tmp_path_factory) -> str:
    """An NSS database trusting the site CA, for pdfsig."""
    return nss_db_trusting(site.ca.cert_pem, tmp_path_factory.mktemp("nssdb"))


# the good path -------------------------------------------------------------------------------------
def test_certified_then_approved(site, report_pdf, signed):
    first, both = signed
    assert first.startswith(report_pdf)
    assert both.startswith(first)  # the approval is an incremental update
    start = time.perf_counter()
    result = verify(both, site.trust)
    print(f"verify (two signatures) {time.perf_counter() - start:.3f} s")
    assert result.ok, result
    assert result.tampered_revision is None
    author, cosigner = result.signatures
    assert (author.field, author.signer, author.kind) == ("author", "Chen Jing", "certification")
    assert (cosigner.field, cosigner.signer, cosigner.kind) == ("cosigner", "Wang Lei", "approval")
    for s in result.signatures:
        assert s.intact and s.trusted and not s.revoked and s.changes_permitted
        assert s.signed_at is not None and abs(s.signed_at - datetime.now(UTC)) < timedelta(minutes=5)
    assert author.revision < cosigner.revision
    # what came after the author's signature: the second signature (form filling) and validation data
    assert author.modification_level == "FORM_FILLING"
    assert cosigner.modification_level in ("NONE", "LTA_UPDATES")
    words = result.plain_words("en")
    assert words[0].startswith("Signed by Chen Jing (author) on ")
    assert words[0].endswith(" — valid; only permitted additions (signatures, form filling) since.")
    assert words[1].startswith("Signed by Wang Lei (cosigner) on ")
    assert words[1].endswith(" UTC — valid, document unchanged since.")
    assert words[-1] == "All signatures are valid and the document is intact."
    zh = result.plain_words("zh_CN")
    assert zh[0].startswith("Chen Jing（报告医生）于 ") and "有效" in zh[0]
    assert zh[-1] == "所有签名有效，文件完整。"


def test_only_the_author_signed(site, signed):
    first, _ = signed
    result = verify(first, site.trust)
    assert result.ok
    (author,) = result.signatures
    assert author.kind == "certification" and author.intact and author.trusted


def test_pdfsig_agrees(signed, tmp_path, nss_db):
    _, both = signed
    sigs = pdfsig(both, tmp_path, nss_db)
    assert [s["Signature Field Name"] for s in sigs] == ["author", "cosigner"]
    assert [s["Signer Certificate Common Name"] for s in sigs] == ["Chen Jing", "Wang Lei"]
    for s in sigs:
        assert s["Signature Validation"] == "Signature is Valid."
        assert s["Signature Type"] == "ETSI.CAdES.detached"
        assert s["Certificate Validation"] == "Certificate is Trusted."


def test_unsigned_document(site, report_pdf):
    result = verify(report_pdf, site.trust)
    assert not result.ok and result.signatures == ()
    assert result.plain_words("en") == ["The document is not signed."]


def test_approval_needs_the_prepared_field(site, signed):
    _, both = signed
    with pytest.raises(SigningRefused, match="already signed"):
        approve(both, site.cosigner, site.trust, reason="again")
    first, _ = signed
    with pytest.raises(SigningRefused, match="no empty signature field"):
        approve(first, site.cosigner, site.trust, reason="x", field="third")


# tampering -----------------------------------------------------------------------------------------
def test_a_changed_byte_in_a_signed_revision_breaks_the_signatures(
    site, report_pdf, signed, tmp_path, nss_db
):
    _, both = signed
    # the patient id in the first revision's document information (signed by both; each revision
    # writes its own copy of the information): P-2026-0042 -> P-2026-0043
    needle = b"(P\\0552026\\0550042"
    assert both.find(needle) < len(report_pdf)
    tampered = both.replace(needle, needle[:-1] + b"3", 1)
    assert len(tampered) == len(both)
    result = verify(tampered, site.trust)
    assert not result.ok
    assert [s.intact for s in result.signatures] == [False, False]
    assert result.tampered_revision == result.signatures[0].revision
    assert "INVALID" in result.plain_words("en")[0]
    assert result.plain_words("en")[-1] == (
        f"The content Chen Jing signed (revision {result.tampered_revision}) was altered after signing: "
        "do not trust its content."
    )
    assert "签名无效" in result.plain_words("zh_CN")[0]
    sigs = pdfsig(tampered, tmp_path, nss_db)
    assert len(sigs) == 2
    for s in sigs:
        assert s["Signature Validation"] != "Signature is Valid."


def test_a_content_change_appended_after_the_signatures_is_named(site, signed):
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    _, both = signed
    writer = IncrementalPdfFileWriter(io.BytesIO(both))
    page_ref = writer.root["/Pages"]["/Kids"][0]
    page = page_ref.get_object()
    content = generic.StreamObject(stream_data=b"BT /F1 24 Tf 72 400 Td (Patient P-2026-9999) Tj ET")
    page["/Contents"] = writer.add_object(content)
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    tampered = out.getvalue()
    assert tampered.startswith(both)
    before = verify(both, site.trust)
    result = verify(tampered, site.trust)
    assert not result.ok
    assert result.revisions == before.revisions + 1
    assert result.tampered_revision == before.revisions  # the appended revision, 0-based
    assert all(s.intact and s.trusted for s in result.signatures)  # the signatures themselves hold
    assert [s.changes_permitted for s in result.signatures] == [False, False]
    assert result.signatures[0].modification_level == "OTHER"
    words = result.plain_words("en")
    assert words[-1] == (
        f"The document was changed after the second signature (revision {result.tampered_revision}): "
        "do not trust its content."
    )
    assert f"修订版本 {result.tampered_revision}" in result.plain_words("zh_CN")[-1]


def test_a_content_change_between_the_signatures(site, report_pdf):
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    first = certify(report_pdf, site.author, site.trust, reason="Author")
    writer = IncrementalPdfFileWriter(io.BytesIO(first))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    page["/Contents"] = writer.add_object(generic.StreamObject(stream_data=b"BT ET"))
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    changed_at = verify(out.getvalue(), site.trust).revisions - 1
    both = approve(out.getvalue(), site.cosigner, site.trust, reason="Second reading")
    result = verify(both, site.trust)
    assert not result.ok
    assert result.tampered_revision == changed_at
    assert "after the first signature" in result.plain_words("en")[-1]


# refusals ------------------------------------------------------------------------------------------
def test_a_revoked_certificate_may_not_sign(site, report_pdf):
    revoked = _identity(site.ca, "dr.gone", "Gone Doctor")
    crl = site.ca.crl([(_serial(revoked), datetime.now(UTC) - timedelta(hours=1))])
    trust = TrustAnchors(site.ca.cert_pem, (crl,))
    with pytest.raises(SigningRefused, match="revoked") as refused:
        certify(report_pdf, revoked, trust, reason="x")
    assert "Gone Doctor" in refused.value.reason
    # the others still sign under the same list
    assert verify(certify(report_pdf, site.author, trust, reason="x"), trust).ok


def test_a_revoked_signer_is_reported_by_verify(site, report_pdf):
    later = _identity(site.ca, "dr.later", "Later Revoked")
    signed = certify(report_pdf, later, site.trust, reason="x")
    crl = site.ca.crl([(_serial(later), datetime.now(UTC))])
    result = verify(signed, TrustAnchors(site.ca.cert_pem, (crl,)))
    assert not result.ok
    (s,) = result.signatures
    assert s.intact and not s.trusted


def test_an_expired_certificate_may_not_sign(site, report_pdf):
    expired = _identity(site.ca, "dr.old", "Old Doctor", days=30, now=datetime(2024, 1, 1, tzinfo=UTC))
    with pytest.raises(SigningRefused, match="expired"):
        certify(report_pdf, expired, site.trust, reason="x")


def test_a_not_yet_valid_certificate_may_not_sign(site, report_pdf):
    future = _identity(site.ca, "dr.new", "New Doctor", now=datetime.now(UTC) + timedelta(days=2))
    with pytest.raises(SigningRefused, match="not valid yet"):
        certify(report_pdf, future, site.trust, reason="x")


def test_a_certificate_from_another_ca_may_not_sign(site, report_pdf, tmp_path):
    other_ca = SiteCA.load_or_create(tmp_path / "other", "Another Hospital")
    stranger = _identity(other_ca, "dr.chen", "Chen Jing")
    with pytest.raises(SigningRefused, match="not issued by this site's certificate authority"):
        certify(report_pdf, stranger, site.trust, reason="x")
    first = certify(report_pdf, site.author, site.trust, reason="x")
    with pytest.raises(SigningRefused, match="not issued by this site's certificate authority"):
        approve(first, stranger, site.trust, reason="x")
    # and a document signed under the other CA does not verify against this site's
    signed_elsewhere = certify(report_pdf, stranger, TrustAnchors(other_ca.cert_pem), reason="x")
    result = verify(signed_elsewhere, site.trust)
    assert not result.ok and result.signatures[0].intact and not result.signatures[0].trusted


def test_a_key_that_is_not_the_certified_one_may_not_sign(site, report_pdf):
    other_key, _ = new_key_and_csr("dr.chen", "Chen Jing")
    wrong = SigningIdentity(other_key, site.author.cert_pem, site.author.chain_pem)
    with pytest.raises(SigningRefused, match="not the key certified"):
        certify(report_pdf, wrong, site.trust, reason="x")
