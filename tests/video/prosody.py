"""What Jitsi's Prosody token plugin checks, for tests: ``resources/prosody-plugins/token/util.lib.lua``.

``ProsodyTokenCheck.verify`` follows ``Util:process_and_verify_token``: with an
``asap_key_server`` the header's ``kid`` is required and the public key is fetched over HTTP
from ``<server>/<sha256 hex of kid>.pem``; otherwise the token is checked with ``app_secret``.
luajwtjitsi verifies the signature, ``exp`` and ``nbf``; then ``iss`` must be an accepted
issuer (by default only ``app_id``), ``room`` must be present, ``aud`` present and accepted.
``verify_room`` follows ``Util:verify_room``: the joined room equals the lower-cased ``room``
claim (or the claim is ``*``), and with domain verification ``sub`` must be the domain.

``FakeAsapKeyServer`` serves public keys the way Prosody fetches them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import jwt
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives import serialization


class TokenRefused(Exception):
    pass


@dataclass
class FakeAsapKeyServer:
    keys: dict[str, bytes] = field(default_factory=dict)
    fetched: list[str] = field(default_factory=list)
    server: TestServer | None = None

    def publish(self, kid: str, public_pem: bytes) -> None:
        self.keys[hashlib.sha256(kid.encode()).hexdigest() + ".pem"] = public_pem

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    async def start(self) -> FakeAsapKeyServer:
        app = web.Application()
        app.router.add_get("/{name}", self._key)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        return self

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    async def _key(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.fetched.append(name)
        if name not in self.keys:
            return web.Response(status=404)
        return web.Response(body=self.keys[name], content_type="application/x-pem-file")


@dataclass
class ProsodyTokenCheck:
    app_id: str
    app_secret: str | None = None
    asap_key_server: str | None = None
    accepted_issuers: tuple[str, ...] | None = None
    accepted_audiences: tuple[str, ...] = ("*",)
    domain: str | None = None
    enable_domain_verification: bool = False

    async def verify(self, token: str) -> dict[str, Any]:
        if self.asap_key_server:
            try:
                kid = jwt.get_unverified_header(token).get("kid")
            except jwt.PyJWTError:
                raise TokenRefused("bad token format") from None
            if kid is None:
                raise TokenRefused("'kid' claim is missing")
            url = f"{self.asap_key_server}/{hashlib.sha256(kid.encode()).hexdigest()}.pem"
            async with aiohttp.ClientSession() as session, session.get(url) as response:
                if response.status not in (200, 204):
                    raise TokenRefused("could not obtain public key")
                key: Any = serialization.load_pem_public_key(await response.read())
            algorithms = ["RS256"]
        else:
            assert self.app_secret is not None
            key, algorithms = self.app_secret, ["HS256"]
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                options={"verify_aud": False, "verify_iat": False, "require": ["exp"]},
            )
        except jwt.PyJWTError as exc:
            raise TokenRefused(exc.__class__.__name__) from None
        issuers = self.accepted_issuers or (self.app_id,)
        if claims.get("iss") is None or not ("*" in issuers or claims["iss"] in issuers):
            raise TokenRefused("Invalid issuer ('iss' claim)")
        if claims.get("room") is None:
            raise TokenRefused("'room' claim is missing")
        if claims.get("aud") is None or not (
            "*" in self.accepted_audiences or claims["aud"] in self.accepted_audiences
        ):
            raise TokenRefused("Invalid audience ('aud' claim)")
        return claims

    def verify_room(self, claims: dict[str, Any], room: str) -> bool:
        auth_room = claims.get("room")
        if not self.enable_domain_verification:
            return auth_room == "*" or room == str(auth_room).lower()
        domain = self.domain if claims.get("sub") == "*" else claims.get("sub")
        wanted = room if auth_room == "*" else str(auth_room).lower()
        return room == wanted and domain == self.domain
