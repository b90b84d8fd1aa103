"""What the pages show of the outbox: per participant, where their messages stand (the
organiser's view), and, in development only, the messages themselves (the outbox page).

The organiser sees kind, channel, status, time and a failure's reason
(:mod:`meetsvc.notify.status`) — never a message's text or link.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from aiohttp import web
from markupsafe import Markup, escape

from meetsvc.domain.model import Language
from meetsvc.http.appkeys import NOTIFY, SETTINGS
from meetsvc.http.pages.i18n import request_language
from meetsvc.http.pages.render import error_page, render
from meetsvc.notify.status import DeliveryLine


async def deliveries_of(request: web.Request, meeting_id: str) -> dict[str, list[DeliveryLine]]:
    """For a meeting the caller has already been allowed to see."""
    return await request.app[NOTIFY].deliveries.by_participant(meeting_id)


def local_clock(moment: datetime | None, zone: str, language: Language) -> str:
    if moment is None:
        return ""
    local = moment.astimezone(ZoneInfo(zone))
    return local.strftime("%Y-%m-%d %H:%M") if language is Language.SV else local.strftime("%d %b %Y %H:%M")


# The development outbox page ------------------------------------------------------------------

_LINK = re.compile(r"https?://[^\s<>\"]+/j/[A-Za-z0-9_-]{20,100}")


def with_links(text: str | None) -> Markup:
    """The message text, escaped, with the service's own join links made clickable (so a
    newcomer can follow an invitation from this page)."""
    if not text:
        return Markup("")
    out, last = [], 0
    for match in _LINK.finditer(text):
        out.append(escape(text[last : match.start()]))
        url = escape(match.group(0))
        out.append(Markup(f'<a href="{url}">{url}</a>'))  # noqa: S704  # url is escaped just above
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


def development_outbox_enabled(request: web.Request) -> bool:
    settings = request.app[SETTINGS]
    return settings.is_development and "outbox" in (settings.notify.email, settings.notify.sms)


async def outbox_page(request: web.Request) -> web.StreamResponse:
    """/dev/outbox: what the service would have sent, newest first. Development only."""
    if not development_outbox_enabled(request):
        return error_page(request, 404, "error.not_found")
    language = request_language(request)
    zone = request.app[SETTINGS].meetings.time_zone
    messages = await request.app[NOTIFY].deliveries.development_messages(limit=50)
    return render(
        request,
        "dev_outbox.html",
        {
            "messages": [
                {
                    "channel": m.channel.value,
                    "kind": m.kind.value,
                    "recipient": m.recipient,
                    "subject": m.subject,
                    "body": with_links(m.body),
                    "calendar": m.attachment,
                    "sent_at": local_clock(m.sent_at, zone, language),
                }
                for m in messages
            ],
        },
        language=language,
    )
