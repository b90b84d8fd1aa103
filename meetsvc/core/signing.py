"""Asymmetric signing keys for the tokens the service issues (lobby tickets), with rotation.

Keys are Ed25519 (JWS ``EdDSA``) files in ``<keys_dir>/signing/<kid>.pem``. The newest key
signs; every key still in the folder verifies, so rotating (``meetsvc keys rotate``) logs nobody
out and voids no ticket already issued. The public keys are published as a JWKS.

A running process reads the folder again when a token names a key it has not read
(:class:`SigningKeys`), at most every few seconds: after a rotation, a process that has not been
restarted yet accepts what a restarted one signs, and signs with the new key from then on.

Verification pins the algorithm to EdDSA, finds the key by ``kid`` only among our own, and
requires ``exp``, ``nbf``, ``iat``, ``aud``, ``iss`` and ``sub``: an ``alg: none`` token, an
HMAC token signed with a public key, a token for another audience or an expired one is refused.

Keys made under a development configuration carry :data:`meetsvc.core.secrets.DEVELOPMENT_MARK`
before their PEM block, and production refuses them, as it refuses the other development keys.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from meetsvc.core.secrets import DEVELOPMENT_MARK, MissingKeyError, refuse_development_key

ALGORITHM = "EdDSA"
REQUIRED_CLAIMS = ["exp", "nbf", "iat", "aud", "iss", "sub"]


log = logging.getLogger(__name__)


class InvalidToken(Exception):
    """The token is not one we issued for this purpose, or it is no longer valid."""


class UnknownKey(InvalidToken):
    """The token names a key that is not among ours (not yet read, or never ours)."""


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    def __repr__(self) -> str:
        return f"SigningKey(kid={self.kid!r}, private=<hidden>)"


def _new_kid(now: datetime) -> str:
    """Sorts by creation time, so the newest key signs; to the microsecond, so that two keys made
    in one second still sort in the order they were made (a key id of the older, whole-second
    form sorts before any of this form made in the same second)."""
    return f"{now:%Y%m%d%H%M%S%f}-{secrets.token_hex(4)}"


def create_key(folder: Path, now: datetime | None = None, *, development: bool = False) -> SigningKey:
    folder.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    kid = _new_kid(now or datetime.now(UTC))
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(folder / f"{kid}.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write((DEVELOPMENT_MARK if development else b"") + pem)
    return SigningKey(kid, key)


def load_signing_keys(folder: Path, *, create_missing: bool, development: bool = False) -> KeySet:
    """Read every key in the folder (file I/O: call it off the event loop). Outside
    ``development`` a key made under a development configuration raises
    :class:`~meetsvc.core.secrets.DevelopmentKeyError`."""
    keys = []
    for path in sorted(folder.glob("*.pem")) if folder.exists() else []:
        if not development:
            refuse_development_key(path)
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(private, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 key")
        keys.append(SigningKey(path.stem, private))
    if not keys:
        if not create_missing:
            raise FileNotFoundError(f"no signing key in {folder}; create one with `meetsvc keys init`")
        keys.append(create_key(folder, development=development))
    return KeySet(tuple(keys))


@dataclass(frozen=True)
class KeySet:
    """All keys that verify; the last (newest kid sorts last) signs."""

    keys: tuple[SigningKey, ...]

    @property
    def active(self) -> SigningKey:
        return self.keys[-1]

    def sign(self, claims: dict[str, Any]) -> str:
        key = self.active
        return jwt.encode(claims, key.private, algorithm=ALGORITHM, headers={"kid": key.kid})

    def verify(self, token: str, *, audience: str, issuer: str, now: datetime, leeway: float = 5.0) -> dict[str, Any]:
        """The claims of a token we signed for ``audience``, valid at ``now`` (the service's clock)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("not a signed token") from None
        if header.get("alg") != ALGORITHM:
            raise InvalidToken("wrong algorithm")
        key = next((k for k in self.keys if k.kid == header.get("kid")), None)
        if key is None:
            raise UnknownKey("unknown key")
        try:
            claims = jwt.decode(
                token,
                key.public,
                algorithms=[ALGORITHM],
                audience=audience,
                issuer=issuer,
                # Time is checked below against the service's clock, not the library's.
                options={"require": REQUIRED_CLAIMS, "verify_exp": False, "verify_nbf": False, "verify_iat": False},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(exc.__class__.__name__) from None
        moment = now.timestamp()
        try:
            expires, not_before = float(claims["exp"]), float(claims["nbf"])
        except (TypeError, ValueError):
            raise InvalidToken("malformed time claims") from None
        if moment >= expires + leeway:
            raise InvalidToken("expired")
        if moment + leeway < not_before:
            raise InvalidToken("not yet valid")
        return claims

    def jwks(self) -> dict[str, Any]:
        def encode(key: SigningKey) -> str:
            raw = key.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

        return {
            "keys": [
                {"kty": "OKP", "crv": "Ed25519", "x": encode(key), "kid": key.kid, "use": "sig", "alg": ALGORITHM}
                for key in self.keys
            ]
        }


class SigningKeys:
    """The signing keys of one folder as a running process holds them, read again when a token
    names a key not read yet.

    ``meetsvc keys rotate`` writes a new key file; processes restarted after it sign with the new
    key, and one not restarted yet would refuse those tokens until its own restart. Instead,
    a token with an unknown ``kid`` makes it read the folder again — at most once every
    ``reread_seconds``, so tokens with made-up key ids cost a forger nothing and us one small
    read now and then — and from then on it verifies and signs with what it found. The read is a
    few small files, done where verification happens (on the event loop): cheaper than a thread
    hand-off for something this rare.
    """

    def __init__(
        self,
        folder: Path,
        keys: KeySet,
        *,
        reread_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        development: bool = False,
    ) -> None:
        self._folder = folder
        self._development = development
        self._set = keys
        self._reread_seconds = reread_seconds
        self._clock = clock
        self._read_at = float("-inf")  # the first unknown key may always look

    @classmethod
    def load(cls, folder: Path, *, create_missing: bool, development: bool = False, **options: Any) -> SigningKeys:
        """Read the folder (file I/O: call it off the event loop)."""
        keys = load_signing_keys(folder, create_missing=create_missing, development=development)
        return cls(folder, keys, development=development, **options)

    @property
    def keys(self) -> tuple[SigningKey, ...]:
        return self._set.keys

    @property
    def active(self) -> SigningKey:
        return self._set.active

    def sign(self, claims: dict[str, Any]) -> str:
        return self._set.sign(claims)

    def verify(self, token: str, *, audience: str, issuer: str, now: datetime, leeway: float = 5.0) -> dict[str, Any]:
        try:
            return self._set.verify(token, audience=audience, issuer=issuer, now=now, leeway=leeway)
        except UnknownKey:
            if not self._reread():
                raise
        return self._set.verify(token, audience=audience, issuer=issuer, now=now, leeway=leeway)

    def jwks(self) -> dict[str, Any]:
        return self._set.jwks()

    def _reread(self) -> bool:
        """Whether reading the folder again found keys not held before."""
        now = self._clock()
        if now - self._read_at < self._reread_seconds:
            return False
        self._read_at = now
        try:
            fresh = load_signing_keys(self._folder, create_missing=False, development=self._development)
        except (OSError, ValueError, MissingKeyError) as exc:
            log.warning("signing keys could not be read again: %s", type(exc).__name__)
            return False
        if {k.kid for k in fresh.keys} <= {k.kid for k in self._set.keys}:
            return False
        log.info("signing keys read again: %d keys, %s signs", len(fresh.keys), fresh.active.kid)
        self._set = fresh
        return True
