"""The service's secret keys: where they live, how they are made, and how they stay hidden.

Keys are files in ``security.keys_dir``, never in the repository. In development they are
generated at first start; in production a missing key is an error, because silently minting a
new encryption key would make every stored personal number unreadable.

A key made under a development configuration starts with :data:`DEVELOPMENT_MARK`, a comment
line, and production refuses it: a folder of keys that once sat in a developer's checkout is no
secret, and copying it into production must stop the service rather than pass unnoticed.

Each key is a :class:`Secret`, whose repr never shows the value, so a traceback or a debug log
cannot leak it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

PII_ENCRYPTION_KEY = "pii-encryption.key"
PII_HASH_KEY = "pii-hash.key"
AUDIT_KEY = "audit-chain.key"
SESSION_KEY = "session.key"
KEY_FILES = (PII_ENCRYPTION_KEY, PII_HASH_KEY, AUDIT_KEY, SESSION_KEY)
# The first line of every key file made under a development configuration (symmetric keys and
# signing keys alike; PEM allows text before its block).
DEVELOPMENT_MARK = b"# development key: made under environment = development; production refuses it\n"


class MissingKeyError(Exception):
    """A key is missing or unreadable."""


class DevelopmentKeyError(MissingKeyError):
    """Production was given a key made under a development configuration."""


def is_development_key(path: Path) -> bool:
    """Whether the key file at ``path`` was made under a development configuration."""
    with path.open("rb") as handle:
        return handle.readline() == DEVELOPMENT_MARK


def refuse_development_key(path: Path) -> None:
    """Raise :class:`DevelopmentKeyError` naming the setting when ``path`` is a development key."""
    if is_development_key(path):
        raise DevelopmentKeyError(
            f"security.keys_dir: {path} is a development key (made under environment = development); "
            "production needs its own keys: create them with `meetsvc keys init` in an empty folder"
        )


class Secret:
    """Bytes that refuse to be printed."""

    __slots__ = ("_value",)

    def __init__(self, value: bytes) -> None:
        self._value = value

    def reveal(self) -> bytes:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and secrets.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(("Secret", len(self._value)))


@dataclass(frozen=True)
class SecretKeys:
    """Symmetric keys the service needs; the asymmetric signing keys join it with lobby tickets."""

    pii_encryption: Secret
    pii_hash: Secret
    audit_chain: Secret
    session: Secret

    def derive(self, purpose: str) -> Secret:
        """A key for one narrow purpose, derived from the session key (HMAC-SHA256), so a new
        purpose needs no new file and no two purposes share a key."""
        return Secret(hmac.new(self.session.reveal(), purpose.encode(), hashlib.sha256).digest())


def _read_or_create(path: Path, create: bool, development: bool) -> Secret:
    if path.exists():
        if not development:
            refuse_development_key(path)
        text = b"".join(line for line in path.read_bytes().splitlines() if not line.startswith(b"#"))
        raw = base64.b64decode(text.strip(), validate=True)
        if len(raw) != 32:
            raise MissingKeyError(f"{path} must hold 32 bytes in base64, it holds {len(raw)}")
        return Secret(raw)
    if not create:
        raise MissingKeyError(
            f"key file {path} is missing; create it with `meetsvc keys init` "
            "(or set security.create_missing_keys = true in development)"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_bytes(32)
    # O_EXCL: two processes starting at once must not each write a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_or_create(path, create=False, development=development)
    with os.fdopen(fd, "wb") as handle:
        handle.write((DEVELOPMENT_MARK if development else b"") + base64.b64encode(value) + b"\n")
    return Secret(value)


def load_keys(keys_dir: Path, *, create_missing: bool, development: bool = False) -> SecretKeys:
    """Read the key files, creating missing ones only when asked (development, and `keys init`).

    ``development``: keys made are marked as development keys, and marked keys are accepted;
    otherwise (production) a marked key raises :class:`DevelopmentKeyError`.
    """
    try:
        pii_encryption, pii_hash, audit_chain, session = (
            _read_or_create(keys_dir / name, create_missing, development) for name in KEY_FILES
        )
        return SecretKeys(pii_encryption=pii_encryption, pii_hash=pii_hash, audit_chain=audit_chain, session=session)
    except (ValueError, OSError) as exc:
        raise MissingKeyError(f"cannot read keys in {keys_dir}: {exc}") from None
