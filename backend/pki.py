"""The site's certificate authority: it certifies the keys the clinicians sign reports with (issue #21).

Pure cryptography, no database: the backend keeps who holds which certificate and which were revoked
(backend/routes/reports.py) and calls :class:`SiteCA` to issue certificates from a clinician's CSR and
to publish the revocation list. The workstation never sends a private key: it makes one, keeps it in
the OS keyring, and sends the certificate signing request; the CA takes only the public key from it and
writes the subject itself, from the account the request came from.

The CA key is an EC P-256 key in ``site-ca.key.pem`` (mode 0600) beside its self-signed certificate
``site-ca.cert.pem`` (ten years); both are made on the first start and loaded afterwards.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

KEY_FILE = "site-ca.key.pem"
CERT_FILE = "site-ca.cert.pem"
CA_YEARS = 10
# id-kp-documentSigning (RFC 9336): what PDF readers look for on a document-signing certificate
DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")

CaKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


class PkiError(ValueError):
    """A request the CA will not honour, in plain words (a bad CSR, a key too weak, a missing name)."""


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def _serial() -> int:
    """A random positive serial of at most 20 octets (RFC 5280 4.1.2.2)."""
    return secrets.randbits(159) | 1


class SiteCA:
    """One site's CA: its key and certificate, issuing clinicians' certificates and signing CRLs."""

    def __init__(self, key: CaKey, cert: x509.Certificate) -> None:
        self._key = key
        self._cert = cert

    # loading -------------------------------------------------------------------------------------
    @classmethod
    def load_or_create(cls, folder: Path, site_name: str) -> SiteCA:
        """The CA kept in ``folder``: loaded when its key and certificate are there, made otherwise."""
        folder = Path(folder)
        key_path, cert_path = folder / KEY_FILE, folder / CERT_FILE
        if key_path.exists() and cert_path.exists():
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
                raise PkiError(f"{key_path} holds a key the site CA cannot use.")
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            spki = serialization.PublicFormat.SubjectPublicKeyInfo
            der = serialization.Encoding.DER
            if cert.public_key().public_bytes(der, spki) != key.public_key().public_bytes(der, spki):
                raise PkiError(f"{cert_path} does not belong to the key in {key_path}.")
            return cls(key, cert)
        if key_path.exists() or cert_path.exists():
            raise PkiError(
                f"Only one of {KEY_FILE} and {CERT_FILE} is in {folder}: restore the other from the "
                "backup rather than making a new CA (every issued certificate would stop validating)."
            )
        if not site_name.strip():
            raise PkiError("The site CA needs the site's name.")
        folder.mkdir(parents=True, exist_ok=True)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = cls(ca_key, cls._self_signed(ca_key, site_name.strip()))
        pem = ca_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        os.chmod(key_path, 0o600)  # whatever the umask
        cert_path.write_bytes(ca.cert_pem)
        return ca

    @staticmethod
    def _self_signed(key: CaKey, site_name: str) -> x509.Certificate:
        now = datetime.now(UTC)
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, f"{site_name} Teleconsult CA"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, site_name),
            ]
        )
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        return (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(_serial())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=365 * CA_YEARS + CA_YEARS // 4))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(ski, critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
            )
            .sign(key, hashes.SHA256())
        )

    # what the backend publishes --------------------------------------------------------------------
    @property
    def cert(self) -> x509.Certificate:
        return self._cert

    @property
    def cert_pem(self) -> bytes:
        return self._cert.public_bytes(serialization.Encoding.PEM)

    @property
    def site_name(self) -> str:
        names = self._cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        return str(names[0].value) if names else ""

    # issuing ---------------------------------------------------------------------------------------
    def issue(
        self,
        csr_pem: bytes,
        *,
        username: str,
        display_name: str,
        role: str,
        organisation: str = "",
        days: int = 825,
        now: datetime | None = None,
    ) -> x509.Certificate:
        """A document-signing certificate for the key in ``csr_pem``.

        Only the public key is taken from the request (after checking the request was signed by its
        key); the subject is the account's: CN the display name, UID the username, O the site (or
        ``organisation``), OU the role. ``now`` dates the certificate (tests issue expired ones)."""
        try:
            csr = x509.load_pem_x509_csr(csr_pem)
        except ValueError as exc:
            raise PkiError("The certificate request could not be read (expected a PEM CSR).") from exc
        try:
            good = csr.is_signature_valid
        except Exception as exc:  # an unsupported algorithm reads the same to the caller
            raise PkiError("The certificate request's signature could not be checked.") from exc
        if not good:
            raise PkiError("The certificate request is not signed by its own key: refused.")
        public_key = csr.public_key()
        if isinstance(public_key, rsa.RSAPublicKey):
            if public_key.key_size < 2048:
                raise PkiError("The key in the certificate request is too weak (RSA under 2048 bits).")
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            if public_key.curve.key_size < 256:
                raise PkiError("The key in the certificate request is too weak (EC under 256 bits).")
        else:
            raise PkiError("The certificate request holds a key type the site CA does not certify.")
        if not username.strip() or not display_name.strip() or not role.strip():
            raise PkiError("A certificate needs the user's username, display name and role.")
        if days < 1:
            raise PkiError("A certificate must be valid for at least a day.")
        start = _utc(now)
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, display_name.strip()),
                x509.NameAttribute(NameOID.USER_ID, username.strip()),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation.strip() or self.site_name),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role.strip()),
            ]
        )
        not_after = min(start + timedelta(days=days), self._cert.not_valid_after_utc)
        ca_ski = self._cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self._cert.subject)
            .public_key(public_key)
            .serial_number(_serial())
            .not_valid_before(start - timedelta(minutes=5))
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.ExtendedKeyUsage([DOCUMENT_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                critical=False,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
            )
            .sign(self._key, hashes.SHA256())
        )

    # revoking --------------------------------------------------------------------------------------
    def crl(
        self,
        revoked: Iterable[tuple[int, datetime]],
        *,
        now: datetime | None = None,
        next_update_hours: int = 24,
    ) -> bytes:
        """The revocation list (DER), signed by the CA: ``revoked`` is (serial, when revoked) pairs."""
        this_update = _utc(now)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self._cert.subject)
            .last_update(this_update)
            .next_update(this_update + timedelta(hours=next_update_hours))
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                    self._cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
                ),
                critical=False,
            )
            .add_extension(x509.CRLNumber(int(this_update.timestamp() * 1000)), critical=False)
        )
        for serial, when in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(_utc(when)).build()
            )
        return builder.sign(self._key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
