"""Jitsi Meet with token authentication: a signed JWT per person, in the join URL.

The token follows Jitsi's Prosody token plugin (jitsi-meet ``doc/tokens.md`` and
``resources/prosody-plugins/token/util.lib.lua``):

* ``iss`` is the *application ID* (``app_id`` in Prosody), checked against
  ``asap_accepted_issuers`` (by default just ``app_id``);
* ``aud`` must be present and accepted (``asap_accepted_audiences``; Jitsi as a Service
  hard-codes ``"jitsi"``);
* ``sub`` is the XMPP domain, checked when ``enable_domain_verification`` is on;
* ``room`` is the bare room name, compared in lower case with the MUC room joined;
* ``exp`` / ``nbf`` bound the token; ``context.user`` carries ``id``, ``name`` and
  ``moderator`` (8x8 JaaS "The Jitsi JSON Web Token"), ``context.features`` switches features.

Signing is either HS256 with the shared ``app_secret``, or RS256 with a private key whose public
half Prosody fetches from ``asap_key_server`` at ``<server>/<sha256-hex of kid>.pem``
(``Util:get_public_key``), so the header must carry that ``kid``.

Jitsi has no call to take a person out of a room or to revoke a token: :meth:`revoke` answers
``False`` and the token's short lifetime is the bound; a moderator can still remove someone in
the Jitsi page. There is no room to create or end either: Prosody creates the MUC room when the
first token holder joins and destroys it when the last one leaves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import quote

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from pydantic import Field, SecretStr, field_validator, model_validator

from meetsvc.core.adapter_config import AdapterConfig, http_url, one_source, read_secret
from meetsvc.core.clock import Clock, utc_now
from meetsvc.core.secrets import Secret
from meetsvc.video.base import (
    JoinCredential,
    JoinRequest,
    RoomSpec,
    WebhookEvent,
    capped_lifetime,
    expiry,
)

# luajwtjitsi checks nbf with no leeway: a server clock a few seconds behind ours would refuse a
# fresh token, so nbf is set a little in the past (exp is not moved, the lifetime stays bounded).
NBF_SKEW = timedelta(seconds=10)

# Confidential meetings: nothing is recorded, streamed, transcribed or dialled out, whoever asks.
# Keys as listed for context.features in 8x8's JaaS JWT documentation.
FEATURES = {
    "recording": False,
    "livestreaming": False,
    "transcription": False,
    "outbound-call": False,
    "sip-outbound-call": False,
}


def asap_key_filename(kid: str) -> str:
    """Where Prosody looks for the public key of ``kid`` under ``asap_key_server``."""
    return hashlib.sha256(kid.encode("utf-8")).hexdigest() + ".pem"


class JitsiConfig(AdapterConfig):
    """``[video.jitsi]``: one Jitsi Meet installation with the token plugin."""

    base_url: str = Field(description="Jitsi Meet's address, e.g. https://meet.example.se")
    app_id: str = Field(min_length=1, description="Prosody's app_id; sent as iss")
    audience: str = Field("jitsi", min_length=1, description="sent as aud")
    domain: str = Field(min_length=1, description="the XMPP domain (Prosody VirtualHost); sent as sub")
    algorithm: Literal["HS256", "RS256"] = "HS256"
    app_secret: SecretStr | None = None
    app_secret_file: Path | None = None
    private_key: SecretStr | None = None
    private_key_file: Path | None = None
    kid: str | None = None
    max_lifetime_seconds: int = Field(300, ge=30, le=3600)
    token_in_fragment: bool = False

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return http_url(value, key="base_url")

    @model_validator(mode="after")
    def _keys(self) -> JitsiConfig:
        if self.algorithm == "HS256":
            one_source(self.app_secret, self.app_secret_file, "app_secret")
            if self.private_key or self.private_key_file or self.kid:
                raise ValueError('private_key, private_key_file and kid are for algorithm = "RS256"')
        else:
            one_source(self.private_key, self.private_key_file, "private_key")
            if not self.kid:
                raise ValueError('algorithm = "RS256" needs kid (the key id Prosody looks up at asap_key_server)')
            if self.app_secret or self.app_secret_file:
                raise ValueError('app_secret is for algorithm = "HS256"')
        return self


class JitsiBackend:
    name = "jitsi"
    #: Credentials are tokens signed here: an admission mints them in its own transaction.
    issues_offline = True

    def __init__(self, config: JitsiConfig, *, clock: Clock = utc_now) -> None:
        self._config = config
        self._clock = clock
        self._key: Secret | RSAPrivateKey
        if config.algorithm == "HS256":
            self._key = Secret(read_secret(config.app_secret, config.app_secret_file, "app_secret").encode("utf-8"))
        else:
            pem = read_secret(config.private_key, config.private_key_file, "private_key").encode("utf-8")
            key = serialization.load_pem_private_key(pem, password=None)
            if not isinstance(key, RSAPrivateKey) or key.key_size < 2048:
                raise ValueError("private_key must be an RSA key of at least 2048 bits for RS256")
            self._key = key

    def __repr__(self) -> str:
        return f"JitsiBackend(base_url={self._config.base_url!r}, algorithm={self._config.algorithm!r})"

    def _sign(self, claims: dict[str, object]) -> str:
        if isinstance(self._key, Secret):
            return jwt.encode(claims, self._key.reveal(), algorithm="HS256")
        # One RSA-2048 signature per admission takes about a millisecond: fine on the loop.
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self._config.kid})

    async def ensure_room(self, room: RoomSpec) -> None:
        """Nothing to do: Prosody creates the room when the first token holder joins."""

    async def issue(self, room: RoomSpec, person: JoinRequest) -> JoinCredential:
        now = self._clock()
        expires = expiry(now, capped_lifetime(person, self._config.max_lifetime_seconds))
        moderator = person.is_moderator
        claims: dict[str, object] = {
            "iss": self._config.app_id,
            "aud": self._config.audience,
            "sub": self._config.domain,
            "room": room.name,
            "iat": int(now.timestamp()),
            "nbf": int((now - NBF_SKEW).timestamp()),
            "exp": int(expires.timestamp()),
            "context": {
                "user": {
                    "id": person.participant_id,
                    "name": person.display_name,
                    "moderator": moderator,
                    # jitsi-contrib's token_affiliation reads this; token_lobby_bypass reads
                    # lobby_bypass: the person was admitted by our host already.
                    "affiliation": "owner" if moderator else "member",
                    "lobby_bypass": True,
                },
                "features": dict(FEATURES),
            },
        }
        token = self._sign(claims)
        # jitsi-meet's parseJWTFromURLParams reads ``jwt`` from the query; recent releases read
        # the fragment first, which never reaches a web server's log or a Referer header.
        separator = "#" if self._config.token_in_fragment else "?"
        url = f"{self._config.base_url}/{quote(room.name, safe='')}{separator}jwt={quote(token, safe='')}"
        return JoinCredential(self.name, url, token, expires)

    async def revoke(self, room: RoomSpec, participant_id: str) -> bool:
        """Jitsi cannot revoke a token or remove a person by API: the lifetime bounds it."""
        return False

    async def end_room(self, room: RoomSpec) -> None:
        """Nothing to call: the room ends when its last participant leaves (see the module doc)."""

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent | None:
        """A stock Jitsi sends no signed webhooks."""
        return None

    async def aclose(self) -> None:
        return None
