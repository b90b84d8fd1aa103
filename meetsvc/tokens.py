"""Unguessable tokens that are stored only as hashes (invitation links, API client keys).

The tokens carry 256 bits from the operating system's CSPRNG, so a plain SHA-256 is a safe way
to store them: there is nothing to brute-force. Lookup is by the hash, so a stolen database does
not yield working links or keys.
"""

from __future__ import annotations

import hashlib
import re
import secrets

INVITATION_TOKEN_BYTES = 32
API_KEY_PREFIX = "msk_"
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{20,100}$")


def new_invitation_token() -> str:
    return secrets.token_urlsafe(INVITATION_TOKEN_BYTES)


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_token(value: str) -> bool:
    """Cheap shape check before any lookup, so junk never reaches the database."""
    return bool(_TOKEN_SHAPE.match(value))
