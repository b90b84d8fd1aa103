"""The generic HTTP SMS gateway adapter against a fake gateway on loopback: what it sends, how
it reads the answers, and an SMS all the way from the notices API through the delivery loop."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import pytest_asyncio
from aiohttp import web
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from meetsvc.domain.messages import ChannelName
from meetsvc.notify.channels import PermanentDeliveryError, SmsChannel, TemporaryDeliveryError
from meetsvc.notify.config import DeliverySettings, SmsHttpConfig
from meetsvc.notify.deliverer import Deliverer
from meetsvc.notify.messages import MessageBuilder
from meetsvc.notify.notices import MessageNotices
from meetsvc.notify.sms_http import HttpSmsGateway, retry_after_seconds
from tests.notify.world import LENA, ORGANISATION, World, outbox_rows

TOKEN = "gateway-token-123"


@dataclass
class FakeGateway:
    """Answers each request with the next scripted (status, headers) and records the request."""

    requests: list[dict] = field(default_factory=list)
    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    hold: asyncio.Event | None = None
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "headers": dict(request.headers),
                "body": await request.read(),
            }
        )
        if self.hold is not None:
            await self.hold.wait()
        status, headers = self.answers.pop(0) if self.answers else (202, {})
        return web.json_response({"id": "gw-1"} if status < 300 else {"error": "x"}, status=status, headers=headers)


@pytest_asyncio.fixture
async def gateway() -> AsyncIterator[FakeGateway]:
    fake = FakeGateway()
    app = web.Application()
    app.router.add_route("*", "/v1/sms", fake.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    fake.url = f"http://127.0.0.1:{port}/v1/sms"
    yield fake
    await runner.cleanup()


@pytest_asyncio.fixture
async def sms(gateway: FakeGateway) -> AsyncIterator[HttpSmsGateway]:
    # A bound no busy machine reaches on loopback: only the test of a gateway that never answers
    # may see it expire.
    config = SmsHttpConfig(url=gateway.url, token=SecretStr(TOKEN), sender="Exempelstad", timeout_seconds=60)
    adapter = HttpSmsGateway.open(config)
    yield adapter
    await adapter.aclose()


async def test_it_posts_json_with_the_bearer_token_and_an_idempotency_key(sms: HttpSmsGateway, gateway: FakeGateway):
    await sms.send("msg-1", "+46701234567", "Hej! Din länk: https://x.se/i/abc")
    (request,) = gateway.requests
    assert request["method"] == "POST"
    assert request["path"] == "/v1/sms"
    assert request["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert request["headers"]["Content-Type"].startswith("application/json")
    assert request["headers"]["Idempotency-Key"] == "msg-1"
    assert json.loads(request["body"]) == {
        "to": "+46701234567",
        "from": "Exempelstad",
        "text": "Hej! Din länk: https://x.se/i/abc",
    }


@pytest.mark.parametrize("status", [200, 201, 202, 204])
async def test_2xx_is_sent(sms: HttpSmsGateway, gateway: FakeGateway, status: int):
    gateway.answers = [(status, {})]
    await sms.send("m", "+46701234567", "t")


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503])
async def test_429_408_and_5xx_are_temporary(sms: HttpSmsGateway, gateway: FakeGateway, status: int):
    gateway.answers = [(status, {})]
    with pytest.raises(TemporaryDeliveryError) as caught:
        await sms.send("m", "+46701234567", "t")
    assert caught.value.reason == f"SMS gateway answered HTTP {status}"


async def test_retry_after_is_passed_on(sms: HttpSmsGateway, gateway: FakeGateway):
    gateway.answers = [(429, {"Retry-After": "120"})]
    with pytest.raises(TemporaryDeliveryError) as caught:
        await sms.send("m", "+46701234567", "t")
    assert caught.value.retry_after == 120


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_other_4xx_are_permanent(sms: HttpSmsGateway, gateway: FakeGateway, status: int):
    gateway.answers = [(status, {})]
    with pytest.raises(PermanentDeliveryError) as caught:
        await sms.send("m", "+46701234567", "t")
    assert caught.value.reason == f"SMS gateway refused the message: HTTP {status}"
    assert "+4670" not in caught.value.reason


async def test_a_redirect_is_not_followed(sms: HttpSmsGateway, gateway: FakeGateway):
    gateway.answers = [(307, {"Location": "http://127.0.0.1:1/elsewhere"})]
    with pytest.raises(TemporaryDeliveryError, match="redirected"):
        await sms.send("m", "+46701234567", "t")
    assert len(gateway.requests) == 1


async def test_a_slow_gateway_is_a_temporary_failure(gateway: FakeGateway):
    gateway.hold = asyncio.Event()  # the gateway takes the request and never answers
    config = SmsHttpConfig(url=gateway.url, token=SecretStr(TOKEN), sender="X", timeout_seconds=0.2)
    adapter = HttpSmsGateway.open(config)
    try:
        with pytest.raises(TemporaryDeliveryError, match="timed out"):
            await adapter.send("m", "+46701234567", "t")
    finally:
        gateway.hold.set()
        await adapter.aclose()


async def test_an_unreachable_gateway_is_a_temporary_failure():
    from tests.support.service import free_port

    config = SmsHttpConfig(url=f"http://127.0.0.1:{free_port()}/sms", token=SecretStr(TOKEN), sender="X")
    adapter = HttpSmsGateway.open(config)
    try:
        with pytest.raises(TemporaryDeliveryError, match="unreachable"):
            await adapter.send("m", "+46701234567", "t")
    finally:
        await adapter.aclose()


def test_retry_after_reads_seconds_and_dates():
    assert retry_after_seconds("30") == 30
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480 - 60) == 60
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_the_token_comes_from_a_file_and_stays_out_of_repr(tmp_path, gateway: FakeGateway):
    secret = tmp_path / "token"
    secret.write_text(TOKEN + "\n")
    adapter = HttpSmsGateway.open(SmsHttpConfig(url=gateway.url, token_file=secret, sender="X"))
    assert TOKEN not in repr(adapter)
    assert adapter._token == TOKEN


async def test_an_sms_goes_from_the_notices_api_through_the_loop_to_the_gateway(
    world: World,
    builder: MessageBuilder,
    engine: AsyncEngine,
    sms: HttpSmsGateway,
    gateway: FakeGateway,
    clock,
):
    notices = MessageNotices(builder, channels=frozenset({ChannelName.SMS}), clock=clock)
    meeting, lena = await world.meeting(), await world.participant(LENA.name)
    async with engine.begin() as connection:
        await notices.enqueue_invitation(
            connection, meeting, lena, world.link(LENA.name), ORGANISATION, reminders=False
        )
    gateway.answers = [(503, {"Retry-After": "300"})]
    settings = DeliverySettings(first_retry_seconds=60, send_timeout_seconds=15, lease_seconds=30)
    loop = Deliverer(engine, {ChannelName.SMS: SmsChannel(sms)}, settings, clock=clock, links=world.links)
    assert await loop.run_once() == 1  # e-mail is switched off: Lena gets only the SMS
    (row,) = await outbox_rows(engine, channel="sms")
    # The gateway asked for five minutes, more than the first back-off.
    assert (row.status, row.next_attempt_at, row.last_error) == (
        "pending",
        clock() + timedelta(seconds=300),
        "SMS gateway answered HTTP 503",
    )
    clock.advance(seconds=300)
    assert await loop.run_once() == 1
    (row,) = await outbox_rows(engine, channel="sms")
    assert (row.status, row.sent_via, row.body) == ("sent", "sms-http", None)
    first, second = gateway.requests
    assert first["headers"]["Idempotency-Key"] == second["headers"]["Idempotency-Key"] == row.id
    payload = json.loads(second["body"])
    assert payload["to"] == LENA.mobile
    assert payload["text"] == (
        "Exempelstads kommun invites you to a meeting on Tuesday 13 July 2027, 10:00-11:00. "
        f"Your personal link: {world.link(LENA.name)} Do not share it."
    )
