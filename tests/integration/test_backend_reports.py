"""The consult report against the real backend: versions, statuses, PAdES signatures by certificates the
backend's site CA issued, the co-signing rules, the close rule, acknowledgement and the audit trail.

The PDFs are the real report (core/report/pdf.py over tests/report_samples.sample_report), signed with
the workstation's core/report/signing.py: a certification signature (DocMDP, form filling) by the author
in the ``author`` field, then an approval signature by the second reader in ``cosigner``, appended as an
incremental update. The SR and KOS are minimal DICOM documents: what the backend checks of them."""

from __future__ import annotations

import asyncio
import base64
import functools
import io
from datetime import date
from typing import Any

import pydicom
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from tests.integration.conftest import Api
from tests.report_samples import PATIENT, sample_report

COMPREHENSIVE_3D_SR = "1.2.840.10008.5.1.4.1.1.88.34"
KOS = "1.2.840.10008.5.1.4.1.1.88.59"
CLOSE_DETAIL = "a final report or a reason for closing without one is needed"


# keys, certificates, signatures -----------------------------------------------------------------------
def new_key_and_csr(cn: str = "Whoever I Claim To Be") -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, csr.public_bytes(serialization.Encoding.PEM)


class Identity:
    """A clinician's key and the certificate the backend issued for it."""

    def __init__(self, key_pem: bytes, issued: dict[str, Any], ca_pem: bytes) -> None:
        self.key_pem = key_pem
        self.serial: str = issued["serial"]
        self.cert_pem: bytes = issued["pem"].encode()
        self.ca_pem = ca_pem

    @classmethod
    def enrol(cls, api: Api, username: str) -> Identity:
        key_pem, csr = new_key_and_csr()
        issued = api.ok("POST", "/pki/enroll", username, 201, json={"csr_pem": csr.decode()})
        return cls(key_pem, issued, api.call("GET", "/pki/ca", username).content)

    def _parts(self) -> tuple[Any, Any]:
        from core.report.signing import SigningIdentity, TrustAnchors

        # No CRL: the workstation's own refusal of a revoked certificate is not what is tested here,
        # the backend's is.
        return SigningIdentity(self.key_pem, self.cert_pem, (self.ca_pem,)), TrustAnchors(self.ca_pem)

    def certify(self, pdf: bytes) -> bytes:
        from core.report.signing import certify

        return certify(pdf, *self._parts(), reason="Consult report")

    def approve(self, pdf: bytes) -> bytes:
        from core.report.signing import approve

        return approve(pdf, *self._parts(), reason="Second reading")


@functools.cache
def report_pdf() -> bytes:
    from core.report.pdf import render_pdf

    return render_pdf(sample_report())


def report_content() -> dict[str, Any]:
    return sample_report().to_json()


def dicom_document(patient_id: str, *, kos: bool = False) -> bytes:
    """A minimal SR (or KOS) document of ``patient_id``: what the backend parses of the real ones."""
    ds = Dataset()
    ds.SOPClassUID = KOS if kos else COMPREHENSIVE_3D_SR
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "KO" if kos else "SR"
    ds.PatientID = patient_id
    ds.PatientName = PATIENT.name
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.preamble = b"\0" * 128
    out = io.BytesIO()
    pydicom.dcmwrite(out, ds, enforce_file_format=True)
    return out.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


BUNDLE = {"resourceType": "Bundle", "type": "transaction", "entry": []}


def cosign_body(pdf: bytes, patient_id: str = PATIENT.patient_id, **changes: Any) -> dict[str, Any]:
    body = {
        "pdf_base64": b64(pdf),
        "sr_base64": b64(dicom_document(patient_id)),
        "kos_base64": b64(dicom_document(patient_id, kos=True)),
        "fhir": BUNDLE,
    }
    return body | changes


# consults --------------------------------------------------------------------------------------------
def cardiology_consult(api: Api, state: str = "in_session") -> int:
    """dr.li asks, dr.chen (cardiology) accepts; dr.wang (cardiology) may co-sign."""
    patient = {
        "patient_id": PATIENT.patient_id,
        "name": "Zhang Wei",
        "sex": "M",
        "birth_date": date(1961, 3, 14).isoformat(),
    }
    cid = int(api.new_consult("cardiology", patient=patient)["id"])
    api.ok("POST", f"/consults/{cid}/accept", "dr.chen")
    if state == "in_session":
        api.ok("POST", f"/consults/{cid}/start", "dr.li")
    return cid


def audit_actions(api: Api, consult_id: int | None = None) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = api.ok("GET", "/audit?limit=1000", "it.admin")
    return [r for r in records if consult_id is None or r["consult_id"] == consult_id]


# tests -----------------------------------------------------------------------------------------------
def test_draft_pending_final_with_real_signatures(api: Api) -> None:
    cid = cardiology_consult(api)
    chen, wang = Identity.enrol(api, "dr.chen"), Identity.enrol(api, "dr.wang")
    content = report_content()

    # Only the accepting specialist writes the original.
    assert api.call("POST", f"/consults/{cid}/reports", "dr.li", json={"content": content}).status_code == 403
    refused = api.call("POST", f"/consults/{cid}/reports", "dr.wang", json={"content": content})
    assert refused.status_code == 403, refused.text
    draft = api.ok("POST", f"/consults/{cid}/reports", "dr.chen", 201, json={"content": content})
    rid = draft["id"]
    assert (draft["version"], draft["kind"], draft["status"], draft["author"]["username"]) == (
        1, "original", "draft", "dr.chen"
    )  # fmt: skip
    again = api.call("POST", f"/consults/{cid}/reports", "dr.chen", json={"content": content})
    assert again.status_code == 409 and "still draft" in again.json()["detail"]
    assert api.ok("GET", f"/consults/{cid}", "dr.li")["report_status"] == "draft"

    # The author edits the draft; a would-be co-signer does not even see a draft.
    content["impression"] = "Edited impression."
    edited = api.ok("PUT", f"/reports/{rid}", "dr.chen", json={"content": content})
    assert edited["content"]["impression"] == "Edited impression."
    assert api.call("PUT", f"/reports/{rid}", "dr.wang", json={"content": content}).status_code == 404
    assert api.ok("GET", f"/consults/{cid}/reports", "dr.wang") == []

    # Signing: a county doctor cannot; an unsigned PDF, or an approval instead of a certification, is refused.
    unsigned = report_pdf()
    assert (
        api.call("POST", f"/reports/{rid}/sign", "dr.li", json={"pdf_base64": b64(unsigned)}).status_code
        == 403
    )
    bad = api.call("POST", f"/reports/{rid}/sign", "dr.chen", json={"pdf_base64": b64(unsigned)})
    assert bad.status_code == 422 and bad.json()["detail"].startswith("pdf: ")
    approval_only = api.call(
        "POST", f"/reports/{rid}/sign", "dr.chen", json={"pdf_base64": b64(chen.approve(unsigned))}
    )
    assert approval_only.status_code == 422 and "certification" in approval_only.json()["detail"]
    # A PDF certified by someone else's certificate (dr.wang's) is not the author's signature.
    wangs = api.call(
        "POST", f"/reports/{rid}/sign", "dr.chen", json={"pdf_base64": b64(wang.certify(unsigned))}
    )
    assert wangs.status_code == 422 and "not one the site issued to dr.chen" in wangs.json()["detail"]
    pending_pdf = chen.certify(unsigned)
    pending = api.ok("POST", f"/reports/{rid}/sign", "dr.chen", json={"pdf_base64": b64(pending_pdf)})
    assert pending["status"] == "pending" and pending["signed_at"] and pending["has_pdf"]
    assert api.call("PUT", f"/reports/{rid}", "dr.chen", json={"content": content}).status_code == 409

    # The co-signing worklist: dr.wang's, not the author's.
    assert [r["id"] for r in api.ok("GET", "/reports?status=pending", "dr.wang")] == [rid]
    assert api.ok("GET", "/reports?status=pending", "dr.chen") == []

    # Who may co-sign: not the author, not a specialist of another specialty, not the county doctor.
    api.add_user("dr.zhou", "specialist", "Dr. Zhou", ("radiology",))
    final_pdf = wang.approve(pending_pdf)
    author = api.call(
        "POST", f"/reports/{rid}/cosign", "dr.chen", json=cosign_body(chen.approve(pending_pdf))
    )
    assert author.status_code == 403 and author.json()["detail"] == "the author cannot sign twice"
    assert (
        api.call("POST", f"/reports/{rid}/cosign", "dr.zhou", json=cosign_body(final_pdf)).status_code == 404
    )
    assert api.call("POST", f"/reports/{rid}/cosign", "dr.li", json=cosign_body(final_pdf)).status_code == 403

    # A PDF that is not an incremental update of the pending one is refused.
    fresh = wang.approve(chen.certify(unsigned))
    not_update = api.call("POST", f"/reports/{rid}/cosign", "dr.wang", json=cosign_body(fresh))
    assert not_update.status_code == 422 and "incremental update" in not_update.json()["detail"]

    # A bad SR (another patient's) leaves everything as it was: still pending, the same PDF.
    wrong_sr = cosign_body(final_pdf, sr_base64=b64(dicom_document("SOMEONE-ELSE")))
    refused = api.call("POST", f"/reports/{rid}/cosign", "dr.wang", json=wrong_sr)
    assert refused.status_code == 422 and refused.json()["detail"].startswith("sr: ")
    not_sr = cosign_body(final_pdf, sr_base64=b64(b"not dicom at all"))
    assert api.call("POST", f"/reports/{rid}/cosign", "dr.wang", json=not_sr).status_code == 422
    # The report measures on images and has key images: its SR and KOS cannot be left out.
    for part in ("sr", "kos"):
        body = cosign_body(final_pdf)
        del body[f"{part}_base64"]
        refused = api.call("POST", f"/reports/{rid}/cosign", "dr.wang", json=body)
        assert refused.status_code == 422 and refused.json()["detail"].startswith(f"{part}: "), part
    bad_fhir = cosign_body(final_pdf, fhir={"resourceType": "Bundle", "type": "collection"})
    refused = api.call("POST", f"/reports/{rid}/cosign", "dr.wang", json=bad_fhir)
    assert refused.status_code == 422 and refused.json()["detail"].startswith("fhir: ")
    still = api.ok("GET", f"/reports/{rid}", "dr.chen")
    assert (still["status"], still["pdf_sha256"], still["cosigner"]) == (
        "pending",
        pending["pdf_sha256"],
        None,
    )
    assert api.call("GET", f"/reports/{rid}/pdf", "dr.chen").content == pending_pdf
    assert api.call("GET", f"/reports/{rid}/sr", "dr.chen").status_code == 404

    final = api.ok("POST", f"/reports/{rid}/cosign", "dr.wang", json=cosign_body(final_pdf))
    assert (final["status"], final["cosigner"]["username"]) == ("final", "dr.wang")
    pdf = api.call("GET", f"/reports/{rid}/pdf", "dr.li")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content == final_pdf
    sr = api.call("GET", f"/reports/{rid}/sr", "dr.li")
    assert sr.headers["content-type"] == "application/dicom"
    assert pydicom.dcmread(io.BytesIO(sr.content)).PatientID == PATIENT.patient_id
    kos = api.call("GET", f"/reports/{rid}/kos", "dr.li")
    assert pydicom.dcmread(io.BytesIO(kos.content)).SOPClassUID == KOS
    fhir = api.call("GET", f"/reports/{rid}/fhir", "dr.li")
    assert fhir.headers["content-type"] == "application/fhir+json" and fhir.json() == BUNDLE
    # Final means final: no second co-signature, no edit.
    assert (
        api.call("POST", f"/reports/{rid}/cosign", "dr.wang", json=cosign_body(final_pdf)).status_code == 409
    )
    assert api.call("PUT", f"/reports/{rid}", "dr.chen", json={"content": content}).status_code == 409

    # The requesting doctor acknowledges, once (idempotent); nobody else may.
    consult = api.ok("GET", f"/consults/{cid}", "dr.li")
    assert (consult["report_status"], consult["report_acknowledged"]) == ("final", False)
    assert api.call("POST", f"/reports/{rid}/acknowledge", "dr.chen").status_code == 403
    api.add_user("dr.zhao", "county_doctor", "Dr. Zhao")
    assert api.call("POST", f"/reports/{rid}/acknowledge", "dr.zhao").status_code == 404
    first = api.ok("POST", f"/reports/{rid}/acknowledge", "dr.li")
    second = api.ok("POST", f"/reports/{rid}/acknowledge", "dr.li")
    assert first["acknowledged_at"] == second["acknowledged_at"] is not None
    consult = api.ok("GET", f"/consults/{cid}", "dr.li")
    assert (consult["report_status"], consult["report_acknowledged"]) == ("final", True)

    # With the final report the consult closes without a reason.
    closed = api.ok("POST", f"/consults/{cid}/close", "dr.chen", json={"outcome": "Reported."})
    assert closed["state"] == "closed"

    # Every step is in the audit chain, with the PDFs' hashes.
    records = audit_actions(api, cid)
    actions = [r["action"] for r in records]
    for action in ("report.create", "report.update", "report.sign", "report.cosign", "report.acknowledge"):
        assert actions.count(action) == 1, (action, actions)
    signed = next(r for r in records if r["action"] == "report.sign")
    assert (
        signed["details"]["pdf_sha256"] == pending["pdf_sha256"]
        and signed["details"]["certificate"] == chen.serial
    )
    cosigned = next(r for r in records if r["action"] == "report.cosign")
    assert (
        cosigned["details"]["pdf_sha256"] == final["pdf_sha256"]
        and cosigned["details"]["certificate"] == wang.serial
    )
    close = next(r for r in records if r["action"] == "consult.close")
    assert close["details"] == {"final_report": True}
    issued = [r["details"]["serial"] for r in audit_actions(api) if r["action"] == "pki.issue"]
    assert {chen.serial, wang.serial} <= set(issued)


def test_revoked_certificate_is_refused(api: Api) -> None:
    cid = cardiology_consult(api)
    chen, wang = Identity.enrol(api, "dr.chen"), Identity.enrol(api, "dr.wang")
    draft = api.ok("POST", f"/consults/{cid}/reports", "dr.chen", 201, json={"content": report_content()})
    rid = draft["id"]
    api.ok("POST", f"/pki/certificates/{chen.serial}/revoke", "it.admin", json={"reason": "key lost"})
    refused = api.call(
        "POST", f"/reports/{rid}/sign", "dr.chen", json={"pdf_base64": b64(chen.certify(report_pdf()))}
    )
    assert refused.status_code == 422 and "revoked" in refused.json()["detail"], refused.text
    assert api.ok("GET", f"/reports/{rid}", "dr.chen")["status"] == "draft"

    # A new key, a new certificate: signing works again. The second reader's certificate is revoked next.
    chen = Identity.enrol(api, "dr.chen")
    pending_pdf = chen.certify(report_pdf())
    api.ok("POST", f"/reports/{rid}/sign", "dr.chen", json={"pdf_base64": b64(pending_pdf)})
    api.ok(
        "POST", f"/pki/certificates/{wang.serial}/revoke", "it.admin", json={"reason": "left the hospital"}
    )
    refused = api.call(
        "POST", f"/reports/{rid}/cosign", "dr.wang", json=cosign_body(wang.approve(pending_pdf))
    )
    assert refused.status_code == 422 and "revoked" in refused.json()["detail"], refused.text
    assert api.ok("GET", f"/reports/{rid}", "dr.chen")["status"] == "pending"

    # The author's certificate revoked after signing: the stored signature was checked when it was
    # made, and the co-signature with a valid certificate still completes the report.
    api.ok("POST", f"/pki/certificates/{chen.serial}/revoke", "it.admin", json={"reason": "left"})
    wang = Identity.enrol(api, "dr.wang")
    final = api.ok("POST", f"/reports/{rid}/cosign", "dr.wang", json=cosign_body(wang.approve(pending_pdf)))
    assert final["status"] == "final"


def test_addendum_only_after_final_and_the_original_is_kept(api: Api) -> None:
    cid = cardiology_consult(api)
    chen, wang = Identity.enrol(api, "dr.chen"), Identity.enrol(api, "dr.wang")
    draft = api.ok("POST", f"/consults/{cid}/reports", "dr.chen", 201, json={"content": report_content()})
    early = {"content": report_content(), "kind": "addendum", "supersedes_id": draft["id"]}
    assert api.call("POST", f"/consults/{cid}/reports", "dr.chen", json=early).status_code == 409
    # An original supersedes nothing; an addendum must name a version.
    api.ok("PUT", f"/reports/{draft['id']}", "dr.chen", json={"content": report_content()})
    pending_pdf = chen.certify(report_pdf())
    api.ok("POST", f"/reports/{draft['id']}/sign", "dr.chen", json={"pdf_base64": b64(pending_pdf)})
    api.ok("POST", f"/reports/{draft['id']}/cosign", "dr.wang", json=cosign_body(wang.approve(pending_pdf)))
    original = api.ok("GET", f"/reports/{draft['id']}", "dr.li")
    original_pdf = api.call("GET", f"/reports/{draft['id']}/pdf", "dr.li").content

    no_target = {"content": report_content(), "kind": "addendum"}
    assert api.call("POST", f"/consults/{cid}/reports", "dr.chen", json=no_target).status_code == 409
    second_original = api.call(
        "POST", f"/consults/{cid}/reports", "dr.chen", json={"content": report_content()}
    )
    assert (
        second_original.status_code == 409 and "already has an original" in second_original.json()["detail"]
    )
    # Only the accepting specialist writes the addendum.
    addendum_body = {"content": report_content(), "kind": "addendum", "supersedes_id": draft["id"]}
    assert api.call("POST", f"/consults/{cid}/reports", "dr.wang", json=addendum_body).status_code == 403
    # Addenda come after closing too.
    api.ok("POST", f"/consults/{cid}/close", "dr.chen", json={"outcome": "Reported."})
    addendum = api.ok("POST", f"/consults/{cid}/reports", "dr.chen", 201, json=addendum_body)
    assert (addendum["version"], addendum["kind"], addendum["supersedes_id"]) == (2, "addendum", draft["id"])
    twice = {"content": report_content(), "kind": "correction", "supersedes_id": draft["id"]}
    assert api.call("POST", f"/consults/{cid}/reports", "dr.chen", json=twice).status_code == 409
    assert api.ok("GET", f"/consults/{cid}", "dr.li")["report_status"] == "draft"

    addendum_pdf = chen.certify(report_pdf())
    api.ok("POST", f"/reports/{addendum['id']}/sign", "dr.chen", json={"pdf_base64": b64(addendum_pdf)})
    api.ok(
        "POST", f"/reports/{addendum['id']}/cosign", "dr.wang", json=cosign_body(wang.approve(addendum_pdf))
    )

    # The original is kept unchanged, and both are linked.
    kept = api.ok("GET", f"/reports/{draft['id']}", "dr.li")
    assert kept["superseded_by_id"] == addendum["id"]
    assert {k: v for k, v in kept.items() if k != "superseded_by_id"} == {
        k: v for k, v in original.items() if k != "superseded_by_id"
    }
    assert api.call("GET", f"/reports/{draft['id']}/pdf", "dr.li").content == original_pdf
    versions = api.ok("GET", f"/consults/{cid}/reports", "dr.li")
    assert [(v["version"], v["status"], v["supersedes_id"]) for v in versions] == [
        (1, "final", None),
        (2, "final", draft["id"]),
    ]
    cosigned = [r for r in audit_actions(api, cid) if r["action"] == "report.cosign"]
    assert [r["details"]["supersedes_id"] for r in cosigned] == [None, draft["id"]]


def test_close_needs_a_final_report_or_a_reason(api: Api) -> None:
    cid = cardiology_consult(api)
    refused = api.call("POST", f"/consults/{cid}/close", "dr.chen", json={"outcome": "Done."})
    assert refused.status_code == 409 and refused.json()["detail"] == CLOSE_DETAIL
    blank = api.call(
        "POST", f"/consults/{cid}/close", "dr.chen", json={"outcome": "Done.", "no_report_reason": "  "}
    )
    assert blank.status_code == 409 and blank.json()["detail"] == CLOSE_DETAIL
    # A draft (or pending) report is not enough either.
    api.ok("POST", f"/consults/{cid}/reports", "dr.chen", 201, json={"content": report_content()})
    assert api.call("POST", f"/consults/{cid}/close", "dr.chen", json={"outcome": "Done."}).status_code == 409
    assert api.ok("GET", f"/consults/{cid}", "dr.li")["state"] == "in_session"
    reason = "Patient transferred before the report was written."
    closed = api.ok(
        "POST", f"/consults/{cid}/close", "dr.chen", json={"outcome": "Done.", "no_report_reason": reason}
    )
    assert closed["state"] == "closed"
    (close,) = [r for r in audit_actions(api, cid) if r["action"] == "consult.close"]
    assert close["details"] == {"final_report": False, "no_report_reason": reason}


def test_report_reads_follow_the_consult(api: Api) -> None:
    """Participants and co-signers of the specialty read a report; trainees and IT do not; ids do not leak."""
    cid = cardiology_consult(api)
    chen = Identity.enrol(api, "dr.chen")
    draft = api.ok("POST", f"/consults/{cid}/reports", "dr.chen", 201, json={"content": report_content()})
    pending_pdf = chen.certify(report_pdf())
    api.ok("POST", f"/reports/{draft['id']}/sign", "dr.chen", json={"pdf_base64": b64(pending_pdf)})
    for who in ("dr.chen", "dr.li", "dr.wang"):
        assert api.ok("GET", f"/reports/{draft['id']}", who)["status"] == "pending"
        assert api.call("GET", f"/reports/{draft['id']}/pdf", who).content == pending_pdf
    assert api.call("GET", f"/reports/{draft['id']}", "student.zhao").status_code == 404
    assert api.call("GET", f"/reports/{draft['id']}", "it.admin").status_code == 403
    assert api.call("GET", f"/consults/{cid}/reports", "student.zhao").status_code == 404
    assert api.call("GET", "/reports/999999", "dr.chen").status_code == 404
    assert api.call("GET", "/reports?status=pending", "dr.li").status_code == 403
    # Trainees and IT cannot enrol a signing key.
    _, csr = new_key_and_csr()
    assert api.call("POST", "/pki/enroll", "student.zhao", json={"csr_pem": csr.decode()}).status_code == 403


@pytest.mark.parametrize("kind", ["sr", "kos"])
def test_cosign_refuses_the_wrong_dicom_document(api: Api, kind: str) -> None:
    cid = cardiology_consult(api)
    chen, wang = Identity.enrol(api, "dr.chen"), Identity.enrol(api, "dr.wang")
    draft = api.ok("POST", f"/consults/{cid}/reports", "dr.chen", 201, json={"content": report_content()})
    pending_pdf = chen.certify(report_pdf())
    api.ok("POST", f"/reports/{draft['id']}/sign", "dr.chen", json={"pdf_base64": b64(pending_pdf)})
    # The SR where the KOS belongs (or the other way round).
    swapped = dicom_document(PATIENT.patient_id, kos=kind == "sr")
    body = cosign_body(wang.approve(pending_pdf), **{f"{kind}_base64": b64(swapped)})
    refused = api.call("POST", f"/reports/{draft['id']}/cosign", "dr.wang", json=body)
    assert refused.status_code == 422 and refused.json()["detail"].startswith(f"{kind}: not "), refused.text
    assert api.ok("GET", f"/reports/{draft['id']}", "dr.wang")["status"] == "pending"
    assert not [r for r in audit_actions(api, cid) if r["action"] == "report.cosign"]


def test_the_workstation_client_walks_the_report(api: Api) -> None:
    """core/client/backend.py: enrol, write, sign, co-sign, acknowledge, read back; close with a reason."""
    import asyncio

    from core.client.backend import BackendClient, BackendError

    cid = cardiology_consult(api)
    other = cardiology_consult(api)

    async def scenario() -> None:
        chen, wang, li = (BackendClient(api.base_url, timeout=60) for _ in range(3))
        try:
            await chen.login("dr.chen", "demo")
            await wang.login("dr.wang", "demo")
            await li.login("dr.li", "demo")
            ca_pem = await chen.ca_pem()
            crl = await wang.crl()
            assert ca_pem.startswith(b"-----BEGIN CERTIFICATE-----")
            assert x509.load_der_x509_crl(crl).issuer == x509.load_pem_x509_certificate(ca_pem).subject
            identities = {}
            for name, client in (("chen", chen), ("wang", wang)):
                key_pem, csr = new_key_and_csr()
                issued = await client.enroll(csr)
                identities[name] = Identity(key_pem, issued, ca_pem)
                assert [c["serial"] for c in await client.my_certificates()] == [issued["serial"]]
            draft = await chen.create_report(cid, report_content())
            edited = await chen.update_report(draft["id"], report_content() | {"impression": "Changed."})
            assert edited["content"]["impression"] == "Changed."
            # pyHanko runs its own event loop: sign on a thread, as the workstation does off its loop.
            pending_pdf = await asyncio.to_thread(identities["chen"].certify, report_pdf())
            assert (await chen.sign_report(draft["id"], pending_pdf))["status"] == "pending"
            assert [r["id"] for r in await wang.pending_reports()] == [draft["id"]]
            final_pdf = await asyncio.to_thread(identities["wang"].approve, pending_pdf)
            sr, kos = dicom_document(PATIENT.patient_id), dicom_document(PATIENT.patient_id, kos=True)
            final = await wang.cosign_report(draft["id"], final_pdf, sr, kos, BUNDLE)
            assert final["status"] == "final" and await li.report_pdf(draft["id"]) == final_pdf
            assert (await li.acknowledge_report(draft["id"]))["acknowledged_at"]
            assert [r["status"] for r in await li.reports(cid)] == ["final"]
            assert (await li.report(draft["id"]))["cosigner"]["username"] == "dr.wang"
            # Closing without a final report: refused without a reason (the client never makes one up),
            # accepted with the one the specialist gave.
            for attempt in (
                chen.close_consult(other, "Seen."),
                chen.transition(other, "close", {"outcome": "x"}),
            ):
                with pytest.raises(BackendError) as refused:
                    await attempt
                assert refused.value.status == 409 and refused.value.detail == CLOSE_DETAIL
            closed = await chen.close_consult(other, "Advice given.", no_report_reason="Seen by phone.")
            assert closed["state"] == "closed"
        finally:
            for client in (chen, wang, li):
                await client.aclose()

    asyncio.run(scenario())
    (close,) = [r for r in audit_actions(api, other) if r["action"] == "consult.close"]
    assert close["details"] == {"final_report": False, "no_report_reason": "Seen by phone."}


def test_the_demo_consult_ends_in_a_final_report(api: Api) -> None:
    """`make run`'s demo: one consult (an ECG, no images) is reported, co-signed and closed through the
    real workflow; with nothing measured on images it carries no SR and no KOS. Seeded once."""
    from app.demo import demo_final_report

    rid = asyncio.run(demo_final_report(api.base_url))
    assert rid is not None
    report = api.ok("GET", f"/reports/{rid}", "dr.li")
    assert (report["status"], report["has_sr"], report["has_kos"], report["has_fhir"]) == (
        "final",
        False,
        False,
        True,
    )
    consult = api.ok("GET", f"/consults/{report['consult_id']}", "dr.li")
    assert (consult["state"], consult["report_status"], consult["report_acknowledged"]) == (
        "closed",
        "final",
        False,
    )
    assert asyncio.run(demo_final_report(api.base_url)) is None
