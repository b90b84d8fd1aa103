"""Unguessable tokens that are stored only as hashes (invitation links, API client keys).

The tokens carry 256 bits, so a plain SHA-256 is a safe way to store them: there is nothing to
brute-force. Lookup is by the hash, so a stolen database does not yield working links or keys.

API keys come from the operating system's CSPRNG. An invitation link's token is instead the
HMAC of its invitation's id under a key kept outside the database: just as unguessable without
that key, and it lets the service write the same personal link into every later message (an
update, a reminder) without ever storing the link itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

API_KEY_PREFIX = "msk_"
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{20,100}$")


def invitation_token(link_key: bytes, invitation_id: str) -> str:
    """The link token of one invitation (43 URL-safe characters, 256 bits)."""
    digest = hmac.new(link_key, f"invitation:{invitation_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_token(value: str) -> bool:
    """Cheap shape check before any lookup, so junk never reaches the database."""
    return bool(_TOKEN_SHAPE.match(value))
