"""Staff sign-in through OpenID Connect: the authorization code flow with PKCE, ``state`` and
``nonce``, and ID tokens checked against the provider's published keys, built on authlib.

Two profiles say which claims carry what (:mod:`identity.oidc.profiles`): Inera's IdP for SITHS
cards, and an organisation's own IdP (Entra ID and the like). The client
(:mod:`identity.oidc.client`) keeps nothing between the redirect and the answer: the caller
stores the state, nonce and code verifier (server-side, bound to the browser) and hands them back.
"""
