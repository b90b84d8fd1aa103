"""Checking the ``details`` of a Freja result: a JWS signed by Freja, verified against a pinned certificate.

Why it matters: ``getOneResult`` returns the person's name and personal identity number twice —
once as plain JSON (``requestedAttributes``) and once inside ``details``, a compact JWS (RS256)
signed with Freja's result-signing key. Only the signed copy is evidence; the plain one is
ignored. The JWS header names the key by ``x5t`` (the base64url SHA-1 thumbprint of Freja's
certificate); we accept only the certificate configured for the environment, so a result signed
by anyone else — or a header pointing at another key — is refused before the payload is read.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from identity.freja.errors import FrejaProtocolError

ALGORITHM = "RS256"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class ResultVerifier:
    """Verifies JWS results against one pinned Freja signing certificate (PEM)."""

    def __init__(self, certificate_pem: bytes) -> None:
        certificate = x509.load_pem_x509_certificate(certificate_pem)
        der = certificate.public_bytes(serialization.Encoding.DER)
        self._thumbprint = _b64url(hashlib.sha1(der).digest())  # noqa: S324  # x5t is SHA-1 by RFC 7515
        self._key = certificate.public_key()

    @classmethod
    def from_file(cls, path: Path | str) -> ResultVerifier:
        return cls(Path(path).read_bytes())

    @property
    def thumbprint(self) -> str:
        return self._thumbprint

    def verify(self, compact: str) -> dict[str, Any]:
        """The signed payload, or FrejaProtocolError if the JWS is malformed or not Freja's."""
        try:
            header = jwt.get_unverified_header(compact)
        except jwt.PyJWTError as error:
            raise FrejaProtocolError(f"details is not a JWS: {error.__class__.__name__}") from None
        if header.get("alg") != ALGORITHM:
            raise FrejaProtocolError(f"details is signed with {header.get('alg')!r}, not {ALGORITHM}")
        if header.get("x5t") != self._thumbprint:
            raise FrejaProtocolError("details is signed with a certificate other than the pinned one")
        try:
            payload = jwt.decode(
                compact,
                self._key,  # type: ignore[arg-type]  # an RSA public key object, which PyJWT accepts though its stubs name only str and bytes
                algorithms=[ALGORITHM],
                options={"verify_aud": False, "verify_exp": False, "verify_iat": False, "require": []},
            )
        except jwt.PyJWTError as error:
            raise FrejaProtocolError(f"details does not verify: {error.__class__.__name__}") from None
        if not isinstance(payload, dict):
            raise FrejaProtocolError("details payload is not a JSON object")
        return payload
