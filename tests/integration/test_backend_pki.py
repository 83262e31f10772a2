"""The site PKI against the real backend: the CA and its files, enrolment, who may do what, revocation
and the CRL, the audit trail; and the migration's tables equal the models'."""

from __future__ import annotations

import stat
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID
from sqlalchemy import inspect

from backend.config import resolve_ca_folder
from backend.db import Database
from backend.models import Base
from tests.integration.conftest import Api
from tests.integration.test_backend_reports import new_key_and_csr


def _enroll(api: Api, username: str, cn: str = "Mallory") -> dict[str, object]:
    _, csr = new_key_and_csr(cn)
    result: dict[str, object] = api.ok("POST", "/pki/enroll", username, 201, json={"csr_pem": csr.decode()})
    return result


def test_enrolment_revocation_and_the_crl(api: Api, database_url: str) -> None:
    ca_pem = api.call("GET", "/pki/ca", "dr.li")
    assert ca_pem.status_code == 200 and ca_pem.content.startswith(b"-----BEGIN CERTIFICATE-----")
    ca = x509.load_pem_x509_certificate(ca_pem.content)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert api.call("GET", "/pki/ca", None).status_code == 401
    # The CA's key sits beside the JWT key (SQLite: beside the database), 0600.
    folder = resolve_ca_folder(database_url)
    if folder.exists():  # PostgreSQL's default is the per-user data folder: checked the same way
        key = Path(folder) / "site-ca.key.pem"
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert x509.load_pem_x509_certificate((Path(folder) / "site-ca.cert.pem").read_bytes()) == ca

    # The subject is the account's, whatever the CSR says.
    issued = _enroll(api, "dr.chen", cn="Dr. Somebody Else")
    cert = x509.load_pem_x509_certificate(str(issued["pem"]).encode())
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Dr. Chen Jing"
    assert cert.subject.get_attributes_for_oid(NameOID.USER_ID)[0].value == "dr.chen"
    assert cert.issuer == ca.subject and str(cert.serial_number) == issued["serial"]
    cert.verify_directly_issued_by(ca)
    assert _enroll(api, "dr.li")["username"] == "dr.li"  # county doctors sign too (issue #21)

    # Who may enrol and read.
    _, csr = new_key_and_csr()
    for username in ("student.zhao", "it.admin"):
        assert api.call("POST", "/pki/enroll", username, json={"csr_pem": csr.decode()}).status_code == 403
    bad = api.call("POST", "/pki/enroll", "dr.chen", json={"csr_pem": "not a CSR"})
    assert bad.status_code == 422 and "could not be read" in bad.json()["detail"]
    mine = api.ok("GET", "/pki/certificates/mine", "dr.chen")
    assert [c["serial"] for c in mine] == [issued["serial"]]
    assert api.ok("GET", "/pki/certificates/mine", "dr.wang") == []
    assert api.call("GET", "/pki/certificates", "dr.chen").status_code == 403
    assert len(api.ok("GET", "/pki/certificates", "it.admin")) == 2

    # Revocation: IT only, once, listed on the CRL signed by the CA.
    serial = str(issued["serial"])
    body = {"reason": "workstation stolen"}
    assert api.call("POST", f"/pki/certificates/{serial}/revoke", "dr.chen", json=body).status_code == 403
    assert api.call("POST", "/pki/certificates/12345/revoke", "it.admin", json=body).status_code == 404
    revoked = api.ok("POST", f"/pki/certificates/{serial}/revoke", "it.admin", json=body)
    assert revoked["revoked_at"] and revoked["revoked_reason"] == "workstation stolen"
    assert api.call("POST", f"/pki/certificates/{serial}/revoke", "it.admin", json=body).status_code == 409
    crl_response = api.call("GET", "/pki/crl", "dr.wang")
    assert crl_response.headers["content-type"] == "application/pkix-crl"
    crl = x509.load_der_x509_crl(crl_response.content)
    assert crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
    assert crl.get_revoked_certificate_by_serial_number(int(serial)) is not None
    assert len(list(crl)) == 1

    records = api.ok("GET", "/audit?limit=1000", "it.admin")
    issues = [r for r in records if r["action"] == "pki.issue"]
    assert [r["actor"] for r in issues] == ["dr.chen", "dr.li"]
    (revoke,) = [r for r in records if r["action"] == "pki.revoke"]
    assert revoke["details"]["serial"] == serial and revoke["details"]["reason"] == "workstation stolen"

    # IT disables an account: its certificates are revoked with it, and listed on the next CRL.
    li = api.ok("GET", "/pki/certificates/mine", "dr.li")[0]
    users = {u["username"]: u["id"] for u in api.ok("GET", "/users", "it.admin")}
    api.ok("POST", f"/users/{users['dr.li']}/disable", "it.admin")
    listed = {c["serial"]: c for c in api.ok("GET", "/pki/certificates", "it.admin")}
    assert listed[li["serial"]]["revoked_reason"] == "account disabled"
    crl = x509.load_der_x509_crl(api.call("GET", "/pki/crl", "dr.wang").content)
    assert crl.get_revoked_certificate_by_serial_number(int(li["serial"])) is not None
    disabled = [r for r in api.ok("GET", "/audit?limit=1000", "it.admin") if r["action"] == "user.disable"]
    assert disabled[-1]["details"]["certificates_revoked"] == 1


def test_migration_tables_equal_the_models(database_url: str) -> None:
    db = Database(database_url)
    try:
        inspector = inspect(db.engine)
        for table in ("certificates", "reports"):
            model = Base.metadata.tables[table]
            keys = {c.name for c in model.primary_key}  # SQLite reports its primary keys nullable
            migrated = {c["name"]: c["nullable"] or c["name"] in keys for c in inspector.get_columns(table)}
            modelled = {c.name: c.nullable or c.name in keys for c in model.columns}
            assert migrated == modelled, table
    finally:
        db.dispose()
