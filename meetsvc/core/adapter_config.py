"""What every adapter's configuration model shares (video backends, mail and SMS gateways):
strictness, URLs, and secrets from two places.

A secret can be given inline (``app_secret = "…"``, fine for an environment variable) or as a
file (``app_secret_file = "/run/secrets/…"``, better: it stays out of the configuration and the
process environment). Exactly one of the two must be set; reading the file is file I/O, so
:func:`meetsvc.video.registry.create_backend` runs once at start, off the event loop.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, SecretStr


class AdapterConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def http_url(value: str, *, key: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise ValueError(f"{key} must start with https:// (or http:// for a test installation)")
    return value.rstrip("/")


def one_source(inline: SecretStr | None, file: Path | None, key: str) -> None:
    if (inline is None) == (file is None):
        raise ValueError(f"give exactly one of {key} or {key}_file")


def read_secret(inline: SecretStr | None, file: Path | None, key: str) -> str:
    """The secret's text, from wherever it was configured (file I/O: call at start only)."""
    if inline is not None:
        return inline.get_secret_value()
    if file is None:
        raise ValueError(f"{key} is not configured")
    try:
        return file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ValueError(f"{key}_file {file} cannot be read: {exc.strerror}") from None
