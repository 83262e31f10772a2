"""The site certificate authority (backend/pki.py): issuing from CSRs, refusing bad ones, revoking."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from backend.pki import CERT_FILE, DOCUMENT_SIGNING, KEY_FILE, PkiError, SiteCA


def _csr(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, cn: str = "anyone") -> bytes:
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM)


def _spki(key: x509.Certificate | ec.EllipticCurvePublicKey) -> bytes:
    public = key.public_key() if isinstance(key, x509.Certificate) else key
    return public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture
def ca(tmp_path) -> SiteCA:
    return SiteCA.load_or_create(tmp_path / "pki", "County Hospital 3")


def test_the_ca_certificate(ca, tmp_path):
    cert = ca.cert
    assert cert.subject == cert.issuer
    cert.verify_directly_issued_by(cert)  # self-signed
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "County Hospital 3"
    basic = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value.ca
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign and not usage.digital_signature
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert timedelta(days=3650) <= lifetime <= timedelta(days=3655)
    assert ca.cert_pem == (tmp_path / "pki" / CERT_FILE).read_bytes()
    assert x509.load_pem_x509_certificate(ca.cert_pem) == cert


def test_key_file_is_private_and_reload_gives_the_same_ca(ca, tmp_path):
    folder = tmp_path / "pki"
    mode = stat.S_IMODE((folder / KEY_FILE).stat().st_mode)
    assert mode == 0o600
    again = SiteCA.load_or_create(folder, "another name is ignored once the CA exists")
    assert again.cert == ca.cert
    assert again.cert_pem == ca.cert_pem
    # and the reloaded CA signs with the same key: what it issues verifies against the first one's cert
    issued = again.issue(
        _csr(ec.generate_private_key(ec.SECP256R1())), username="u", display_name="U", role="r"
    )
    issued.verify_directly_issued_by(ca.cert)


def test_half_a_ca_is_refused(tmp_path):
    ca = SiteCA.load_or_create(tmp_path, "Site")
    (tmp_path / CERT_FILE).unlink()
    with pytest.raises(PkiError, match="Only one of"):
        SiteCA.load_or_create(tmp_path, "Site")
    del ca


def test_issue_takes_only_the_public_key_from_the_csr(ca):
    key = ec.generate_private_key(ec.SECP256R1())
    csr = _csr(key, cn="Admin (forged)")
    now = datetime.now(UTC)
    cert = ca.issue(csr, username="dr.chen", display_name="Chen Jing", role="specialist", days=30, now=now)
    cert.verify_directly_issued_by(ca.cert)
    assert _spki(cert) == _spki(key.public_key())
    subject = {a.oid: a.value for a in cert.subject}
    assert subject == {
        NameOID.COMMON_NAME: "Chen Jing",  # not the CSR's "Admin (forged)"
        NameOID.USER_ID: "dr.chen",
        NameOID.ORGANIZATION_NAME: "County Hospital 3",
        NameOID.ORGANIZATIONAL_UNIT_NAME: "specialist",
    }
    assert cert.issuer == ca.cert.subject
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature and usage.value.content_commitment
    assert not usage.value.key_cert_sign
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert DOCUMENT_SIGNING in eku and ExtendedKeyUsageOID.EMAIL_PROTECTION in eku
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ca_ski = ca.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ca_ski.digest
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    assert cert.not_valid_after_utc - cert.not_valid_before_utc <= timedelta(days=30, minutes=5)
    # serials are random, positive, and differ
    other = ca.issue(csr, username="dr.chen", display_name="Chen Jing", role="specialist")
    assert cert.serial_number > 0 and other.serial_number != cert.serial_number
    assert organisation_override(ca, csr) == "Provincial Hospital"


def organisation_override(ca: SiteCA, csr: bytes) -> str:
    cert = ca.issue(
        csr, username="x", display_name="X", role="specialist", organisation="Provincial Hospital"
    )
    return str(cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value)


def test_rsa_3072_csr_is_accepted_and_weak_rsa_refused(ca):
    good = ca.issue(
        _csr(rsa.generate_private_key(65537, 3072)), username="u", display_name="U", role="specialist"
    )
    assert isinstance(good.public_key(), rsa.RSAPublicKey)
    with pytest.raises(PkiError, match="too weak"):
        ca.issue(_csr(rsa.generate_private_key(65537, 1024)), username="u", display_name="U", role="r")


def test_a_csr_whose_signature_is_broken_is_refused(ca):
    pem = _csr(ec.generate_private_key(ec.SECP256R1()))
    der = bytearray(x509.load_pem_x509_csr(pem).public_bytes(serialization.Encoding.DER))
    der[-1] ^= 0x01  # the last byte of the signature
    broken = x509.load_der_x509_csr(bytes(der)).public_bytes(serialization.Encoding.PEM)
    with pytest.raises(PkiError, match="not signed by its own key"):
        ca.issue(broken, username="dr.chen", display_name="Chen Jing", role="specialist")
    with pytest.raises(PkiError, match="could not be read"):
        ca.issue(b"not a csr", username="dr.chen", display_name="Chen Jing", role="specialist")
    with pytest.raises(PkiError, match="username, display name and role"):
        ca.issue(pem, username="", display_name="Chen Jing", role="specialist")


def test_an_expired_certificate_can_be_issued_for_tests(ca):
    past = datetime(2020, 1, 1, tzinfo=UTC)
    cert = ca.issue(
        _csr(ec.generate_private_key(ec.SECP256R1())),
        username="old",
        display_name="Old Doctor",
        role="specialist",
        days=30,
        now=past,
    )
    assert cert.not_valid_after_utc < datetime.now(UTC)
    assert cert.not_valid_before_utc < past


def test_crl_lists_the_revoked_serials(ca):
    certs = [
        ca.issue(_csr(ec.generate_private_key(ec.SECP256R1())), username=f"u{i}", display_name="U", role="r")
        for i in range(3)
    ]
    when = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    now = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    der = ca.crl(
        [(certs[0].serial_number, when), (certs[2].serial_number, when)], now=now, next_update_hours=12
    )
    crl = x509.load_der_x509_crl(der)
    assert crl.is_signature_valid(ca.cert.public_key())
    assert crl.issuer == ca.cert.subject
    assert crl.last_update_utc == now
    assert crl.next_update_utc == now + timedelta(hours=12)
    revoked = crl.get_revoked_certificate_by_serial_number(certs[0].serial_number)
    assert revoked is not None and revoked.revocation_date_utc == when
    assert crl.get_revoked_certificate_by_serial_number(certs[2].serial_number) is not None
    assert crl.get_revoked_certificate_by_serial_number(certs[1].serial_number) is None
    assert len(crl) == 2
    empty = x509.load_der_x509_crl(ca.crl([]))
    assert len(empty) == 0 and empty.is_signature_valid(ca.cert.public_key())
