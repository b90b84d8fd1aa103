"""A throw-away PKI so the BankID mutual-TLS setup can be exercised with no real certificate.

BankID's RP API is served over HTTPS and authenticates the relying party by its TLS client
certificate (developers.bankid.com, "Environments" / "Request a certificate"). The simulator
does the same, so the client is tested against the same handshake it meets in production. This
module issues, with EC P-256 keys (fast to generate):

* a test CA (``ca.pem``) that signs everything below;
* a server certificate for ``localhost`` / ``127.0.0.1`` / ``::1`` (``server.pem``, ``server-key.pem``);
* a relying-party client certificate (``client.pem``, ``client-key.pem``);
* a client certificate from a *different* CA (``foreign-ca.pem``, ``foreign-client.pem``,
  ``foreign-client-key.pem``) that the simulator must refuse; tests use it to prove the check.

Files are reused when all of them are present, parse, chain to the CA and stay valid for at
least another day; otherwise the whole set is issued again, so a half-written directory can never
mix certificates from two CAs. Everything here is blocking (key generation, file I/O): call it
before the event loop serves, or through ``loop.run_in_executor``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_VALIDITY = dt.timedelta(days=30)
# Reissue when less than this is left, so a long test run never crosses an expiry.
_RENEW_MARGIN = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class PkiFiles:
    """Where the PEM files of one test PKI live."""

    directory: Path

    @property
    def ca_cert(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.directory / "ca-key.pem"

    @property
    def server_cert(self) -> Path:
        return self.directory / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.directory / "server-key.pem"

    @property
    def client_cert(self) -> Path:
        return self.directory / "client.pem"

    @property
    def client_key(self) -> Path:
        return self.directory / "client-key.pem"

    @property
    def foreign_ca_cert(self) -> Path:
        return self.directory / "foreign-ca.pem"

    @property
    def foreign_client_cert(self) -> Path:
        return self.directory / "foreign-client.pem"

    @property
    def foreign_client_key(self) -> Path:
        return self.directory / "foreign-client-key.pem"

    def all_paths(self) -> tuple[Path, ...]:
        return (
            self.ca_cert,
            self.ca_key,
            self.server_cert,
            self.server_key,
            self.client_cert,
            self.client_key,
            self.foreign_ca_cert,
            self.foreign_client_cert,
            self.foreign_client_key,
        )


def ensure_test_pki(directory: str | os.PathLike[str], validity: dt.timedelta = DEFAULT_VALIDITY) -> PkiFiles:
    """Return the test PKI in ``directory``, issuing a fresh one unless a usable one is there."""
    files = PkiFiles(Path(directory))
    files.directory.mkdir(parents=True, exist_ok=True)
    if not _is_usable(files):
        _issue(files, validity)
    return files


def server_ssl_context(files: PkiFiles) -> ssl.SSLContext:
    """TLS for the simulated RP API: present the server certificate, demand a client certificate
    that chains to the test CA (the handshake fails otherwise, as at BankID)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(files.server_cert, files.server_key)
    context.load_verify_locations(cafile=files.ca_cert)
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def client_ssl_context(
    ca_cert: str | os.PathLike[str],
    client_cert: str | os.PathLike[str] | None = None,
    client_key: str | os.PathLike[str] | None = None,
) -> ssl.SSLContext:
    """TLS for a relying party: trust only ``ca_cert`` for the server, and present the client
    certificate when one is given (omit it only to test that the server refuses such a client)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_verify_locations(cafile=ca_cert)
    if client_cert is not None:
        context.load_cert_chain(client_cert, client_key)
    return context


def relying_party_ssl_context(files: PkiFiles) -> ssl.SSLContext:
    """The client context a relying party of the simulator uses."""
    return client_ssl_context(files.ca_cert, files.client_cert, files.client_key)


# --- issuing -------------------------------------------------------------------------------


def _issue(files: PkiFiles, validity: dt.timedelta) -> None:
    now = dt.datetime.now(dt.UTC)
    not_before = now - dt.timedelta(minutes=5)  # tolerate small clock skew between processes
    not_after = now + validity

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _ca_certificate("meetsvc BankID simulator test CA", ca_key, not_before, not_after)

    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = _leaf_certificate(
        subject=_name("localhost"),
        public_key=server_key.public_key(),
        issuer_cert=ca_cert,
        issuer_key=ca_key,
        not_before=not_before,
        not_after=not_after,
        usage=ExtendedKeyUsageOID.SERVER_AUTH,
        alt_names=[
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1")),
        ],
    )

    client_key = ec.generate_private_key(ec.SECP256R1())
    client_cert = _leaf_certificate(
        subject=_name("meetsvc relying party (test)"),
        public_key=client_key.public_key(),
        issuer_cert=ca_cert,
        issuer_key=ca_key,
        not_before=not_before,
        not_after=not_after,
        usage=ExtendedKeyUsageOID.CLIENT_AUTH,
    )

    foreign_ca_key = ec.generate_private_key(ec.SECP256R1())
    foreign_ca_cert = _ca_certificate("Unrelated test CA", foreign_ca_key, not_before, not_after)
    foreign_client_key = ec.generate_private_key(ec.SECP256R1())
    foreign_client_cert = _leaf_certificate(
        subject=_name("relying party of another CA (test)"),
        public_key=foreign_client_key.public_key(),
        issuer_cert=foreign_ca_cert,
        issuer_key=foreign_ca_key,
        not_before=not_before,
        not_after=not_after,
        usage=ExtendedKeyUsageOID.CLIENT_AUTH,
    )

    _write(files.ca_key, _key_pem(ca_key), private=True)
    _write(files.server_key, _key_pem(server_key), private=True)
    _write(files.client_key, _key_pem(client_key), private=True)
    _write(files.foreign_client_key, _key_pem(foreign_client_key), private=True)
    _write(files.server_cert, _cert_pem(server_cert))
    _write(files.client_cert, _cert_pem(client_cert))
    _write(files.foreign_ca_cert, _cert_pem(foreign_ca_cert))
    _write(files.foreign_client_cert, _cert_pem(foreign_client_cert))
    # The CA goes last: its presence is what marks a complete set.
    _write(files.ca_cert, _cert_pem(ca_cert))


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "SE"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "meetsvc test PKI"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _ca_certificate(
    common_name: str, key: ec.EllipticCurvePrivateKey, not_before: dt.datetime, not_after: dt.datetime
) -> x509.Certificate:
    name = _name(common_name)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _leaf_certificate(
    *,
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    issuer_cert: x509.Certificate,
    issuer_key: ec.EllipticCurvePrivateKey,
    not_before: dt.datetime,
    not_after: dt.datetime,
    usage: x509.ObjectIdentifier,
    alt_names: list[x509.GeneralName] | None = None,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key()),  # type: ignore[arg-type]  # our CAs hold EC keys
            critical=False,
        )
    )
    if alt_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    """Write atomically, keys readable by the owner only."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp_name, 0o600 if private else 0o644)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


# --- reuse check ---------------------------------------------------------------------------


def _is_usable(files: PkiFiles) -> bool:
    if not all(path.is_file() for path in files.all_paths()):
        return False
    try:
        ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
        foreign_ca = x509.load_pem_x509_certificate(files.foreign_ca_cert.read_bytes())
        pairs = (
            (files.server_cert, files.server_key, ca),
            (files.client_cert, files.client_key, ca),
            (files.foreign_client_cert, files.foreign_client_key, foreign_ca),
        )
        deadline = dt.datetime.now(dt.UTC) + _RENEW_MARGIN
        if ca.not_valid_after_utc < deadline or foreign_ca.not_valid_after_utc < deadline:
            return False
        for cert_path, key_path, issuer in pairs:
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            if cert.not_valid_after_utc < deadline:
                return False
            if cert.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            ) != key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            ):
                return False
            cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True
