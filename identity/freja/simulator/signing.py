"""The simulator's result-signing keys: Freja's own (pinned by the relying party) and a stranger's.

Freja signs each result's ``details`` with RS256 and names the certificate by ``x5t``. The
simulator does the same with a throw-away RSA key whose self-signed certificate the relying party
pins (``signing.pem``); a second key (``foreign-signing.pem``) lets tests prove that a result
signed by anyone else is refused. Files are reused while they parse; blocking (RSA key
generation, file I/O): call it before serving or through ``asyncio.to_thread``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class SigningKey:
    certificate_path: Path
    private_key: rsa.RSAPrivateKey
    thumbprint: str

    def sign(self, payload: dict[str, Any], *, x5t: str | None = None) -> str:
        return jwt.encode(payload, self.private_key, algorithm="RS256", headers={"x5t": x5t or self.thumbprint})


def ensure_signing_key(directory: Path, name: str = "signing") -> SigningKey:
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}-key.pem"
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
        if not isinstance(key, rsa.RSAPrivateKey) or certificate.not_valid_after_utc < _now() + dt.timedelta(days=1):
            raise ValueError("unusable")
    except (OSError, ValueError):
        key, certificate = _issue(name)
        _write(
            key_path,
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
            private=True,
        )
        _write(cert_path, certificate.public_bytes(serialization.Encoding.PEM))
    der = certificate.public_bytes(serialization.Encoding.DER)
    thumbprint = base64.urlsafe_b64encode(hashlib.sha1(der).digest()).rstrip(b"=").decode()  # noqa: S324  # x5t
    return SigningKey(cert_path, key, thumbprint)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _issue(name: str) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Freja eID simulator {name} (test only)")])
    now = _now()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return key, certificate


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_bytes(data)
    if private:
        os.chmod(temporary, 0o600)
    temporary.replace(path)
