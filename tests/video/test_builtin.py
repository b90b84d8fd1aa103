"""The built-in backend's credential, as the service's own signalling layer checks it."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from meetsvc.core.clock import utc_now
from meetsvc.core.signing import InvalidToken, KeySet
from meetsvc.realtime import video as signalling
from meetsvc.video.builtin import AUDIENCE, BuiltinBackend
from tests.video.harness import ISSUER, make_person, make_room


def backend(keys: KeySet) -> BuiltinBackend:
    return BuiltinBackend(
        keys.sign, lambda t: keys.verify(t, audience=AUDIENCE, issuer=ISSUER, now=utc_now()), issuer=ISSUER
    )


def test_the_audience_is_the_one_the_signalling_layer_checks() -> None:
    assert AUDIENCE == signalling.AUDIENCE


async def test_the_credential_carries_what_the_signalling_layer_reads(service_keys: KeySet) -> None:
    room, person = make_room(), make_person("moderator", name="Eva Li")
    credential = await backend(service_keys).issue(room, person)

    claims = service_keys.verify(credential.token or "", audience=signalling.AUDIENCE, issuer=ISSUER, now=utc_now())
    assert (claims["sub"], claims["mid"], claims["name"], claims["role"], claims["room"]) == (
        person.participant_id,
        room.meeting_id,
        "Eva Li",
        "moderator",
        room.name,
    )
    # A relative address on the service itself, the token only in the fragment.
    url = urlsplit(credential.join_url)
    assert (url.netloc, url.path, url.query, parse_qs(url.fragment)["token"]) == (
        "",
        f"/video/{room.name}",
        "",
        [credential.token],
    )


async def test_the_credential_is_refused_for_another_purpose_or_after_its_lifetime(service_keys: KeySet) -> None:
    credential = await backend(service_keys).issue(make_room(), make_person(lifetime=60))
    with pytest.raises(InvalidToken):
        service_keys.verify(credential.token or "", audience="meetsvc:lobby", issuer=ISSUER, now=utc_now())
    with pytest.raises(InvalidToken, match="expired"):
        service_keys.verify(
            credential.token or "", audience=AUDIENCE, issuer=ISSUER, now=utc_now() + timedelta(seconds=70)
        )
