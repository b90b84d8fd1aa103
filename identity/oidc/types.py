"""What an OpenID Connect sign-in hands over, without the HTTP client that does it: the
application's use cases import these, and never load an HTTP client for them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from identity.base import IdentityError


class OidcError(IdentityError):
    """A sign-in that cannot be completed. ``reason`` says which check failed:

    ``provider_error`` (the provider answered with an error), ``unavailable`` (the provider could
    not be reached or answered nonsense), ``token_refused`` (the token endpoint refused the code),
    ``signature`` (the ID token is not signed by one of the provider's keys), ``claims`` (issuer,
    audience or times do not fit), ``expired``, ``nonce``, ``acr``.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class OidcClientConfig:
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str
    scopes: tuple[str, ...] = ("openid", "profile")
    #: The ``acr`` values accepted, each exactly; also asked for as ``acr_values``. Empty: none asked
    #: for and any accepted (for an organisation's IdP that states none).
    acr_values: tuple[str, ...] = ()
    leeway_seconds: int = 60
    request_timeout: float = 10.0


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """Where to send the browser, and what the caller must keep until it comes back."""

    url: str = field(repr=False)
    state: str = field(repr=False)
    nonce: str = field(repr=False)
    code_verifier: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class VerifiedClaims:
    """An ID token's claims after every check passed."""

    subject: str = field(repr=False)
    acr: str | None
    claims: Mapping[str, Any] = field(repr=False)

    def text(self, name: str) -> str | None:
        value = self.claims.get(name)
        return value.strip() if isinstance(value, str) and value.strip() else None


class RelyingParty(Protocol):
    """What a sign-in needs of a client at one provider (:class:`identity.oidc.client.OidcClient`)."""

    config: OidcClientConfig

    async def metadata(self) -> dict[str, Any]: ...

    async def authorization_request(self) -> AuthorizationRequest: ...

    async def redeem(
        self, code: str, *, nonce: str, code_verifier: str, now: float | None = None
    ) -> VerifiedClaims: ...
