"""LiveKit: access tokens signed with the API secret, and the RoomService Twirp API.

From LiveKit's documentation ("Tokens & grants", "Room management", "Managing participants",
"Webhooks & events"):

* An access token is a JWT, HS256 with the API secret; ``iss`` is the API key, ``sub`` the
  participant's identity, ``name`` the name others see, ``nbf``/``exp`` its validity, and the
  ``video`` grant says which room it joins and what it may do there (``roomJoin``,
  ``canPublish``, ``canSubscribe``, ``canPublishData``; ``roomAdmin`` to moderate).
  LiveKit asks that neither identity nor room name carry personal data: ours are opaque.
* The server API is Twirp: ``POST /twirp/livekit.RoomService/<Method>`` with a JSON body and
  ``Authorization: Bearer <token>``, the token carrying ``roomCreate`` (CreateRoom, DeleteRoom)
  or ``roomAdmin`` for the room (RemoveParticipant), as the official server SDKs send it.
* An expired token no longer lets anyone *connect*, but it is reused for reconnects, and
  RemoveParticipant alone "doesn't invalidate the participant's token". So :meth:`revoke` sends
  ``revoke_token_ts``: the server then refuses tokens whose ``nbf`` is before that instant.
* Webhooks are POSTed with ``Authorization: <JWT>`` signed like an access token, whose ``sha256``
  claim is the base64 SHA-256 of the body.

Rooms are created explicitly (:meth:`ensure_room`) so that the LiveKit server can run with
``room.auto_create: false``: after :meth:`end_room` deletes a room, a token that has not yet
expired cannot bring it back.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import string
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import aiohttp
import jwt
from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator

from meetsvc.core.adapter_config import AdapterConfig, http_url, one_source, read_secret
from meetsvc.core.clock import Clock, utc_now
from meetsvc.core.secrets import Secret
from meetsvc.video.base import (
    JoinCredential,
    JoinRequest,
    RoomSpec,
    VideoBackendError,
    VideoBackendRefused,
    VideoBackendUnavailable,
    WebhookEvent,
    WebhookRejected,
    capped_lifetime,
    expiry,
    header,
)
from meetsvc.video.transport import HttpTransport, Reply

SERVICE = "/twirp/livekit.RoomService/"
SERVICE_TOKEN_TTL = timedelta(minutes=1)
# LiveKit's own verifiers allow a minute of clock skew.
WEBHOOK_LEEWAY = 60
DEFAULT_JOIN_URL = "{meet_url}/custom?liveKitUrl={livekit_url}&token={token}"
_TEMPLATE_FIELDS = {"meet_url", "livekit_url", "token"}
# Twirp error codes that say "try again later" rather than "this will never work".
_TRANSIENT = {"unavailable", "resource_exhausted", "deadline_exceeded", "internal", "unknown", "aborted"}
_EVENTS: dict[str, Literal["joined", "left"]] = {
    "participant_joined": "joined",
    "participant_left": "left",
    "participant_connection_aborted": "left",
}


class LiveKitConfig(AdapterConfig):
    """``[video.livekit]``: one LiveKit server (self-hosted or Cloud) and the page people use."""

    url: str = Field(description="LiveKit's HTTP(S) address for the server API, e.g. https://livekit.example.se")
    client_url: str | None = Field(
        None, description="the WebSocket address browsers connect to; default: url with wss://"
    )
    api_key: str = Field(min_length=1)
    api_secret: SecretStr | None = None
    api_secret_file: Path | None = None
    meet_url: str = Field(description="the LiveKit front-end people join in, e.g. https://meet.example.se")
    join_url_template: str = DEFAULT_JOIN_URL
    empty_timeout_seconds: int = Field(300, ge=10, le=86400)
    max_lifetime_seconds: int = Field(300, ge=30, le=3600)
    request_timeout_seconds: float = Field(10.0, gt=0, le=60)

    @field_validator("url", "meet_url")
    @classmethod
    def _http(cls, value: str, info: ValidationInfo) -> str:
        return http_url(value, key=str(info.field_name))

    @field_validator("client_url")
    @classmethod
    def _ws(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("wss://", "ws://")):
            raise ValueError("client_url must start with wss:// (or ws:// for a test installation)")
        return value.rstrip("/") if value else None

    @field_validator("join_url_template")
    @classmethod
    def _template(cls, value: str) -> str:
        fields = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        if "token" not in fields or not fields <= _TEMPLATE_FIELDS:
            raise ValueError("join_url_template must contain {token} and only {meet_url}, {livekit_url}, {token}")
        return value

    @model_validator(mode="after")
    def _secret(self) -> LiveKitConfig:
        one_source(self.api_secret, self.api_secret_file, "api_secret")
        return self

    @property
    def websocket_url(self) -> str:
        if self.client_url:
            return self.client_url
        if self.url.startswith("https://"):
            return "wss://" + self.url.removeprefix("https://")
        return "ws://" + self.url.removeprefix("http://")


class LiveKitBackend:
    name = "livekit"

    def __init__(
        self, config: LiveKitConfig, *, clock: Clock = utc_now, session: aiohttp.ClientSession | None = None
    ) -> None:
        self._config = config
        self._clock = clock
        self._secret = Secret(read_secret(config.api_secret, config.api_secret_file, "api_secret").encode("utf-8"))
        self._http = HttpTransport(timeout_seconds=config.request_timeout_seconds, session=session)

    def __repr__(self) -> str:
        return f"LiveKitBackend(url={self._config.url!r}, api_key={self._config.api_key!r})"

    # -- tokens ---------------------------------------------------------------------------

    def _token(self, claims: dict[str, Any], lifetime: timedelta) -> tuple[str, datetime]:
        now = self._clock()
        expires = expiry(now, int(lifetime.total_seconds()))
        body = {**claims, "iss": self._config.api_key, "nbf": int(now.timestamp()), "exp": int(expires.timestamp())}
        return jwt.encode(body, self._secret.reveal(), algorithm="HS256"), expires

    def _service_token(self, grant: dict[str, Any]) -> str:
        return self._token({"video": grant}, SERVICE_TOKEN_TTL)[0]

    # -- RoomService ----------------------------------------------------------------------

    async def _call(self, method: str, body: dict[str, Any], grant: dict[str, Any]) -> Reply:
        reply = await self._http.post(
            self._config.url + SERVICE + method,
            json.dumps(body).encode("utf-8"),
            {"Authorization": f"Bearer {self._service_token(grant)}", "Content-Type": "application/json"},
        )
        if reply.status == 200:
            return reply
        raise _twirp_error(method, reply)

    async def ensure_room(self, room: RoomSpec) -> None:
        # CreateRoom answers with the existing room when it is already there.
        await self._call(
            "CreateRoom",
            {
                "name": room.name,
                "empty_timeout": self._config.empty_timeout_seconds,
                "max_participants": room.max_participants,
            },
            {"roomCreate": True},
        )

    async def issue(self, room: RoomSpec, person: JoinRequest) -> JoinCredential:
        grant: dict[str, Any] = {
            "room": room.name,
            "roomJoin": True,
            "canPublish": True,
            "canSubscribe": True,
            "canPublishData": True,
            "canUpdateOwnMetadata": False,
        }
        if person.is_moderator:
            grant["roomAdmin"] = True
        lifetime = timedelta(seconds=capped_lifetime(person, self._config.max_lifetime_seconds))
        token, expires = self._token(
            {"sub": person.participant_id, "name": person.display_name, "video": grant}, lifetime
        )
        url = self._config.join_url_template.format(
            meet_url=self._config.meet_url,
            livekit_url=quote(self._config.websocket_url, safe=""),
            token=quote(token, safe=""),
        )
        return JoinCredential(self.name, url, token, expires)

    async def revoke(self, room: RoomSpec, participant_id: str) -> bool:
        """Disconnect the person and void every token of theirs issued before now.

        ``False`` when LiveKit does not know the person in the room (they never connected, or
        left): nothing was revoked there, so the token's lifetime is what bounds it.
        """
        # Tokens whose nbf is *before* this are refused. nbf has whole seconds, so the next second
        # voids every token issued up to now; one issued after (a new admission) still works.
        # Left out, LiveKit would use now + 1 minute and refuse a re-admission for that minute.
        revoke_from = int(self._clock().timestamp()) + 1
        body = {"room": room.name, "identity": participant_id, "revoke_token_ts": revoke_from}
        try:
            await self._call("RemoveParticipant", body, {"roomAdmin": True, "room": room.name})
        except VideoBackendRefused as exc:
            if exc.status == 404:
                return False
            raise
        return True

    async def end_room(self, room: RoomSpec) -> None:
        try:
            await self._call("DeleteRoom", {"room": room.name}, {"roomCreate": True})
        except VideoBackendRefused as exc:
            if exc.status != 404:  # already gone: that is what was asked
                raise

    # -- webhooks -------------------------------------------------------------------------

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent | None:
        authorization = header(headers, "Authorization")
        if not authorization:
            raise WebhookRejected("webhook without Authorization")
        token = authorization.removeprefix("Bearer ").strip()
        try:
            claims = jwt.decode(
                token,
                self._secret.reveal(),
                algorithms=["HS256"],
                issuer=self._config.api_key,
                leeway=WEBHOOK_LEEWAY,
                options={"require": ["exp", "iss"]},
            )
            signed = base64.b64decode(str(claims.get("sha256", "")), validate=True)
        except (jwt.PyJWTError, ValueError):
            raise WebhookRejected("webhook signature does not hold") from None
        if not signed or not hmac.compare_digest(signed, hashlib.sha256(body).digest()):
            raise WebhookRejected("webhook body does not match its signature")
        try:
            event = json.loads(body)
        except ValueError:
            raise WebhookRejected("webhook body is not JSON") from None
        kind = _EVENTS.get(str(event.get("event", ""))) if isinstance(event, dict) else None
        if kind is None:
            return None
        room, participant = event.get("room"), event.get("participant")
        room = room.get("name") if isinstance(room, dict) else None
        identity = participant.get("identity") if isinstance(participant, dict) else None
        if not isinstance(room, str) or not isinstance(identity, str) or not room or not identity:
            raise WebhookRejected("participant event without room or identity")
        return WebhookEvent(
            self.name, kind, room, identity, _timestamp(event.get("createdAt", event.get("created_at")))
        )

    async def aclose(self) -> None:
        await self._http.aclose()


def _timestamp(value: Any) -> datetime | None:
    # protojson writes int64 as a string.
    try:
        return datetime.fromtimestamp(int(value), UTC) if value not in (None, "") else None
    except (TypeError, ValueError, OverflowError):
        return None


def _twirp_error(method: str, reply: Reply) -> VideoBackendError:
    try:
        code = str(json.loads(reply.body).get("code", ""))
    except (ValueError, AttributeError):
        code = ""
    message = f"LiveKit {method} answered {reply.status} {code}".rstrip()
    if reply.status == 429 or reply.status >= 500 or code in _TRANSIENT:
        return VideoBackendUnavailable(message, status=reply.status, retry_after=reply.retry_after())
    return VideoBackendRefused(message, status=reply.status)
