"""An OpenID Connect client for staff sign-in: authorization code with PKCE, built on authlib.

Why these pieces: authlib builds the authorization request and the token request
(:mod:`authlib.oauth2.rfc6749.parameters`), the PKCE challenge (RFC 7636, S256 only) and checks
the ID token's claims (:class:`authlib.oidc.core.CodeIDToken`: ``iss``, ``aud``, ``azp``,
``exp``, ``iat``, ``nonce``, ``at_hash``); the signature is checked by joserfc, the JOSE library
authlib itself moved to, against the keys the provider publishes (``jwks_uri``), fetched again
once when a token names a key not yet seen (the provider rotated). What authlib leaves to the
client, this module adds: the discovery document's ``issuer`` must be the configured one, and
``acr`` must be *exactly* one of the accepted values (no ordering of levels is assumed).

Nothing is kept between the redirect and the answer: :meth:`OidcClient.authorization_request`
returns the state, nonce and code verifier, and the caller stores them (server-side, bound to the
browser, used once) and hands the nonce and verifier back to :meth:`OidcClient.redeem`.

Privacy: ID tokens carry personal identity numbers; no repr here shows claims, and errors name
the check that failed, never a claim's value.

Specifications: OpenID Connect Core 1.0 (3.1 authorization code flow, 3.1.3.7 ID token
validation), OpenID Connect Discovery 1.0, RFC 6749, RFC 7636 (PKCE).
"""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any
from urllib.parse import quote

import aiohttp
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import ClaimError, ExpiredTokenError, JoseError
from joserfc.jwk import KeySet

from identity.oidc.types import AuthorizationRequest, OidcClientConfig, OidcError, VerifiedClaims

#: Signature algorithms accepted for ID tokens: asymmetric only (a client secret must never be
#: what an ID token's signature is checked with), and never ``none``.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")


class OidcClient:
    """One relying party at one provider. Open it with :meth:`open`; close it with :meth:`close`."""

    def __init__(self, config: OidcClientConfig, session: aiohttp.ClientSession) -> None:
        self.config = config
        self._session = session
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def open(cls, config: OidcClientConfig) -> OidcClient:
        timeout = aiohttp.ClientTimeout(total=config.request_timeout)
        return cls(config, aiohttp.ClientSession(timeout=timeout))

    async def close(self) -> None:
        await self._session.close()

    # The provider's documents ---------------------------------------------------------------

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with self._session.get(url, headers={"Accept": "application/json"}) as response:
                if response.status != 200:
                    raise OidcError("unavailable", f"{url} answered {response.status}")
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise OidcError("unavailable", f"{url}: {exc.__class__.__name__}") from None
        if not isinstance(body, dict):
            raise OidcError("unavailable", f"{url} answered no JSON object")
        return body

    async def metadata(self) -> dict[str, Any]:
        """The discovery document, fetched once; its issuer must be the configured one."""
        if self._metadata is None:
            async with self._lock:
                if self._metadata is None:
                    url = self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"
                    found = await self._get_json(url)
                    if found.get("issuer") != self.config.issuer:
                        raise OidcError("unavailable", "the discovery document names another issuer")
                    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                        if not isinstance(found.get(key), str):
                            raise OidcError("unavailable", f"the discovery document has no {key}")
                    self._metadata = found
        return self._metadata

    async def _key_set(self, *, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            metadata = await self.metadata()
            document = await self._get_json(metadata["jwks_uri"])
            try:
                self._keys = KeySet.import_key_set(document)  # type: ignore[arg-type]  # shape checked by joserfc, which raises on a bad set
            except (JoseError, ValueError, TypeError, KeyError) as exc:
                raise OidcError(
                    "unavailable", f"the provider's keys cannot be read: {exc.__class__.__name__}"
                ) from None
        return self._keys

    # The flow --------------------------------------------------------------------------------

    async def authorization_request(self) -> AuthorizationRequest:
        """A fresh state, nonce and PKCE verifier, and the provider's URL that carries them."""
        metadata = await self.metadata()
        state, nonce, verifier = generate_token(43), generate_token(43), generate_token(64)
        extra: dict[str, str] = {
            "nonce": nonce,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
        }
        if self.config.acr_values:
            extra["acr_values"] = " ".join(self.config.acr_values)
        url = prepare_grant_uri(
            metadata["authorization_endpoint"],
            self.config.client_id,
            "code",
            redirect_uri=self.config.redirect_uri,
            scope=" ".join(self.config.scopes),
            state=state,
            **extra,
        )
        return AuthorizationRequest(url=url, state=state, nonce=nonce, code_verifier=verifier)

    async def redeem(self, code: str, *, nonce: str, code_verifier: str, now: float | None = None) -> VerifiedClaims:
        """Exchange the code (with the PKCE verifier) and return the ID token's checked claims."""
        token = await self._token(code, code_verifier)
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise OidcError("token_refused", "the token answer has no ID token")
        access_token = token.get("access_token")
        return await self.verify_id_token(
            id_token, nonce=nonce, access_token=access_token if isinstance(access_token, str) else None, now=now
        )

    async def _token(self, code: str, code_verifier: str) -> dict[str, Any]:
        metadata = await self.metadata()
        body = prepare_token_request(
            "authorization_code", code=code, redirect_uri=self.config.redirect_uri, code_verifier=code_verifier
        )
        # client_secret_basic: RFC 6749 2.3.1 form-encodes the id and secret before base64.
        credentials = f"{quote(self.config.client_id, safe='')}:{quote(self.config.client_secret, safe='')}"
        authorization = "Basic " + base64.b64encode(credentials.encode("utf-8")).decode("ascii")
        try:
            async with self._session.post(
                metadata["token_endpoint"],
                data=body,
                headers={
                    "Authorization": authorization,
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Accept": "application/json",
                },
            ) as response:
                answer = await response.json(content_type=None)
                status = response.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise OidcError("unavailable", f"token endpoint: {exc.__class__.__name__}") from None
        if not isinstance(answer, dict):
            raise OidcError("unavailable", "the token endpoint answered no JSON object")
        if status >= 500:
            raise OidcError("unavailable", f"the token endpoint answered {status}")
        if status != 200:
            raise OidcError("token_refused", str(answer.get("error", status)))
        return answer

    async def verify_id_token(
        self, id_token: str, *, nonce: str, access_token: str | None = None, now: float | None = None
    ) -> VerifiedClaims:
        """Check the signature against the provider's keys, then the claims (OIDC Core 3.1.3.7)."""
        try:
            decoded = jwt.decode(id_token, await self._key_set(), algorithms=ALGORITHMS)
        except (JoseError, ValueError):
            try:  # the provider may have rotated its keys since they were fetched
                decoded = jwt.decode(id_token, await self._key_set(refresh=True), algorithms=ALGORITHMS)
            except (JoseError, ValueError) as exc:
                raise OidcError("signature", exc.__class__.__name__) from None
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            options={
                "iss": {"essential": True, "value": self.config.issuer},
                "aud": {"essential": True, "value": self.config.client_id},
            },
            params={"nonce": nonce, "client_id": self.config.client_id, "access_token": access_token},
        )
        try:
            claims.validate(now=int(now if now is not None else time.time()), leeway=self.config.leeway_seconds)
        except ExpiredTokenError:
            raise OidcError("expired", "the ID token has expired") from None
        except ClaimError as exc:
            raise OidcError("nonce" if exc.claim == "nonce" else "claims", exc.claim) from None
        except (JoseError, ValueError, TypeError) as exc:
            raise OidcError("claims", exc.__class__.__name__) from None
        if not nonce or decoded.claims.get("nonce") != nonce:
            raise OidcError("nonce", "the ID token's nonce is not the one sent")
        acr = decoded.claims.get("acr")
        if self.config.acr_values and acr not in self.config.acr_values:
            raise OidcError("acr", "the ID token's acr is not one accepted")
        return VerifiedClaims(
            subject=str(decoded.claims["sub"]), acr=acr if isinstance(acr, str) else None, claims=decoded.claims
        )
